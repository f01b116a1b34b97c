"""The dbt Gold factory: a domain's dbt project as Dagster assets, published to Iceberg (write-audit-publish).

Per step: the Silver sources are staged (for the partition window only) into a fresh
DuckDB file, with the window itself as the table ``main.run_window`` (the models' macro
``in_window``), ``dbt build`` runs, and each model is published to ``<domain>.gold_<model>``
only when its dbt tests and its contract (pandera) pass. A model that fails either is not
published, and the run fails naming it; consumers never see that partition change.

dbt parses a project only partly when neither its profile nor its vars changed since the
last parse: so the step's folder (``scratch/dbt/<domain>``: database, profile, target) is
the same for every step of the domain, held by one step at a time (a file lock), and the
window is data rather than vars. A step then pays for parsing what changed, not the project.
"""

import datetime as dt
import fcntl
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import polars as pl
import yaml
from dagster_dbt import DagsterDbtTranslator, DbtCliInvocation, DbtCliResource, DbtProject
from dagster_dbt.asset_utils import (
    DAGSTER_DBT_EXCLUDE_METADATA_KEY,
    DAGSTER_DBT_SELECT_METADATA_KEY,
    build_dbt_specs,
)
from pyiceberg.exceptions import NoSuchTableError

from platform_resources.contracts.enforcement import hold_to_contract
from platform_resources.contracts.model import Contract
from platform_resources.contracts.specs import (
    blocks,
    contract_metadata,
    contract_tags,
    freshness_policy,
)
from platform_resources.core.automation import (
    CHUNKED_BACKFILL,
    DUCKDB_POOL,
    RETRY,
    refresh_when_upstream_changes,
)
from platform_resources.core.partitions import DAILY, window_dates
from platform_resources.core.settings import get_paths
from platform_resources.products.dbt_model_contracts import prepare_project
from platform_resources.quality.dimensions import quality_check_results, quality_check_specs
from platform_resources.storage.catalog import load_catalog
from platform_resources.storage.iceberg_io import (
    read_table,
    table_identifier,
    write_frames,
    written_metadata,
)
from platform_resources.storage.outages import reporting_outages

#: A partition window: [start, end) days.
Window = tuple[dt.date, dt.date]


def dbt_project(project_dir: Path, contracts: Mapping[str, Contract]) -> DbtProject:
    """The project, its model properties generated from the contracts and its manifest current."""
    prepare_project(project_dir, contracts.values())
    return DbtProject(project_dir=project_dir, profiles_dir=project_dir)


class MeshTranslator(DagsterDbtTranslator):
    """dbt models -> ``[domain, gold, model]``; sources -> the Silver assets they stage."""

    def __init__(self, domain: str, contracts: Mapping[str, Contract]):
        super().__init__()
        self.domain = domain
        self.contracts = contracts

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        name = dbt_resource_props["name"]
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([self.domain, "silver", name])
        version = dbt_resource_props.get("version")
        if version is not None and int(version) > 1:  # versioned model: v1 keeps the plain name
            name = f"{name}_v{version}"
        return dg.AssetKey([self.domain, "gold", name])

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> dg.AutomationCondition:
        # landing runs build a day's Gold; this refreshes older days whose Silver changed since
        return refresh_when_upstream_changes()

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return self.domain

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        contract = self.contracts.get(spec.key.path[-1]) if spec.key.path[1] == "gold" else None
        if contract is None:
            return spec
        return spec.replace_attributes(
            owners=[contract.owner],
            description=contract.description.strip(),
            tags={**spec.tags, **contract_tags(contract)},
            kinds={"dbt", "duckdb", "iceberg"},
            freshness_policy=freshness_policy(contract),
        ).merge_attributes(metadata=contract_metadata(contract))


def build_dbt_gold_assets(
    domain: str, project_dir: Path, contracts: Mapping[str, Contract]
) -> dg.AssetsDefinition:
    project = dbt_project(project_dir, contracts)
    manifest = json.loads(project.manifest_path.read_text())
    translator = MeshTranslator(domain, contracts)
    specs, check_specs = build_dbt_specs(
        translator=translator,
        manifest=manifest,
        select="fqn:*",
        exclude="",
        selector="",
        io_manager_key=None,
        project=project,
    )
    gold_contracts = {s.key: contracts[s.key.path[-1]] for s in specs if s.key.path[-1] in contracts}
    missing_sources = [s["name"] for s in manifest["sources"].values() if s["name"] not in contracts]
    if missing_sources:
        raise dg.DagsterInvalidDefinitionError(
            f"dbt sources without a Silver contract in {domain}: {missing_sources}"
        )
    missing = [s.key.to_user_string() for s in specs if s.key not in gold_contracts]
    if missing:
        raise dg.DagsterInvalidDefinitionError(
            f"dbt models without a contract in {domain}/contracts: {missing}"
        )

    project_run = GoldRun(
        domain=domain,
        profile=yaml.safe_load((project_dir / "dbt_project.yml").read_text())["profile"],
        sources=contracts,
        products=gold_contracts,
        manifest=manifest,
        translator=translator,
    )

    @dg.multi_asset(
        name=f"{domain}_gold_dbt",
        specs=specs,
        check_specs=[*check_specs, *quality_check_specs(gold_contracts.values())],
        can_subset=True,
        partitions_def=DAILY,
        backfill_policy=CHUNKED_BACKFILL,
        retry_policy=RETRY,
        pool=DUCKDB_POOL,
        op_tags={DAGSTER_DBT_SELECT_METADATA_KEY: "fqn:*", DAGSTER_DBT_EXCLUDE_METADATA_KEY: ""},
        allow_arbitrary_check_specs=True,
    )
    @reporting_outages
    def gold(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator:
        yield from project_run.build_and_publish(context, dbt)

    return gold


def _stage_window(
    con: duckdb.DuckDBPyConnection, contract: Contract, relation: str, window: Window, needed_by: str
) -> int:
    """The published product's partition window copied into the run's DuckDB as ``relation``."""
    identifier = contract.product_id
    try:
        frame = read_table(identifier, partition_column=contract.partition_column, window=window).collect()
    except NoSuchTableError as exc:
        raise dg.Failure(
            allow_retries=False,
            description=f"{identifier} does not exist yet ({needed_by} reads it): "
            f"materialize {contract.asset_key.to_user_string()}",
        ) from exc
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {relation.split('.')[0]}")
    con.register("staged", frame.to_arrow())
    con.execute(f"CREATE OR REPLACE TABLE {relation} AS SELECT * FROM staged")
    con.unregister("staged")
    return frame.height


@contextmanager
def _domain_workdir(domain: str) -> Iterator[Path]:
    """The domain's Gold folder, held by this step alone until it ends; its database removed then."""
    workdir = get_paths().scratch / "dbt" / domain
    workdir.mkdir(parents=True, exist_ok=True)
    with open(workdir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another step of the domain waits here for its turn
        try:
            yield workdir
        finally:
            (workdir / "run.duckdb").unlink(missing_ok=True)


@dataclass(frozen=True)
class GoldRun:
    """What a Gold step needs of its dbt project: write (stage, dbt build), audit (dbt tests, the
    contract and quality checks), publish (Iceberg, only what passed), then the failure policy."""

    domain: str
    profile: str
    sources: Mapping[str, Contract]  # every contract of the domain, by asset name (the Silver sources)
    products: Mapping[dg.AssetKey, Contract]  # each Gold model's contract
    manifest: Mapping[str, Any]
    translator: MeshTranslator

    def build_and_publish(self, context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator:
        window = window_dates(context)
        with _domain_workdir(self.domain) as workdir:
            database = self._stage(context, workdir, window)
            invocation = self._dbt_build(context, dbt, workdir)
            events = list(invocation.stream())
            # a dbt test with severity warn informs but does not withhold publication
            failed = {e.asset_key for e in events if isinstance(e, dg.AssetCheckResult) and blocks(e)}
            unpublished: list[str] = []
            with duckdb.connect(str(database), read_only=True) as con:
                for event in events:
                    if not isinstance(event, dg.Output):
                        yield event
                        continue
                    key = context.asset_key_for_output(event.output_name)
                    frame = self._model_frame(con, key)
                    results = quality_check_results(hold_to_contract(frame, self.products[key]), frame)
                    yield from results
                    if key in failed or any(blocks(r) for r in results):
                        unpublished.append(key.to_user_string())
                    else:
                        yield self._publish(event, key, frame, window)
            self._fail_unless_all_published(unpublished, invocation)

    def _stage_unselected_parents(
        self, con: duckdb.DuckDBPyConnection, context: dg.AssetExecutionContext, window: Window
    ) -> dict[str, int]:
        """A selected model's parent models that this step does not build, as published (a
        subset run, e.g. automation refreshing port v1 alone, still finds v2 it selects from)."""
        models = {uid: n for uid, n in self.manifest["nodes"].items() if n["resource_type"] == "model"}
        selected = set(context.selected_asset_keys)
        staged = {}
        for node in models.values():
            if self.translator.get_asset_key(node) not in selected:
                continue
            for parent in (models[uid] for uid in node["depends_on"]["nodes"] if uid in models):
                key = self.translator.get_asset_key(parent)
                if key not in selected:
                    relation = f"{parent['schema']}.{parent['alias']}"
                    contract = self.products[key]
                    staged[contract.product_id] = _stage_window(con, contract, relation, window, node["name"])
        return staged

    def _stage(self, context: dg.AssetExecutionContext, workdir: Path, window: Window) -> Path:
        """The Silver sources' window and the window itself in a fresh DuckDB file, and a
        profile pointing at it (the same profile every step: dbt's partial parse stays valid)."""
        database = workdir / "run.duckdb"
        database.unlink(missing_ok=True)  # a killed step's file is not this step's
        with duckdb.connect(str(database)) as con:
            staged = {
                self.sources[source["name"]].product_id: _stage_window(
                    con, self.sources[source["name"]], f"{source['schema']}.{source['name']}", window, "Gold"
                )
                for source in self.manifest["sources"].values()
            }
            staged |= self._stage_unselected_parents(con, context, window)
            con.execute(
                "CREATE TABLE main.run_window AS SELECT ?::DATE AS min_date, ?::DATE AS max_date",
                list(window),
            )
        context.log.info(f"staged Silver for [{window[0]}, {window[1]}): {staged}")
        outputs = {"run": {"type": "duckdb", "path": str(database), "threads": 1}}
        (workdir / "profiles.yml").write_text(
            json.dumps({self.profile: {"target": "run", "outputs": outputs}})
        )
        return database

    @staticmethod
    def _dbt_build(context: dg.AssetExecutionContext, dbt: DbtCliResource, workdir: Path) -> DbtCliInvocation:
        return dbt.cli(
            ["build", "--profiles-dir", str(workdir)],
            context=context,
            raise_on_error=False,
            target_path=workdir / "target",
        )

    def _model_frame(self, con: duckdb.DuckDBPyConnection, key: dg.AssetKey) -> pl.DataFrame:
        """The model dbt built, with its contract's columns and types."""
        schema = self.products[key].polars_schema()
        return con.sql(f"SELECT * FROM gold.{key.path[-1]}").pl().select(schema.names()).cast(dict(schema))

    def _publish(self, event: dg.Output, key: dg.AssetKey, frame: pl.DataFrame, window: Window) -> dg.Output:
        """The model's window written to its Iceberg table (one commit); the output with its metadata."""
        contract, identifier = self.products[key], table_identifier(key)
        table, rows = write_frames(
            load_catalog(),
            identifier,
            frame,
            partition_column=contract.partition_column,
            window=window,
            schema=contract.iceberg_schema(),
        )
        return event.with_metadata({**event.metadata, **written_metadata(identifier, table, rows)})

    @staticmethod
    def _fail_unless_all_published(unpublished: list[str], invocation: DbtCliInvocation) -> None:
        if unpublished:
            raise dg.Failure(
                allow_retries=False,  # the same data fails the same test again
                description=f"Gold not published for {unpublished}: a dbt test or contract check failed "
                "(see the checks); the published tables are unchanged.",
            )
        if not invocation.is_successful():
            # no test or contract failed: dbt itself erred (a model's SQL, the database), which
            # may pass on the step's retry; what it did build is published
            raise dg.Failure(description=f"dbt build failed: {invocation.get_error()}")
