"""orders' Silver layer: typed, deduplicated, tokenized order events, order items and orders.

``order_events`` and ``order_items`` come from one pass over a Bronze partition; events
that are valid envelopes but break a contract (or whose event time lies outside their
landing day) go, with every reason, to ``orders.silver_rejected``. ``orders`` holds one
row per order created that day with its current status, read from the status events of
the following ``STATUS_HORIZON_DAYS`` days as well.
"""

from collections.abc import Iterator

import dagster as dg
import duckdb
import polars as pl

from domains.orders.contracts import CONTRACTS
from platform_resources.bronze import LANDING_DATE, bronze_keys
from platform_resources.contract_assets import contract_check_spec, product_spec, publish_if_passed
from platform_resources.contracts import ContractOutcome, hold_to_contract, split_by_contract
from platform_resources.iceberg_io import PARTITION_EXPR
from platform_resources.partitions import DAILY, window_dates
from platform_resources.resources import IO_MANAGER_KEY
from platform_resources.tokenize import tokenize

STATUS_HORIZON_DAYS = 30
STATUS_RANK = {"created": 0, "paid": 1, "shipped": 2, "delivered": 3, "cancelled": 4, "refunded": 5}
EVENTS, ITEMS, ORDERS = CONTRACTS["order_events"], CONTRACTS["order_items"], CONTRACTS["orders"]
#: An order's partition reads the status events of its day and of the horizon after it.
STATUS_HORIZON = dg.TimeWindowPartitionMapping(
    start_offset=0, end_offset=STATUS_HORIZON_DAYS, allow_nonexistent_upstream_partitions=True
)
REJECTED_KEY = dg.AssetKey(["orders", "silver", "rejected"])

#: Payload fields, extracted in one JSON parse per event (1-based in SQL).
_PATHS = {
    "order_id": "$.data.payload.orderId",
    "user_id": "$.data.payload.userId",
    "total_amount": "$.data.payload.totalAmount",
    "refund_amount": "$.data.payload.refundAmount",
    "currency": "$.data.payload.currency",
    "payment_method": "$.data.metadata.paymentMethod",
    "items": "$.data.payload.items",
    "shipping_address": "$.data.metadata.shippingAddress",
}


def _p(name: str) -> str:
    return f"p[{list(_PATHS).index(name) + 1}]"


#: The first copy of each event id (by landing day, file, line): what dedupe keeps.
_FIRST_COPIES = """
SELECT * FROM bronze
QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY landing_date, source_file, line_number) = 1
"""
_TYPED_EVENTS = f"""
WITH extracted AS (
    SELECT *, json_extract(raw, [{", ".join(f"'{path}'" for path in _PATHS.values())}]) AS p
    FROM ({_FIRST_COPIES})
)
SELECT
    event_id, event_type,
    CASE WHEN starts_with(event_type, 'order.') THEN substr(event_type, 7) END AS status,
    {_p("order_id")} ->> '$' AS order_id,
    coalesce({_p("user_id")} ->> '$', user_id) AS user_id,
    event_ts, CAST(event_ts AS DATE) AS event_date,
    TRY_CAST({_p("total_amount")} ->> '$' AS DECIMAL(18,2)) AS total_amount,
    TRY_CAST({_p("refund_amount")} ->> '$' AS DECIMAL(18,2)) AS refund_amount,
    {_p("currency")} ->> '$' AS currency,
    {_p("payment_method")} ->> '$' AS payment_method,
    CASE WHEN json_type({_p("items")}) = 'ARRAY'
         THEN CAST(json_array_length({_p("items")}) AS BIGINT) END AS item_count,
    {_p("shipping_address")} ->> '$.country' AS ship_country,
    CAST({_p("shipping_address")} AS VARCHAR) AS shipping_address,
    correlation_id, region, source_file, line_number, ingested_at, landing_date
FROM extracted
ORDER BY event_ts, event_id
"""
_ITEMS = f"""
SELECT
    e.event_id,
    e.raw ->> '$.data.payload.orderId' AS order_id,
    CAST(i.idx AS BIGINT) AS item_index,
    i.item ->> '$.productId' AS product_id,
    TRY_CAST(i.item ->> '$.quantity' AS BIGINT) AS quantity,
    TRY_CAST(i.item ->> '$.price' AS DECIMAL(18,2)) AS unit_price,
    e.raw ->> '$.data.payload.currency' AS currency,
    CAST(e.event_ts AS DATE) AS order_date
FROM ({_FIRST_COPIES}) e,
     unnest(json_extract(e.raw, '$.data.payload.items[*]')) WITH ORDINALITY AS i(item, idx)
WHERE e.event_type = 'order.created' AND json_type(e.raw, '$.data.payload.items') = 'ARRAY'
"""


def type_events(bronze: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """(typed events, typed items with event_id, duplicates removed).

    The raw line stays out of the typed frames (it is the bulk of a day's bytes): rejected
    events get theirs back from Bronze by file and line.
    """
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("bronze", bronze.to_arrow())
        events = con.sql(_TYPED_EVENTS).pl()
        items = con.sql(_ITEMS).pl()
    finally:
        con.close()
    events = events.with_columns(
        pl.col("event_ts", "ingested_at").dt.cast_time_unit("us"),
        user_token=tokenize(pl.col("user_id")),
        shipping_address_token=tokenize(pl.col("shipping_address")),
    ).drop("user_id", "shipping_address")
    items = items.with_columns(
        line_amount=(pl.col("quantity") * pl.col("unit_price")).cast(pl.Decimal(18, 2))
    )
    return events, items, bronze.height - events.height


def _extra_failures(events: pl.DataFrame, items: ContractOutcome, item_rows: pl.DataFrame) -> pl.DataFrame:
    """Failure cases beyond the event contract, indexed by event row: the landing day and bad items."""
    indexed = events.select("event_id", "event_date", LANDING_DATE).with_row_index("index")
    indexed = indexed.with_columns(pl.col("index").cast(pl.Int64))
    outside = indexed.filter(pl.col("event_date") != pl.col(LANDING_DATE)).select(
        pl.lit("event_date").alias("column"),
        (pl.lit("equals its landing day ") + pl.col(LANDING_DATE).cast(pl.String)).alias("check"),
        pl.col("event_date").cast(pl.String).alias("failure_case"),
        "index",
    )
    item_index = item_rows.with_row_index("index").select(
        pl.col("index").cast(pl.Int64), "event_id", "item_index"
    )
    bad_items = (
        items.reasons()
        .join(item_index, on="index")
        .join(indexed.select("event_id", pl.col("index").alias("event_index")), on="event_id")
        .select(
            pl.lit("items").alias("column"),
            (pl.lit("item ") + pl.col("item_index").cast(pl.String) + pl.lit(" honours order_items")).alias(
                "check"
            ),
            pl.col("reason").alias("failure_case"),
            pl.col("event_index").alias("index"),
        )
    )
    return pl.concat([outside, bad_items])


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
def orders_silver_events(bronze: pl.LazyFrame) -> Iterator:
    day = bronze.collect()
    events, items, duplicates = type_events(day)
    item_outcome = hold_to_contract(items.select(ITEMS.polars_schema().names()), ITEMS)
    event_outcome = hold_to_contract(events.select(EVENTS.polars_schema().names()), EVENTS)
    event_outcome = ContractOutcome(
        EVENTS,
        event_outcome.rows_checked,
        pl.concat([event_outcome.failure_cases, _extra_failures(events, item_outcome, items)]),
    )
    valid, rejected = split_by_contract(events, event_outcome)
    rejected = rejected.join(
        day.select("source_file", "line_number", "raw"), on=["source_file", "line_number"]
    )
    valid_items = items.join(rejected.select("event_id"), on="event_id", how="anti")
    yield from publish_if_passed(
        outputs=[
            dg.Output(
                valid.select(EVENTS.polars_schema().names()),
                output_name=EVENTS.asset_key.to_python_identifier(),
                metadata={"duplicates_removed": duplicates, "rejected": rejected.height},
            ),
            dg.Output(
                valid_items.select(ITEMS.polars_schema().names()),
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
