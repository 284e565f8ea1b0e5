"""The integrations registry: what Cartback does with each platform beyond its wire.

`platforms/` translates a platform's webhooks; an `Integration` says what
the rest of Cartback does with that platform: the routes it serves, its
`cartback <name> ...` commands, its periodic jobs, how `cartback stores add
--platform <name>` connects a store, how the admin pages sit inside the
platform's own admin, and which header names a delivery's topic. The
factory, the CLI, the timer process, the metrics hook and the admin read
this registry and never spell a platform's name.

Each platform's description lives in `app/integrations/<name>/integration.py`
and is imported on first use, so Flask-free modules of an integration
(install, sync) can be imported without loading every blueprint.

The custom lane (`/webhooks/custom/<store id>`, `app/web/webhooks.py`) has no
entry: it is the platform-free default, served by core code, with the
default admin policy and nothing to sync, so an entry would be all blanks.
Its name is `CUSTOM`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

    import click
    from flask import Blueprint

    from app.core.offers import Offer
    from app.db.models import Cart, Store
    from app.mail.links import Links
    from app.runtime import Runtime

# The platform-free lane: a storefront that signs its own webhooks.
CUSTOM = "custom"

# One line per platform, as in `platforms/__init__.py`.
_MODULES = {
    "shopify": "app.integrations.shopify.integration",
    "woocommerce": "app.integrations.woocommerce.integration",
}


@dataclass(frozen=True)
class Job:
    """A job the timer process runs every `seconds`, given the runtime (and its clock)."""

    id: str
    run: Callable[[Runtime], object]
    seconds: float


@dataclass(frozen=True)
class NewStore:
    """What `cartback stores add` asks for whatever the platform."""

    name: str
    domain: str
    timezone: str | None
    from_email: str | None


@dataclass(frozen=True)
class StoreAdder:
    """How `cartback stores add --platform <name>` connects a store.

    `add` gets the common fields and the values of its own `options` (by
    parameter name), raises click errors with a sentence for the operator,
    and returns the store's JSON. The hints extend the common options' help.
    """

    add: Callable[[Runtime, NewStore, Mapping[str, Any]], dict[str, Any]]
    options: tuple[click.Option, ...] = ()
    domain_hint: str = ""
    timezone_hint: str = ""


@dataclass(frozen=True)
class Embedding:
    """How the admin pages of one of its stores behave inside the platform's admin.

    `frame_ancestors` gives the whole Content-Security-Policy value; the
    head partial (given the context `head_context` builds from the app
    config, as `embed`) is included in every admin page's <head>.
    """

    frame_ancestors: Callable[[Store], str]
    head_template: str | None = None
    head_context: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None
    # The store a platform session token (the bearer token an embedded page's
    # requests carry) signs in, once verified; None for anything else.
    sign_in: Callable[[str], int | None] | None = None
    # Headers on the admin's 401 to a refused bearer token (so the platform's
    # script fetches a fresh token and retries).
    refused_headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Integration:
    name: str
    blueprints: tuple[Blueprint, ...] = ()
    cli: click.Group | None = None
    jobs: tuple[Job, ...] = ()
    stores_add: StoreAdder | None = None
    # None: the admin's default policy (its own origin and the store's).
    embedding: Embedding | None = None
    # The request header naming a delivery's topic, for the metrics.
    topic_header: str | None = None
    # Where a reminder's return link may lead, beside the store's own domain
    # and the hosts its sync keeps in platform_state["shop_hosts"]: hosts the
    # platform serves every store's checkouts from.
    checkout_hosts: tuple[str, ...] = ()
    # The store's page a return link falls back to when the cart's own link
    # cannot be used (its path on the store's domain).
    cart_page: str = "/"
    # A return link the platform builds for a cart (e.g. one that rebuilds the
    # cart on any device), tried before the cart's own link; None when none.
    return_link: Callable[[Cart, Links], str | None] | None = None
    # Makes a reminder's single-use recovery code on the platform: (runtime,
    # store, cart, move, offer, code, now) -> the platform's id for it; raises
    # OfferError. None: the platform gets no offers.
    make_offer: Callable[[Runtime, Store, Cart, str, Offer, str, datetime], str] | None = None
    # Deletes an expired code we made, by the id make_offer returned: (runtime,
    # store, ref, now) -> True when deleted or already gone, False when an order
    # used it (kept); raises OfferError. Run by app.carts.offer_cleanup.
    remove_offer: Callable[[Runtime, Store, str, datetime], bool] | None = None
    # The return link's target with the cart's live code applied on the way
    # (target url, code) -> url; None: the code travels only in the email text.
    offer_link: Callable[[str, str], str] | None = None


def names() -> tuple[str, ...]:
    return tuple(_MODULES)


def get(name: str) -> Integration:
    if name not in _MODULES:
        raise KeyError(f"no integration {name!r}")
    integration: Integration = import_module(_MODULES[name]).integration
    return integration


def find(name: str | None) -> Integration | None:
    """The platform's integration, or None (the custom lane, an unknown name)."""
    return get(name) if name in _MODULES else None


def every() -> tuple[Integration, ...]:
    return tuple(get(name) for name in _MODULES)


def admin_refused_headers() -> dict[str, str]:
    """Every platform's headers for a refused admin session token (Embedding.refused_headers)."""
    return {name: value for i in every() if i.embedding is not None
            for name, value in i.embedding.refused_headers}


def admin_sign_ins() -> tuple[Callable[[str], int | None], ...]:
    """Every platform's check of its own admin session tokens (Embedding.sign_in)."""
    return tuple(i.embedding.sign_in for i in every()
                 if i.embedding is not None and i.embedding.sign_in is not None)
