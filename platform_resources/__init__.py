"""meshhouse's self-serve platform: storage, contracts, ingestion and orchestration helpers.

Domains import from here. Platform code never imports a domain module statically; the
command line and the demo load the domains listed in ``workspace.yaml`` by name.
"""
