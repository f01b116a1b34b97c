"""meshhouse's self-serve platform, in rooms by concern (docs/architecture.md draws the map).

From the bottom: ``core``, ``contracts``, ``mesh``, ``storage``; then ``ingest``, ``privacy``,
``quality`` and ``simulate``; ``products``; ``slo``, ``governance`` and ``upkeep``;
``data_catalog`` and ``gdpr``; ``location`` (a domain's code location assembled); ``cli``.
A room imports only rooms below it; import-linter enforces it (pyproject.toml, ``make lint``).
Platform code never imports a domain: the workspace loader (``mesh.workspace``) loads the
domains listed in ``workspace.yaml`` by name.
"""
