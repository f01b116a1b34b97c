"""The churn model: its feature group, its scores and its ``ml.model.inference`` events.

Model ``churn-logit`` 1.0.0 is a logistic model with fixed coefficients. No churn labels
exist yet to fit one, so the coefficients state the growth team's priors and change only
with a new model version:

    z = -1.5 + 0.15 days_since_last_active - 0.10 active_days_30d - 0.8 ln(1 + orders_30d)
        + 1.0 cancel_refund_ratio_30d + 1.5 payment_failure_ratio_30d
        - 0.005 tenure_days - 0.3 marketing_opt_in
    churn_score = 1 / (1 + exp(-z))

An unknown feature (null) contributes nothing. The risk band is high above 0.7 (seed
000's CRM audience), medium above 0.4, else low; confidence is |2 score - 1|; the top
factor is the feature that raised z most (``none`` when no feature raised it).
"""

import datetime as dt
import time
import uuid
from collections.abc import Mapping

import polars as pl

from domains.growth.contracts import CONTRACTS
from platform_resources.core.settings import get_environment
from platform_resources.ingest.envelope import envelope_json

MODEL_ID = "churn-logit"
MODEL_VERSION = "1.0.0"
FEATURE_GROUP = "customer_churn_v1"
INTERCEPT = -1.5
COEFFICIENTS = {
    "days_since_last_active": 0.15,
    "active_days_30d": -0.10,
    "orders_30d": -0.8,  # applied to ln(1 + orders_30d)
    "cancel_refund_ratio_30d": 1.0,
    "payment_failure_ratio_30d": 1.5,
    "tenure_days": -0.005,
    "marketing_opt_in": -0.3,
}
#: Feature name -> (data type, expression over a customer_360 row).
FEATURES: dict[str, tuple[str, pl.Expr]] = {
    "days_since_last_active": ("int64", pl.col("days_since_last_active")),
    "active_days_30d": ("int64", pl.col("active_days_30d")),
    "orders_30d": ("int64", pl.col("orders_30d")),
    "cancel_refund_ratio_30d": (
        "float64",
        pl.when(pl.col("orders_30d") > 0)
        .then((pl.col("cancelled_30d") + pl.col("refunded_30d")) / pl.col("orders_30d"))
        .otherwise(0.0),
    ),
    "payment_failure_ratio_30d": (
        "float64",
        pl.when(pl.col("payments_captured_30d") + pl.col("payments_failed_30d") > 0)
        .then(
            pl.col("payments_failed_30d") / (pl.col("payments_captured_30d") + pl.col("payments_failed_30d"))
        )
        .otherwise(0.0),
    ),
    "tenure_days": ("int64", pl.col("tenure_days")),
    "marketing_opt_in": ("boolean", pl.col("marketing_opt_in")),
}
ENDPOINT = "batch://growth/churn_scores"
EVENT_NAMESPACE = uuid.UUID("6f1f6c52-4b0e-4d0c-9a57-3f1f3c7d2a10")


def churn_features(window: tuple[dt.date, dt.date], inputs: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """The feature group in long form: one row per customer, day and feature."""
    wide = inputs["customer_360"].select(
        pl.col("user_token").alias("entity_id"),
        "as_of_date",
        *(expr.cast(pl.Float64).alias(name) for name, (_, expr) in FEATURES.items()),
    )
    return (
        wide.unpivot(index=["entity_id", "as_of_date"], variable_name="feature_name", value_name="value")
        .with_columns(
            feature_group_id=pl.lit(FEATURE_GROUP),
            data_type=pl.col("feature_name").replace_strict({n: t for n, (t, _) in FEATURES.items()}),
            event_timestamp=pl.col("as_of_date").cast(pl.Datetime("us", "UTC")) + pl.duration(days=1),
        )
        .select(CONTRACTS["churn_features"].polars_schema().names())
        .sort("as_of_date", "entity_id", "feature_name")
    )


def _contributions() -> list[pl.Expr]:
    def value(name: str) -> pl.Expr:
        raw = pl.col(name).fill_null(0.0)
        return raw.log1p() if name == "orders_30d" else raw

    return [(value(name) * coefficient).alias(name) for name, coefficient in COEFFICIENTS.items()]


def score(features: pl.DataFrame) -> pl.DataFrame:
    """Scores of a wide feature frame (``user_token``, ``as_of_date`` and one column per feature)."""
    names = list(COEFFICIENTS)
    z = pl.sum_horizontal(_contributions()) + INTERCEPT
    churn = 1.0 / (1.0 + (-z).exp())
    return features.select(
        "as_of_date",
        "user_token",
        churn_score=churn,
        risk_band=pl.when(churn > 0.7)
        .then(pl.lit("high"))
        .when(churn > 0.4)
        .then(pl.lit("medium"))
        .otherwise(pl.lit("low")),
        confidence=(2 * churn - 1).abs(),
        top_factor=pl.when(pl.max_horizontal(_contributions()) > 0)
        .then(pl.concat_list(_contributions()).list.arg_max().replace_strict(dict(enumerate(names))))
        .otherwise(pl.lit("none")),
        model_id=pl.lit(MODEL_ID),
        model_version=pl.lit(MODEL_VERSION),
    )


def churn_scores(window: tuple[dt.date, dt.date], inputs: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Every customer's score for each day, read back from the feature store."""
    wide = (
        inputs["churn_features"]
        .filter(pl.col("feature_group_id") == FEATURE_GROUP)
        .pivot(on="feature_name", index=["entity_id", "as_of_date"], values="value")
        .rename({"entity_id": "user_token"})
    )
    missing = [name for name in COEFFICIENTS if name not in wide.columns]
    wide = wide.with_columns(pl.lit(None, pl.Float64).alias(name) for name in missing)
    return score(wide).sort("as_of_date", "user_token")


def model_inference_events(
    window: tuple[dt.date, dt.date], inputs: Mapping[str, pl.DataFrame]
) -> pl.DataFrame:
    """One ``ml.model.inference`` envelope per score, with the features it was given as input."""
    started = time.perf_counter()
    scores = inputs["churn_scores"]
    features = (
        inputs["churn_features"]
        .pivot(on="feature_name", index=["entity_id", "as_of_date"], values="value")
        .rename({"entity_id": "user_token"})
    )
    feature_names = [name for name in FEATURES if name in features.columns]
    rows = scores.join(features, on=["user_token", "as_of_date"], how="left")
    inference_ms = 1000 * (time.perf_counter() - started) / max(rows.height, 1)
    event_ids = [
        str(uuid.uuid5(EVENT_NAMESPACE, f"{m}:{v}:{u}:{d}"))
        for m, v, u, d in rows.select("model_id", "model_version", "user_token", "as_of_date").iter_rows()
    ]
    # scored as of the end of the day: the event belongs to that day's partition
    event_ts = (
        pl.col("as_of_date").cast(pl.Datetime("us", "UTC"))
        + pl.duration(days=1)
        - pl.duration(milliseconds=1)
    )
    payload = pl.struct(
        pl.col("model_id").alias("modelId"),
        pl.col("model_version").alias("modelVersion"),
        pl.struct(*feature_names).alias("input"),
        pl.struct(
            pl.col("churn_score").alias("churnScore"),
            pl.col("risk_band").alias("riskBand"),
            pl.col("top_factor").alias("topFactor"),
        ).alias("output"),
        "confidence",
    )
    metadata = pl.struct(
        pl.lit(round(inference_ms, 6)).alias("inferenceTime"),
        pl.lit(ENDPOINT).alias("endpoint"),
        pl.lit("logistic_regression").alias("modelType"),
    )
    return (
        rows.with_columns(
            event_id=pl.Series(event_ids, dtype=pl.String),
            event_type=pl.lit("ml.model.inference"),
            event_source=pl.lit("meshhouse.growth"),
            event_ts=event_ts,
            correlation_id=pl.lit(None, pl.String),
            user_id=pl.col("user_token"),
            session_id=pl.lit(None, pl.String),
            region=pl.lit(None, pl.String),
        )
        .with_columns(
            event_date=pl.col("event_ts").dt.date(),
            envelope=envelope_json(payload, metadata, environment=get_environment().value),
        )
        .select(CONTRACTS["model_inference_events"].polars_schema().names())
        .sort("event_date", "user_token")
    )
