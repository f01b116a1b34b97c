"""The peer: what a user would otherwise write, Dagster assets on pandas with the default pickle IO manager.

Same work as the platform path for one day: read the JSONL files, validate each line's
envelope in Python (quarantining bad lines), dedupe on eventId and type the events.
"""

import datetime as dt
import json
import re
from pathlib import Path

import dagster as dg
import pandas as pd

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _reason(line: bytes) -> tuple[dict | None, str | None]:
    try:
        event = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, "not valid JSON"
    if not isinstance(event, dict):
        return None, "not a JSON object"
    for field, kind in (("eventId", str), ("eventType", str), ("timestamp", str), ("data", dict)):
        if not isinstance(event.get(field), kind):
            return None, f"bad {field}"
    if not UUID.fullmatch(event["eventId"]):
        return None, "eventId is not a UUID"
    try:
        dt.datetime.fromisoformat(event["timestamp"])
    except ValueError:
        return None, "timestamp is not ISO-8601"
    return event, None


class PeerConfig(dg.Config):
    files: list[str]


@dg.asset
def peer_bronze(config: PeerConfig) -> pd.DataFrame:
    rows, quarantined = [], []
    for path in config.files:
        with open(path, "rb") as f:
            for number, line in enumerate(f, start=1):
                event, reason = _reason(line.rstrip(b"\n"))
                if event is None:
                    quarantined.append({"file": path, "line": number, "reason": reason})
                else:
                    rows.append(
                        {
                            "event_id": event["eventId"],
                            "event_type": event["eventType"],
                            "timestamp": event["timestamp"],
                            "raw": line.decode(),
                            "file": path,
                            "line": number,
                        }
                    )
    frame = pd.DataFrame(rows)
    frame.attrs["quarantined"] = len(quarantined)
    return frame


@dg.asset
def peer_silver(peer_bronze: pd.DataFrame) -> pd.DataFrame:
    events = peer_bronze.drop_duplicates("event_id").copy()
    events["event_ts"] = pd.to_datetime(events["timestamp"], utc=True, format="ISO8601")
    payload = events["raw"].map(lambda raw: json.loads(raw)["data"]["payload"])
    events["order_id"] = payload.map(lambda p: p.get("orderId"))
    events["total_amount"] = pd.to_numeric(payload.map(lambda p: p.get("totalAmount")), errors="coerce")
    return events.drop(columns=["raw"])


def run_peer(files: list[Path], home: Path) -> dict[str, int]:
    result = dg.materialize(
        [peer_bronze, peer_silver],
        resources={"io_manager": dg.FilesystemIOManager(base_dir=str(home / "peer"))},
        run_config={"ops": {"peer_bronze": {"config": {"files": [str(f) for f in files]}}}},
        instance=dg.DagsterInstance.ephemeral(),
    )
    silver = result.output_for_node("peer_silver")
    return {"silver_rows": len(silver)}
