"""Every public route, fuzzed: malformed, oversized, deeply nested, out-of-range
and wrongly typed input gets a 4xx with a reason (or a 2xx where the platform
expects one), never a 5xx, and a refused request writes nothing.

Hypothesis, derandomized and bounded: the same ~3,000 requests per database
on every run, in seconds. Bodies are correctly signed as often as not, so the
hostile values reach the parsers behind the signature checks. A failure
shrinks to the smallest request that still fails.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shopify_payloads import (
    OVERRIDES,
    SHOP,
    cart_payload,
    checkout_payload,
    order_payload,
    signed_headers,
)
from sqlalchemy import text

from app.web.admin.auth import COOKIE, COOKIE_PATH, csrf_token, mint_session
from app.web.mail_events import SnsClient
from platforms.signing import sign_base64
from platforms.woocommerce.handover import sign
from tests.factories import T0, cart_body, sns_signed, sns_signer

FUZZ = settings(derandomize=True, deadline=None, database=None, max_examples=400,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])
TABLES = ("stores", "carts", "sends", "deliveries", "suppressions", "template_overrides",
          "activities", "oauth_states")

NASTY: list[Any] = [
    1e30, -1e30, 10**30, -(10**30), 2**63, 2**31, -1, 0, 1.5, True, False, None, "", " ",
    "x" * 5000, "\x00", "\u202e", "🙂", "NaN", "Infinity", "-0", "1e30", "1e400",
    "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00", "2026-13-45T25:61:00Z", "Mars/Olympus_Mons",
    "../../etc/passwd", "Europe/London", [], {}, [[[[]]]], {"a": {"b": {}}},
    "a@b", "x@" + "y" * 300 + ".com", "[", "{{ 7*7 }}", "=?utf-8?q?a=0D=0ABcc:_x?=",
    "javascript:alert(1)", "http://[::1", 99999999999999999999,
]
WORDS = ["[", "]", "%", "%00", "%ff", "99999999999999999999", "-1", "0", "a" * 300,
         SHOP, "evil.com", "", "\u202e", "../x", "x.myshopify.com]", "[::1]",
         "https://shop.example", "javascript:alert(1)", "1e30"]

values = st.one_of(st.sampled_from(NASTY), st.integers(), st.text(max_size=20),
                   st.floats(allow_nan=False))
words = st.one_of(st.sampled_from(WORDS), st.text(max_size=12))
# What an HTTP client can put in a header at all (no line breaks).
header_words = words.map(lambda w: w.replace("\r", " ").replace("\n", " "))


def mutate(draw: Any, base: Any, depth: int = 0) -> Any:
    """`base` with one to three values deep inside replaced by hostile ones."""
    if isinstance(base, dict) and base and depth < 4:
        key = draw(st.sampled_from(sorted(base)))
        replacement = draw(values) if draw(st.booleans()) else mutate(draw, base[key], depth + 1)
        return {**base, key: replacement}
    if isinstance(base, list) and base and depth < 4:
        index = draw(st.integers(0, len(base) - 1))
        return [*base[:index], mutate(draw, base[index], depth + 1), *base[index + 1:]]
    return draw(values)


def body(draw: Any, base: dict[str, Any]) -> bytes:
    kind = draw(st.sampled_from(["mutated"] * 6 + ["nested", "garbage", "scalar", "extra"]))
    if kind == "nested":
        depth = draw(st.sampled_from([64, 1000, 50_000]))
        return b'{"a":' + b"[" * depth + b"]" * depth + b"}"
    if kind == "garbage":
        return draw(st.binary(max_size=64))
    if kind == "scalar":
        return json.dumps(draw(values)).encode()
    mutated = base
    for _ in range(draw(st.integers(1, 3))):
        mutated = mutate(draw, mutated)
    if kind == "extra":  # the optional hints a lane reads, with hostile values
        hint = draw(st.sampled_from(["timezone", "locale", "country", "total", "currency",
                                     "occurred_at", "saved_link", "marketing_consent",
                                     "phone", "accepts_sms_marketing", "sms_consent"]))
        mutated = {**mutated, hint: draw(values)} if isinstance(mutated, dict) else mutated
    try:
        return json.dumps(mutated).encode()
    except ValueError:  # a float json cannot write
        return b"{}"


SMS_TOPIC = "arn:aws:sns:eu-west-1:1:inbound-sms"
SNS_SIGNER = sns_signer()


@pytest.fixture
def app_overrides():
    return {**OVERRIDES, "SMS_SNS_TOPIC_ARNS": SMS_TOPIC}


@pytest.fixture
def world(app, runtime, make_store, clock):
    """A custom, a WooCommerce and a Shopify store, and an admin signed in to the first."""
    from app.integrations.shopify.install import save_install
    from platforms.shopify.api import Grant

    custom = make_store()
    woo = make_store(platform="woocommerce", name="Woo", domain="https://shop.example")
    save_install(runtime, SHOP, Grant(access_token="shpat_test", scope="read_orders"),
                 clock(), via="oauth")
    client = app.test_client()
    with app.test_request_context():
        session = mint_session(custom.id)
        csrf = csrf_token(session)
    client.set_cookie(COOKIE, session, path=COOKIE_PATH)
    # Inbound texts are signed with a key of ours, so fuzzed Messages pass the envelope.
    app.extensions["cartback_sns"] = SnsClient(requests.Session(), lambda url: SNS_SIGNER[1])
    return {"client": client, "custom": custom, "woo": woo, "csrf": csrf,
            "engine": runtime.db.engine}


def counts(world):
    query = "SELECT " + ", ".join(f"(SELECT count(*) FROM {t})" for t in TABLES)
    with world["engine"].connect() as conn:
        return tuple(conn.execute(text(query)).one())


def check(world, method, path, **request):
    """Send one request: no 5xx, and nothing written when it is refused."""
    before = counts(world)
    response = world["client"].open(path, method=method, **request)
    status = response.status_code
    if path.startswith("/healthz") and "strict=1" in path and status == 503:
        return response  # the documented answer while no scheduler runs
    assert status < 500, (method, path, status, response.get_data()[:300])
    if status >= 400:
        assert counts(world) == before, (method, path, status)
        if path.startswith(("/webhooks/", "/collect/")) and method != "OPTIONS":
            assert response.is_json and response.json.get("error"), (path, status)
    return response


# -- signed and unsigned webhook deliveries -------------------------------------------------

@FUZZ
@given(st.data())
def test_fuzz_custom_webhook(world, data):
    raw = body(data.draw, cart_body(cart_id="c-1", timezone="Europe/London"))
    store = world["custom"]
    store_id = data.draw(st.sampled_from([store.id] * 6 + [world["woo"].id, 0, 2**31,
                                                            99999999999999999999]))
    signature = sign_base64(store.webhook_secret, raw) if data.draw(st.integers(0, 5)) else (
        data.draw(header_words))
    check(world, "POST", f"/webhooks/custom/{store_id}", data=raw,
          headers={"X-Cartback-Hmac-Sha256": signature, "Content-Type": "application/json"})


SHOPIFY_TOPICS = ["carts/create", "carts/update", "checkouts/create", "checkouts/update",
                  "checkouts/delete", "orders/create", "orders/paid", "app/uninstalled",
                  "customers/redact", "customers/data_request", "shop/redact", "no/such"]
COMPLIANCE = {"shop_id": 1, "shop_domain": SHOP, "customer": {"id": 1, "email": "a@b.com"},
              "orders_to_redact": [1], "orders_requested": [1],
              "data_request": {"id": 1}}


@FUZZ
@given(st.data())
def test_fuzz_shopify_webhook(world, data):
    topic = data.draw(st.sampled_from(SHOPIFY_TOPICS))
    base = data.draw(st.sampled_from([checkout_payload(updated_at=T0),
                                      cart_payload(updated_at=T0),
                                      order_payload(created_at=T0), COMPLIANCE]))
    raw = body(data.draw, base)
    headers = signed_headers(topic, raw)
    if not data.draw(st.integers(0, 4)):
        headers[data.draw(st.sampled_from(list(headers)))] = data.draw(header_words)
    path = data.draw(st.sampled_from(["/webhooks/shopify", "/webhooks/shopify/compliance"]))
    check(world, "POST", path, data=raw, headers=headers)


WOO_ORDER = {"id": 7, "status": "pending", "date_created_gmt": "2026-11-23T08:50:00",
             "date_modified_gmt": "2026-11-23T09:00:00", "currency": "EUR", "total": "10.00",
             "billing": {"email": "a@example.com", "first_name": "A"}, "cart_hash": "abc123",
             "line_items": [{"name": "Mug", "quantity": 1, "price": 10.0, "total": "10.00"}],
             "payment_url": "https://shop.example/pay/7", "meta_data": []}


@FUZZ
@given(st.data())
def test_fuzz_woocommerce_webhook(world, data):
    woo = world["woo"]
    raw = body(data.draw, WOO_ORDER)
    store_id = data.draw(st.sampled_from([woo.id] * 5 + [world["custom"].id, 2**31]))
    topic = data.draw(st.sampled_from(["order.updated", "order.created", "order.deleted",
                                       "action.woocommerce_x", ""]))
    signature = sign_base64(woo.webhook_secret, raw) if data.draw(st.integers(0, 5)) else "x"
    check(world, "POST", f"/webhooks/woocommerce/{store_id}", data=raw, headers={
        "X-WC-Webhook-Signature": signature, "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Source": data.draw(st.sampled_from(["https://shop.example/", "", "["])),
        "X-WC-Webhook-Delivery-ID": data.draw(header_words),
        "Content-Type": "application/json"})


SNAPSHOT = {"cart_token": "cb.token1234", "cart_hash": "feedface1234",
            "cart": {"items": [{"name": "Mug", "quantity": 1,
                                "prices": {"price": "1800", "currency_code": "EUR",
                                           "currency_minor_unit": 2}}],
                     "totals": {"total_price": "1800", "currency_code": "EUR",
                                "currency_minor_unit": 2}},
            "email": "ada@example.com", "cart_url": "https://shop.example/cart/",
            "timezone": "Europe/Paris", "locale": "fr-FR"}


@FUZZ
@given(st.data())
def test_fuzz_beacon(world, data):
    key = data.draw(st.sampled_from([world["woo"].public_key] * 4 + WORDS[:6]))
    n = data.draw(st.integers(0, 10**6))
    check(world, data.draw(st.sampled_from(["POST", "POST", "OPTIONS"])),
          f"/collect/{key}", data=body(data.draw, SNAPSHOT),
          headers={"Origin": data.draw(st.sampled_from(["https://shop.example", "null", ""])),
                   "User-Agent": "Mozilla/5.0 Chrome/130",
                   "Content-Type": data.draw(st.sampled_from(["application/json",
                                                              "text/plain", "x/y"]))},
          environ_base={"REMOTE_ADDR": f"10.{n % 250}.{n // 250 % 250}.{n // 62500 % 250}"})


SES = {"Type": "Notification", "MessageId": "m", "TopicArn": "arn:aws:sns:eu-west-1:1:t",
       "Message": json.dumps({"notificationType": "Bounce"}), "Timestamp": "2026-11-23T09:00:00Z",
       "SignatureVersion": "1", "Signature": "eA==",
       "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/cert.pem"}


@settings(FUZZ, max_examples=150)
@given(st.data())
def test_fuzz_ses_events(world, data):
    check(world, "POST", "/webhooks/ses", data=body(data.draw, SES),
          headers={"x-amz-sns-message-type": data.draw(st.sampled_from(
              ["Notification", "SubscriptionConfirmation", "x", ""]))})


INBOUND_SMS = {"originationNumber": "+12125550100", "destinationNumber": "+18005550199",
               "messageKeyword": "STOP", "messageBody": "Stop", "inboundMessageId": "in-1",
               "previousPublishedMessageId": "out-1"}


@settings(FUZZ, max_examples=150)
@given(st.data())
def test_fuzz_inbound_sms(world, data):
    """Signed envelopes around hostile inbound texts, and hostile envelopes."""
    message = body(data.draw, INBOUND_SMS).decode(errors="replace")
    envelope = sns_signed(SNS_SIGNER, {"Type": "Notification", "Message": message},
                          topic=SMS_TOPIC)
    raw = json.dumps(envelope).encode() if data.draw(st.integers(0, 3)) else body(
        data.draw, envelope)
    check(world, "POST", "/webhooks/sms", data=raw, headers={"Content-Type": "text/plain"})


# -- shopper links, installs and connects, ops -------------------------------------------

def query(draw: Any, keys: list[str]) -> str:
    pairs = draw(st.lists(st.tuples(st.sampled_from(keys), words), max_size=5))
    return "&".join(f"{k}={v}" for k, v in pairs)


@FUZZ
@given(st.data())
def test_fuzz_links_installs_and_ops(world, data):
    route = data.draw(st.sampled_from(["shopper", "shopify", "woocommerce", "ops"]))
    if route == "shopper":
        # "preview": the inert links of previews and test sends.
        token = data.draw(st.one_of(words, st.sampled_from(["a.b", "eyJ4IjoxfQ.x.y", "preview"])))
        check(world, data.draw(st.sampled_from(["GET", "POST"])),
              f"/{data.draw(st.sampled_from(['r', 'u']))}/{token}",
              data={"List-Unsubscribe": "One-Click"})
    elif route == "shopify":
        q = query(data.draw, ["shop", "hmac", "timestamp", "state", "code", "host",
                              "shop[]", "id_token", "embedded"])
        auth = data.draw(st.sampled_from([None, "Bearer x", "Bearer ", "Bearer a.b.c"]))
        page = data.draw(st.sampled_from(["install", "callback", "app"]))
        check(world, "GET", f"/shopify/{page}?{q}",
              headers={"Authorization": auth} if auth else {})
    elif route == "woocommerce":
        q = query(data.draw, ["store_url", "user_id", "state", "success", "return_url"])
        if data.draw(st.integers(0, 2)) == 0:  # the plugin's signed links, often signed right
            woo = world["woo"]
            signed = sign(woo.webhook_secret, woo.id, T0, "n" * 32)
            link = {**signed, **dict(data.draw(st.lists(st.tuples(
                st.sampled_from(["store", "ts", "nonce", "sig"]), words), max_size=2)))}
            page = data.draw(st.sampled_from(["admin", "plugin/status"]))
            check(world, "GET", f"/woocommerce/{page}?{urlencode(link)}")
        elif data.draw(st.booleans()):
            page = data.draw(st.sampled_from(["connect", "connected", "plugin.zip"]))
            check(world, "GET", f"/woocommerce/{page}?{q}")
        else:
            raw = body(data.draw, {"key_id": 1, "user_id": "state", "consumer_key": "ck_x",
                                   "consumer_secret": "cs_x", "key_permissions": "read_write"})
            check(world, "POST", f"/woocommerce/callback?{q}", data=raw,
                  headers={"Content-Type": "application/json"})
    else:
        path = data.draw(st.sampled_from(["/healthz", "/metrics"]))
        check(world, "GET", f"{path}?{query(data.draw, ['strict', 'x'])}")


# -- the admin, signed in ----------------------------------------------------------------------

ADMIN_PAGES = ["/admin/", "/admin/carts", "/admin/settings", "/admin/unsubscribes",
               "/admin/unsubscribes.csv", "/admin/templates/first", "/admin/carts/{id}",
               "/admin/templates/{word}"]
ADMIN_FORMS = ["/admin/settings", "/admin/unsubscribes", "/admin/unsubscribes/import",
               "/admin/privacy/report", "/admin/privacy/erase", "/admin/carts/{id}/stop",
               "/admin/unsubscribes/{id}/remove", "/admin/templates/first",
               "/admin/templates/first/preview"]
FORM_KEYS = ["quiet_start", "quiet_end", "first_wait_minutes", "second_wait_hours",
             "dnd_hours", "timezone", "from_email", "reply_to", "postal_address",
             "consent_policy", "paused", "email", "cart_id", "action", "subject.txt",
             "opening.txt", "txt", "html"]


@FUZZ
@given(st.data())
def test_fuzz_admin(world, data):
    ids = st.sampled_from(["1", "2", "0", "2147483648", "99999999999999999999", "-1"])
    fill = {"id": data.draw(ids), "word": data.draw(words)}
    if data.draw(st.booleans()):
        path = data.draw(st.sampled_from(ADMIN_PAGES)).format(**fill)
        q = query(data.draw, ["days", "status", "q", "page", "notice", "error", "s"])
        check(world, "GET", f"{path}?{q}")
        return
    path = data.draw(st.sampled_from(ADMIN_FORMS)).format(**fill)
    form = {k: data.draw(words) for k in data.draw(st.lists(st.sampled_from(FORM_KEYS),
                                                            max_size=6, unique=True))}
    if "templates" in path:  # each render forks; keep those cheap
        form = {k: v for k, v in form.items() if k not in ("txt", "html")}
    form["csrf"] = world["csrf"] if data.draw(st.integers(0, 6)) else data.draw(words)
    check(world, "POST", path, data=form)
