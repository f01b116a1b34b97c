"""The platform's dbt CLI resource: dagster-dbt's, without the start-up work Gold never uses.

Before every dbt command, ``DbtCliResource`` runs ``dbt --version`` in a subprocess and
builds a dbt adapter in process (parsing dbt's macros) for column metadata and row counts
fetched after the command. Gold publishes its own metadata (table, snapshot, rows) and
fetches neither, so this resource reads the version of the dbt-core installed beside its
executable and builds no adapter: about 4 to 7 s less per Gold step on 2 cores.
"""

from collections.abc import Sequence
from functools import cached_property
from importlib.metadata import version as installed_version

from dagster_dbt import DbtCliResource
from packaging import version


class PlatformDbtCliResource(DbtCliResource):
    """A ``DbtCliResource`` for the dbt of this environment (``resources.DBT_EXECUTABLE``)."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        return None  # no metadata is fetched through an adapter after a command
