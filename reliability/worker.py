"""One domain day materialized in this process, as a trial's victim: ``python -m reliability.worker
DOMAIN DAY``. Runs the domain's daily job in process on the Dagster instance of ``$DAGSTER_HOME``
(the process a trial kills, then runs again); exits 0 only if the run succeeded."""

import importlib
import sys

import dagster as dg


def main(domain: str, day: str) -> int:
    defs = importlib.import_module(f"domains.{domain}.definitions").defs
    with dg.DagsterInstance.get() as instance:
        result = defs.resolve_job_def(f"{domain}_daily").execute_in_process(
            partition_key=day, instance=instance, raise_on_error=False
        )
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
