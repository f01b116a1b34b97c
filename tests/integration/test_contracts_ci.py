"""The contract gate of CI on a scratch clone: a change growth sees fails .ci/run; a compatible one passes.

The clone installs its own environment from the lock (as CI does) and commits the change
as a scratch commit; its base is the commit before.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.integration.conftest import REPO

pytestmark = pytest.mark.integration
CONTRACT = Path("domains/orders/contracts/customer_daily_orders.yaml")


def _uv_dir() -> str:
    local = REPO / ".tools" / "bin"
    return str(local) if (local / "uv").exists() else str(Path(shutil.which("uv") or "uv").parent)


def _run(args: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTEST", "MESHHOUSE"))},
        "PATH": f"{_uv_dir()}:{os.environ['PATH']}",
        "MESHHOUSE_HOME": str(home),
    }
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def _commit(clone: Path, message: str) -> None:
    for args in (
        ["git", "add", "-A"],
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", message],
    ):
        subprocess.run(args, cwd=clone, check=True)


def _edit_columns(clone: Path, edit) -> None:
    path = clone / CONTRACT
    raw = yaml.safe_load(path.read_text())
    raw["columns"] = edit(raw["columns"])
    path.write_text(yaml.safe_dump(raw, sort_keys=False))


def test_a_breaking_change_to_a_consumed_column_fails_ci_and_a_nullable_column_passes(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)

    _edit_columns(clone, lambda columns: [c for c in columns if c["name"] != "orders"])
    _commit(clone, "scratch: drop orders.customer_daily_orders v1 column orders")
    failed = _run(["bash", ".ci/run"], clone, tmp_path / "home")

    assert failed.returncode != 0
    out = failed.stdout + failed.stderr
    expected = (
        "BREAKING: column 'orders' of data://orders/customer_daily_orders/v1: column removed "
        "(breaks consumers); consumed by growth (growth/gold/customer_360, growth/gold/daily_active_users)"
    )
    assert expected in out, out[-3000:]
    assert "test session starts" not in out  # CI stopped at the gate

    subprocess.run(["git", "reset", "-q", "--hard", "HEAD~1"], cwd=clone, check=True)
    _edit_columns(
        clone, lambda columns: [*columns, {"name": "channel", "type": "string", "classification": "internal"}]
    )
    _commit(clone, "scratch: a nullable column")
    passed = _run(["make", "governance"], clone, tmp_path / "home")

    assert passed.returncode == 0, passed.stdout[-3000:] + passed.stderr[-3000:]
    assert (
        "compatible: data://orders/customer_daily_orders/v1 column 'channel': nullable column added"
        in passed.stdout
    )
    assert "no breaking change reaches a consumer" in passed.stdout
    assert "governance check: 0 violation(s) over 6 code locations" in passed.stdout
