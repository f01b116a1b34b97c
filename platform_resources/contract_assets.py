"""Dagster specs from contracts: the asset spec and the blocking contract check of a data product."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg

from platform_resources.contracts import CONTRACT_CHECK, Contract
from platform_resources.iceberg_io import PARTITION_EXPR
from platform_resources.resources import IO_MANAGER_KEY


def product_spec(
    contract: Contract,
    *,
    deps: Sequence[dg.AssetDep | dg.AssetKey] = (),
    kinds: set[str] | None = None,
    extra_metadata: Mapping[str, Any] | None = None,
) -> dg.AssetSpec:
    """The asset spec of the product a contract describes: key, owner, docs and column schema."""
    metadata: dict[str, Any] = {
        "contract_version": contract.version,
        "dagster/column_schema": contract.table_schema(),
        "dagster/table_name": contract.product_id,
    }
    if contract.partition_column:
        metadata[PARTITION_EXPR] = contract.partition_column
    metadata.update(extra_metadata or {})
    return dg.AssetSpec(
        contract.asset_key,
        description=contract.description.strip(),
        owners=[contract.owner],
        group_name=contract.domain,
        kinds=kinds or {"iceberg", "polars"},
        tags={"layer": contract.layer},
        metadata=metadata,
        deps=deps,
    ).with_io_manager_key(IO_MANAGER_KEY)


def contract_check_spec(contract: Contract) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        CONTRACT_CHECK,
        asset=contract.asset_key,
        blocking=True,
        description=f"Rows honour contract {contract.product_id} v{contract.version} "
        f"(at most {contract.max_failing_ratio:.0%} may break it); failing rows are sampled in the metadata.",
    )
