"""The layering import-linter enforces (pyproject.toml): kept by the tree as it is, broken by an
import from the platform to a domain or from core to a higher room, on a copy of the tree."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The packages and the linter's contracts, copied (sources only)."""
    for package in ("platform_resources", "domains", "bench"):
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=120
    )


def _add_import(module: Path, line: str) -> None:
    module.write_text(f"{line}  # noqa\n{module.read_text()}")


def test_the_tree_keeps_every_contract(tree: Path) -> None:
    done = _lint(tree)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "imported", "broken"),
    [
        (  # the platform imports a domain
            "platform_resources/storage/catalog.py",
            "domains.orders.contracts",
            "The platform never imports a domain, the benchmark or the reliability suite",
        ),
        (  # core imports a higher room
            "platform_resources/core/settings.py",
            "platform_resources.products.derived",
            "The platform's rooms, core at the bottom, cli at the top",
        ),
        (  # a domain imports another beyond its published contracts
            "domains/growth/churn.py",
            "domains.orders.silver",
            "A domain reads another domain only through its published contracts",
        ),
    ],
)
def test_a_forbidden_import_breaks_the_build_naming_it(
    tree: Path, module: str, imported: str, broken: str
) -> None:
    _add_import(tree / module, f"import {imported}")
    done = _lint(tree)
    assert done.returncode != 0
    assert f"{broken} BROKEN" in done.stdout
    assert f"{module.removesuffix('.py').replace('/', '.')} -> {imported}" in done.stdout
