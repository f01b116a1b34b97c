"""The domains of this deployment, read from ``workspace.yaml`` (the one list of code locations)."""

import importlib
import shutil
from pathlib import Path
from types import ModuleType

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
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
