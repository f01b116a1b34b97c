"""Output ports and pinned reads: how a domain reads another domain's published products.

A consumer names each product it reads by URI, ``data://<domain>/<product>/v<major>``,
resolved against the producer's contracts (``domains.<producer>.contracts``), and the
columns it reads. Only products with output ports are published. A pin that names a
product or version the producer does not publish, or a column the version lacks, fails
when the code location loads, naming what is on offer. A read covers the consumer's
partition window plus a lookback, and the same window is the Dagster dependency, so
lineage and automation see it; the columns read are the asset's ``consumes`` metadata,
which the breaking-change check holds producers to.
"""

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import dagster as dg
import polars as pl
from pyiceberg.exceptions import NoSuchTableError

from platform_resources.contracts.model import PRODUCT_URI, Contract
from platform_resources.storage.iceberg_io import read_table

_COMPARED_WITH: ContextVar[Mapping[str, Contract] | None] = ContextVar("compared_with", default=None)
CONSUMES = "consumes"  # asset metadata: {uri: [columns]} read of other domains' products


@dataclass(frozen=True)
class ProductRead:
    """One product read: day D of the consumer reads ``columns`` of days [D - lookback_days, D].

    No ``columns`` reads every column (a domain reading its own products).
    """

    contract: Contract
    lookback_days: int = 0
    columns: tuple[str, ...] = ()

    @property
    def dep(self) -> dg.AssetDep:
        return dg.AssetDep(
            self.contract.asset_key,
            partition_mapping=dg.TimeWindowPartitionMapping(
                start_offset=-self.lookback_days, end_offset=0, allow_nonexistent_upstream_partitions=True
            ),
        )

    @property
    def selected(self) -> list[str]:
        return list(self.columns) or self.contract.polars_schema().names()

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
            return contract.polars_schema().to_frame().select(self.selected)
        return lf.select(self.selected).collect()


def consumed(reads: Sequence[ProductRead], consumer_domain: str) -> dict[str, list[str]]:
    """Asset metadata ``consumes``: the columns read of each other domain's product, by URI."""
    return {r.contract.uri: r.selected for r in reads if r.contract.domain != consumer_domain}


def consumes_of(spec: dg.AssetSpec) -> Mapping[str, Sequence[str]]:
    """An asset's ``consumes`` metadata (as declared, or as a JSON metadata value): URI -> columns."""
    consumes = spec.metadata.get(CONSUMES)
    return consumes.value if isinstance(consumes, dg.JsonMetadataValue) else consumes or {}


def pin(
    published: Mapping[str, Contract], uri: str, columns: Sequence[str], lookback_days: int = 0
) -> ProductRead:
    """The read of ``columns`` of ``uri`` from a producer's contracts; refuses what is not on offer."""
    match = PRODUCT_URI.fullmatch(uri)
    if match is None:
        raise dg.DagsterInvalidDefinitionError(f"{uri!r} is not a product URI data://<domain>/<product>/v<N>")
    offered = {c.uri: c for c in published.values() if c.published and c.domain == match["domain"]}
    contract = offered.get(uri)
    missing = [c for c in columns if contract is not None and contract.column(c) is None]
    if (contract is None or missing) and (base := (_COMPARED_WITH.get() or {}).get(uri)) is not None:
        # the breaking-change check: this read as declared, against the base it was written for
        return ProductRead(base, lookback_days, tuple(columns))
    if contract is None:
        raise dg.DagsterInvalidDefinitionError(
            f"{uri} is not published by {match['domain']}; it publishes {sorted(offered)}"
        )
    if missing or not columns:
        raise dg.DagsterInvalidDefinitionError(
            f"{uri} pins columns {list(columns)}; name the columns read, which {uri} must have "
            f"(it lacks {missing})"
        )
    return ProductRead(contract, lookback_days, tuple(columns))


@contextmanager
def pins_compared_with(base: Mapping[str, Contract]) -> Iterator[None]:
    """Within: a pin the current contracts no longer honour resolves against ``base`` (by URI).

    For the breaking-change check, which loads consumers as written to learn what they
    read; a normal load refuses such a pin.
    """
    token = _COMPARED_WITH.set(base)
    try:
        yield
    finally:
        _COMPARED_WITH.reset(token)
