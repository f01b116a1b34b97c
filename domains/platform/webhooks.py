"""The webhook signing scheme: ``sha256=<hex HMAC-SHA256 of the compact JSON payload>``, keyed per source."""

import hashlib
import hmac

from platform_resources.core.settings import get_webhook_secret

WEBHOOK_SOURCES = ("stripe", "shopify", "github", "zendesk")


def sign(source: str, payload_json: str) -> str:
    """The signature a source puts on a delivery of ``payload_json`` (compact JSON, UTF-8)."""
    return "sha256=" + hmac.new(get_webhook_secret(source), payload_json.encode(), hashlib.sha256).hexdigest()
