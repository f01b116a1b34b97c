"""platform's Silver layer: typed, deduplicated operations events, with webhook signatures verified.

Signatures are checked in SQL with the scheme of ``webhooks.py``, over the payload as
compact JSON (keys in delivery order, no spaces, UTF-8) and the source's secret
(``MESHHOUSE_WEBHOOK_SECRET_<SOURCE>``). A source without a known secret never verifies.
The payload itself (confidential: a partner's customer data) is kept only as its token.
"""

from domains.platform.contracts import CONTRACTS
from domains.platform.webhooks import WEBHOOK_SOURCES
from platform_resources.core.settings import get_webhook_secret
from platform_resources.privacy.tokenize import hmac_sha256_sql
from platform_resources.products.silver_events import EventTyping, build_silver_event_assets

EVENTS = CONTRACTS["operations_events"]


def signature_macro_sql() -> str:
    """``signature_ok(source, payload, signature)``: whether the signature verifies, per source."""
    digests = {source: hmac_sha256_sql("payload", get_webhook_secret(source)) for source in WEBHOOK_SOURCES}
    cases = " ".join(f"WHEN '{s}' THEN signature = 'sha256=' || {d}" for s, d in digests.items())
    return (
        "CREATE OR REPLACE TEMP MACRO signature_ok(source, payload, signature) AS "
        f"coalesce(CASE source {cases} END, false)"
    )


OPERATIONS_TYPING = EventTyping(
    contract=EVENTS,
    data={
        "payload": {
            "serviceName": "VARCHAR",
            "status": "VARCHAR",
            "responseTime": "DOUBLE",
            "errorCount": "BIGINT",
            "webhookId": "VARCHAR",
            "source": "VARCHAR",
            "payload": "JSON",
        },
        "metadata": {
            "instanceId": "VARCHAR",
            "availabilityZone": "VARCHAR",
            "signature": "VARCHAR",
            "processingTime": "DOUBLE",
        },
    },
    columns_sql="""
        j.data.payload.serviceName AS service_name,
        j.data.payload.status AS status,
        j.data.payload.responseTime AS response_time_ms,
        j.data.payload.errorCount AS error_count,
        j.data.metadata.instanceId AS instance_id,
        j.data.metadata.availabilityZone AS availability_zone,
        j.data.payload.webhookId AS webhook_id,
        j.data.payload.source AS webhook_source,
        CASE WHEN event_type = 'integration.webhook.received' THEN signature_ok(
            j.data.payload.source, CAST(j.data.payload.payload AS VARCHAR), j.data.metadata.signature
        ) END AS signature_valid,
        j.data.metadata.processingTime AS processing_time_ms""",
    tokens={"webhook_payload_token": "CAST(j.data.payload.payload AS VARCHAR)"},
    macros=(signature_macro_sql,),
)
platform_silver_events = build_silver_event_assets("platform", OPERATIONS_TYPING)
