"""Resources every domain gets, keyed the same in every environment."""

import sys
from pathlib import Path
from typing import Any

from platform_resources.dbt_cli import PlatformDbtCliResource
from platform_resources.iceberg_io import IcebergPolarsIOManager

IO_MANAGER_KEY = "io_manager"
DBT_RESOURCE_KEY = "dbt"
#: dbt from this environment, whether or not its bin folder is on PATH.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")


def platform_resources(dbt_project_dir: Path | None = None) -> dict[str, Any]:
    """The shared resource map; the IO manager reads the environment when it runs, not at import."""
    resources: dict[str, Any] = {IO_MANAGER_KEY: IcebergPolarsIOManager()}
    if dbt_project_dir is not None:
        resources[DBT_RESOURCE_KEY] = PlatformDbtCliResource(
            project_dir=str(dbt_project_dir), dbt_executable=DBT_EXECUTABLE
        )
    return resources
