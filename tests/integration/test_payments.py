"""The payments domain on its own landing data: typed events and the daily settlement."""

import datetime as dt
from decimal import Decimal

import pytest

from platform_resources.storage.iceberg_io import read_table
from tests.conftest import envelope, write_landing
from tests.integration.conftest import check, materialized

pytestmark = pytest.mark.integration
D = dt.date(2026, 11, 20)


def _payment(status: str, payment: str, amount: float, *, method="card", currency="EUR", hour=10, **extra):
    payload = {
        "paymentId": payment,
        "orderId": f"o-{payment}",
        "userId": "user-1",
        "amount": amount,
        "currency": currency,
        **extra,
    }
    return envelope(
        f"payment.{status}", payload, ts=f"{D}T{hour:02d}:00:00Z", metadata={"paymentMethod": method}
    )


def test_settlement_adds_up_captures_failures_and_refunds_per_method_and_currency(home, instance) -> None:
    lines = [
        _payment("authorized", "p1", 10.0),
        _payment("captured", "p1", 10.0, hour=11),
        _payment("authorized", "p2", 20.5),
        _payment("failed", "p2", 20.5, hour=11, failureReason="card_declined"),
        _payment("authorized", "p3", 7.25, method="paypal", currency="USD"),
        _payment("captured", "p3", 7.25, method="paypal", currency="USD", hour=11),
        _payment("refunded", "p3", 7.25, method="paypal", currency="USD", hour=12, refundAmount=7.25),
        *(_payment("authorized", f"x{i}", 1.0) for i in range(20)),
        _payment("failed", "p9", 3.0),  # a failure without its reason: rejected by the contract
    ]
    write_landing(home, D, "part-1.jsonl", lines, domain="payments")
    from domains.payments.definitions import defs

    result = defs.resolve_job_def("payments_daily").execute_in_process(
        partition_key=str(D), instance=instance
    )
    assert result.success and "payments/gold/daily_settlement" in materialized(result)
    assert check(result, "payments/silver/payment_events", "contract").metadata["failing_rows"].value == 1
    rejected = read_table("payments.silver_rejected").collect()
    assert rejected.height == 1
    assert "failure_reason required when event_type in ['payment.failed']" in rejected["reason"][0]
    settlement = {
        (r["payment_method"], r["currency"]): r
        for r in read_table("payments.gold_daily_settlement").collect().to_dicts()
    }
    card, paypal = settlement["card", "EUR"], settlement["paypal", "USD"]
    assert (card["authorized"], card["captured"], card["failed"]) == (22, 1, 1)
    assert card["authorized_amount"] == Decimal("50.50") and card["net_settled"] == Decimal("10.00")
    assert (paypal["captured_amount"], paypal["refunded_amount"], paypal["net_settled"]) == (
        Decimal("7.25"),
        Decimal("7.25"),
        Decimal("0.00"),
    )
