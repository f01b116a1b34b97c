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


def test_an_import_from_the_platform_to_a_domain_breaks_the_build(tree: Path) -> None:
    _add_import(tree / "platform_resources/storage/catalog.py", "import domains.orders.contracts")
    done = _lint(tree)
    assert done.returncode != 0
    assert "The platform never imports a domain, nor the benchmark BROKEN" in done.stdout
    assert "platform_resources.storage.catalog -> domains.orders.contracts" in done.stdout


def test_an_import_from_core_to_a_higher_room_breaks_the_build(tree: Path) -> None:
    _add_import(tree / "platform_resources/core/settings.py", "import platform_resources.products.derived")
    done = _lint(tree)
    assert done.returncode != 0
    assert "The platform's rooms, core at the bottom, cli at the top BROKEN" in done.stdout
    assert "platform_resources.core.settings -> platform_resources.products.derived" in done.stdout


def test_a_domain_importing_another_domain_beyond_its_contracts_breaks_the_build(tree: Path) -> None:
    _add_import(tree / "domains/growth/churn.py", "import domains.orders.silver")
    done = _lint(tree)
    assert done.returncode != 0
    assert "A domain reads another domain only through its published contracts BROKEN" in done.stdout
