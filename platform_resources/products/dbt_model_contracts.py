"""dbt model properties generated from the data contracts: the only schema file a dbt project has.

For every Gold contract of a domain, ``models/gold/_contracts.yml`` declares the model
with ``contract: {enforced: true}`` and each column's DuckDB type, ``not_null``
constraints for required columns, ``accepted_values`` tests for enumerations and a
``unique_combination`` test on the grain. A product published in several major versions
becomes one dbt versioned model (``<name>_v<N>.sql`` per version, ``latest_version``
the newest, ``deprecation_date`` from the contract); each version is aliased to its
asset name so its relation and Iceberg table names agree. The file is written whenever
it differs from the contracts (and dbt reparses), so it is never edited by hand.
"""

import os
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from platform_resources.contracts.column_types import column_type
from platform_resources.contracts.model import Contract
from platform_resources.core.keys import DBT_EXECUTABLE

GENERATED = Path("models") / "gold" / "_contracts.yml"
HEADER = "# Generated from the domain's data contracts by `meshhouse dbt-prepare`: do not edit.\n"


def _columns(contract: Contract) -> list[dict[str, Any]]:
    columns = []
    for c in contract.columns:
        column: dict[str, Any] = {"name": c.name, "data_type": column_type(c.type).sql}
        if c.description:
            column["description"] = c.description
        if c.required:
            column["constraints"] = [{"type": "not_null"}]
        tests: list[Any] = []
        if c.unique:
            tests.append("unique")
        if c.allowed is not None:
            tests.append({"accepted_values": {"arguments": {"values": list(c.allowed)}}})
        if tests:
            column["data_tests"] = tests
        columns.append(column)
    return columns


def _config(contract: Contract) -> dict[str, Any]:
    return {
        "contract": {"enforced": True},
        "alias": contract.asset_name,
        "meta": {"uri": contract.uri, "owner": contract.owner, "contract_file": contract.source},
    }


def _grain_tests(contract: Contract) -> list[dict[str, Any]]:
    if not contract.composite_grain:
        return []
    return [{"unique_combination": {"arguments": {"columns": list(contract.composite_grain)}}}]


def model_properties(contracts: Iterable[Contract]) -> dict[str, Any]:
    """The dbt properties (``version: 2``) of the Gold models the contracts describe."""
    by_name: dict[str, list[Contract]] = defaultdict(list)
    for contract in contracts:
        if contract.layer == "gold":
            by_name[contract.name].append(contract)
    models = []
    for name, versions in sorted(by_name.items()):
        versions.sort(key=lambda c: c.major_version)
        latest = versions[-1]
        model: dict[str, Any] = {"name": name, "description": latest.description.strip()}
        if len(versions) == 1:
            model |= {
                "config": _config(latest),
                "data_tests": _grain_tests(latest),
                "columns": _columns(latest),
            }
        else:
            model["latest_version"] = latest.major_version
            model["versions"] = [
                {
                    "v": c.major_version,
                    "description": c.description.strip(),
                    "config": _config(c),
                    "data_tests": _grain_tests(c),
                    "columns": _columns(c),
                    **({"deprecation_date": c.deprecation.date.isoformat()} if c.deprecation else {}),
                }
                for c in versions
            ]
        models.append(model)
    return {"version": 2, "models": models}


def render(contracts: Iterable[Contract]) -> str:
    return HEADER + yaml.safe_dump(model_properties(contracts), sort_keys=False, width=110)


def write_model_properties(project_dir: Path, contracts: Iterable[Contract]) -> bool:
    """Write the generated properties if they differ from the file; True if it changed."""
    path = project_dir / GENERATED
    text = render(contracts)
    if path.exists() and path.read_text() == text:
        return False
    # atomically: code locations loading at once may both get here
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as tmp:
        tmp.write(text)
    os.replace(tmp.name, path)
    return True


def prepare_project(project_dir: Path, contracts: Iterable[Contract]) -> Path:
    """Generate the properties from the contracts and parse the project if anything changed.

    Returns the manifest path.
    """
    manifest = project_dir / "target" / "manifest.json"
    if write_model_properties(project_dir, contracts) or not manifest.exists():
        subprocess.run(
            [DBT_EXECUTABLE, "parse", "--quiet", "--profiles-dir", str(project_dir)],
            cwd=project_dir,
            check=True,
        )
    return manifest
