"""Fixtures every Shopify integration test shares: the app configured as a
Shopify app, an installed shop, recorded timers and a strict fake Shopify."""

from __future__ import annotations

import pytest
import responses

from app.integrations.shopify.install import save_install
from platforms.shopify.api import Grant
from tests.factories import with_postal_address
from tests.shopify_payloads import OVERRIDES, SHOP, RecordingTimers


@pytest.fixture
def app_overrides():
    return dict(OVERRIDES)


@pytest.fixture
def timers(runtime):
    runtime.timers = RecordingTimers()
    return runtime.timers


@pytest.fixture
def shop_store(runtime, clock):
    """An installed shop whose merchant has saved the postal address the
    compliance gate asks for."""
    store_id = save_install(runtime, SHOP, Grant(access_token="shpat_test",
                                                  scope="read_orders"), clock(), via="oauth")
    with_postal_address(runtime, store_id)
    return store_id


@pytest.fixture
def fake():
    """Shopify's HTTP API, faked; a test fails if a mocked call is never made."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock
