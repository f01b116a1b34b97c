"""The ``meshhouse`` command: simulate landing data, run the headless demo, summarize the lakehouse.

Heavy libraries (dagster, dbt) are imported inside the commands that need them, so
``meshhouse --help`` and ``meshhouse simulate`` start quickly.
"""

import argparse
import sys
import warnings
from importlib.metadata import entry_points

from platform_resources.cli import governance, pipeline, privacy, slo, stream, upkeep

#: Command groups of this package, in the order ``--help`` lists them.
COMMAND_GROUPS = (pipeline, governance, slo, privacy, upkeep, stream)
#: Entry-point group through which other packages of the project add commands (the benchmark's
#: ``bench``, declared in pyproject.toml), so that the platform never imports them.
PLUGIN_GROUP = "meshhouse.commands"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="meshhouse", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.register(commands)
    for plugin in entry_points(group=PLUGIN_GROUP):
        plugin.load()(commands)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message=".* is currently in beta")  # Dagster's, on every load
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
