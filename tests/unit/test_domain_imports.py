"""Domains import only the platform and other domains' published contracts, never their code."""

import ast
from pathlib import Path

import pytest

DOMAINS = Path(__file__).resolve().parents[2] / "domains"


def foreign_imports(domain: str, source: str) -> list[str]:
    """Modules of other domains that ``source`` (a module of ``domain``) imports, except their contracts."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names = (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
        for name in names:
            parts = name.split(".")
            if (
                parts[0] == "domains"
                and len(parts) > 1
                and parts[1] != domain
                and parts[2:3] != ["contracts"]
            ):
                found.append(name)
    return found


@pytest.mark.parametrize(
    ("source", "violations"),
    [
        ("from domains.orders.contracts import CONTRACTS", []),
        ("from domains.growth.churn import score", []),  # its own code
        ("from domains.orders.silver import ORDER_TYPING", ["domains.orders.silver"]),
        ("import domains.payments.definitions", ["domains.payments.definitions"]),
        ("from domains.orders import simulate", ["domains.orders"]),
    ],
)
def test_the_rule_tells_contracts_from_code(source: str, violations: list[str]) -> None:
    assert foreign_imports("growth", source) == violations


def test_no_domain_imports_another_domains_code() -> None:
    modules = sorted(DOMAINS.glob("*/**/*.py"))
    assert len(modules) > 20
    violations = {
        str(path.relative_to(DOMAINS)): found
        for path in modules
        if (found := foreign_imports(path.relative_to(DOMAINS).parts[0], path.read_text()))
    }
    assert violations == {}
