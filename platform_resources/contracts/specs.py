"""Dagster specs from contracts (asset spec, blocking contract check) and publishing behind the checks."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import dagster as dg

from platform_resources.contracts.model import CLASSIFICATIONS, CONTRACT_CHECK, Contract
from platform_resources.core.keys import CONTRACT_FILE, IO_MANAGER_KEY, PARTITION_EXPR

ROLE_TAG = "role"
QUARANTINE_ROLE = "quarantine"  # rows kept for repair with their raw input: never a data product


def contract_metadata(contract: Contract) -> dict[str, Any]:
    """What the UI shows of a product's contract: URI, version, SLOs, ports, queries and columns."""
    metadata: dict[str, Any] = {
        "contract_version": contract.version,
        "contract_uri": contract.uri,
        "dagster/column_schema": contract.table_schema(),
        "dagster/table_name": contract.product_id,
    }
    if contract.source:
        metadata[CONTRACT_FILE] = contract.source
    if contract.partition_column:
        metadata[PARTITION_EXPR] = contract.partition_column
    if contract.slo:
        metadata["slo"] = dg.MetadataValue.json(dataclasses.asdict(contract.slo))
    if contract.retention:
        metadata["retention_tier"] = contract.retention
    if contract.ports:
        metadata["output_ports"] = dg.MetadataValue.json([p.type for p in contract.ports])
    if contract.deprecation:
        metadata["deprecated_on"] = contract.deprecation.date.isoformat()
        metadata["successor"] = contract.deprecation.successor or ""
    if contract.sample_queries:
        metadata["sample_queries"] = dg.MetadataValue.md(
            "\n\n".join(f"**{q.title}**\n\n```sql\n{q.sql}\n```" for q in contract.sample_queries)
        )
    return metadata


def freshness_policy(contract: Contract) -> dg.FreshnessPolicy | None:
    """The contract's freshness SLO as Dagster's policy: failing once no update for ``freshness_minutes``.

    Dagster evaluates it per asset (the daemon, ``freshness: enabled`` in dagster.yaml), not
    per partition; the partition-aware measure is the ``partition_freshness`` check.
    """
    if contract.slo is None:
        return None
    return dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(minutes=contract.slo.freshness_minutes))


def contract_tags(contract: Contract) -> dict[str, str]:
    """Tags to filter the catalog by: layer, highest classification, PII, retention, publication."""
    levels = [c.classification for c in contract.columns if c.classification]
    tags = {"layer": contract.layer, "domain": contract.domain}
    if levels:
        tags["classification"] = max(levels, key=CLASSIFICATIONS.index)
    if any(c.pii for c in contract.columns):
        tags["pii"] = "true"
    if contract.retention:
        tags["retention"] = contract.retention
    if contract.published:
        tags["published"] = "true"
    if contract.deprecation:
        tags["deprecated"] = "true"
    return tags


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
        tags=contract_tags(contract),
        metadata={**contract_metadata(contract), **(metadata or {})},
        freshness_policy=freshness_policy(contract),
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


def blocks(result: dg.AssetCheckResult) -> bool:
    """A failed check of ERROR severity withholds publication; a failed warning only informs."""
    return not result.passed and result.severity == dg.AssetCheckSeverity.ERROR


def publish_if_passed(
    outputs: Iterable[dg.Output], checks: Sequence[dg.AssetCheckResult], always: Iterable[dg.Output] = ()
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Write-audit-publish for one step: ``outputs`` are stored only if no blocking check failed.

    ``always`` (e.g. the rejected rows with their reasons) is stored regardless. When a
    check fails, the step fails after reporting the checks: the products keep their last
    published partition and every downstream asset in the run is skipped.
    """
    yield from always
    failed = [c for c in checks if blocks(c)]
    if not failed:
        yield from outputs
    yield from checks
    if failed:
        raise dg.Failure(
            allow_retries=False,  # the same data fails the same check again
            description="not published, a blocking check failed: "
            + "; ".join(f"{c.asset_key.to_user_string()} {c.check_name}: {c.description}" for c in failed),
        )
