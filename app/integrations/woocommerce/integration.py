"""WooCommerce in the integrations registry: routes, commands, the sync job, its topic header.

The admin keeps the default embedding policy: a WooCommerce store's domain
is its https origin, which the default `frame-ancestors` already names.
"""

from __future__ import annotations

from app.carts import offer_cleanup
from app.integrations import Integration, Job
from app.integrations.woocommerce import cli, views
from app.integrations.woocommerce import sync as sync_module
from app.integrations.woocommerce.offers import make_offer, remove_offer
from app.integrations.woocommerce.restore import restore_link
from app.runtime import Runtime
from platforms.woocommerce.adapter import TOPIC


def sync(runtime: Runtime) -> object:
    # WooCommerce never retries a failed delivery: catch what its webhooks lost;
    # then delete the recovery coupons that expired unused.
    now = runtime.clock()
    results = sync_module.run_periodic(runtime, now)
    offer_cleanup.sweep_platform(runtime, "woocommerce", now)
    return results


integration = Integration(
    name="woocommerce",
    blueprints=(views.bp,),
    cli=cli.woocommerce,
    jobs=(Job("woocommerce-sync", sync, seconds=600),),
    stores_add=cli.STORES_ADD,
    topic_header=TOPIC,
    return_link=restore_link,
    make_offer=make_offer,
    remove_offer=remove_offer,
)
