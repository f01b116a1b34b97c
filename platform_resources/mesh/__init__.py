"""mesh: the deployment's domains and what spans them. ``workspace.py`` reads ``workspace.yaml``
and every contract in the checkout (or at a git ref), and is the workspace loader: the one
place that imports domain code, by name (``importlib``), for the commands and reports that
need every location's definitions.

May import: contracts, core."""
