"""A running `dagster dev` (webserver and daemon) on the workspace, as `make run` starts it: starting
it in its own process group, waiting until its GraphQL API answers, and asking it questions.

The latency benchmark and the tests that drive the whole mesh share this; nothing here knows a domain.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from platform_resources.core.keys import REPO_ROOT

T = TypeVar("T")
#: Seconds for the webserver to answer, unless the caller gives its own.
START_TIMEOUT_S = 180
LOCATIONS = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus locationOrLoadError {
  __typename
  ... on PythonError { message }
  ... on RepositoryLocation { repositories { name sensors { name sensorState { status } } } }
} } } } }"""


def free_port() -> int:
    """A TCP port nothing listens on at 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(port: int, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``data`` of a GraphQL request to the webserver on ``port``; GraphQL errors raise."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.load(response)
    if body.get("errors"):
        raise RuntimeError(f"GraphQL errors: {[e.get('message') for e in body['errors']]}")
    return body["data"]


def loaded_locations(port: int) -> dict[str, dict] | None:
    """Each code location's repository or load error, once none is still loading."""
    entries = graphql(port, LOCATIONS)["workspaceOrError"]["locationEntries"]
    if not entries or any(e["loadStatus"] != "LOADED" for e in entries):
        return None
    return {e["name"]: e["locationOrLoadError"] for e in entries}


def wait_for(probe: Callable[[], T | None], *, timeout_s: float, what: str, every_s: float = 3) -> T:
    """Poll ``probe`` until it returns something other than None; TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (found := probe()) is not None:
            return found
        time.sleep(every_s)
    raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")


@contextmanager
def serving(
    command: list[str], env: dict[str, str], port: int, log_path: Path, *, timeout_s: float = START_TIMEOUT_S
) -> Iterator[None]:
    """Run ``command`` (which starts a Dagster webserver on ``port``) from the repository in its own
    process group, logging to ``log_path``, until the webserver answers (within ``timeout_s``); on
    exit the group is stopped (SIGTERM, then SIGKILL after 60 s) and, on a failure, the log's tail
    printed."""
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

        def answers() -> bool | None:
            if server.poll() is not None:
                raise RuntimeError(f"{' '.join(command[:2])} exited:\n{log_path.read_text()[-3000:]}")
            try:
                graphql(port, "{ version }")
            except (OSError, urllib.error.URLError):
                return None
            return True

        try:
            wait_for(answers, timeout_s=timeout_s, what=f"{' '.join(command[:2])} to serve", every_s=1)
            yield
        except BaseException:
            print(log_path.read_text()[-5000:])
            raise
        finally:
            with contextlib.suppress(ProcessLookupError):  # (the group may be gone already)
                os.killpg(server.pid, signal.SIGTERM)
                try:
                    server.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(server.pid, signal.SIGKILL)
