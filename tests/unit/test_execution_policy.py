"""How assets run by themselves: automation conditions, sensors, backfill chunks, retries and pools."""

import datetime as dt

import dagster as dg
import pytest

from platform_resources.core.automation import CHUNK_DAYS, DUCKDB_POOL
from platform_resources.mesh.workspace import (
    asset_specs,
    domain_module,
    domain_names,
    prepare_dagster_home,
    simulated_domains,
    workspace_contracts,
    workspace_definitions,
)


def _repository(domain: str) -> dg.RepositoryDefinition:
    return domain_module(domain, "definitions").defs.get_repository_def()


@pytest.mark.parametrize("domain", domain_names())
def test_every_location_runs_its_automation_sensor_and_chunks_and_retries_every_asset(domain: str) -> None:
    repository = _repository(domain)
    sensors = {s.name: s for s in repository.sensor_defs}
    assert sensors[f"{domain}_automation"].default_status == dg.DefaultSensorStatus.RUNNING
    for assets in repository.assets_defs_by_key.values():
        if assets.is_external:
            continue
        retry = assets.node_def.retry_policy
        assert retry is not None and retry.max_retries == 2 and retry.backoff == dg.Backoff.EXPONENTIAL
        if assets.partitions_def is None:  # the catalog: one run, nothing to chunk
            continue
        assert assets.backfill_policy == dg.BackfillPolicy.multi_run(CHUNK_DAYS), assets.node_def.name


def test_duckdb_writers_share_one_pool_limited_to_one_step(tmp_path) -> None:
    pooled = {
        assets.node_def.name
        for domain in domain_names()
        for assets in _repository(domain).assets_defs_by_key.values()
        if not assets.is_external and assets.node_def.pool == DUCKDB_POOL
    }
    landing = simulated_domains()
    assert {f"{d}_silver_events" for d in landing} | {f"{d}_gold_dbt" for d in landing} <= pooled
    with dg.DagsterInstance.from_config(str(prepare_dagster_home(tmp_path))) as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1


def test_products_that_read_other_days_refresh_on_upstream_changes() -> None:
    graph = _repository("orders").asset_graph
    assert graph.get(dg.AssetKey(["orders", "silver", "orders"])).automation_condition.get_label() == (
        "refresh_when_upstream_changes"
    )
    growth = _repository("growth").asset_graph
    for key in growth.get_all_asset_keys():
        if key.path[0] == "growth":
            assert growth.get(key).automation_condition.get_label() == "on_upstream_change"


def test_every_product_carries_its_contracts_freshness_slo_and_the_daemon_evaluates_it(tmp_path) -> None:
    contracts = {c.asset_key: c for c in workspace_contracts().values()}
    policies = {
        spec.key: spec.freshness_policy
        for defs in workspace_definitions().values()
        for spec in asset_specs(defs)
        if spec.key in contracts
    }
    assert set(policies) == {key for key, c in contracts.items() if c.layer != "bronze"}
    for key, policy in policies.items():
        assert isinstance(policy, dg.FreshnessPolicy), key
        assert policy.fail_window.to_timedelta() == dt.timedelta(minutes=contracts[key].slo.freshness_minutes)
    with dg.DagsterInstance.from_config(str(prepare_dagster_home(tmp_path))) as instance:
        assert instance.get_settings("freshness") == {"enabled": True}
