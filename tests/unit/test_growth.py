"""growth's computations on hand-made port rows: the 360 window, DAU, features, scores and events."""

import datetime as dt
import json
import math

import polars as pl
import pytest

from domains.growth import churn
from domains.growth.contracts import CONTRACTS
from domains.growth.customer_360 import customer_360, daily_active_users
from platform_resources.contracts.enforcement import hold_to_contract
from platform_resources.ingest.envelope import classify_lines

D = dt.date(2026, 11, 20)
A, B, C = (f"tok_{c * 32}" for c in "abc")
TS = dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC)


def _ports(orders: list[tuple], payments: list[tuple], profiles: list[tuple]) -> dict[str, pl.DataFrame]:
    return {
        "customer_daily_orders": pl.DataFrame(
            orders,
            schema=["order_date", "user_token", "orders", "cancelled", "refunded", "last_order_at"],
            orient="row",
        ),
        "customer_daily_payments": pl.DataFrame(
            payments,
            schema=["payment_date", "user_token", "authorized", "captured", "failed", "refunded"],
            orient="row",
        ),
        "customer_profiles": pl.DataFrame(
            profiles,
            schema=[
                "registered_date",
                "user_token",
                "registered_at",
                "registration_source",
                "country",
                "marketing_opt_in",
            ],
            orient="row",
        ),
    }


def _day(n: int) -> dt.date:
    return D - dt.timedelta(days=n)


PORTS = _ports(
    orders=[
        (_day(0), A, 2, 1, 0, TS),
        (_day(10), A, 1, 0, 0, TS),
        (_day(29), B, 4, 0, 1, TS),  # the 30th day back: still inside D's window
        (_day(30), C, 1, 0, 0, TS),  # the 31st day back: outside
    ],
    payments=[(_day(0), A, 1, 1, 1, 0), (_day(3), B, 0, 0, 2, 0)],
    profiles=[(_day(100), A, TS, "web", "DE", True), (_day(365), B, TS, "ios", "FR", False)],
)


def test_customer_360_counts_the_30_days_ending_each_day_and_joins_profiles_of_the_last_365() -> None:
    frame = customer_360((D, D + dt.timedelta(days=1)), PORTS)
    by_user = {r["user_token"]: r for r in frame.to_dicts()}
    assert set(by_user) == {A, B}  # C's only activity is 31 days back
    a, b = by_user[A], by_user[B]
    assert (a["orders_30d"], a["cancelled_30d"], a["active_days_30d"]) == (3, 1, 2)
    assert (a["payments_captured_30d"], a["payments_failed_30d"]) == (1, 1)
    assert (a["last_active_date"], a["days_since_last_active"]) == (D, 0)
    assert (a["registered_date"], a["tenure_days"], a["country"], a["marketing_opt_in"]) == (
        _day(100),
        100,
        "DE",
        True,
    )
    assert (b["orders_30d"], b["refunded_30d"], b["payments_failed_30d"], b["active_days_30d"]) == (
        4,
        1,
        2,
        2,
    )
    assert b["days_since_last_active"] == 3
    assert (b["registered_date"], b["tenure_days"], b["country"]) == (
        None,
        None,
        None,
    )  # 365 days back: unknown
    assert hold_to_contract(frame, CONTRACTS["customer_360"]).passed


def test_a_multi_day_window_gives_each_day_its_own_30_days() -> None:
    frame = customer_360((_day(1), D + dt.timedelta(days=1)), PORTS)
    a_yesterday = frame.filter(pl.col("as_of_date") == _day(1), pl.col("user_token") == A).to_dicts()[0]
    assert (a_yesterday["orders_30d"], a_yesterday["days_since_last_active"]) == (1, 9)
    # B's 30th day back from yesterday is C's order day: C is in yesterday's 360, not today's
    assert set(frame.filter(pl.col("as_of_date") == _day(1))["user_token"]) == {A, B, C}
    assert set(frame.filter(pl.col("as_of_date") == D)["user_token"]) == {A, B}


def test_daily_active_users_counts_each_customer_once_per_day_and_zero_days_too() -> None:
    ports = _ports(
        orders=[(D, A, 1, 0, 0, TS), (D, B, 2, 0, 0, TS)],
        payments=[(D, A, 1, 0, 0, 0), (D, C, 0, 0, 1, 0)],
        profiles=[(D, C, TS, "web", "DE", None)],
    )
    frame = daily_active_users((_day(1), D + dt.timedelta(days=1)), ports)
    assert frame.to_dicts() == [
        {"activity_date": _day(1), "active_users": 0, "new_users": 0, "ordering_users": 0, "paying_users": 0},
        {"activity_date": D, "active_users": 3, "new_users": 1, "ordering_users": 2, "paying_users": 2},
    ]
    assert hold_to_contract(frame, CONTRACTS["daily_active_users"]).passed


def _scored() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    window = (D, D + dt.timedelta(days=1))
    c360 = customer_360(window, PORTS)
    features = churn.churn_features(window, {"customer_360": c360})
    scores = churn.churn_scores(window, {"churn_features": features})
    return c360, features, scores


def test_features_are_stored_long_one_row_per_customer_and_feature() -> None:
    _, features, _ = _scored()
    assert features.height == 2 * len(churn.FEATURES)
    b = {r["feature_name"]: r["value"] for r in features.filter(pl.col("entity_id") == B).to_dicts()}
    assert b["cancel_refund_ratio_30d"] == pytest.approx(1 / 4)
    assert b["payment_failure_ratio_30d"] == 1.0
    assert b["tenure_days"] is None
    assert features["event_timestamp"].unique().to_list() == [dt.datetime(2026, 11, 21, tzinfo=dt.UTC)]
    assert hold_to_contract(features, CONTRACTS["churn_features"]).passed


def test_scores_follow_the_documented_formula() -> None:
    _, _, scores = _scored()
    # customer B by hand: 3 days inactive, 2 active days, 4 orders, 1/4 refunded, all payments failed
    z = -1.5 + 0.15 * 3 - 0.10 * 2 - 0.8 * math.log(1 + 4) + 1.0 * 0.25 + 1.5 * 1.0
    b = scores.filter(pl.col("user_token") == B).to_dicts()[0]
    assert b["churn_score"] == pytest.approx(1 / (1 + math.exp(-z)))
    assert b["churn_score"] < 0.4 and b["risk_band"] == "low"
    assert b["top_factor"] == "payment_failure_ratio_30d"
    assert b["confidence"] == pytest.approx(abs(2 * b["churn_score"] - 1))
    assert hold_to_contract(scores, CONTRACTS["churn_scores"]).passed


def test_a_long_inactive_customer_is_high_risk_and_a_fresh_one_has_no_raising_factor() -> None:
    wide = pl.DataFrame(
        {
            "as_of_date": [D, D],
            "user_token": [A, B],
            "days_since_last_active": [29.0, 0.0],
            "active_days_30d": [1.0, 1.0],
            "orders_30d": [0.0, 0.0],
            "cancel_refund_ratio_30d": [0.0, 0.0],
            "payment_failure_ratio_30d": [0.0, 0.0],
            "tenure_days": [None, None],
            "marketing_opt_in": [None, None],
        }
    )
    a, b = churn.score(wide).to_dicts()
    assert a["risk_band"] == "high" and a["churn_score"] > 0.7
    assert b["top_factor"] == "none" and b["risk_band"] == "low"


def test_inference_events_are_valid_envelopes_with_stable_ids() -> None:
    _, features, scores = _scored()
    inputs = {"churn_scores": scores, "churn_features": features}
    events = churn.model_inference_events((D, D + dt.timedelta(days=1)), inputs)
    again = churn.model_inference_events((D, D + dt.timedelta(days=1)), inputs)
    assert events["event_id"].to_list() == again["event_id"].to_list()  # a rerun publishes the same events
    assert hold_to_contract(events, CONTRACTS["model_inference_events"]).passed
    valid, quarantined = classify_lines(
        1, [e.encode() for e in events["envelope"]], "growth", D, dt.datetime.now(dt.UTC)
    )
    assert quarantined.height == 0 and valid.height == scores.height
    body = json.loads(events.filter(pl.col("user_token") == B)["envelope"][0])
    assert body["eventType"] == "ml.model.inference" and body["userId"] == B
    payload = body["data"]["payload"]
    assert payload["output"]["churnScore"] == pytest.approx(
        scores.filter(pl.col("user_token") == B)["churn_score"][0]
    )
    assert payload["input"]["orders_30d"] == 4.0 and payload["modelVersion"] == churn.MODEL_VERSION
    assert body["data"]["metadata"]["modelType"] == "logistic_regression"
