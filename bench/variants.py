"""One benchmark variant for one landed day, in this process; prints its figures as one JSON line.

``python -m bench.variants <limit|light_limit|platform|peer> <YYYY-MM-DD>`` with ``MESHHOUSE_HOME`` set.
Imports happen before the clock starts: a variant is timed on its work alone.
"""

import datetime as dt
import json
import resource
import sys
import time

import dagster as dg

from bench.limit import run_light_limit, run_limit
from bench.peer import run_peer
from platform_resources.core.settings import get_paths
from platform_resources.ingest.landing import count_lines, landing_files
from platform_resources.mesh.workspace import domain_module

#: orders' code location, loaded by the workspace loader as every location is (before the clock).
defs = domain_module("orders", "definitions").defs
#: The Bronze -> Silver steps the platform variant runs (the limit and peer do the same work).
PLATFORM_STEPS = ("orders_bronze", "orders_silver_events")
#: Read by Silver beside the file Bronze, not run (the benchmark's day came as files).
STREAM_BRONZE = "orders_bronze_stream"


def run_platform(day: dt.date) -> dict[str, int]:
    """The platform's own Bronze -> Silver code path for the day, in-process."""
    steps = [a for a in defs.assets if a.op.name in PLATFORM_STEPS]
    result = dg.materialize(
        [*steps, *(a for a in defs.assets if a.op.name == STREAM_BRONZE)],
        selection=steps,
        partition_key=day.isoformat(),
        resources=defs.resources,
        instance=dg.DagsterInstance.ephemeral(),
    )
    rows = {
        m.asset_key.path[-1]: m.materialization.metadata["dagster/row_count"].value
        for m in result.get_asset_materialization_events()
    }
    return {
        "silver_rows": rows["order_events"],
        "items": rows["order_items"],
        "quarantined": rows["quarantine"],
    }


def main() -> None:
    variant, day = sys.argv[1], dt.date.fromisoformat(sys.argv[2])
    files = [f.path for f in landing_files("orders", day)]
    lines = sum(count_lines(f) for f in files)
    if not lines:
        raise SystemExit(f"no landing data for orders on {day} under {get_paths().landing}")
    started = time.perf_counter()
    if variant == "limit":
        counts = run_limit(files, get_paths().scratch / "bench-limit", day)
    elif variant == "light_limit":
        counts = run_light_limit(files, get_paths().scratch / "bench-light-limit")
    elif variant == "platform":
        counts = run_platform(day)
    elif variant == "peer":
        counts = run_peer(files, get_paths().scratch)
    else:
        raise SystemExit(f"unknown variant {variant!r}: limit, light_limit, platform or peer")
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "variant": variant,
                "lines": lines,
                "seconds": seconds,
                "events_per_s": lines / seconds,
                "peak_rss_mib": round(peak),
                **counts,
            }
        )
    )


if __name__ == "__main__":
    main()
