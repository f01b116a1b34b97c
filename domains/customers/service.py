"""The customer service's operational store: the customers table, as registrations and profile
changes leave it (the table change data capture reads)."""

from __future__ import annotations

from psycopg import Cursor

TABLES_DDL = """
CREATE TABLE IF NOT EXISTS {schema}.customers (
    user_id text PRIMARY KEY,
    email text NOT NULL,
    first_name text,
    last_name text,
    country text,
    marketing_opt_in boolean NOT NULL DEFAULT false,
    registered_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
-- change data capture reads every column of the row before an update, not only its key
ALTER TABLE {schema}.customers REPLICA IDENTITY FULL;
"""


def aggregate(event: dict) -> tuple[str, str]:
    return "customer", event["data"]["payload"]["userId"]


def apply(cur: Cursor, event: dict) -> None:
    """A registration inserts the customer; a profile change sets the fields it carries."""
    user = event["data"]["payload"]
    if event["eventType"] == "user.registered":
        cur.execute(
            "INSERT INTO customers.customers (user_id, email, first_name, last_name, country, registered_at, "
            "updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (user_id) DO NOTHING",
            (
                user["userId"],
                user["email"],
                user.get("firstName"),
                user.get("lastName"),
                user.get("country"),
                *[event["timestamp"]] * 2,
            ),
        )
    else:
        cur.execute(
            "UPDATE customers.customers SET email = coalesce(%s, email), country = coalesce(%s, country), "
            "marketing_opt_in = coalesce(%s, marketing_opt_in), updated_at = %s WHERE user_id = %s",
            (
                user.get("email"),
                user.get("country"),
                user.get("marketingOptIn"),
                event["timestamp"],
                user["userId"],
            ),
        )
