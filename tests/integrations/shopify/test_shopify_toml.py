"""shopify.app.toml declares what the code subscribes to and where it listens."""

from __future__ import annotations

import tomllib
from pathlib import Path
from urllib.parse import urlsplit

from app.integrations.shopify.config import DEFAULT_API_VERSION, DEFAULT_SCOPES
from platforms.shopify.adapter import COMPLIANCE_TOPICS, SUBSCRIBED_TOPICS

TOML = Path(__file__).resolve().parents[3] / "shopify.app.toml"


def test_toml_matches_the_code():
    config = tomllib.loads(TOML.read_text())
    assert config["access_scopes"]["scopes"] == DEFAULT_SCOPES
    assert config["webhooks"]["api_version"] == DEFAULT_API_VERSION
    shop_topics, compliance = config["webhooks"]["subscriptions"]
    assert {t.upper().replace("/", "_") for t in shop_topics["topics"]} == set(SUBSCRIBED_TOPICS)
    assert urlsplit(shop_topics["uri"]).path == "/webhooks/shopify"
    assert tuple(compliance["compliance_topics"]) == COMPLIANCE_TOPICS
    assert urlsplit(compliance["uri"]).path == "/webhooks/shopify/compliance"
    assert urlsplit(config["application_url"]).path == "/shopify/app"
    assert urlsplit(config["auth"]["redirect_urls"][0]).path == "/shopify/callback"
