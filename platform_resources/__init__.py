"""meshhouse's self-serve platform: storage, contracts, ingestion and orchestration helpers.

Domains import from here; nothing here imports a domain.
"""
