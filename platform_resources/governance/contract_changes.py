"""Breaking-change detection: every contract compared with a base version, and who each change breaks.

A change to a product version (``data://<domain>/<product>/v<N>``) is classified:

- breaking for consumers: a removed or renamed column, a narrowed or changed type, a
  column made nullable (required -> nullable), a changed partition column or grain, a
  dropped output port, a removed product version;
- breaking for producers: a column made required (nullable -> required), a tightened
  enumeration, range or pattern, a new required column;
- compatible: a new nullable column, a widened type, enumeration or range, a new version.

A breaking change fails the check when another domain consumes that version and reads
what changed (the product itself, or the column): the message names the product, the
column, and the consuming domain and assets. The fix is a new major version beside the
old one. Consumers are the ``consumes`` metadata of every asset in the workspace.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import dagster as dg

from platform_resources.contracts.column_types import INTEGER_WIDTHS, decimal_parts
from platform_resources.contracts.model import ColumnSpec, Contract
from platform_resources.mesh.workspace import asset_specs
from platform_resources.products.input_ports import consumes_of

CONSUMERS, PRODUCERS = "consumers", "producers"


@dataclass(frozen=True)
class Consumer:
    """An asset of another domain that reads ``columns`` of a product version."""

    domain: str
    asset: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Change:
    uri: str
    column: str | None  # None: the product as a whole
    description: str
    breaks: str | None = None  # CONSUMERS, PRODUCERS or None (compatible)

    @property
    def breaking(self) -> bool:
        return self.breaks is not None


@dataclass(frozen=True)
class Violation:
    """A breaking change that reaches a consumer."""

    change: Change
    consumers: tuple[Consumer, ...]

    def message(self) -> str:
        where = f"column {self.change.column!r} of " if self.change.column else ""
        domains = sorted({c.domain for c in self.consumers})
        assets = ", ".join(sorted(c.asset for c in self.consumers))
        return (
            f"{where}{self.change.uri}: {self.change.description} (breaks {self.change.breaks}); "
            f"consumed by {', '.join(domains)} ({assets}). Publish the change as a new major "
            "version beside this one and keep this one until its consumers move."
        )


def _type_change(old: str, new: str) -> str | None:
    """None if ``new`` widens ``old`` (or is it), else a description of the narrowing or change."""
    if old == new:
        return None
    if old in INTEGER_WIDTHS and new in INTEGER_WIDTHS:
        return (
            None if INTEGER_WIDTHS.index(new) > INTEGER_WIDTHS.index(old) else f"type narrowed {old} -> {new}"
        )
    if (a := decimal_parts(old)) and (b := decimal_parts(new)):
        if b[1] == a[1] and b[0] >= a[0]:
            return None
        return f"type narrowed {old} -> {new}"
    if old in INTEGER_WIDTHS and new == "float64":
        return None
    return f"type changed {old} -> {new}"


def _column_changes(uri: str, old: ColumnSpec, new: ColumnSpec) -> Iterable[Change]:
    name = old.name
    if described := _type_change(old.type, new.type):
        yield Change(uri, name, described, CONSUMERS)
    elif old.type != new.type:
        yield Change(uri, name, f"type widened {old.type} -> {new.type}")
    if old.required and not new.required:
        yield Change(uri, name, "made nullable (required -> nullable)", CONSUMERS)
    if new.required and not old.required:
        yield Change(uri, name, "made required (nullable -> required)", PRODUCERS)
    if old.allowed != new.allowed:
        before, after = set(old.allowed or ()), set(new.allowed or ())
        if new.allowed is not None and (old.allowed is None or not after >= before):
            gone = sorted(map(str, before - after)) if old.allowed is not None else "any value"
            yield Change(uri, name, f"enumeration tightened (no longer allows {gone})", PRODUCERS)
        else:
            yield Change(uri, name, "enumeration widened")
    if new.minimum is not None and (old.minimum is None or new.minimum > old.minimum):
        yield Change(uri, name, f"minimum raised {old.minimum} -> {new.minimum}", PRODUCERS)
    if new.maximum is not None and (old.maximum is None or new.maximum < old.maximum):
        yield Change(uri, name, f"maximum lowered {old.maximum} -> {new.maximum}", PRODUCERS)
    if new.pattern is not None and new.pattern != old.pattern:
        yield Change(uri, name, f"pattern changed {old.pattern!r} -> {new.pattern!r}", PRODUCERS)


def compare(old: Contract, new: Contract) -> list[Change]:
    """The changes from ``old`` to ``new`` of one product version."""
    uri = old.uri
    changes: list[Change] = []
    old_columns = {c.name: c for c in old.columns}
    new_columns = {c.name: c for c in new.columns}
    added = [c for name, c in new_columns.items() if name not in old_columns]
    for name, column in old_columns.items():
        if name not in new_columns:
            twins = [c.name for c in added if c.type == column.type]
            renamed = f" (renamed to {' or '.join(twins)}?)" if twins else ""
            changes.append(Change(uri, name, f"column removed{renamed}", CONSUMERS))
        else:
            changes.extend(_column_changes(uri, column, new_columns[name]))
    for column in added:
        if column.required:
            changes.append(Change(uri, column.name, "required column added", PRODUCERS))
        else:
            changes.append(Change(uri, column.name, "nullable column added"))
    if old.partition_column != new.partition_column:
        changes.append(
            Change(uri, None, f"partition column {old.partition_column} -> {new.partition_column}", CONSUMERS)
        )
    if old.grain != new.grain:
        # declaring a grain adds a uniqueness rule for producers; changing one changes what a row is
        breaks = PRODUCERS if not old.grain else CONSUMERS
        changes.append(Change(uri, None, f"grain {list(old.grain)} -> {list(new.grain)}", breaks))
    for port in sorted({p.type for p in old.ports} - {p.type for p in new.ports}):
        changes.append(Change(uri, None, f"output port {port!r} dropped", CONSUMERS))
    return changes


def compare_all(base: Mapping[str, Contract], head: Mapping[str, Contract]) -> list[Change]:
    """Changes between two sets of contracts keyed by URI, including added and removed versions."""
    changes: list[Change] = []
    for uri, old in sorted(base.items()):
        if uri not in head:
            changes.append(Change(uri, None, "product version removed", CONSUMERS))
        else:
            changes.extend(compare(old, head[uri]))
    changes.extend(Change(uri, None, "new product version") for uri in sorted(set(head) - set(base)))
    return changes


def consumers_by_uri(defs_by_domain: Mapping[str, dg.Definitions]) -> dict[str, list[Consumer]]:
    """Who reads what: every asset's ``consumes`` metadata across the workspace."""
    consumers: dict[str, list[Consumer]] = defaultdict(list)
    for domain, defs in defs_by_domain.items():
        for spec in asset_specs(defs):
            for uri, columns in consumes_of(spec).items():
                consumers[uri].append(Consumer(domain, spec.key.to_user_string(), tuple(columns)))
    return dict(consumers)


def violations(changes: Sequence[Change], consumers: Mapping[str, Sequence[Consumer]]) -> list[Violation]:
    """Breaking changes that reach another domain's consumer of the changed version and column."""
    found = []
    for change in changes:
        if not change.breaking:
            continue
        producer = change.uri.removeprefix("data://").split("/")[0]
        reached = tuple(
            c
            for c in consumers.get(change.uri, ())
            if c.domain != producer and (change.column is None or change.column in c.columns)
        )
        if reached:
            found.append(Violation(change, reached))
    return found
