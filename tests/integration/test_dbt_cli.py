"""The platform's dbt resource runs dbt as dagster-dbt's does, knowing its version without asking dbt."""

import re
import subprocess
from pathlib import Path

import pytest

from domains.orders.gold import DBT_PROJECT_DIR
from platform_resources.core.keys import DBT_EXECUTABLE, DBT_RESOURCE_KEY
from platform_resources.location import location_resources

pytestmark = pytest.mark.integration


def test_the_version_is_the_one_dbt_reports_and_a_command_runs_without_an_adapter(tmp_path: Path) -> None:
    dbt = location_resources(DBT_PROJECT_DIR)[DBT_RESOURCE_KEY]
    reported = subprocess.run([DBT_EXECUTABLE, "--version"], capture_output=True, text=True, check=True)
    core = re.search(r"installed: (\d+\.\d+\.\d+)", reported.stdout)
    assert core and str(dbt._cli_version) == core.group(1)

    invocation = dbt.cli(["parse", "--profiles-dir", str(DBT_PROJECT_DIR)], target_path=tmp_path).wait()
    assert invocation.is_successful() and invocation.adapter is None
    assert (tmp_path / "manifest.json").exists()
