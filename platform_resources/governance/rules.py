"""Federated governance as code: the global rules every domain's products must follow.

``lint`` checks every asset of every code location and returns each violation:

- ``owner``: a product without an owner (``team:<name>``);
- ``contract``: a Silver or Gold asset without a contract (quarantine tables excepted);
- ``classification``: a contract column without a classification;
- ``slo``: a product without SLOs or a retention tier;
- ``naming``: a name that is not snake_case, an asset key, table or URI that does not
  follow ``[domain, layer, name]`` / ``data://<domain>/<product>/v<N>``, a contract kept
  in another domain's location;
- ``pii``: a PII, confidential or restricted column in Silver, Gold or a port that is not
  tokenized or masked, or a column whose name says it holds personal data (email, phone,
  name, address...) that is not flagged PII;
- ``cross_domain_read``: an asset reading another domain's asset that is not a published
  product (no output port), or reading a published one without pinning it.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import dagster as dg

from platform_resources.contracts.model import PRODUCT_URI, Contract
from platform_resources.contracts.specs import QUARANTINE_ROLE, ROLE_TAG
from platform_resources.mesh.workspace import asset_specs
from platform_resources.products.input_ports import consumes_of

RULES = ("owner", "contract", "classification", "slo", "naming", "pii", "cross_domain_read")
PRODUCT_LAYERS = ("silver", "gold")
_SNAKE = re.compile(r"[a-z][a-z0-9_]*")
_OWNER = re.compile(r"team:[a-z][a-z0-9_-]*")
#: Column names that hold personal data unless tokenized or masked (seed 001's PII list).
_PERSONAL = re.compile(
    r"^name$|(^|_)(email|e_mail|phone|mobile|first_name|last_name|full_name|customer_name|user_name|"
    r"username|address|street|postcode|zip|ip|ip_address|birth_date|date_of_birth|ssn|passport|iban|"
    r"card_number)($|_)"
)
#: Classifications that never reach Silver, Gold or a port in the clear (issue 8, seed 001).
SENSITIVE_CLASSIFICATIONS = ("confidential", "restricted")
_PROTECTED_SUFFIX = ("_token", "_hash", "_masked", "_domain")


@dataclass(frozen=True)
class Violation:
    rule: str
    domain: str
    asset: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.domain}: {self.asset}: {self.message}"


def _contract_rules(contract: Contract, domain: str, asset: str) -> Iterable[Violation]:
    def found(rule: str, message: str) -> Violation:
        return Violation(rule, domain, asset, message)

    if not _OWNER.fullmatch(contract.owner or ""):
        yield found("owner", f"owner {contract.owner!r} is not a team, team:<name>")
    for column in contract.columns:
        if column.classification is None:
            yield found("classification", f"column {column.name!r} has no classification")
        if not _SNAKE.fullmatch(column.name):
            yield found("naming", f"column {column.name!r} is not snake_case")
        sensitive = column.classification in SENSITIVE_CLASSIFICATIONS
        if contract.layer in PRODUCT_LAYERS and (column.pii or sensitive) and column.protection is None:
            kind = "PII" if column.pii else str(column.classification)
            yield found(
                "pii", f"{kind} column {column.name!r} reaches {contract.layer} neither tokenized nor masked"
            )
        looks_personal = _PERSONAL.search(column.name) and not column.name.endswith(_PROTECTED_SUFFIX)
        if contract.layer in PRODUCT_LAYERS and looks_personal and not column.pii:
            yield found("pii", f"column {column.name!r} looks like personal data but is not flagged pii")
    if contract.slo is None:
        yield found("slo", "no SLOs (freshness, completeness, accuracy)")
    if contract.retention is None:
        yield found("slo", "no retention tier")
    if not _SNAKE.fullmatch(contract.name) or not _SNAKE.fullmatch(contract.domain):
        yield found("naming", f"product {contract.domain}/{contract.name} is not snake_case")
    if not PRODUCT_URI.fullmatch(contract.uri):
        yield found("naming", f"URI {contract.uri!r} is not data://<domain>/<product>/v<N>")
    if contract.domain != domain:
        yield found(
            "naming", f"contract of domain {contract.domain!r} is published by the {domain!r} location"
        )


def _product_rules(spec: dg.AssetSpec, domain: str, contract: Contract | None) -> Iterable[Violation]:
    asset = spec.key.to_user_string()
    if not spec.owners:
        yield Violation("owner", domain, asset, "no owner")
    if contract is None:
        yield Violation("contract", domain, asset, "a Silver or Gold asset without a data contract")
        return
    yield from _contract_rules(contract, domain, asset)
    if spec.key != contract.asset_key or spec.metadata.get("dagster/table_name") != contract.product_id:
        yield Violation(
            "naming",
            domain,
            asset,
            f"asset key or table does not follow the contract ({contract.product_id})",
        )


def lint(defs_by_domain: Mapping[str, dg.Definitions], contracts: Iterable[Contract]) -> list[Violation]:
    """Every violation of the rules across the workspace's code locations."""
    by_key = {c.asset_key: c for c in contracts}
    violations: list[Violation] = []
    for domain, defs in defs_by_domain.items():
        for spec in asset_specs(defs):
            layer = spec.key.path[1] if len(spec.key.path) == 3 else None
            is_product = layer in PRODUCT_LAYERS and spec.tags.get(ROLE_TAG) != QUARANTINE_ROLE
            if is_product:
                if spec.key.path[0] != domain:
                    violations.append(
                        Violation("naming", domain, spec.key.to_user_string(), f"not in {domain}'s key space")
                    )
                violations.extend(_product_rules(spec, domain, by_key.get(spec.key)))
            pinned = set(consumes_of(spec))
            for dep in spec.deps:
                producer = dep.asset_key.path[0]
                if producer == domain or spec.key.path[0] != domain:
                    continue
                read = by_key.get(dep.asset_key)
                asset = spec.key.to_user_string()
                if read is None or not read.published:
                    violations.append(
                        Violation(
                            "cross_domain_read",
                            domain,
                            asset,
                            f"reads {dep.asset_key.to_user_string()}, which {producer} does not publish",
                        )
                    )
                elif read.uri not in pinned:
                    violations.append(
                        Violation("cross_domain_read", domain, asset, f"reads {read.uri} without pinning it")
                    )
    return violations
