"""The limit: a hand-written DuckDB SQL pipeline doing the Bronze -> Silver work of one day.

Reads the day's JSONL natively (undecodable lines are kept as rejects, not dropped),
validates every line with the platform's own envelope rules, dedupes valid events on
eventId and writes valid events and quarantined lines to Parquet.
"""

from pathlib import Path

import duckdb

from platform_resources.ingest.envelope import _CLASSIFY, _PARSED


def run_limit(files: list[Path], out: Path) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    paths = "[" + ", ".join(f"'{p}'" for p in files) + "]"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        f"""CREATE TEMP TABLE read AS SELECT line AS text, filename, row_number() OVER () AS line_number
        FROM read_csv({paths}, columns={{'line': 'VARCHAR'}}, delim=E'\\x1f', quote='', escape='',
                      header=false, auto_detect=false, store_rejects=true, filename=true)"""
    )
    con.execute("CREATE TEMP VIEW lines AS SELECT line_number, CAST(text AS BLOB) AS raw, text FROM read")
    con.execute(f"CREATE TEMP TABLE parsed AS {_PARSED}")
    con.execute(f"CREATE TEMP TABLE classified AS {_CLASSIFY}")
    con.execute(
        f"""COPY (
            SELECT f[1] ->> '$' AS event_id, f[2] ->> '$' AS event_type,
                   CAST(f[3] ->> '$' AS TIMESTAMPTZ) AS event_ts, text AS raw, line_number, checksum
            FROM classified WHERE reason IS NULL
            QUALIFY row_number() OVER (PARTITION BY f[1] ->> '$' ORDER BY line_number) = 1
        ) TO '{out / "silver.parquet"}' (FORMAT parquet, COMPRESSION zstd)"""
    )
    con.execute(
        f"""COPY (
            SELECT raw, line_number, reason FROM classified WHERE reason IS NOT NULL
            UNION ALL SELECT CAST(csv_line AS BLOB), line, 'undecodable bytes' FROM reject_errors
        ) TO '{out / "quarantine.parquet"}' (FORMAT parquet, COMPRESSION zstd)"""
    )
    counts = con.sql(
        f"""SELECT (SELECT count(*) FROM read) + (SELECT count(*) FROM reject_errors),
                   (SELECT count(*) FROM '{out / "silver.parquet"}'),
                   (SELECT count(*) FROM '{out / "quarantine.parquet"}')"""
    ).fetchone()
    return {"lines": counts[0], "silver_rows": counts[1], "quarantined": counts[2]}
