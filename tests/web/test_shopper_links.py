"""What a shopper clicks: the unsubscribe page and one-click POST, the return link."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.db.models import Activity, Cart, Send, Suppression
from tests.factories import T0, cart_body


def sent_email(post_custom, runtime, outbox, **extra):
    from app.carts.wake import wake_due

    post_custom(cart_body(**extra))
    wake_due(runtime, T0 + timedelta(hours=4))
    [message] = outbox()
    return message


def path_of(url):
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == "https://cartback.test"
    return parts.path


def unsubscribe_url(message):
    header = str(message["List-Unsubscribe"])
    assert "=?" not in header
    return header.split(",")[0].strip().strip("<>")


def suppressions(runtime):
    with runtime.db.new_session() as session:
        return [(s.email, s.scope, s.cart_id, s.source)
                for s in session.scalars(select(Suppression))]


@pytest.mark.parametrize("content_type", ["urlencoded", "multipart"])
def test_one_click_post_unsubscribes_at_once(post_custom, runtime, outbox, client,
                                              content_type):
    message = sent_email(post_custom, runtime, outbox, email="Ada@Example.com")
    path = path_of(unsubscribe_url(message))
    if content_type == "urlencoded":
        response = client.post(path, data="List-Unsubscribe=One-Click",
                               content_type="application/x-www-form-urlencoded")
    else:
        response = client.post(path, data={"List-Unsubscribe": "One-Click"},
                               content_type="multipart/form-data")
    assert response.status_code == 200
    assert "Location" not in response.headers
    assert suppressions(runtime) == [("ada@example.com", "all", None, "one_click")]
    # Idempotent: a second POST changes nothing and still answers 200.
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert len(suppressions(runtime)) == 1


def test_get_unsubscribe_page_changes_nothing_and_offers_the_choice(post_custom, runtime,
                                                                   outbox, client):
    message = sent_email(post_custom, runtime, outbox)
    response = client.get(path_of(unsubscribe_url(message)))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'value="cart"' in page and 'value="all"' in page
    assert suppressions(runtime) == []


def test_unsubscribe_this_cart_only_then_the_second_reminder_is_skipped(post_custom, runtime,
                                                                      outbox, client):
    from app.carts.wake import wake_due

    message = sent_email(post_custom, runtime, outbox)
    response = client.post(path_of(unsubscribe_url(message)), data={"scope": "cart"})
    assert response.status_code == 200
    assert "this cart" in response.get_data(as_text=True)
    [(email, scope, cart_id, source)] = suppressions(runtime)
    assert (scope, source) == ("cart", "shopper_link") and cart_id is not None
    results = wake_due(runtime, T0 + timedelta(hours=28))
    assert [(r.move, r.result, r.reason) for r in results] == [
        ("second", "skipped", "unsubscribed")]
    assert len(outbox()) == 1


def test_unsubscribed_shopper_gets_no_reminder_for_a_new_cart(post_custom, runtime, outbox,
                                                            client):
    from app.carts.wake import wake_due

    message = sent_email(post_custom, runtime, outbox)
    client.post(path_of(unsubscribe_url(message)), data="List-Unsubscribe=One-Click",
                content_type="application/x-www-form-urlencoded")
    post_custom(cart_body(cart_id="c-2", occurred_at=T0 + timedelta(days=5)))
    results = wake_due(runtime, T0 + timedelta(days=5, hours=4))
    assert ("first", "skipped", "unsubscribed") in [(r.move, r.result, r.reason)
                                                    for r in results]
    assert len(outbox()) == 1


@pytest.mark.parametrize("token", ["garbage", "MQ.tampered-signature", "Ng"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_bad_unsubscribe_token_gets_a_friendly_400(client, token, method):
    response = getattr(client, method)(f"/u/{token}")
    assert response.status_code == 400
    assert "does not work" in response.get_data(as_text=True)


def test_return_link_records_the_click_and_redirects_to_the_cart(post_custom, runtime, outbox,
                                                               client):
    message = sent_email(post_custom, runtime, outbox)
    html = message.get_body(("html",)).get_content()
    link = html.split('class="button" href="')[1].split('"')[0] if 'class="button"' in html \
        else html.split('href="')[1].split('"')[0]
    response = client.get(path_of(link))
    assert response.status_code == 302
    assert response.headers["Location"] == "https://maple.example/cart/c-1"
    with runtime.db.new_session() as session:
        assert [a.kind for a in session.scalars(select(Activity))].count("click") == 1


def test_return_link_never_redirects_off_the_store(post_custom, runtime, client):
    post_custom(cart_body())
    with runtime.db.transaction() as session:
        cart = session.scalars(select(Cart)).one()
        cart.return_url = "https://evil.example/phish"  # however it got there
        cart_id = cart.id
    response = client.get(path_of(runtime.links.return_url(cart_id)))
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).hostname == "maple.example"
    with runtime.db.new_session() as session:
        click = session.scalars(select(Activity).where(Activity.kind == "click")).one()
    assert click.detail == {"fallback": "unvouched_host", "host": "evil.example"}


def test_return_link_tampered_is_a_friendly_400(client, runtime):
    token = runtime.links.token("return", 1)
    assert client.get(f"/r/{token[:-2]}xx").status_code == 400
    # An unsubscribe token is not a return token.
    assert client.get(f"/r/{runtime.links.token('unsubscribe', 1)}").status_code == 400


def test_return_link_for_a_cart_that_is_gone_is_400(client, runtime):
    assert client.get(f"/r/{runtime.links.token('return', 999)}").status_code == 400
    with runtime.db.new_session() as session:
        assert session.scalars(select(Send)).all() == []


@pytest.mark.parametrize("hostile", [
    "https://evil.example\\@maple.example/cart",
    "https://evil.example\\.maple.example/cart",
    "https://user@evil.example",
    "https://maple.example@evil.example/cart",
    "https://evil.example%0a.maple.example",
    "//evil.example/cart",
    "https://maple.example.evil.example/cart",
])
def test_return_link_refuses_tricks_that_leave_the_store(hostile):
    from app.mail.links import on_hosts

    assert not on_hosts(hostile, ["maple.example"])


def test_return_link_accepts_the_store_and_its_subdomains():
    from app.mail.links import on_hosts

    assert on_hosts("https://maple.example/cart/1?x=1", ["maple.example"])
    assert on_hosts("https://shop.maple.example/cart", ["maple.example"])
    # A www. host vouches for its checkout. sibling, not for look-alikes.
    assert on_hosts("https://checkout.maple.example/c/1", ["www.maple.example"])
    assert not on_hosts("https://evilmaple.example/c/1", ["www.maple.example"])
