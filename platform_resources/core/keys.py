"""Names every room agrees on: resource keys, definition-metadata keys, the dbt executable and
the repository root. They live here, at the bottom, so that low rooms need not import the
high ones that define what the keys point at."""

import sys
from pathlib import Path

#: The repository checkout: workspace.yaml, the domains' contracts and dbt projects.
REPO_ROOT = Path(__file__).resolve().parents[2]
#: Resource keys every location binds (platform_resources.location).
IO_MANAGER_KEY = "io_manager"
DBT_RESOURCE_KEY = "dbt"
#: dbt from this environment, whether or not its bin folder is on PATH.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")
#: Definition metadata the Iceberg IO manager reads: the partition column, and the product's
#: contract file relative to the repository.
PARTITION_EXPR = "partition_expr"
CONTRACT_FILE = "contract_file"
