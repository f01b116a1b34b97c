"""The limits: hand-written DuckDB SQL pipelines doing a day's Bronze -> Silver work in one process.

``run_limit`` does the platform's work (docs/benchmarks.md lists it side by side): Bronze
(every valid line kept raw with its envelope columns, file, line, checksum and ingestion
metadata) and the quarantine written, then Silver typed from the orders payload,
deduplicated on eventId and tokenized (user and shipping address, the platform's HMAC),
with the order items unnested, all as Parquet. It keeps everything in one DuckDB database
and never re-reads what it wrote: the lower bound of this work on one machine, at any memory.

``run_light_limit`` is the lighter reference of the first benchmarks: envelope rules and
dedupe only, no Bronze written, the payload never typed.
"""

import datetime as dt
import json
from pathlib import Path

import duckdb

from domains.orders.silver import ORDER_TYPING
from platform_resources.ingest.envelope import CLASSIFY_SQL, FIELDS, OPTIONAL_STRING_FIELDS, PARSED_SQL
from platform_resources.privacy.tokenize import token_macro_sql

_READ = """CREATE OR REPLACE TEMP TABLE decoded AS
SELECT row_number() OVER () AS k, line AS text
FROM read_csv('{path}', columns={{'line': 'VARCHAR'}}, delim=E'\\x1f', quote='', escape='',
              header=false, auto_detect=false, store_rejects=true)"""
#: The lines of the file just read that are not UTF-8 (DuckDB keeps each read's in the connection).
_REJECTED = """CREATE OR REPLACE TEMP TABLE rejected AS
SELECT e.line, e.byte_position FROM reject_errors e JOIN reject_scans s USING (scan_id, file_id)
WHERE s.file_path = '{path}'"""
#: Each decoded line's number in its file: its rank ``k`` plus the rejected lines before it
#: (after the i-th rejected line, at line r, come the decoded lines ranked above r - i).
_LINES = """CREATE OR REPLACE TEMP VIEW lines AS
SELECT d.k + coalesce(g.skipped, 0) AS line_number, CAST(d.text AS BLOB) AS raw, d.text
FROM decoded d ASOF LEFT JOIN (
    SELECT line - skipped AS below, max(skipped) AS skipped
    FROM (SELECT line, row_number() OVER (ORDER BY line) AS skipped FROM rejected) GROUP BY ALL
) g ON d.k > g.below"""
_PARQUET = "(FORMAT parquet, COMPRESSION zstd)"


def _f(field: str) -> str:
    return f"f[{FIELDS.index(field) + 1}] ->> '$'"


def _line_bytes(path: Path, offsets: list[int]) -> list[bytes]:
    """The raw bytes of the lines starting at ``offsets`` (DuckDB shows undecodable bytes as '?';
    reading them back is a few lines' work)."""
    with path.open("rb") as f:
        out = []
        for offset in offsets:
            f.seek(offset)
            out.append(f.readline().rstrip(b"\r\n"))
        return out


def _classify_files(con: duckdb.DuckDBPyConnection, files: list[Path], extra: str = "") -> None:
    """``classified`` (every decodable line of each file, numbered in its file, by the
    platform's envelope rules, each line parsed once, with ``extra`` columns) and
    ``undecodable`` (the other lines: raw bytes, file, line)."""
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TEMP TABLE undecodable (raw BLOB, source_file VARCHAR, line_number BIGINT)")
    for i, path in enumerate(files):
        con.execute(_READ.format(path=path))
        con.execute(_REJECTED.format(path=path))
        con.execute(_LINES)
        select = (
            f"SELECT *, '{path}' AS source_file{extra} FROM (WITH parsed AS ({PARSED_SQL}) {CLASSIFY_SQL})"
        )
        con.execute(
            f"CREATE TEMP TABLE classified AS {select}" if i == 0 else f"INSERT INTO classified {select}"
        )
        rejected = con.sql("SELECT line, byte_position - 1 FROM rejected ORDER BY line").fetchall()
        raws = _line_bytes(path, [offset for _, offset in rejected])
        for (line, _), raw in zip(rejected, raws, strict=True):
            con.execute("INSERT INTO undecodable VALUES (?, ?, ?)", [raw, str(path), line])


def _counts(con: duckdb.DuckDBPyConnection, **written: Path) -> dict[str, int]:
    """Lines read, and the rows of each file written."""
    counts = {name: con.sql(f"SELECT count(*) FROM '{path}'").fetchone()[0] for name, path in written.items()}
    lines = con.sql(
        "SELECT (SELECT count(*) FROM classified) + (SELECT count(*) FROM reject_errors)"
    ).fetchone()
    return {"lines": lines[0], **counts}


def run_limit(files: list[Path], out: Path, landing_date: dt.date) -> dict[str, int]:
    """The platform's Bronze -> Silver work of one orders day, in hand-written SQL."""
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(token_macro_sql())
    provenance = f"now() AS ingested_at, DATE '{landing_date}' AS landing_date"
    _classify_files(con, files, extra=f", {provenance}")
    optional = ", ".join(f"{_f(field)} AS {column}" for field, column in OPTIONAL_STRING_FIELDS.items())
    con.execute(
        f"""COPY (
            SELECT {_f("eventId")} AS event_id, {_f("eventType")} AS event_type,
                   CAST({_f("timestamp")} AS TIMESTAMPTZ) AS event_ts, {optional},
                   text AS raw, source_file, line_number, checksum, ingested_at, landing_date
            FROM classified WHERE reason IS NULL
        ) TO '{out / "bronze_events.parquet"}' {_PARQUET}"""
    )
    con.execute(
        f"""COPY (
            SELECT raw, source_file, line_number, checksum, reason, ingested_at, landing_date
            FROM classified WHERE reason IS NOT NULL
            UNION ALL SELECT raw, source_file, line_number, sha256(raw), 'undecodable bytes: not valid UTF-8',
                             {provenance}
            FROM undecodable
        ) TO '{out / "bronze_quarantine.parquet"}' {_PARQUET}"""
    )
    # Silver: the first copy of each event, its payload parsed once into the orders struct
    structure = json.dumps({"data": ORDER_TYPING.data}).replace("'", "''")
    con.execute(
        f"""CREATE TEMP TABLE typed AS
        SELECT event_id, event_type, event_ts, CAST(event_ts AS DATE) AS event_date,
               CASE WHEN starts_with(event_type, 'order.') THEN substr(event_type, 7) END AS status,
               j.data.payload.orderId AS order_id,
               coalesce(j.data.payload.userId, user_id) AS user_id,
               j.data.payload.totalAmount AS total_amount, j.data.payload.refundAmount AS refund_amount,
               j.data.payload.currency AS currency, j.data.metadata.paymentMethod AS payment_method,
               CAST(len(j.data.payload.items) AS BIGINT) AS item_count,
               j.data.metadata.shippingAddress ->> '$.country' AS ship_country,
               CAST(j.data.metadata.shippingAddress AS VARCHAR) AS shipping_address,
               j.data.payload.items AS items,
               correlation_id, region, source_file, line_number, ingested_at, landing_date
        FROM (
            SELECT {_f("eventId")} AS event_id, {_f("eventType")} AS event_type,
                   CAST({_f("timestamp")} AS TIMESTAMPTZ) AS event_ts, {_f("userId")} AS user_id,
                   {_f("correlationId")} AS correlation_id, {_f("region")} AS region,
                   json_transform(text, '{structure}') AS j,
                   source_file, line_number, ingested_at, landing_date
            FROM classified WHERE reason IS NULL
            QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY source_file, line_number) = 1
        )"""
    )
    con.execute(
        f"""COPY (
            WITH users AS (SELECT v, token(v) AS t FROM (SELECT DISTINCT user_id AS v FROM typed)),
                 addresses AS (
                     SELECT v, token(v) AS t FROM (SELECT DISTINCT shipping_address AS v FROM typed)
                 )
            SELECT typed.* EXCLUDE (user_id, shipping_address, items), users.t AS user_token,
                   addresses.t AS shipping_address_token
            FROM typed LEFT JOIN users ON typed.user_id = users.v
            LEFT JOIN addresses ON typed.shipping_address = addresses.v
        ) TO '{out / "order_events.parquet"}' {_PARQUET}"""
    )
    con.execute(
        f"""COPY (
            SELECT e.event_id, e.order_id, CAST(u.idx AS BIGINT) AS item_index,
                   u.item.productId AS product_id,
                   u.item.quantity AS quantity, u.item.price AS unit_price,
                   TRY_CAST(u.item.quantity * u.item.price AS DECIMAL(18,2)) AS line_amount,
                   e.currency, e.event_date AS order_date
            FROM typed e, unnest(e.items) WITH ORDINALITY AS u(item, idx)
            WHERE e.event_type = 'order.created'
        ) TO '{out / "order_items.parquet"}' {_PARQUET}"""
    )
    return _counts(
        con,
        silver_rows=out / "order_events.parquet",
        items=out / "order_items.parquet",
        quarantined=out / "bronze_quarantine.parquet",
    )


def run_light_limit(files: list[Path], out: Path) -> dict[str, int]:
    """Envelope rules and dedupe on eventId, valid events and quarantined lines to Parquet."""
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    _classify_files(con, files)
    con.execute(
        f"""COPY (
            SELECT {_f("eventId")} AS event_id, {_f("eventType")} AS event_type,
                   CAST({_f("timestamp")} AS TIMESTAMPTZ) AS event_ts, text AS raw, line_number, checksum
            FROM classified WHERE reason IS NULL
            QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY source_file, line_number) = 1
        ) TO '{out / "silver.parquet"}' {_PARQUET}"""
    )
    con.execute(
        f"""COPY (
            SELECT raw, line_number, reason FROM classified WHERE reason IS NOT NULL
            UNION ALL SELECT raw, line_number, 'undecodable bytes: not valid UTF-8' FROM undecodable
        ) TO '{out / "quarantine.parquet"}' {_PARQUET}"""
    )
    return _counts(con, silver_rows=out / "silver.parquet", quarantined=out / "quarantine.parquet")
