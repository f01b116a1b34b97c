"""Access control on reads over real Iceberg tables: what an analyst cannot read, a privacy officer can."""

import datetime as dt
import os
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from platform_resources.contracts.model import Contract
from platform_resources.mesh.workspace import products_by_table
from platform_resources.privacy.access_policies import AccessDenied, AccessPolicyError
from platform_resources.privacy.audit_log import read_audit
from platform_resources.privacy.secure_reader import READ_LOG, read_product, secure_connection
from platform_resources.storage.catalog import load_catalog
from platform_resources.storage.iceberg_io import ensure_table, write_frames
from tests.conftest import DAY
from tests.integration.conftest import BIN, REPO, publish_day

CONTRACTS = products_by_table()
PAYMENTS, ORDERS, CUSTOMERS = (
    "payments.silver_payment_events",
    "orders.silver_orders",
    "customers.silver_customers",
)
TS = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)


def _frame(contract: Contract, *rows: dict) -> pl.DataFrame:
    """Rows of the contract's columns: the given values, a placeholder of the column's type elsewhere."""
    schema = contract.polars_schema()

    def placeholder(dtype: pl.DataType) -> object:
        if isinstance(dtype, pl.Decimal):
            return Decimal("10.00")
        return {pl.String: "x", pl.Int64: 1, pl.Date: DAY, pl.Boolean: True}.get(dtype.base_type(), TS)

    return pl.DataFrame(
        [{name: row.get(name, placeholder(dtype)) for name, dtype in schema.items()} for row in rows],
        schema=schema,
        orient="row",
    )


@pytest.fixture
def lakehouse(home: Path) -> Path:
    """Three products and a raw Bronze table, with rows in three regions; returns the warehouse."""
    regions = ["eu-west-1", "eu-west-2", "us-east-1"]
    publish_day(
        CONTRACTS[PAYMENTS],
        _frame(
            CONTRACTS[PAYMENTS],
            *(
                {"event_id": f"evt-{i}", "user_token": f"tok_user{i}", "region": region, "currency": "EUR"}
                for i, region in enumerate(regions)
            ),
        ),
        DAY,
    )
    publish_day(
        CONTRACTS[CUSTOMERS],
        _frame(
            CONTRACTS[CUSTOMERS],
            *(
                {"user_token": f"tok_user{i}", "email_token": f"tok_mail{i}", "country": country}
                for i, country in enumerate(["GB", "DE", "US"])
            ),
        ),
        DAY,
    )
    publish_day(
        CONTRACTS[ORDERS],
        _frame(
            CONTRACTS[ORDERS],
            {"order_id": "o-1", "user_token": "tok_user0", "shipping_address_token": "tok_addr0"},
        ),
        DAY,
    )
    raw = pl.DataFrame(
        {"landing_date": [DAY], "region": ["eu-west-1"], "raw": ['{"email": "ada@example.com"}']}
    )
    write_frames(
        load_catalog(),
        "orders.bronze_events",
        raw,
        partition_column="landing_date",
        window=(DAY, DAY + dt.timedelta(1)),
    )
    return home / "warehouse"


def test_an_analyst_sees_internal_columns_of_its_regions_only(lakehouse: Path) -> None:
    payments = read_product("analyst", PAYMENTS).sort("region")
    assert payments["region"].to_list() == ["eu-west-1", "eu-west-2"]  # not us-east-1
    assert payments["user_token"].to_list() == ["***", "***"]  # confidential: redacted
    assert payments["currency"].to_list() == ["EUR", "EUR"]  # internal: as stored
    assert payments.schema == CONTRACTS[PAYMENTS].polars_schema()  # masking keeps the types

    customers = read_product("analyst", CUSTOMERS)  # the policy lists it as unfiltered: every row
    assert customers.height == 3
    assert set(customers["email_token"]) == {"***"}  # restricted
    assert sorted(customers["country"]) == ["DE", "GB", "US"]

    assert read_product("analyst_us", PAYMENTS)["region"].to_list() == ["us-east-1"]
    assert read_audit(READ_LOG) == []  # analysts' reads are not audited


def test_an_analyst_cannot_read_raw_or_unfilterable_tables(lakehouse: Path) -> None:
    with pytest.raises(AccessDenied, match=r"orders\.bronze_events has no contract"):
        read_product("analyst", "orders.bronze_events")
    with pytest.raises(AccessDenied, match=r"orders\.silver_orders has no region column"):
        read_product("analyst", ORDERS)
    with secure_connection("analyst") as con:  # every table it may read, and no other
        tables = con.sql("SELECT schema_name || '.' || table_name FROM duckdb_tables() ORDER BY 1").fetchall()
    assert [t for (t,) in tables] == [CUSTOMERS, PAYMENTS]


def test_a_table_without_files_reads_empty_with_its_types(home: Path) -> None:
    profiles = CONTRACTS["customers.gold_customer_profiles"]
    ensure_table(load_catalog(), profiles.product_id, profiles.iceberg_schema(), profiles.partition_column)
    frame = read_product("analyst", profiles.product_id)  # read through pyiceberg, then masked
    assert frame.height == 0 and frame.schema == profiles.polars_schema()


def test_sql_cannot_reach_the_files_behind_the_masked_tables(lakehouse: Path, home: Path) -> None:
    data_files = sorted(str(p) for p in lakehouse.rglob("*.parquet") if "silver_payment_events" in str(p))
    metadata = sorted(lakehouse.rglob("silver_payment_events*/metadata/*.metadata.json"))
    assert data_files and metadata
    # the same SQL on an ordinary DuckDB reads the unmasked rows: the files are there
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{lakehouse}/**/*.parquet')").fetchone()[0] >= 3
    escapes = [
        f"SELECT * FROM read_parquet('{data_files[0]}')",
        f"SELECT * FROM read_parquet('{lakehouse}/**/*.parquet')",
        f"SELECT * FROM glob('{lakehouse}/**')",
        f"SELECT * FROM read_text('{home / 'catalog.db'}')",
        f"SELECT * FROM iceberg_scan('{metadata[-1]}')",
        f"ATTACH '{home / 'catalog.db'}' AS catalog (TYPE sqlite)",
        f"COPY payments.silver_payment_events TO '{home / 'copy.csv'}'",
        "INSTALL iceberg",
        "SET enable_external_access = true",
        "RESET lock_configuration",
    ]
    with secure_connection("analyst") as con:
        for sql in escapes:
            with pytest.raises(
                duckdb.Error, match=r"disabled (by|through) configuration|configuration has been locked"
            ):
                con.sql(sql).fetchall()
        assert con.sql("SELECT count(*) FROM payments.silver_payment_events").fetchone() == (2,)
    assert not (home / "copy.csv").exists()


def test_a_privacy_officer_reads_everything_and_every_read_is_audited(lakehouse: Path) -> None:
    payments = read_product("privacy_officer", PAYMENTS).sort("region")
    assert payments["region"].to_list() == ["eu-west-1", "eu-west-2", "us-east-1"]
    assert payments["user_token"].to_list() == ["tok_user0", "tok_user1", "tok_user2"]
    assert read_product("privacy_officer", "orders.bronze_events")["raw"].to_list() == [
        '{"email": "ada@example.com"}'
    ]
    with secure_connection("privacy_officer", query="SELECT 1") as con:
        tables = con.sql("SELECT count(*) FROM duckdb_tables()").fetchone()[0]
    assert tables == 4
    entries = read_audit(READ_LOG)
    assert [(e["role"], e["products"], e["query"]) for e in entries] == [
        ("privacy_officer", [PAYMENTS], None),
        ("privacy_officer", ["orders.bronze_events"], None),
        (
            "privacy_officer",
            ["customers.silver_customers", "orders.bronze_events", ORDERS, PAYMENTS],
            "SELECT 1",
        ),
    ]
    assert all(e["user"] and dt.datetime.fromisoformat(e["at"]).tzinfo for e in entries)


def test_other_roles_keep_tokens_or_stay_in_their_domain(lakehouse: Path) -> None:
    orders = read_product("data_engineer", ORDERS)
    assert orders["user_token"].to_list() == ["tok_user0"]  # confidential, tokenized: the token, to join on
    assert orders["shipping_address_token"].to_list() == [None]  # restricted: nullified
    assert read_product("orders_owner", ORDERS)["shipping_address_token"].to_list() == ["tok_addr0"]
    with pytest.raises(AccessDenied, match=r"reads only the products of \['orders'\]"):
        read_product("orders_owner", PAYMENTS)
    assert [e["role"] for e in read_audit(READ_LOG)] == ["orders_owner"]  # it sees restricted values


def test_unknown_roles_and_malformed_policies_are_refused(
    lakehouse: Path, tmp_path: Path, monkeypatch
) -> None:
    with pytest.raises(AccessPolicyError, match="unknown role 'intern'"):
        read_product("intern", PAYMENTS)
    policy = tmp_path / "policies.yaml"
    policy.write_text(
        "roles: {analyst: {description: x, clearance: internal, layers: [gold], row_filters: [zone]}}"
    )
    monkeypatch.setenv("MESHHOUSE_ACCESS_POLICIES", str(policy))
    with pytest.raises(AccessPolicyError, match="unknown row filter 'zone'"):
        read_product("analyst", PAYMENTS)


def _query(home: Path, role: str, sql: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "meshhouse"), "query", "--role", role, sql],
        cwd=REPO,
        env={**os.environ, "MESHHOUSE_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_meshhouse_query_applies_the_policy_end_to_end(lakehouse: Path, home: Path) -> None:
    sql = "SELECT region, user_token, p.currency FROM payments.silver_payment_events p ORDER BY region"
    analyst = _query(home, "analyst", sql)
    assert analyst.returncode == 0, analyst.stderr
    assert (
        analyst.stdout.count("***") == 2 and "eu-west-1" in analyst.stdout and "eu-west-2" in analyst.stdout
    )
    assert "us-east-1" not in analyst.stdout and "tok_user" not in analyst.stdout

    denied = _query(home, "analyst", "SELECT * FROM orders.bronze_events")
    assert denied.returncode == 2 and "has no contract" in denied.stderr
    escape = _query(home, "analyst", f"SELECT * FROM read_parquet('{lakehouse}/**/*.parquet')")
    assert escape.returncode == 1 and "disabled by configuration" in escape.stderr

    officer = _query(home, "privacy_officer", sql)
    assert officer.returncode == 0, officer.stderr
    assert "us-east-1" in officer.stdout and "tok_user2" in officer.stdout
    assert [(e["role"], e["products"], e["query"]) for e in read_audit(READ_LOG)] == [
        ("privacy_officer", [PAYMENTS], sql)
    ]
