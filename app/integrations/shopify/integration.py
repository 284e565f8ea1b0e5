"""Shopify in the integrations registry: routes, commands, the sync job, the embedded admin."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.carts import offer_cleanup
from app.db.models import Store
from app.integrations import Embedding, Integration, Job
from app.integrations.shopify import cli, sync, views
from app.integrations.shopify.offers import make_offer, remove_offer
from app.runtime import Runtime
from platforms.shopify.adapter import TOPIC_HEADER
from platforms.shopify.auth import frame_ancestors
from platforms.shopify.hosts import CHECKOUT_HOSTS
from platforms.shopify.links import discount_link

# Shopify's CDN serves the current App Bridge and Polaris web components
# (shopify.dev/docs/api/app-home: "app-bridge.js", "polaris-1.js").
APP_BRIDGE = "https://cdn.shopify.com/shopifycloud/app-bridge.js"
POLARIS = "https://cdn.shopify.com/shopifycloud/polaris-1.js"


def reconcile(runtime: Runtime) -> object:
    # Shopify does not guarantee delivery: catch what its webhooks lost; then
    # delete the recovery codes that expired unused.
    now = runtime.clock()
    results = sync.reconcile_all(runtime, now)
    offer_cleanup.sweep_platform(runtime, "shopify", now)
    return results


def admin_frame_ancestors(store: Store) -> str:
    """The shop's own admin and Shopify's unified admin may frame the pages, no one else."""
    return frame_ancestors(store.domain)


def admin_head(config: Mapping[str, Any]) -> dict[str, Any]:
    """App Bridge needs the app's API key (client id); without one the pages go without it."""
    return {"api_key": config.get("SHOPIFY_API_KEY") or "", "app_bridge": APP_BRIDGE,
            "polaris": POLARIS}


integration = Integration(
    name="shopify",
    blueprints=(views.bp,),
    cli=cli.shopify,
    jobs=(Job("shopify-sync", reconcile, seconds=900),),
    stores_add=cli.STORES_ADD,
    embedding=Embedding(frame_ancestors=admin_frame_ancestors,
                        head_template="shopify/admin_head.html", head_context=admin_head,
                        sign_in=views.admin_sign_in,
                        refused_headers=((views.RETRY_HEADER, "1"),)),
    topic_header=TOPIC_HEADER,
    checkout_hosts=CHECKOUT_HOSTS,
    # A shop's /cart brings the cart back on the shopper's own device.
    cart_page="/cart",
    make_offer=make_offer,
    remove_offer=remove_offer,
    offer_link=discount_link,
)
