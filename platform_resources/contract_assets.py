"""Dagster specs from contracts (asset spec, blocking contract check) and publishing behind the checks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import dagster as dg

from platform_resources.contracts import CONTRACT_CHECK, Contract
from platform_resources.iceberg_io import CONTRACT_FILE, PARTITION_EXPR
from platform_resources.resources import IO_MANAGER_KEY


def contract_metadata(contract: Contract) -> dict[str, Any]:
    """What the UI shows of a product's contract: version, table and column schema with classifications."""
    metadata: dict[str, Any] = {
        "contract_version": contract.version,
        "contract_uri": contract.uri,
        **({CONTRACT_FILE: contract.source} if contract.source else {}),
        "dagster/column_schema": contract.table_schema(),
        "dagster/table_name": contract.product_id,
    }
    if contract.partition_column:
        metadata[PARTITION_EXPR] = contract.partition_column
    return metadata


def product_spec(
    contract: Contract,
    *,
    deps: Sequence[dg.AssetDep | dg.AssetKey] = (),
    kinds: set[str] | None = None,
    automation_condition: dg.AutomationCondition | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> dg.AssetSpec:
    """The asset spec of the product a contract describes: key, owner, docs and column schema."""
    return dg.AssetSpec(
        contract.asset_key,
        description=contract.description.strip(),
        owners=[contract.owner],
        group_name=contract.domain,
        kinds=kinds or {"iceberg", "polars"},
        tags={"layer": contract.layer},
        metadata={**contract_metadata(contract), **(metadata or {})},
        deps=deps,
        automation_condition=automation_condition,
    ).with_io_manager_key(IO_MANAGER_KEY)


def contract_check_spec(contract: Contract) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        CONTRACT_CHECK,
        asset=contract.asset_key,
        blocking=True,
        description=f"Rows honour contract {contract.product_id} v{contract.version} "
        f"(at most {contract.max_failing_ratio:.0%} may break it); failing rows are sampled in the metadata.",
    )


def publish_if_passed(
    outputs: Iterable[dg.Output], checks: Sequence[dg.AssetCheckResult], always: Iterable[dg.Output] = ()
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Write-audit-publish for one step: ``outputs`` are stored only if every check passed.

    ``always`` (e.g. the rejected rows with their reasons) is stored regardless. When a
    check fails, the step fails after reporting the checks: the products keep their last
    published partition and every downstream asset in the run is skipped.
    """
    yield from always
    failed = [c for c in checks if not c.passed]
    if not failed:
        yield from outputs
    yield from checks
    if failed:
        raise dg.Failure(
            allow_retries=False,  # the same data fails the same check again
            description="not published, a blocking check failed: "
            + "; ".join(f"{c.asset_key.to_user_string()} {c.check_name}: {c.description}" for c in failed),
        )
