"""File and stream output ports: each day published once and replaced on rerun, in real Parquet and NATS.

The product's table is written directly (the port reads only the table); the port assets
are materialized with `materialize` on a real instance.
"""

import asyncio
import dataclasses
import datetime as dt
import json

import dagster as dg
import nats
import polars as pl
import pyarrow.parquet as pq
import pytest

from domains.growth.contracts import CONTRACTS as GROWTH
from domains.payments.contracts import CONTRACTS as PAYMENTS
from platform_resources.products.output_ports import build_port_assets, file_path, stream_name, stream_subject
from tests.integration.conftest import publish_day

pytestmark = pytest.mark.integration
D = dt.date(2026, 11, 20)
SETTLEMENT = PAYMENTS["daily_settlement"]
INFERENCES = GROWTH["model_inference_events"]


def _port(contract, port_type: str) -> dg.AssetsDefinition:
    only = dataclasses.replace(contract, ports=tuple(p for p in contract.ports if p.type == port_type))
    (asset,) = build_port_assets({contract.asset_name: only})
    return asset


def _settlement(day: dt.date, methods: list[str]) -> pl.DataFrame:
    n = len(methods)
    return pl.DataFrame(
        {
            "settlement_date": [day] * n,
            "payment_method": methods,
            "currency": ["EUR"] * n,
            "authorized": [3] * n,
            "authorized_amount": [30] * n,
            "captured": [2] * n,
            "captured_amount": [20] * n,
            "failed": [1] * n,
            "refunded_amount": [0] * n,
            "net_settled": [20] * n,
        }
    ).cast(dict(SETTLEMENT.polars_schema()))


def test_a_file_port_writes_each_day_once_and_a_rerun_replaces_it(home, instance) -> None:
    port = _port(SETTLEMENT, "file")
    publish_day(SETTLEMENT, _settlement(D, ["card", "paypal", "bank_transfer"]), D)
    publish_day(SETTLEMENT, _settlement(D + dt.timedelta(days=1), ["card"]), D + dt.timedelta(days=1))

    for day in (D, D + dt.timedelta(days=1)):
        assert dg.materialize([port], partition_key=day.isoformat(), instance=instance).success
    publish_day(SETTLEMENT, _settlement(D, ["card", "paypal"]), D)  # the product changed that day
    assert dg.materialize([port], partition_key=D.isoformat(), instance=instance).success

    path = file_path(SETTLEMENT, D)
    assert path == f"{home}/exports/payments/daily_settlement/v1/settlement_date={D}/data.parquet"
    day = pl.from_arrow(pq.read_table(path))
    assert sorted(day["payment_method"]) == ["card", "paypal"]  # replaced, not appended
    assert pl.from_arrow(pq.read_table(file_path(SETTLEMENT, D + dt.timedelta(days=1)))).height == 1
    assert list(day.schema) == list(SETTLEMENT.polars_schema())
    assert not list((home / "exports").rglob("*.tmp"))


def _inferences(users: list[str]) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "event_id": [f"00000000-0000-4000-8000-{i:012d}" for i in range(len(users))],
            "event_type": ["ml.model.inference"] * len(users),
            "event_ts": [dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)] * len(users),
            "event_date": [D] * len(users),
            "user_token": [f"tok_{u:0>32}" for u in users],
            "model_id": ["churn-logit"] * len(users),
            "model_version": ["1.0.0"] * len(users),
            "churn_score": [0.5] * len(users),
            "envelope": ["{}"] * len(users),
        }
    )
    return frame.cast(dict(INFERENCES.polars_schema()))


async def _messages(contract, day: dt.date) -> list[dict]:
    client = await nats.connect("nats://127.0.0.1:4222")
    try:
        js = client.jetstream()
        subscription = await js.pull_subscribe(
            f"{stream_subject(contract, day)}.>", stream=stream_name(contract)
        )
        messages = []
        while (await subscription.consumer_info()).num_pending:  # fetch until nothing is left
            try:
                batch = await subscription.fetch(100, timeout=5)
            except TimeoutError:  # nats' own TimeoutError is one, and fetch raises either
                continue
            messages.extend(json.loads(m.data) for m in batch)
        return messages
    finally:
        await client.close()


def test_a_stream_port_holds_each_row_once_after_reruns_and_drops_rows_gone_from_the_day(
    home, instance
) -> None:
    port = _port(INFERENCES, "stream")
    publish_day(INFERENCES, _inferences(["a", "b", "c"]), D)

    assert dg.materialize([port], partition_key=D.isoformat(), instance=instance).success
    assert dg.materialize([port], partition_key=D.isoformat(), instance=instance).success  # a rerun
    first = asyncio.run(_messages(INFERENCES, D))
    assert sorted(m["row"]["user_token"] for m in first) == [f"tok_{u:0>32}" for u in "abc"]
    assert {m["uri"] for m in first} == {"data://growth/model_inference_events/v1"}

    publish_day(INFERENCES, _inferences(["a", "b"]), D)  # c's inference withdrawn
    assert dg.materialize([port], partition_key=D.isoformat(), instance=instance).success
    after = asyncio.run(_messages(INFERENCES, D))
    assert sorted(m["row"]["user_token"] for m in after) == [f"tok_{u:0>32}" for u in "ab"]
