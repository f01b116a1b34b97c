"""What the data catalog says of each product, gathered from the contracts, the code locations,
the Dagster instance and the Iceberg tables.

Per product version: identity (URI, owner, description, deprecation), schema with
classifications, SLOs and their current status, lineage across domains (direct and
transitive, from every location's asset graph), the last materialization, the table's
row count (from Iceberg metadata, no data read), sample queries and the domains that
consume it (from the consumers' pinned reads).

SLO status: freshness is the age of the last materialization against
``freshness_minutes``; completeness and accuracy are the values the latest
``completeness`` and ``accuracy`` checks measured (``quality_dimensions``). A product never
materialized or checked has no status (None), never a guessed one.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import dagster as dg
from pyiceberg.exceptions import NoSuchTableError

from platform_resources.contracts.model import Contract
from platform_resources.core.check_names import ACCURACY, COMPLETENESS
from platform_resources.governance.contract_changes import consumers_by_uri
from platform_resources.mesh.workspace import asset_specs
from platform_resources.storage.iceberg_io import count_rows


def _graph(defs_by_domain: Mapping[str, dg.Definitions]) -> tuple[dict, dict]:
    """(upstream, downstream) adjacency of every asset key across the code locations."""
    upstream: dict[dg.AssetKey, set[dg.AssetKey]] = defaultdict(set)
    downstream: dict[dg.AssetKey, set[dg.AssetKey]] = defaultdict(set)
    for defs in defs_by_domain.values():
        for spec in asset_specs(defs):
            for dep in spec.deps:
                upstream[spec.key].add(dep.asset_key)
                downstream[dep.asset_key].add(spec.key)
    return upstream, downstream


def _closure(start: dg.AssetKey, edges: Mapping[dg.AssetKey, set[dg.AssetKey]]) -> set[dg.AssetKey]:
    seen: set[dg.AssetKey] = set()
    todo = list(edges.get(start, ()))
    while todo:
        key = todo.pop()
        if key not in seen:
            seen.add(key)
            todo.extend(edges.get(key, ()))
    return seen


def _keys(keys: set[dg.AssetKey]) -> list[str]:
    return sorted(k.to_user_string() for k in keys)


def _last_materialization(instance: dg.DagsterInstance | None, key: dg.AssetKey) -> dict[str, Any] | None:
    event = instance.get_latest_materialization_event(key) if instance else None
    if event is None:
        return None
    return {
        "timestamp": dt.datetime.fromtimestamp(event.timestamp, dt.UTC).isoformat(timespec="seconds"),
        "run_id": event.run_id,
        "partition": event.dagster_event.partition if event.dagster_event else None,
    }


def _latest_measures(instance: dg.DagsterInstance | None, key: dg.AssetKey) -> dict[str, float]:
    """The latest measured value of the product's completeness and accuracy checks."""
    if instance is None:
        return {}
    measured = {}
    for name in (COMPLETENESS, ACCURACY):
        # the newest finished evaluation: a run in progress (a micro-batch) has only planned it
        history = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(key, name), limit=5
        )
        evaluations = [r.evaluation for r in history if isinstance(r.evaluation, dg.AssetCheckEvaluation)]
        if evaluations and "measured" in evaluations[0].metadata:
            measured[name] = evaluations[0].metadata["measured"].value
    return measured


def _status(target: float, measured: float | None, higher_is_better: bool = True) -> dict[str, Any]:
    met = None if measured is None else (measured >= target if higher_is_better else measured <= target)
    return {"target": target, "measured": None if measured is None else round(measured, 6), "met": met}


def slo_status(
    contract: Contract, last: Mapping[str, Any] | None, measured: Mapping[str, float], now: dt.datetime
) -> dict[str, Any] | None:
    if contract.slo is None:
        return None
    age = None
    if last is not None:
        age = (now - dt.datetime.fromisoformat(last["timestamp"])).total_seconds() / 60
    return {
        "freshness_minutes": _status(contract.slo.freshness_minutes, age, higher_is_better=False),
        "accuracy": _status(contract.slo.accuracy, measured.get(ACCURACY)),
        "completeness": _status(contract.slo.completeness, measured.get(COMPLETENESS)),
    }


def _rows(contract: Contract) -> int | None:
    try:
        return count_rows(contract.product_id)
    except NoSuchTableError:
        return None


def product_facts(
    contracts: Mapping[str, Contract],
    defs_by_domain: Mapping[str, dg.Definitions],
    instance: dg.DagsterInstance | None,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """The catalog entry of every Silver and Gold product version, sorted by URI."""
    now = now or dt.datetime.now(dt.UTC)
    upstream, downstream = _graph(defs_by_domain)
    consumers = consumers_by_uri(defs_by_domain)
    products = []
    for uri, contract in sorted(contracts.items()):
        if contract.layer == "bronze":
            continue
        key = contract.asset_key
        ancestors, descendants = _closure(key, upstream), _closure(key, downstream)
        last = _last_materialization(instance, key)
        products.append(
            {
                "uri": uri,
                "id": f"{contract.domain}.{contract.layer}.{contract.asset_name}",
                "domain": contract.domain,
                "name": contract.name,
                "version": contract.version,
                "layer": contract.layer,
                "asset_key": key.to_user_string(),
                "table": contract.product_id,
                "owner": contract.owner,
                "description": contract.description.strip(),
                "contract_file": contract.source,
                "published": contract.published,
                "ports": [p.type for p in contract.ports],
                "retention": contract.retention,
                "deprecation": contract.deprecation
                and {
                    "date": contract.deprecation.date.isoformat(),
                    "successor": contract.deprecation.successor,
                },
                "grain": list(contract.grain),
                "columns": [
                    {
                        "name": c.name,
                        "type": c.type,
                        "required": c.required,
                        "classification": c.classification,
                        "pii": c.pii,
                        "protection": c.protection,
                        "description": c.description,
                    }
                    for c in contract.columns
                ],
                "slo": contract.slo and vars(contract.slo),
                "slo_status": slo_status(contract, last, _latest_measures(instance, key), now),
                "upstream": _keys(upstream.get(key, set())),
                "downstream": _keys(downstream.get(key, set())),
                "upstream_domains": sorted({k.path[0] for k in ancestors} - {contract.domain}),
                "downstream_domains": sorted({k.path[0] for k in descendants} - {contract.domain}),
                "last_materialization": last,
                "rows": _rows(contract),
                "sample_queries": [{"title": q.title, "sql": q.sql} for q in contract.sample_queries],
                "consumers": [
                    {"domain": c.domain, "asset": c.asset, "columns": list(c.columns)}
                    for c in consumers.get(uri, [])
                    if c.domain != contract.domain
                ],
            }
        )
    return products
