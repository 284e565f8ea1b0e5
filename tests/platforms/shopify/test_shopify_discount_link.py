"""Shopify's discount link: the shop's /discount/CODE route with a same-shop redirect,
or Shopify's shared checkout host's recovery URL with `discount=`."""

from urllib.parse import parse_qs, urlsplit

import pytest

from platforms.shopify.links import discount_link


@pytest.mark.parametrize(("target", "expected"), [
    ("https://shop.example/1/checkouts/t/recover?key=k&x=1",
     "https://shop.example/discount/CB-7KQ2?redirect=%2F1%2Fcheckouts%2Ft%2Frecover%3Fkey%3Dk%26x%3D1"),
    ("https://shop.example/cart", "https://shop.example/discount/CB-7KQ2?redirect=%2Fcart"),
    ("https://shop.example", "https://shop.example/discount/CB-7KQ2?redirect=%2F"),
])
def test_code_applied_on_the_way_to_a_page_of_the_same_shop(target, expected):
    assert discount_link(target, "CB-7KQ2") == expected


def test_a_code_that_needs_escaping_stays_one_path_segment():
    link = urlsplit(discount_link("https://shop.example/cart", "SAVE 10/#"))
    assert link.path == "/discount/SAVE%2010%2F%23"


def test_shared_checkout_host_keeps_its_url_and_gains_discount():
    link = discount_link("https://checkout.shopify.com/548/checkouts/t/recover?key=k", "CB-7")
    parts = urlsplit(link)
    assert (parts.netloc, parts.path) == ("checkout.shopify.com", "/548/checkouts/t/recover")
    assert parse_qs(parts.query) == {"key": ["k"], "discount": ["CB-7"]}
