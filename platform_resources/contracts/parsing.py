"""Contracts parsed from a domain's YAML files: every key checked, every error naming the file
and the key, so a bad contract fails its location's load with a clear message."""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from platform_resources.contracts.column_types import ContractTypeError, polars_type
from platform_resources.contracts.model import (
    CLASSIFICATIONS,
    COLUMN_KEYS,
    CONSISTENCY_MINIMUM,
    CONTRACT_KEYS,
    DEFAULT_OBJECTIVE,
    DIMENSIONS,
    LAYERS,
    PORT_TYPES,
    PRODUCT_URI,
    PROTECTIONS,
    QUALITY_KEYS,
    RETENTION_TIERS,
    SLO,
    SLO_KEYS,
    SLO_OPTIONAL_KEYS,
    ColumnSpec,
    Contract,
    ContractError,
    Deprecation,
    Port,
    Quality,
    Reconciliation,
    SampleQuery,
    Timeliness,
)
from platform_resources.core.keys import REPO_ROOT


def _require(raw: dict[str, Any], key: str, where: str) -> Any:
    if key not in raw or raw[key] in (None, ""):
        raise ContractError(f"{where}: missing required key {key!r}")
    return raw[key]


def _required_when(raw: Any, where: str) -> tuple[str, tuple[Any, ...]] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ContractError(
            f"{where}: required_when takes one column and its values, e.g. {{event_type: [a, b]}}"
        )
    ((column, values),) = raw.items()
    return column, tuple(values if isinstance(values, list) else [values])


def _known_keys(raw: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ContractError(f"{where}: unknown key(s) {unknown}; known keys are {sorted(known)}")


def _column(col: Any, where: str) -> ColumnSpec:
    if not isinstance(col, dict):
        raise ContractError(f"{where}: a column is a mapping with at least name and type")
    _known_keys(col, COLUMN_KEYS, where)
    if "allowed" in col and not isinstance(col["allowed"], list):
        raise ContractError(f"{where}: allowed takes a list of values, e.g. allowed: [USD, EUR]")
    classification = col.get("classification")
    if classification is not None and classification not in CLASSIFICATIONS:
        raise ContractError(f"{where}: classification {classification!r} not in {CLASSIFICATIONS}")
    protection = col.get("protection")
    if protection is not None and protection not in PROTECTIONS:
        raise ContractError(f"{where}: protection {protection!r} not in {PROTECTIONS}")
    try:
        polars_type(_require(col, "type", where))
    except ContractTypeError as exc:
        raise ContractError(f"{where}: {exc}") from exc
    return ColumnSpec(
        name=_require(col, "name", where),
        type=col["type"],
        description=col.get("description", ""),
        required=bool(col.get("required", False)),
        unique=bool(col.get("unique", False)),
        classification=classification,
        pii=bool(col.get("pii", False)),
        protection=protection,
        minimum=col.get("minimum"),
        maximum=col.get("maximum"),
        allowed=tuple(col["allowed"]) if "allowed" in col else None,
        pattern=col.get("pattern"),
        required_when=_required_when(col.get("required_when"), where),
    )


def _slo(raw: Any, where: str) -> SLO | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ContractError(f"{where}: slo is a mapping: {sorted(SLO_KEYS)}")
    _known_keys(raw, SLO_KEYS | SLO_OPTIONAL_KEYS, f"{where}: slo")
    missing = sorted(SLO_KEYS - set(raw))
    if missing:
        raise ContractError(f"{where}: slo lacks {missing}")
    objective = raw.get("objective", DEFAULT_OBJECTIVE)
    if not 0 < float(objective) < 1:
        raise ContractError(f"{where}: slo objective is a share in (0, 1), got {objective!r}")
    for share in ("completeness", "accuracy"):
        if not 0 < float(raw[share]) <= 1:
            raise ContractError(f"{where}: slo {share} is a share in (0, 1], got {raw[share]!r}")
    if int(raw["freshness_minutes"]) <= 0:
        raise ContractError(f"{where}: slo freshness_minutes must be positive")
    return SLO(
        int(raw["freshness_minutes"]), float(raw["completeness"]), float(raw["accuracy"]), float(objective)
    )


def _timeliness(raw: Any, names: set[str], where: str) -> Timeliness | None:
    if raw is None:
        return None
    keys = {"event_time", "available_at", "max_minutes"}
    if not isinstance(raw, dict):
        raise ContractError(f"{where}: timeliness is a mapping: {sorted(keys)}")
    _known_keys(raw, keys, f"{where}: timeliness")
    timeliness = Timeliness(
        event_time=_require(raw, "event_time", where),
        available_at=_require(raw, "available_at", where),
        max_minutes=float(raw.get("max_minutes", 5)),
    )
    for column in (timeliness.event_time, timeliness.available_at):
        if column not in names:
            raise ContractError(f"{where}: timeliness names {column!r}, which is not a column")
    return timeliness


def _reconciliation(raw: Any, where: str) -> Reconciliation:
    keys = {"name", "description", "sql", "reads", "minimum", "severity"}
    if not isinstance(raw, dict):
        raise ContractError(f"{where}: a consistency rule is a mapping: {sorted(keys)}")
    _known_keys(raw, keys, where)
    name = _require(raw, "name", where)
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ContractError(f"{where}: consistency name {name!r} is not snake_case")
    reads = _listed(raw, "reads", where)
    if not reads or not all(isinstance(r, str) and re.fullmatch(r"[a-z_]+\.[a-z0-9_]+", r) for r in reads):
        raise ContractError(f"{where}: reads lists the tables the SQL reads, e.g. [orders.silver_orders]")
    severity = raw.get("severity", "warn")
    if severity not in ("error", "warn"):
        raise ContractError(f"{where}: severity is error (stops publication) or warn, got {severity!r}")
    minimum = float(raw.get("minimum", CONSISTENCY_MINIMUM))
    if not 0 < minimum <= 1:
        raise ContractError(f"{where}: minimum is a share in (0, 1], got {minimum!r}")
    return Reconciliation(
        name=name,
        description=raw.get("description", ""),
        sql=_require(raw, "sql", where).strip(),
        reads=tuple(reads),
        minimum=minimum,
        blocking=severity == "error",
    )


def _quality(raw: Any, names: set[str], where: str) -> Quality:
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ContractError(f"{where}: quality is a mapping: {sorted(QUALITY_KEYS)}")
    _known_keys(raw, QUALITY_KEYS, f"{where}: quality")
    blocking = _listed(raw, "blocking", f"{where}: quality")
    if unknown := sorted(set(blocking) - set(DIMENSIONS)):
        raise ContractError(f"{where}: quality blocking names {unknown}, not dimensions {DIMENSIONS}")
    rules = tuple(
        _reconciliation(r, f"{where}: quality.consistency[{i}]")
        for i, r in enumerate(_listed(raw, "consistency", f"{where}: quality"))
    )
    if len({r.name for r in rules}) != len(rules):
        raise ContractError(f"{where}: a consistency rule name is used twice")
    return Quality(
        max_failing_ratio=float(raw.get("max_failing_ratio", 0.0)),
        blocking=frozenset(blocking),
        timeliness=_timeliness(raw.get("timeliness"), names, f"{where}: quality"),
        consistency=rules,
    )


def _listed(raw: dict[str, Any], key: str, where: str) -> list[Any]:
    value = raw.get(key) or []
    if not isinstance(value, list):
        raise ContractError(f"{where}: {key} takes a list")
    return value


def _ports(raw: dict[str, Any], where: str) -> tuple[Port, ...]:
    ports = []
    for i, port in enumerate(_listed(raw, "ports", where)):
        if not isinstance(port, dict) or port.get("type") not in PORT_TYPES:
            raise ContractError(f"{where}: ports[{i}] must be a mapping with a type in {PORT_TYPES}")
        _known_keys(port, {"type"}, f"{where}: ports[{i}]")
        ports.append(Port(port["type"]))
    return tuple(ports)


def _sample_queries(raw: dict[str, Any], where: str) -> tuple[SampleQuery, ...]:
    queries = []
    for i, query in enumerate(_listed(raw, "sample_queries", where)):
        query_where = f"{where}: sample_queries[{i}]"
        if not isinstance(query, dict):
            raise ContractError(f"{query_where}: a sample query is a mapping with title and sql")
        _known_keys(query, {"title", "sql"}, query_where)
        queries.append(
            SampleQuery(_require(query, "title", query_where), _require(query, "sql", query_where).strip())
        )
    return tuple(queries)


def _deprecation(raw: Any, where: str) -> Deprecation | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ContractError(f"{where}: deprecation is a mapping with date and successor")
    _known_keys(raw, {"date", "successor"}, f"{where}: deprecation")
    date = _require(raw, "date", f"{where}: deprecation")
    if not isinstance(date, dt.date):
        raise ContractError(f"{where}: deprecation date must be a date, YYYY-MM-DD")
    successor = raw.get("successor")
    if successor is not None and not PRODUCT_URI.fullmatch(successor):
        raise ContractError(
            f"{where}: deprecation successor {successor!r} is not data://<domain>/<product>/v<N>"
        )
    return Deprecation(date, successor)


def parse_contract(raw: Any, where: str = "contract", source: str = "") -> Contract:
    if not isinstance(raw, dict):
        raise ContractError(f"{where}: a contract is a YAML mapping of keys, got {type(raw).__name__}")
    _known_keys(raw, CONTRACT_KEYS, where)
    if raw.get("layer") not in LAYERS:
        raise ContractError(f"{where}: layer {raw.get('layer')!r} not in {LAYERS}")
    columns = [
        _column(col, f"{where}: columns[{i}]") for i, col in enumerate(_require(raw, "columns", where))
    ]
    retention = raw.get("retention")
    if retention is not None and retention not in RETENTION_TIERS:
        raise ContractError(f"{where}: retention {retention!r} not in {RETENTION_TIERS}")
    contract = Contract(
        domain=_require(raw, "domain", where),
        layer=_require(raw, "layer", where),
        name=_require(raw, "name", where),
        version=str(_require(raw, "version", where)),
        owner=_require(raw, "owner", where),
        description=raw.get("description", ""),
        columns=tuple(columns),
        partition_column=raw.get("partition_column"),
        quality=_quality(raw.get("quality"), {c.name for c in columns}, where),
        grain=tuple(_listed(raw, "grain", where)),
        slo=_slo(raw.get("slo"), where),
        retention=retention,
        sample_queries=_sample_queries(raw, where),
        ports=_ports(raw, where),
        deprecation=_deprecation(raw.get("deprecation"), where),
        source=source,
    )
    if not re.fullmatch(r"\d+\.\d+\.\d+", contract.version):
        raise ContractError(f"{where}: version {contract.version!r} is not MAJOR.MINOR.PATCH, e.g. 1.0.0")
    names = {c.name for c in columns}
    if len(names) != len(columns):
        raise ContractError(f"{where}: a column name is used twice")
    if contract.partition_column and contract.partition_column not in names:
        raise ContractError(f"{where}: partition_column {contract.partition_column!r} is not a column")
    if unknown := sorted(set(contract.grain) - names):
        raise ContractError(f"{where}: grain names {unknown}, which are not columns")
    for c in columns:
        if c.required_when and c.required_when[0] not in names:
            raise ContractError(
                f"{where}: {c.name} is required_when {c.required_when[0]!r}, which is not a column"
            )
    return contract


@cache
def load_contract(path: Path) -> Contract:
    with open(path) as f:
        raw = yaml.safe_load(f)
    path = path.resolve()
    source = str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)
    return parse_contract(raw, where=str(path), source=source)


def load_contracts(folder: Path) -> dict[str, Contract]:
    """Every ``*.yaml`` contract in a domain's ``contracts/`` folder, by asset name (name, name_vN)."""
    contracts: dict[str, Contract] = {}
    for path in sorted(folder.glob("*.yaml")):
        contract = load_contract(path)
        if contract.asset_name in contracts:
            raise ContractError(f"{path}: {contract.uri} is already described in {folder}")
        contracts[contract.asset_name] = contract
    return contracts
