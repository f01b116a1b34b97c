"""Products computed from other products: a consumer domain's assets over published ports.

Each product is one daily-partitioned asset: it reads its inputs (other domains' pinned
ports or its own domain's products) over its window plus their lookbacks, computes its
rows with the domain's pure function, and publishes them only if they honour its
contract. It refreshes by itself when any day it reads changes (automation), and its
materialization says how many rows it read from each input.
"""

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence

import dagster as dg
import polars as pl

from platform_resources.contracts.enforcement import hold_to_contract
from platform_resources.contracts.model import Contract
from platform_resources.contracts.specs import product_spec, publish_if_passed
from platform_resources.core.automation import CHUNKED_BACKFILL, RETRY, on_upstream_change
from platform_resources.core.partitions import DAILY, window_dates
from platform_resources.products.input_ports import CONSUMES, ProductRead, consumed
from platform_resources.quality.dimensions import quality_check_results, quality_check_specs
from platform_resources.storage.outages import reporting_outages

#: The rows for the days of ``window`` from the inputs, by product name (each read over its lookback).
Compute = Callable[[tuple[dt.date, dt.date], Mapping[str, pl.DataFrame]], pl.DataFrame]


def build_derived_product(
    contract: Contract, reads: Sequence[ProductRead], compute: Compute
) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name=f"{contract.domain}_{contract.layer}_{contract.name}",
        specs=[
            product_spec(
                contract,
                deps=[read.dep for read in reads],
                kinds={"iceberg", "polars"},
                automation_condition=on_upstream_change(),
                metadata={CONSUMES: dg.MetadataValue.json(consumed(reads, contract.domain))},
            )
        ],
        check_specs=quality_check_specs([contract]),
        partitions_def=DAILY,
        backfill_policy=CHUNKED_BACKFILL,
        retry_policy=RETRY,
    )
    @reporting_outages
    def derived(context: dg.AssetExecutionContext) -> Iterator:
        window = window_dates(context)
        inputs = {read.contract.name: read.read(window) for read in reads}
        read_rows = {read.contract.uri: inputs[read.contract.name].height for read in reads}
        context.log.info(f"read for [{window[0]}, {window[1]}): {read_rows}")
        rows = compute(window, inputs)
        outcome = hold_to_contract(rows, contract)
        yield from publish_if_passed(
            outputs=[
                dg.Output(
                    rows,
                    output_name=contract.asset_key.to_python_identifier(),
                    metadata={"rows_read": dg.MetadataValue.json(read_rows)},
                )
            ],
            checks=quality_check_results(outcome, rows),
        )

    return derived
