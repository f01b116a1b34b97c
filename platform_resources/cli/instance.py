"""The Dagster instance the commands read: ``$DAGSTER_HOME``, by default ``$MESHHOUSE_HOME/dagster``
(where ``make`` puts it too), created with the project's ``dagster.yaml`` when it is new. Every
command that reads or writes the instance gets it here, so the default is applied once."""

import os

import dagster as dg

from platform_resources.core.settings import get_paths
from platform_resources.mesh.workspace import prepare_dagster_home


def dagster_instance() -> dg.DagsterInstance:
    """The instance of ``$DAGSTER_HOME``, which is set to the default first when it is unset."""
    if not os.environ.get("DAGSTER_HOME"):
        home = get_paths().home / "dagster"
        if not (home / "dagster.yaml").exists():
            prepare_dagster_home(home)
        os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()
