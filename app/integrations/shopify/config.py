"""Shopify app settings, read once from config (`CARTBACK_SHOPIFY_*`) and checked.

A Shopify route used without the app's API key or secret fails with a
sentence the operator can act on, never with a KeyError.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.errors import ConfigError

# Only what a feature uses: read_orders for every carts/*, checkouts/* and
# orders/* topic and the reconcile. Ask for write_discounts or read_products
# only with the feature that needs them (Shopify shows the merchant each one).
DEFAULT_SCOPES = "read_orders"
# read_orders is what every carts/*, checkouts/* and orders/* subscription needs.
REQUIRED_SCOPES = ("read_orders",)
DEFAULT_API_VERSION = "2026-07"


def _flag(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class ShopifyConfig:
    api_key: str
    secret: str
    previous_secret: str | None
    scopes: tuple[str, ...]
    api_version: str
    public_url: str
    # False when shopify.app.toml's app-specific subscriptions are deployed:
    # shop-specific ones would deliver every event twice.
    register_webhooks: bool

    @property
    def secrets(self) -> tuple[str, ...]:
        """Current first; the previous one still signs during a rotation (up to an hour)."""
        return tuple(s for s in (self.secret, self.previous_secret) if s)

    @property
    def webhook_uri(self) -> str:
        return f"{self.public_url}/webhooks/shopify"

    @property
    def callback_uri(self) -> str:
        return f"{self.public_url}/shopify/callback"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ShopifyConfig:
        api_key = str(config.get("SHOPIFY_API_KEY") or "").strip()
        secret = str(config.get("SHOPIFY_API_SECRET") or "").strip()
        if not api_key or not secret:
            raise ConfigError(
                "Shopify is not configured: set CARTBACK_SHOPIFY_API_KEY and "
                "CARTBACK_SHOPIFY_API_SECRET to the app's client id and secret.")
        scopes = tuple(s.strip() for s in str(config.get("SHOPIFY_SCOPES") or DEFAULT_SCOPES)
                       .split(",") if s.strip())
        missing = [s for s in REQUIRED_SCOPES if s not in scopes]
        if missing:
            raise ConfigError(f"CARTBACK_SHOPIFY_SCOPES must include {', '.join(missing)}.")
        return cls(
            api_key=api_key,
            secret=secret,
            previous_secret=str(config.get("SHOPIFY_PREVIOUS_API_SECRET") or "").strip() or None,
            scopes=scopes,
            api_version=str(config.get("SHOPIFY_API_VERSION") or DEFAULT_API_VERSION),
            public_url=str(config["PUBLIC_URL"]).rstrip("/"),
            register_webhooks=_flag(config.get("SHOPIFY_REGISTER_WEBHOOKS"), True),
        )
