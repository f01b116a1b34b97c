"""Output ports and pinned reads: how a domain reads another domain's published products.

A consumer names each product it reads by URI, ``data://<domain>/<product>/v<major>``,
resolved against the producer's published contracts (``domains.<producer>.contracts``).
Only Gold products are published ports. A pin that names a product the producer does
not publish, or a version it no longer publishes, fails when the code location loads,
naming what is on offer. A read covers the consumer's partition window plus a lookback,
and the same window is the Dagster dependency, so lineage and automation see it.
"""

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg
import polars as pl
from pyiceberg.exceptions import NoSuchTableError

from platform_resources.contracts import Contract
from platform_resources.iceberg_io import read_table

PUBLISHED_LAYER = "gold"
_URI = re.compile(r"data://(?P<domain>[a-z_]+)/(?P<product>[a-z0-9_]+)/v(?P<major>\d+)")


@dataclass(frozen=True)
class ProductRead:
    """A read of one product: the consumer's day D reads the product's days [D - lookback_days, D]."""

    contract: Contract
    lookback_days: int = 0

    @property
    def dep(self) -> dg.AssetDep:
        return dg.AssetDep(
            self.contract.asset_key,
            partition_mapping=dg.TimeWindowPartitionMapping(
                start_offset=-self.lookback_days, end_offset=0, allow_nonexistent_upstream_partitions=True
            ),
        )

    def window(self, window: tuple[dt.date, dt.date]) -> tuple[dt.date, dt.date]:
        return window[0] - dt.timedelta(days=self.lookback_days), window[1]

    def read(self, window: tuple[dt.date, dt.date]) -> pl.DataFrame:
        """The product's rows for the consumer's ``window`` and its lookback; none if never published."""
        contract = self.contract
        try:
            lf = read_table(
                contract.product_id, partition_column=contract.partition_column, window=self.window(window)
            )
        except NoSuchTableError:
            return contract.polars_schema().to_frame()
        return lf.select(contract.polars_schema().names()).collect()


def pin(published: Mapping[str, Contract], uri: str, lookback_days: int = 0) -> ProductRead:
    """The read of ``uri`` from a producer's published contracts; refuses what is not on offer."""
    match = _URI.fullmatch(uri)
    if match is None:
        raise dg.DagsterInvalidDefinitionError(f"{uri!r} is not a product URI data://<domain>/<product>/v<N>")
    contract = published.get(match["product"])
    offered = sorted(c.uri for c in published.values() if c.layer == PUBLISHED_LAYER)
    if contract is None or contract.domain != match["domain"] or contract.layer != PUBLISHED_LAYER:
        raise dg.DagsterInvalidDefinitionError(
            f"{uri} is not a published product of {match['domain']}; it publishes {offered}"
        )
    if contract.major_version != int(match["major"]):
        raise dg.DagsterInvalidDefinitionError(
            f"{uri} is pinned, but {match['domain']} publishes {contract.uri} (version {contract.version}): "
            "read the new version after checking its contract"
        )
    return ProductRead(contract, lookback_days)
