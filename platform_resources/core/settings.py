"""The one environment switch and every local path derived from `MESHHOUSE_HOME`.

Read at call time (never at import time) so tests and commands can point a fresh
process, or a fresh fixture, at another home.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from platform_resources.core.keys import REPO_ROOT

DEFAULT_HOME = ".meshhouse"
#: Development default for the tokenization key; production must set MESHHOUSE_TOKEN_KEY.
DEV_TOKEN_KEY = "meshhouse-development-key-do-not-use-in-production"


class Environment(StrEnum):
    EMBEDDED = "embedded"
    PRODUCTION = "production"


def get_environment() -> Environment:
    return Environment(os.environ.get("MESHHOUSE_ENV", Environment.EMBEDDED.value))


@dataclass(frozen=True)
class Paths:
    home: Path

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse"

    @property
    def catalog_db(self) -> Path:
        return self.home / "catalog.db"

    @property
    def scratch(self) -> Path:
        """Per-run working files (DuckDB databases for dbt, spools); safe to delete."""
        return self.home / "scratch"

    @property
    def ods(self) -> Path:
        """The embedded PostgreSQL of the operational stores (its cluster, port and log)."""
        return self.home / "ods"

    @property
    def nats(self) -> Path:
        """The embedded NATS server (its JetStream store, port and log)."""
        return self.home / "nats"

    @property
    def stream_locks(self) -> Path:
        """One lock file per domain, held by the process consuming its stream into Bronze."""
        return self.home / "stream-locks"

    def landing_dir(self, domain: str) -> Path:
        return self.landing / domain


def get_paths() -> Paths:
    return Paths(Path(os.environ.get("MESHHOUSE_HOME", DEFAULT_HOME)).resolve())


def get_access_policies_path() -> Path:
    """The roles the platform's reader applies: ``MESHHOUSE_ACCESS_POLICIES``, else the repository's."""
    default = REPO_ROOT / "access_policies.yaml"
    return Path(os.environ.get("MESHHOUSE_ACCESS_POLICIES") or default)


def get_landing_uri() -> str | None:
    """The S3 landing zone (``s3://bucket/prefix``) if ``MESHHOUSE_LANDING_URI`` is set, else None (local)."""
    uri = os.environ.get("MESHHOUSE_LANDING_URI")
    if uri and not uri.startswith("s3://"):
        raise ValueError(
            f"MESHHOUSE_LANDING_URI={uri!r}: use s3://bucket/prefix, or unset it for the local folder"
        )
    return uri or None


def get_sensor_interval_seconds() -> int:
    """How often landing sensors look for new files (``MESHHOUSE_SENSOR_INTERVAL_SECONDS``, 5).

    A tick lists the landing zone (about 0.1 s here): a landed file waits 2.5 s on average,
    where 30 s made the sensor the largest share of landing -> Gold (``meshhouse bench --latency``).
    """
    return int(os.environ.get("MESHHOUSE_SENSOR_INTERVAL_SECONDS", "5"))


def get_automation_interval_seconds() -> int:
    """How often automation sensors evaluate (``MESHHOUSE_AUTOMATION_INTERVAL_SECONDS``, 10).

    A tick evaluates every partition of a location's assets (0.2 to 0.5 s here, 2.6 s at most).
    """
    return int(os.environ.get("MESHHOUSE_AUTOMATION_INTERVAL_SECONDS", "10"))


def get_stream_interval_seconds() -> int:
    """How often the stream sensors look for waiting messages (``MESHHOUSE_STREAM_INTERVAL_SECONDS``, 5)."""
    return int(os.environ.get("MESHHOUSE_STREAM_INTERVAL_SECONDS", "5"))


def get_alert_interval_seconds() -> int:
    """How often the alerting sensor evaluates (``MESHHOUSE_ALERT_INTERVAL_SECONDS``, 30)."""
    return int(os.environ.get("MESHHOUSE_ALERT_INTERVAL_SECONDS", "30"))


def get_alert_webhook_url() -> str | None:
    """The Slack-compatible webhook alerts are posted to (``MESHHOUSE_ALERT_WEBHOOK_URL``), or None."""
    return os.environ.get("MESHHOUSE_ALERT_WEBHOOK_URL") or None


def get_alert_max_per_hour() -> int:
    """At most this many alerts are posted in any rolling hour (``MESHHOUSE_ALERT_MAX_PER_HOUR``, 20)."""
    return int(os.environ.get("MESHHOUSE_ALERT_MAX_PER_HOUR", "20"))


def get_dagster_url() -> str:
    """The Dagster UI that alerts link to (``MESHHOUSE_DAGSTER_URL``, default local ``dagster dev``)."""
    return os.environ.get("MESHHOUSE_DAGSTER_URL", "http://127.0.0.1:3000").rstrip("/")


def get_export_root() -> str:
    """Where file ports write: ``MESHHOUSE_EXPORT_URI`` (a folder or ``s3://bucket/prefix``), else
    ``$MESHHOUSE_HOME/exports``."""
    return os.environ.get("MESHHOUSE_EXPORT_URI") or str(get_paths().home / "exports")


#: The database the embedded PostgreSQL holds the domains' operational schemas in.
ODS_DATABASE = "meshhouse"


def embedded_port(folder: Path) -> int | None:
    """The port an embedded server of this home was given (``<folder>/port``), if it was."""
    path = folder / "port"
    return int(path.read_text()) if path.exists() else None


def embedded_nats_url(port: int) -> str:
    return f"nats://127.0.0.1:{port}"


def embedded_ods_url(port: int) -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/{ODS_DATABASE}"


def get_nats_url() -> str:
    """The NATS server (JetStream): ``MESHHOUSE_NATS_URL``, else the embedded one this home
    started (``meshhouse servers up``), else the local default port."""
    if url := os.environ.get("MESHHOUSE_NATS_URL"):
        return url
    return embedded_nats_url(embedded_port(get_paths().nats) or 4222)


def get_ods_url() -> str:
    """The operational PostgreSQL of the domains' services: ``MESHHOUSE_ODS_URL``, else the
    embedded one this home started."""
    if url := os.environ.get("MESHHOUSE_ODS_URL"):
        return url
    port = embedded_port(get_paths().ods)
    if port is None:
        raise RuntimeError(
            "no operational database: set MESHHOUSE_ODS_URL, or start the embedded one "
            "with `meshhouse servers up`"
        )
    return embedded_ods_url(port)


def get_port_subject_prefix() -> str:
    """The first subject token of stream ports: ``MESHHOUSE_PORT_PREFIX``, default ``ports``."""
    prefix = os.environ.get("MESHHOUSE_PORT_PREFIX", "ports")
    if not prefix.isidentifier():
        raise ValueError(f"MESHHOUSE_PORT_PREFIX={prefix!r}: use letters, digits and _")
    return prefix


def get_token_key() -> bytes:
    key = os.environ.get("MESHHOUSE_TOKEN_KEY")
    if key:
        return key.encode()
    if get_environment() is Environment.PRODUCTION:
        raise RuntimeError("MESHHOUSE_TOKEN_KEY must be set in production mode")
    return DEV_TOKEN_KEY.encode()


def get_previous_token_keys() -> list[bytes]:
    """Keys tokens were made with before the last rotation (``MESHHOUSE_TOKEN_PREVIOUS_KEYS``,
    comma-separated, newest first): erasure and export still find the tokens they made."""
    raw = os.environ.get("MESHHOUSE_TOKEN_PREVIOUS_KEYS", "")
    return [key.strip().encode() for key in raw.split(",") if key.strip()]


def get_webhook_secret(source: str) -> bytes:
    """The signing secret of a webhook source, from ``MESHHOUSE_WEBHOOK_SECRET_<SOURCE>``.

    Development default: ``meshhouse-development-webhook-<source>``; production must set it.
    """
    secret = os.environ.get(f"MESHHOUSE_WEBHOOK_SECRET_{source.upper()}")
    if secret:
        return secret.encode()
    if get_environment() is Environment.PRODUCTION:
        raise RuntimeError(f"MESHHOUSE_WEBHOOK_SECRET_{source.upper()} must be set in production mode")
    return f"meshhouse-development-webhook-{source}".encode()
