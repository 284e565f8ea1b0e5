"""The store most WooCommerce tests run against: connected by keys at SHOP, with
a postal address (a test module may define its own `woo_store`)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import connect_woo_store
from tests.woocommerce_payloads import SHOP


@pytest.fixture
def woo_store(runtime: Any) -> Any:
    return connect_woo_store(runtime, SHOP, from_email="hello@shop.example")
