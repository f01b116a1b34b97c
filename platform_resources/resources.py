"""Resources every domain gets, keyed the same in every environment."""

from __future__ import annotations

from typing import Any

from platform_resources.iceberg_io import IcebergPolarsIOManager


IO_MANAGER_KEY = "io_manager"


def platform_resources() -> dict[str, Any]:
    """The shared resource map; the IO manager reads the environment when it runs, not at import."""
    return {IO_MANAGER_KEY: IcebergPolarsIOManager()}
