"""Access policies: the roles of ``access_policies.yaml``, checked on load, and what each may read.

A role reads the columns whose contract classification is at or below its clearance and
sees the others masked (by classification, so a new confidential column is masked without
touching the policy); its row filters keep the rows whose column holds one of the role's
attribute values (e.g. ``region`` in its ``regions``). ``Role.access`` decides one table:
a ``TableAccess`` or ``AccessDenied`` with the reason. docs/architecture.md, "Access control".
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from platform_resources.contracts.model import CLASSIFICATIONS, LAYERS, ColumnSpec, Contract
from platform_resources.core.settings import get_access_policies_path
from platform_resources.mesh.workspace import domain_names, workspace_contracts

MASKS = ("redact", "nullify", "keep_token")
DEFAULT_MASK = "redact"
REDACTED = "***"  # what ``redact`` shows in place of a text value
ROLE_KEYS = {
    "description",
    "extends",
    "clearance",
    "layers",
    "domains",
    "attributes",
    "row_filters",
    "masks",
    "raw_tables",
    "audit",
}
FILTER_KEYS = {"column", "attribute", "unfiltered"}
_NAME = re.compile(r"[a-z][a-z0-9_]*")


class AccessPolicyError(ValueError):
    """A policy file that cannot be used, or a role it does not define; the message says what to fix."""


class AccessDenied(PermissionError):
    """The role may not read the table; the message says why."""


@dataclass(frozen=True)
class RowFilter:
    """Rows whose ``column`` holds one of the role's ``attribute`` values; ``unfiltered`` products,
    which lack the column, are read in full (any other product without it is denied)."""

    name: str
    column: str
    attribute: str
    unfiltered: frozenset[str]


@dataclass(frozen=True)
class TableAccess:
    """How a role reads one table: the columns it sees masked, and the values rows must hold."""

    identifier: str
    masks: Mapping[str, str]  # column -> redact | nullify, for every column the role may not see
    row_filters: Mapping[str, tuple[str, ...]]  # column -> the values a row's column must be one of
    columns: tuple[str, ...] = ()  # the table's current columns: nothing else is ever read


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    clearance: str  # the highest classification it sees
    layers: frozenset[str]
    domains: frozenset[str] | None  # None: every domain
    attributes: Mapping[str, tuple[str, ...]]
    row_filters: tuple[RowFilter, ...]
    masks: Mapping[str, str]  # classification -> mask, where not the default
    raw_tables: bool
    audit: bool

    def column_mask(self, column: ColumnSpec | None) -> str | None:
        """How the column is shown: None (as stored), ``redact`` or ``nullify``.

        A column the contract does not classify (or does not have) counts as restricted.
        """
        classification = (column.classification if column else None) or CLASSIFICATIONS[-1]
        if CLASSIFICATIONS.index(classification) <= CLASSIFICATIONS.index(self.clearance):
            return None
        mask = self.masks.get(classification, DEFAULT_MASK)
        if mask == "keep_token":
            return None if column is not None and column.protection == "tokenized" else "nullify"
        return mask

    def access(self, identifier: str, columns: Sequence[str], contract: Contract | None) -> TableAccess:
        """What this role reads of table ``identifier`` (``<domain>.<layer>_<name>``) with these columns."""
        domain = identifier.split(".")[0]
        if self.domains is not None and domain not in self.domains:
            raise AccessDenied(f"role {self.name!r} reads only the products of {sorted(self.domains)}")
        if contract is None:
            if not self.raw_tables:
                raise AccessDenied(
                    f"{identifier} has no contract (raw or rejected rows, nothing classified to mask by): "
                    f"role {self.name!r} may not read raw tables"
                )
            masks: dict[str, str] = {}
        else:
            if contract.layer not in self.layers:
                raise AccessDenied(f"role {self.name!r} may not read {contract.layer} products")
            masks = {c: mask for c in columns if (mask := self.column_mask(contract.column(c))) is not None}
        row_filters = {}
        for row_filter in self.row_filters:
            if row_filter.column in columns:
                row_filters[row_filter.column] = self.attributes[row_filter.attribute]
            elif identifier not in row_filter.unfiltered:
                raise AccessDenied(
                    f"{identifier} has no {row_filter.column} column for row filter {row_filter.name!r} "
                    f"of role {self.name!r}, and the filter does not list it as unfiltered"
                )
        return TableAccess(identifier, masks, row_filters, tuple(columns))


@dataclass(frozen=True)
class Policy:
    roles: Mapping[str, Role]

    def role(self, name: str) -> Role:
        if name not in self.roles:
            raise AccessPolicyError(f"unknown role {name!r}; the policy defines {sorted(self.roles)}")
        return self.roles[name]


def _known_keys(raw: Mapping[str, Any], known: set[str], where: str) -> None:
    if unknown := sorted(set(raw) - known):
        raise AccessPolicyError(f"{where}: unknown key(s) {unknown}; known keys are {sorted(known)}")


def _mapping(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise AccessPolicyError(f"{where}: expected a mapping, got {type(raw).__name__}")
    return raw


def _names(raw: Any, allowed: Collection[str], what: str, where: str) -> frozenset[str]:
    if not isinstance(raw, list) or not raw:
        raise AccessPolicyError(f"{where}: {what} takes a non-empty list, e.g. [{sorted(allowed)[0]}]")
    if unknown := sorted(set(map(str, raw)) - set(allowed)):
        raise AccessPolicyError(f"{where}: unknown {what} {unknown}; known: {sorted(allowed)}")
    return frozenset(raw)


def _row_filter(name: str, raw: Any, contracts: Sequence[Contract]) -> RowFilter:
    where = f"row filter {name!r}"
    raw = _mapping(raw, where)
    _known_keys(raw, FILTER_KEYS, where)
    column, attribute = raw.get("column"), raw.get("attribute")
    if not isinstance(column, str) or not _NAME.fullmatch(column):
        raise AccessPolicyError(f"{where}: column must name a column, e.g. column: region")
    if not isinstance(attribute, str) or not _NAME.fullmatch(attribute):
        raise AccessPolicyError(f"{where}: attribute must name a role attribute, e.g. attribute: regions")
    if not any(c.column(column) for c in contracts):
        raise AccessPolicyError(f"{where}: no product's contract has a column {column!r}")
    by_id = {c.product_id: c for c in contracts}
    unfiltered = frozenset(raw.get("unfiltered") or [])
    if unknown := sorted(unfiltered - set(by_id)):
        raise AccessPolicyError(f"{where}: unfiltered names unknown products {unknown}")
    if filterable := sorted(p for p in unfiltered if by_id[p].column(column)):
        raise AccessPolicyError(f"{where}: {filterable} have a {column} column: filtered, not unfiltered")
    return RowFilter(name, column, attribute, unfiltered)


def _resolved(name: str, raw_roles: Mapping[str, Any], seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """The role's keys over those of the role it ``extends`` (``attributes`` and ``masks`` merged)."""
    if name in seen:
        raise AccessPolicyError(f"role {name!r}: extends forms a cycle {' -> '.join((*seen, name))}")
    raw = _mapping(raw_roles[name], f"role {name!r}")
    _known_keys(raw, ROLE_KEYS, f"role {name!r}")
    parent = raw.get("extends")
    if parent is None:
        return dict(raw)
    if parent not in raw_roles:
        raise AccessPolicyError(f"role {name!r}: extends unknown role {parent!r}")
    base = _resolved(parent, raw_roles, (*seen, name))
    base.pop("description", None)  # each role says who holds it
    resolved = {**base, **raw}
    for key in ("attributes", "masks"):
        where = f"role {name!r}: {key}"
        resolved[key] = {**_mapping(base.get(key, {}), where), **_mapping(raw.get(key, {}), where)}
    return resolved


def _role(name: str, raw: dict[str, Any], filters: Mapping[str, RowFilter], domains: Sequence[str]) -> Role:
    where = f"role {name!r}"
    if not _NAME.fullmatch(name):
        raise AccessPolicyError(f"{where}: a role name is snake_case")
    if not raw.get("description"):
        raise AccessPolicyError(f"{where}: missing description (who holds the role, what for)")
    clearance = raw.get("clearance")
    if clearance not in CLASSIFICATIONS:
        raise AccessPolicyError(f"{where}: clearance {clearance!r} is not a classification {CLASSIFICATIONS}")
    masks = _mapping(raw.get("masks", {}), f"{where}: masks")
    if unknown := sorted(set(masks) - set(CLASSIFICATIONS)):
        raise AccessPolicyError(f"{where}: masks names unknown classification(s) {unknown}")
    if bad := sorted(f"{k}: {v}" for k, v in masks.items() if v not in MASKS):
        raise AccessPolicyError(f"{where}: unknown mask(s) {bad}; masks are {MASKS}")
    attributes = {}
    for key, values in _mapping(raw.get("attributes", {}), f"{where}: attributes").items():
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise AccessPolicyError(f"{where}: attribute {key!r} takes a non-empty list of strings")
        attributes[key] = tuple(values)
    row_filters = []
    for filter_name in raw.get("row_filters") or []:
        if filter_name not in filters:
            raise AccessPolicyError(f"{where}: unknown row filter {filter_name!r}; known: {sorted(filters)}")
        if filters[filter_name].attribute not in attributes:
            raise AccessPolicyError(
                f"{where}: row filter {filter_name!r} needs the attribute {filters[filter_name].attribute!r}"
            )
        row_filters.append(filters[filter_name])
    raw_tables, audit = bool(raw.get("raw_tables", False)), bool(raw.get("audit", False))
    if raw_tables and clearance != CLASSIFICATIONS[-1]:
        raise AccessPolicyError(
            f"{where}: raw tables hold every classification: raw_tables needs clearance restricted"
        )
    if (raw_tables or clearance == CLASSIFICATIONS[-1]) and not audit:
        raise AccessPolicyError(f"{where}: a role seeing restricted values or raw tables needs audit: true")
    return Role(
        name=name,
        description=raw["description"],
        clearance=clearance,
        layers=_names(raw.get("layers"), LAYERS, "layers", where),
        domains=_names(raw["domains"], domains, "domains", where) if "domains" in raw else None,
        attributes=attributes,
        row_filters=tuple(row_filters),
        masks=masks,
        raw_tables=raw_tables,
        audit=audit,
    )


def parse_policy(raw: Any, contracts: Sequence[Contract], domains: Sequence[str]) -> Policy:
    """The policy of a parsed YAML document, checked against the workspace's contracts and domains."""
    raw = _mapping(raw, "access policy")
    _known_keys(raw, {"row_filters", "roles"}, "access policy")
    filters = {
        name: _row_filter(name, spec, contracts)
        for name, spec in _mapping(raw.get("row_filters") or {}, "row_filters").items()
    }
    raw_roles = _mapping(raw.get("roles"), "roles")
    if not raw_roles:
        raise AccessPolicyError("access policy: roles: define at least one role")
    return Policy({name: _role(name, _resolved(name, raw_roles), filters, domains) for name in raw_roles})


def load_policy(path: Path | None = None) -> Policy:
    """The policy file (``MESHHOUSE_ACCESS_POLICIES``, default ``access_policies.yaml``), checked."""
    path = path or get_access_policies_path()
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise AccessPolicyError(f"{path}: cannot read the access policy: {exc}") from exc
    try:
        return parse_policy(raw, list(workspace_contracts().values()), domain_names())
    except AccessPolicyError as exc:
        raise AccessPolicyError(f"{path}: {exc}") from exc
