"""The static data catalog: ``meshhouse catalog --out DIR`` writes browsable HTML pages and a JSON index.

``index.html`` lists every product (filter as you type, or with ``#q=<text>`` in the
address), ``products/<domain>.<layer>.<name>.html`` shows one product's contract, SLO
status, lineage, last materialization, rows, sample queries with their results, and its
consumers; ``index.json`` holds the same facts for tools. Sample queries run as written
in DuckDB over views named like the Iceberg tables (``<domain>.<layer>_<name>``).
"""

import datetime as dt
import json
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import jinja2

from platform_resources.data_catalog.facts import product_facts
from platform_resources.mesh.workspace import workspace_contracts, workspace_definitions
from platform_resources.storage.product_sql import query_connection

PREVIEW_ROWS = 10
_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("platform_resources.data_catalog", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def run_sample_query(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, Any]:
    """The query's row count, columns and first rows, or its error."""
    try:
        relation = con.sql(sql)
        rows = relation.fetchall()
    except duckdb.Error as exc:
        return {"rows_returned": 0, "columns": [], "preview": [], "error": str(exc).splitlines()[0]}
    return {
        "rows_returned": len(rows),
        "columns": relation.columns,
        "preview": [[None if v is None else str(v) for v in row] for row in rows[:PREVIEW_ROWS]],
        "error": None,
    }


def failed_sample_queries(products: list[dict[str, Any]]) -> list[str]:
    """``<uri>: <title>: <error>`` for every sample query that did not run."""
    return [
        f"{p['uri']}: {q['title']}: {q['error']}" for p in products for q in p["sample_queries"] if q["error"]
    ]


def build_catalog(out: Path, instance: dg.DagsterInstance | None) -> list[dict[str, Any]]:
    """Write the catalog into ``out``; returns the products' facts (as in ``index.json``)."""
    contracts = workspace_contracts()
    products = product_facts(contracts, workspace_definitions(), instance)
    con = query_connection(list(contracts.values()))
    for product in products:
        for query in product["sample_queries"]:
            query.update(run_sample_query(con, query["sql"]))
    generated = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    (out / "products").mkdir(parents=True, exist_ok=True)
    (out / "index.json").write_text(json.dumps({"generated": generated, "products": products}, indent=2))
    pages = {p["asset_key"]: f"{p['id']}.html" for p in products}
    (out / "index.html").write_text(
        _TEMPLATES.get_template("catalog_index.html.j2").render(products=products, generated=generated)
    )
    product_page = _TEMPLATES.get_template("catalog_product.html.j2")
    for product in products:
        (out / "products" / f"{product['id']}.html").write_text(
            product_page.render(product=product, pages=pages, generated=generated)
        )
    return products
