"""payments' Silver layer: typed, deduplicated, tokenized payment events."""

from domains.payments.contracts import CONTRACTS
from platform_resources.products.silver_events import EventTyping, build_silver_event_assets, event_type_after

EVENTS = CONTRACTS["payment_events"]

PAYMENT_TYPING = EventTyping(
    contract=EVENTS,
    data={
        "payload": {
            "paymentId": "VARCHAR",
            "orderId": "VARCHAR",
            "userId": "VARCHAR",
            "amount": "DECIMAL(18,2)",
            "refundAmount": "DECIMAL(18,2)",
            "currency": "VARCHAR",
            "failureReason": "VARCHAR",
        },
        "metadata": {"paymentMethod": "VARCHAR"},
    },
    columns_sql=f"""
        {event_type_after("payment.")} AS status,
        j.data.payload.paymentId AS payment_id,
        j.data.payload.orderId AS order_id,
        j.data.payload.amount AS amount,
        j.data.payload.refundAmount AS refund_amount,
        j.data.payload.currency AS currency,
        j.data.metadata.paymentMethod AS payment_method,
        j.data.payload.failureReason AS failure_reason""",
    tokens={"user_token": "coalesce(j.data.payload.userId, user_id)"},
)
payments_silver_events = build_silver_event_assets("payments", PAYMENT_TYPING)
