"""Products whose day reads its source's day and the days after it (an entity's current state).

An order or a customer belongs to the day it was created, but later events (status
changes, profile updates) change it: its partition reads the source's events from that
day through ``horizon_days`` after, computes the state with the domain's function, and
publishes it only if it honours its contract.
"""

import datetime as dt
from collections.abc import Callable, Iterator

import dagster as dg
import polars as pl

from platform_resources.contracts.enforcement import hold_to_contract
from platform_resources.contracts.model import Contract
from platform_resources.contracts.specs import product_spec, publish_if_passed
from platform_resources.core.automation import CHUNKED_BACKFILL, RETRY, refresh_when_upstream_changes
from platform_resources.core.partitions import DAILY, window_dates
from platform_resources.quality.dimensions import quality_check_results, quality_check_specs
from platform_resources.storage.outages import reporting_outages

#: The state of the entities created in ``window``, from the events of the window and its horizon.
StateFunction = Callable[[pl.DataFrame, tuple[dt.date, dt.date]], pl.DataFrame]


def horizon_mapping(horizon_days: int) -> dg.TimeWindowPartitionMapping:
    return dg.TimeWindowPartitionMapping(
        start_offset=0, end_offset=horizon_days, allow_nonexistent_upstream_partitions=True
    )


def build_horizon_product(
    contract: Contract, source: Contract, horizon_days: int, state: StateFunction
) -> dg.AssetsDefinition:
    """The asset publishing ``contract`` from ``source`` read over each day plus ``horizon_days``."""
    mapping = horizon_mapping(horizon_days)

    @dg.multi_asset(
        name=f"{contract.domain}_silver_{contract.name}",
        specs=[
            product_spec(
                contract,
                deps=[dg.AssetDep(source.asset_key, partition_mapping=mapping)],
                # a late event day refreshes the states of the days before it that read it
                automation_condition=refresh_when_upstream_changes(),
            )
        ],
        check_specs=quality_check_specs([contract]),
        ins={"events": dg.AssetIn(source.asset_key)},
        partitions_def=DAILY,
        backfill_policy=CHUNKED_BACKFILL,
        retry_policy=RETRY,
    )
    @reporting_outages
    def horizon_product(context: dg.AssetExecutionContext, events: pl.LazyFrame) -> Iterator:
        rows = state(events.collect(), window_dates(context))
        outcome = hold_to_contract(rows, contract)
        yield from publish_if_passed(
            outputs=[dg.Output(rows, output_name=contract.asset_key.to_python_identifier())],
            checks=quality_check_results(outcome, rows),
        )

    return horizon_product
