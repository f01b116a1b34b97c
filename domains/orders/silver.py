"""orders' Silver layer: typed, deduplicated, tokenized order events, order items and orders.

``order_events`` and ``order_items`` come from one pass over a Bronze partition; events
that are valid envelopes but break a contract (or whose event time lies outside their
landing day) go, with every reason, to ``orders.silver_rejected``. ``orders`` holds one
row per order created that day with its current status, read from the status events of
the following ``STATUS_HORIZON_DAYS`` days as well.
"""

import json
from collections.abc import Iterator

import dagster as dg
import duckdb
import polars as pl
import pyarrow as pa

from domains.orders.contracts import CONTRACTS
from platform_resources.bronze import LANDING_DATE, bronze_keys
from platform_resources.contract_assets import contract_check_spec, product_spec, publish_if_passed
from platform_resources.contracts import FAILURE_CASES_SCHEMA, Contract, ContractOutcome, hold_to_contract
from platform_resources.iceberg_io import PARTITION_EXPR, TableWindow
from platform_resources.partitions import DAILY, window_dates
from platform_resources.resources import IO_MANAGER_KEY
from platform_resources.staging import (
    ROW_INDEX,
    frames,
    hold_staged_to_contract,
    scratch_duckdb,
    stage_frame,
)
from platform_resources.tokenize import token_macro_sql

STATUS_HORIZON_DAYS = 30
STATUS_RANK = {"created": 0, "paid": 1, "shipped": 2, "delivered": 3, "cancelled": 4, "refunded": 5}
EVENTS, ITEMS, ORDERS = CONTRACTS["order_events"], CONTRACTS["order_items"], CONTRACTS["orders"]
#: An order's partition reads the status events of its day and of the horizon after it.
STATUS_HORIZON = dg.TimeWindowPartitionMapping(
    start_offset=0, end_offset=STATUS_HORIZON_DAYS, allow_nonexistent_upstream_partitions=True
)
REJECTED_KEY = dg.AssetKey(["orders", "silver", "rejected"])

#: The payload as Silver types it, parsed once per event (a value of another type becomes null).
_PAYLOAD = json.dumps(
    {
        "data": {
            "payload": {
                "orderId": "VARCHAR",
                "userId": "VARCHAR",
                "totalAmount": "DECIMAL(18,2)",
                "refundAmount": "DECIMAL(18,2)",
                "currency": "VARCHAR",
                "items": [{"productId": "VARCHAR", "quantity": "BIGINT", "price": "DECIMAL(18,2)"}],
            },
            "metadata": {"paymentMethod": "VARCHAR", "shippingAddress": "JSON"},
        }
    }
)
_BRONZE_COLUMNS = [
    "event_id",
    "event_type",
    "event_ts",
    "user_id",
    "correlation_id",
    "region",
    "source_file",
    "line_number",
    "ingested_at",
    LANDING_DATE,
    "raw",
]
#: Typed events, one per event id: the later copies (by landing day, file, line) are left out.
#: Customers recur, so their tokens are computed once per distinct user id.
_STAGE_EVENTS = f"""
CREATE TABLE events AS
WITH typed AS MATERIALIZED (
    SELECT
        CAST(row_number() OVER () - 1 AS BIGINT) AS {ROW_INDEX},
        event_id, event_type,
        CASE WHEN starts_with(event_type, 'order.') THEN substr(event_type, 7) END AS status,
        j.data.payload.orderId AS order_id,
        coalesce(j.data.payload.userId, user_id) AS user_id,
        event_ts, CAST(event_ts AS DATE) AS event_date,
        j.data.payload.totalAmount AS total_amount,
        j.data.payload.refundAmount AS refund_amount,
        j.data.payload.currency AS currency,
        j.data.metadata.paymentMethod AS payment_method,
        CAST(len(j.data.payload.items) AS BIGINT) AS item_count,
        j.data.metadata.shippingAddress ->> '$.country' AS ship_country,
        token(CAST(j.data.metadata.shippingAddress AS VARCHAR)) AS shipping_address_token,
        correlation_id, region, source_file, line_number, ingested_at, landing_date,
        j.data.payload.items AS items
    FROM (
        SELECT * EXCLUDE (raw), json_transform(raw, '{_PAYLOAD}') AS j
        FROM bronze ANTI JOIN later_copies USING (landing_date, source_file, line_number)
    )
), user_tokens AS (
    SELECT user_id, token(user_id) AS user_token FROM (SELECT DISTINCT user_id FROM typed)
)
SELECT typed.* EXCLUDE (user_id), user_tokens.user_token
FROM typed LEFT JOIN user_tokens USING (user_id)
"""
_STAGE_ITEMS = f"""
CREATE TABLE items AS
SELECT
    CAST(row_number() OVER () - 1 AS BIGINT) AS {ROW_INDEX},
    e.event_id, e.order_id, CAST(u.idx AS BIGINT) AS item_index,
    u.item.productId AS product_id, u.item.quantity AS quantity, u.item.price AS unit_price,
    TRY_CAST(u.item.quantity * u.item.price AS DECIMAL(18,2)) AS line_amount,
    e.currency, e.event_date AS order_date
FROM events e, unnest(e.items) WITH ORDINALITY AS u(item, idx)
WHERE e.event_type = 'order.created'
"""
#: Failure cases beyond the event contract, by event row: a day other than the landing day, bad items.
_EXTRA_FAILURES = f"""
SELECT 'event_date' AS "column", 'equals its landing day ' || CAST(landing_date AS VARCHAR) AS "check",
       CAST(event_date AS VARCHAR) AS failure_case, {ROW_INDEX} AS "index"
FROM events WHERE event_date <> landing_date
UNION ALL
SELECT 'items', 'item ' || CAST(i.item_index AS VARCHAR) || ' honours order_items', r.reason, e.{ROW_INDEX}
FROM item_reasons r JOIN items i ON i.{ROW_INDEX} = r."index" JOIN events e ON e.event_id = i.event_id
"""
_REJECTED = f"""
SELECT e.event_id, e.event_type, e.event_ts, r.reason, e.source_file, e.line_number, e.landing_date
FROM events e JOIN event_reasons r ON e.{ROW_INDEX} = r."index"
"""


#: (landing day, file, line) of every copy of an event id but its first: what dedupe drops.
_LATER_COPIES = f"""
CREATE TABLE later_copies AS
SELECT {LANDING_DATE}, source_file, line_number FROM bronze_keys
QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY {LANDING_DATE}, source_file, line_number) > 1
"""
_KEY_COLUMNS = ["event_id", LANDING_DATE, "source_file", "line_number"]


def stage_events(con: duckdb.DuckDBPyConnection, bronze: TableWindow | pl.DataFrame) -> int:
    """Stage the typed ``events`` and ``items`` of a Bronze window; returns the events staged.

    The key columns are read first (to find the later copies), then the raw lines once, by
    the typing query; they stay out of the staged tables (they are the bulk of a day's
    bytes): rejected events get theirs back from Bronze by file and line.
    """

    def rows(columns: list[str]) -> pa.RecordBatchReader | pa.Table:
        return (
            bronze.stream(columns) if isinstance(bronze, TableWindow) else bronze.select(columns).to_arrow()
        )

    con.execute(token_macro_sql())
    for view, columns, sql in (
        ("bronze_keys", _KEY_COLUMNS, _LATER_COPIES),
        ("bronze", _BRONZE_COLUMNS, _STAGE_EVENTS),
    ):
        con.register(view, rows(columns))
        con.execute(sql)
        con.unregister(view)
    con.execute(_STAGE_ITEMS)
    return con.execute("SELECT count(*) FROM events").fetchone()[0]


def type_events(bronze: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """(typed events, typed items with event_id, duplicates removed) of a small Bronze frame."""
    with scratch_duckdb("orders-silver") as con:
        staged = stage_events(con, bronze)
        events = con.sql(f"SELECT * EXCLUDE ({ROW_INDEX}, items) FROM events ORDER BY {ROW_INDEX}").pl()
        items = con.sql(f"SELECT * EXCLUDE ({ROW_INDEX}) FROM items ORDER BY {ROW_INDEX}").pl()
    return events, items, bronze.height - staged


def _columns(contract: Contract) -> str:
    return ", ".join(contract.polars_schema().names())


@dg.multi_asset(
    name="orders_silver_events",
    specs=[
        product_spec(EVENTS, deps=[bronze_keys("orders")[0]], kinds={"iceberg", "duckdb", "polars"}),
        product_spec(ITEMS, deps=[bronze_keys("orders")[0]], kinds={"iceberg", "duckdb", "polars"}),
        dg.AssetSpec(
            REJECTED_KEY,
            description="Order events that are valid envelopes but break a Silver contract, "
            "with every reason.",
            owners=[EVENTS.owner],
            group_name="orders",
            kinds={"iceberg", "polars"},
            tags={"layer": "silver"},
            metadata={PARTITION_EXPR: LANDING_DATE},
            deps=[bronze_keys("orders")[0]],
        ).with_io_manager_key(IO_MANAGER_KEY),
    ],
    check_specs=[contract_check_spec(EVENTS), contract_check_spec(ITEMS)],
    ins={"bronze": dg.AssetIn(bronze_keys("orders")[0])},
    partitions_def=DAILY,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def orders_silver_events(bronze: TableWindow) -> Iterator:
    """Typed, deduplicated events and items, staged in DuckDB and published in batches if they pass."""
    with scratch_duckdb("orders-silver") as con:
        duplicates = bronze.count() - stage_events(con, bronze)
        item_outcome = hold_staged_to_contract(con, "items", ITEMS)
        stage_frame(con, "item_reasons", item_outcome.reasons())
        event_outcome = hold_staged_to_contract(con, "events", EVENTS)
        event_outcome = ContractOutcome(
            EVENTS,
            event_outcome.rows_checked,
            pl.concat(
                [event_outcome.failure_cases, con.sql(_EXTRA_FAILURES).pl().cast(FAILURE_CASES_SCHEMA)]
            ),
        )
        stage_frame(con, "event_reasons", event_outcome.reasons())
        rejected = con.sql(_REJECTED).pl()
        rejected = rejected.join(
            bronze.lazy()
            .select("source_file", "line_number", "raw")
            .join(
                rejected.lazy().select("source_file", "line_number"),
                on=["source_file", "line_number"],
                how="semi",
            )
            .collect(engine="streaming"),
            on=["source_file", "line_number"],
        )
        rejected_ids = f'SELECT e.event_id FROM events e JOIN event_reasons r ON e.{ROW_INDEX} = r."index"'
        yield from publish_if_passed(
            outputs=[
                dg.Output(
                    frames(
                        con,
                        f"SELECT {_columns(EVENTS)} FROM events "
                        f'WHERE {ROW_INDEX} NOT IN (SELECT "index" FROM event_reasons)',
                    ),
                    output_name=EVENTS.asset_key.to_python_identifier(),
                    metadata={"duplicates_removed": duplicates, "rejected": rejected.height},
                ),
                dg.Output(
                    frames(
                        con, f"SELECT {_columns(ITEMS)} FROM items WHERE event_id NOT IN ({rejected_ids})"
                    ),
                    output_name=ITEMS.asset_key.to_python_identifier(),
                ),
            ],
            checks=[
                event_outcome.check_result(EVENTS.asset_key, {"duplicates_removed": duplicates}),
                item_outcome.check_result(ITEMS.asset_key),
            ],
            always=[
                dg.Output(
                    rejected.select(
                        "event_id",
                        "event_type",
                        "event_ts",
                        "reason",
                        "raw",
                        "source_file",
                        "line_number",
                        LANDING_DATE,
                    ),
                    output_name=REJECTED_KEY.to_python_identifier(),
                    metadata={"rejected": rejected.height},
                )
            ],
        )


def current_orders(events: pl.DataFrame, window) -> pl.DataFrame:
    """One row per order created in ``window``, with the latest status known in ``events``."""
    created = events.filter(
        (pl.col("event_type") == "order.created") & pl.col("event_date").is_between(*window, closed="left")
    )
    mine = events.join(created.select("order_id"), on="order_id", how="semi")
    latest = (
        mine.sort("event_ts", pl.col("status").replace_strict(STATUS_RANK, return_dtype=pl.Int8))
        .group_by("order_id")
        .agg(pl.col("status").last(), pl.col("event_ts").last().alias("status_updated_at"))
    )
    refunds = mine.group_by("order_id").agg(
        pl.col("refund_amount").sum().alias("refunded_amount"),
        pl.col("refund_amount").is_not_null().any().alias("has_refund"),
    )
    return (
        created.drop("status")
        .join(latest, on="order_id")
        .join(refunds, on="order_id")
        .select(
            "order_id",
            "user_token",
            pl.col("event_date").alias("order_date"),
            pl.col("event_ts").alias("created_at"),
            "total_amount",
            "currency",
            "payment_method",
            "item_count",
            "ship_country",
            "shipping_address_token",
            "status",
            "status_updated_at",
            pl.when(pl.col("has_refund"))
            .then(pl.col("refunded_amount"))
            .cast(pl.Decimal(18, 2))
            .alias("refunded_amount"),
        )
        .sort("created_at", "order_id")
    )


@dg.multi_asset(
    name="orders_silver_orders",
    specs=[product_spec(ORDERS, deps=[dg.AssetDep(EVENTS.asset_key, partition_mapping=STATUS_HORIZON)])],
    check_specs=[contract_check_spec(ORDERS)],
    ins={"events": dg.AssetIn(EVENTS.asset_key)},
    partitions_def=DAILY,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def orders_silver_orders(context: dg.AssetExecutionContext, events: pl.LazyFrame) -> Iterator:
    """Orders created that day with their current status, published only if they honour the contract."""
    orders = current_orders(events.collect(), window_dates(context))
    outcome = hold_to_contract(orders, ORDERS)
    yield from publish_if_passed(
        outputs=[dg.Output(orders, output_name=ORDERS.asset_key.to_python_identifier())],
        checks=[outcome.check_result(ORDERS.asset_key)],
    )
