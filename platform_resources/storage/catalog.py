"""The Iceberg catalog: a pyiceberg SqlCatalog on SQLite (embedded) or Postgres + S3 (production)."""

from __future__ import annotations

import os

from pyiceberg.catalog import Catalog
from pyiceberg.catalog.sql import SqlCatalog
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from platform_resources.core.settings import Environment, get_environment, get_paths
from platform_resources.storage.encryption import encrypt_buckets

CATALOG_NAME = "meshhouse"


def catalog_properties() -> dict[str, str]:
    """Connection properties for the current environment."""
    if get_environment() is Environment.PRODUCTION:
        props = {
            "uri": os.environ["MESHHOUSE_CATALOG_URI"],
            "warehouse": os.environ["MESHHOUSE_WAREHOUSE"],
        }
        for env_name, prop in (
            ("AWS_ENDPOINT_URL", "s3.endpoint"),
            ("AWS_ACCESS_KEY_ID", "s3.access-key-id"),
            ("AWS_SECRET_ACCESS_KEY", "s3.secret-access-key"),
            ("AWS_REGION", "s3.region"),
        ):
            if os.environ.get(env_name):
                props[prop] = os.environ[env_name]
        return props
    paths = get_paths()
    paths.warehouse.mkdir(parents=True, exist_ok=True)
    return {"uri": f"sqlite:///{paths.catalog_db}", "warehouse": paths.warehouse.as_uri()}


def sql_catalog(**properties: str) -> SqlCatalog:
    """A SqlCatalog on ``properties``. Processes opening a fresh catalog database at once race
    to create its tables (pyiceberg creates them when it finds none): the loser opens it again,
    on the tables the winner created."""
    try:
        return SqlCatalog(CATALOG_NAME, **properties)
    except (IntegrityError, ProgrammingError, OperationalError):
        return SqlCatalog(CATALOG_NAME, **properties)


def load_catalog() -> Catalog:
    """The catalog; in production mode its buckets are made encrypted at rest first (once)."""
    if get_environment() is Environment.PRODUCTION:
        encrypt_buckets()
    return sql_catalog(**catalog_properties())


def table_identifiers(catalog: Catalog) -> list[str]:
    """Every table in the catalog as ``namespace.name``, sorted."""
    return sorted(".".join(t) for ns in catalog.list_namespaces() for t in catalog.list_tables(ns))
