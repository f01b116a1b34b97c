"""The data catalog over a real run of every domain: facts, sample queries returning rows, Chromium pages.

Every simulating domain lands a day and runs its job, growth runs on their ports, then
the platform's catalog asset writes the site from the same Dagster instance and warehouse. The
pages are rendered by a real headless Chromium (Debian's, installed by `make test`).
"""

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import dagster as dg
import pytest

from domains.platform.data_catalog import data_products
from platform_resources.data_catalog.site import build_catalog
from platform_resources.mesh.workspace import domain_module, simulated_domains, workspace_contracts
from tests.integration.conftest import publish_producer_ports

pytestmark = pytest.mark.integration
D = dt.date(2026, 11, 20)
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _render(url: str, profile: Path) -> str:
    """The DOM after Chromium loaded ``url`` and ran its scripts."""
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _publish_every_domain(instance) -> None:
    publish_producer_ports(instance, [D], events_per_day=200, domains=tuple(simulated_domains()))
    growth = domain_module("growth", "definitions").defs.resolve_job_def("growth_daily")
    assert growth.execute_in_process(instance=instance, partition_key=D.isoformat()).success


def test_the_catalog_holds_every_product_runs_its_sample_queries_and_renders_in_chromium(
    home, instance, tmp_path
) -> None:
    _publish_every_domain(instance)

    result = dg.materialize([data_products], instance=instance)  # the platform's catalog asset

    out = home / "catalog"
    products = json.loads((out / "index.json").read_text())["products"]
    metadata = result.asset_materializations_for_node(data_products.node_def.name)[0].metadata
    assert metadata["products"].value == len(products) and metadata["sample_queries_failed"].value == []
    assert build_catalog(tmp_path / "cli", instance)[0]["uri"] == products[0]["uri"]  # the CLI's builder

    _assert_facts(out, products)
    _assert_sample_queries_return_rows(products)
    _assert_pages_render(out, products, tmp_path)


def _assert_facts(out: Path, products: list[dict]) -> None:
    expected = {uri for uri, c in workspace_contracts().items() if c.layer != "bronze"}
    assert {p["uri"] for p in products} == expected
    for product in products:
        assert product["last_materialization"] is not None, product["uri"]
        assert product["rows"] is not None and product["rows"] > 0, product["uri"]
        assert all(c["classification"] for c in product["columns"])
        assert product["slo_status"]["accuracy"]["measured"] is not None, product["uri"]
    by_uri = {p["uri"]: p for p in products}
    port = by_uri["data://orders/customer_daily_orders/v1"]
    assert {(c["domain"], c["asset"]) for c in port["consumers"]} == {
        ("growth", "growth/gold/customer_360"),
        ("growth", "growth/gold/daily_active_users"),
    }
    assert port["deprecation"] == {
        "date": "2027-06-30",
        "successor": "data://orders/customer_daily_orders/v2",
    }
    scores = by_uri["data://growth/churn_scores/v1"]
    assert scores["upstream"] == ["growth/gold/churn_features"]
    assert scores["upstream_domains"] == ["customers", "orders", "payments"]  # lineage across locations
    assert by_uri["data://orders/orders/v1"]["downstream_domains"] == ["growth"]


def _assert_sample_queries_return_rows(products: list[dict]) -> None:
    queries = [(p["uri"], q) for p in products for q in p["sample_queries"]]
    assert len(queries) >= len([p for p in products if p["published"]])
    for uri, query in queries:
        assert query["error"] is None, (uri, query["error"])
        assert query["rows_returned"] > 0, (uri, query["title"])


def _assert_pages_render(out: Path, products: list[dict], tmp_path: Path) -> None:
    index = _render(f"{(out / 'index.html').as_uri()}#q=growth", tmp_path / "p1")
    growth = [p for p in products if "growth" in p["uri"]]
    assert f"{len(growth)} of {len(products)} products match “growth”" in index  # set by the page's script
    page = _render((out / "products" / "orders.gold.customer_daily_orders.html").as_uri(), tmp_path / "p2")
    assert '<h1 id="uri">data://orders/customer_daily_orders/v1</h1>' in page
    assert "deprecated on 2027-06-30" in page and "growth/gold/customer_360" in page
    assert page.count('<table class="query-result">') == 1 and "row(s)" in page
