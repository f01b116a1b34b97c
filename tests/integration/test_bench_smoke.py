"""A small run of the benchmark: every variant agrees on the data, and the report is written."""

import json

import pytest

from tests.integration.conftest import run_command

pytestmark = pytest.mark.integration


def test_quick_bench_reports_its_figures_as_json_markdown_and_chart(home, tmp_path) -> None:
    out = tmp_path / "bench"
    args = ["--quick", "--json", "--sizes", "3000", "--backfill-days", "2", "--out", str(out)]
    done = run_command(["meshhouse", "bench", *args], home)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"events_per_s", "ratio_to_limit", "ratio_to_peer", "peak_rss_mib"} <= set(summary)
    assert summary["events_per_s"] > 0 and summary["peak_rss_mib"] > 0 and summary["backfill_runs"] == 1
    report = json.loads((out / "report.json").read_text())
    figures = report["sizes"]["3000"]
    # every variant does the day's work: the same Silver rows, quarantine and items
    assert len({figures[v]["silver_rows"] for v in ("limit", "light_limit", "platform", "peer")}) == 1
    assert figures["limit"]["quarantined"] == figures["light_limit"]["quarantined"]
    assert figures["limit"]["quarantined"] == figures["platform"]["quarantined"] > 0
    assert figures["limit"]["items"] == figures["platform"]["items"] > 0
    for reference in ("limit", "light_limit", "peer"):
        assert figures["platform"][f"ratio_to_{reference}"] == pytest.approx(
            figures["platform"]["events_per_s"] / figures[reference]["events_per_s"]
        )
    assert summary["ratio_to_limit_by_size"] == {"3000": round(figures["platform"]["ratio_to_limit"], 3)}
    assert 0 < summary["startup_s"] == round(figures["platform"]["startup_seconds"], 2)
    lines = figures["platform"]["lines"]
    assert 2_500 <= lines <= 3_500  # the simulated day lands about the size asked for
    assert f"| 3,000 | {lines:,} | platform | 1 |" in (out / "report.md").read_text()
    assert (out / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "[bench " in done.stderr  # progress is shown while it runs
    # the stream path, against raw JetStream publish + consume of the same messages
    stream = report["stream"]
    assert stream["ratio_to_limit"] == pytest.approx(
        stream["platform"]["events_per_s"] / stream["limit"]["events_per_s"]
    )
    assert 0 < summary["stream_latency_s"]["p50"] <= summary["stream_latency_s"]["p99"]
    assert "Stream path, 2,000 events: outbox -> stream Bronze" in (out / "report.md").read_text()
