"""The domains of this deployment, read from ``workspace.yaml`` (the one list of code locations),
and what spans them: every contract, and every location's definitions.

This is the workspace loader: ``domain_module`` is the one place the platform imports domain
code, by name, for the commands and reports that need every location (import-linter forbids
every static import of a domain from the platform).
"""

import importlib
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

import dagster as dg
import yaml

from platform_resources.contracts.model import Contract, ContractError
from platform_resources.contracts.parsing import load_contract, parse_contract
from platform_resources.core.keys import REPO_ROOT

WORKSPACE = REPO_ROOT / "workspace.yaml"


def prepare_dagster_home(path: Path) -> Path:
    """A Dagster home folder with the project's embedded-instance ``dagster.yaml``."""
    path.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "dagster.yaml", path / "dagster.yaml")
    return path


def domain_names() -> list[str]:
    """Domains with a code location ``domains.<name>.definitions`` in the workspace, in file order."""
    entries = yaml.safe_load(WORKSPACE.read_text())["load_from"]
    modules = [e["python_module"]["module_name"] for e in entries if "python_module" in e]
    return [m.split(".")[1] for m in modules if m.startswith("domains.") and m.endswith(".definitions")]


def simulated_domains() -> list[str]:
    """Workspace domains that land events and have a simulator (``domains.<name>.simulate``)."""
    return [d for d in domain_names() if (REPO_ROOT / "domains" / d / "simulate.py").exists()]


def domain_module(domain: str, name: str) -> ModuleType:
    """``domains.<domain>.<name>``, imported on demand (domains are heavy to import)."""
    return importlib.import_module(f"domains.{domain}.{name}")


CONTRACT_GLOB = "domains/*/contracts/*.yaml"


def workspace_contracts() -> dict[str, Contract]:
    """Every product version's contract in this checkout, by URI."""
    contracts = [load_contract(path) for path in sorted(REPO_ROOT.glob(CONTRACT_GLOB))]
    return _by_uri(contracts)


def products_by_table() -> dict[str, Contract]:
    """Every product version's contract in this checkout, by its table (``domain.layer_name``)."""
    return {c.product_id: c for c in workspace_contracts().values()}


def contracts_at(ref: str) -> dict[str, Contract]:
    """Every contract as committed at git ``ref``, by URI."""
    listed = _git("ls-tree", "-r", "--name-only", ref, "--", "domains").splitlines()
    paths = [p for p in listed if Path(p).match(CONTRACT_GLOB)]
    return _by_uri(
        [
            parse_contract(yaml.safe_load(_git("show", f"{ref}:{p}")), where=f"{ref}:{p}", source=p)
            for p in paths
        ]
    )


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise ContractError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def _by_uri(contracts: list[Contract]) -> dict[str, Contract]:
    by_uri: dict[str, Contract] = {}
    for contract in contracts:
        if contract.uri in by_uri:
            raise ContractError(
                f"{contract.source} and {by_uri[contract.uri].source} both describe {contract.uri}"
            )
        by_uri[contract.uri] = contract
    return by_uri


def workspace_definitions() -> dict[str, dg.Definitions]:
    """Every code location's definitions, by domain."""
    return {domain: domain_module(domain, "definitions").defs for domain in domain_names()}


def asset_specs(defs: dg.Definitions) -> Iterable[dg.AssetSpec]:
    """Every asset spec of a code location, from plain specs and multi-assets alike."""
    for assets in defs.assets or ():
        if isinstance(assets, dg.AssetSpec):
            yield assets
        elif isinstance(assets, dg.AssetsDefinition):
            yield from assets.specs
