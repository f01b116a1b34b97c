"""make test's selection of the reliability suite: one crash trial (an orders day killed at a
random moment, then rerun), concurrent writers on both catalogs with a reader in a loop, a GDPR
erasure of the writers' source beside them, a short fuzz run; S3 stopped and the PostgreSQL
catalog restarted under a production-mode run, and a full disk under the warehouse. `make
reliability` runs twenty crash trials and more of the rest."""

import json

import pytest

from tests.integration.conftest import run_command

pytestmark = pytest.mark.integration


def test_s3_stopped_the_postgres_catalog_restarted_and_a_full_disk_lose_and_duplicate_nothing(
    home, tmp_path
) -> None:
    out = run_command(
        ["meshhouse", "reliability", "--quick", "--kinds", "services", "--work", str(tmp_path), "--json"],
        home,
    ).stdout
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["per_kind"]["services"]["trials"] == 3
    assert (summary["passed"], summary["lost"], summary["duplicated"]) == (3, 0, 0)
    assert "| services | S3 stopped mid-commit" in out
    assert "| services | PostgreSQL catalog restarted mid-commit" in out
    assert "| services | warehouse disk full at commit" in out


def test_a_crash_concurrent_writers_and_the_fuzzer_lose_duplicate_and_tear_nothing(home, tmp_path) -> None:
    out = run_command(
        [
            "meshhouse",
            "reliability",
            "--quick",
            "--kinds",
            "crash,concurrency,fuzz",
            "--crashes",
            "1",
            "--fuzz-seconds",
            "5",
            "--work",
            str(tmp_path / "work"),
            "--json",
        ],
        home,
    ).stdout
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["per_kind"]["crash"]["trials"] == 1
    assert summary["per_kind"]["concurrency"]["trials"] == 4  # writers, then an erasure beside, per catalog
    assert summary["per_kind"]["fuzz"]["trials"] == 1
    assert (summary["passed"], summary["lost"], summary["duplicated"], summary["torn_reads"]) == (
        summary["trials"],
        0,
        0,
        0,
    )
    assert "| concurrency | sqlite: 8 writers of 8 days + 2 of one day" in out
    assert "| concurrency | postgres: 8 writers of 8 days, an erasure of their source beside" in out
