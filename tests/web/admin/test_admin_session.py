"""The admin session lives in an HttpOnly cookie scoped to /admin, never in a URL:
not in links, forms, redirects or pages, and a leaked old `?s=` address signs
nobody in. The access log cannot print a token."""

from __future__ import annotations

import importlib.util
import re
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app.carts.wake import wake_due
from app.db.models import Cart
from app.web.admin.auth import COOKIE, csrf_token, mint_login_link, mint_session
from tests.factories import T0, cart_body

ROOT = Path(__file__).resolve().parents[3]


def signed_in_by_link(app, runtime, store, base_url="https://cartback.test"):
    """Follow a one-time sign-in link as a browser would; the client then holds the cookie."""
    client = app.test_client()
    with app.app_context():
        link = mint_login_link(runtime, store.id, runtime.clock())
    response = client.get(link.removeprefix(runtime.config["PUBLIC_URL"]), base_url=base_url)
    return client, response


def set_cookie_header(response):
    [header] = [v for k, v in response.headers.items() if k == "Set-Cookie"]
    return header


def test_admin_sign_in_link_sets_the_cookie_and_lands_on_a_clean_url(app, runtime, store):
    client, response = signed_in_by_link(app, runtime, store)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    cookie = set_cookie_header(response)
    token = cookie.split(";")[0].removeprefix(f"{COOKIE}=")
    assert token and token not in response.headers["Location"]
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "path", "samesite", "max-age"} <= flags
    assert "Path=/admin" in cookie and "SameSite=Lax" in cookie
    page = client.get("/admin/", base_url="https://cartback.test")
    assert page.status_code == 200 and "Dashboard" in page.get_data(as_text=True)


def test_admin_cookie_is_not_secure_only_on_plain_http_localhost(app, runtime, store):
    _client, response = signed_in_by_link(app, runtime, store, base_url="http://localhost")
    cookie = set_cookie_header(response)
    assert "HttpOnly" in cookie and "Secure" not in cookie
    _client, response = signed_in_by_link(app, runtime, store,
                                          base_url="http://cartback.example")
    assert "Secure" in set_cookie_header(response)


def test_admin_sign_in_link_works_once(app, runtime, store):
    client = app.test_client()
    with app.app_context():
        link = mint_login_link(runtime, store.id, runtime.clock())
    path = link.removeprefix(runtime.config["PUBLIC_URL"])
    assert client.get(path).status_code == 302
    again = app.test_client().get(path)
    assert again.status_code == 403 and "Set-Cookie" not in again.headers


def test_admin_leaked_old_query_string_session_signs_nobody_in(app, store):
    with app.test_request_context():
        token = mint_session(store.id)  # a valid session, as old `?s=` links carried
    client = app.test_client()
    assert client.get("/admin/", query_string={"s": token}).status_code == 401
    assert client.get("/admin/settings", query_string={"s": token}).status_code == 401
    posted = client.post("/admin/unsubscribes", query_string={"s": token},
                         data={"s": token, "csrf": csrf_token_for(app, token),
                               "email": "zoe@example.com"})
    assert posted.status_code == 401


def csrf_token_for(app, token):
    with app.test_request_context():
        return csrf_token(token)


def test_admin_bearer_header_works_for_scripts(app, store):
    with app.test_request_context():
        token = mint_session(store.id)
    response = app.test_client().get("/admin/carts",
                                     headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_admin_post_with_the_cookie_but_without_csrf_is_refused(app, runtime, store):
    client, _ = signed_in_by_link(app, runtime, store)
    response = client.post("/admin/unsubscribes", data={"email": "zoe@example.com"},
                           base_url="https://cartback.test")
    assert response.status_code == 400


def test_admin_no_page_form_or_redirect_carries_the_session_token(app, runtime, store,
                                                                  post_custom):
    post_custom(cart_body(cart_id="a"))
    wake_due(runtime, T0 + timedelta(hours=4))
    with runtime.db.new_session() as session:
        cart_id = session.scalars(select(Cart.id)).one()
    client, _ = signed_in_by_link(app, runtime, store)
    token = client.get_cookie(COOKIE, domain="cartback.test", path="/admin").value
    csrf = csrf_token_for(app, token)
    https = {"base_url": "https://cartback.test"}
    pages = ["/admin/", "/admin/?days=7", "/admin/settings", "/admin/carts",
             f"/admin/carts/{cart_id}", "/admin/templates/first", "/admin/unsubscribes"]
    for path in pages:
        response = client.get(path, **https)
        body = response.get_data(as_text=True)
        assert response.status_code == 200, path
        assert token not in body, path
        assert not re.search(r"""[?&]s=|name="s\"""", body), path
    posts = [("/admin/unsubscribes", {"email": "zoe@example.com"}),
             ("/admin/unsubscribes", {"email": "nope"}),
             ("/admin/unsubscribes/import", {}),
             (f"/admin/carts/{cart_id}/stop", {}),
             ("/admin/templates/first", {"action": "reset"})]
    for path, form in posts:
        response = client.post(path, data={"csrf": csrf, **form}, **https)
        assert response.status_code in (200, 302), path
        assert token not in response.headers.get("Location", ""), path
        assert token not in response.get_data(as_text=True), path


@pytest.fixture
def gunicorn_conf():
    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "gunicorn.conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_access_log_format_prints_no_query_string_and_no_referer(gunicorn_conf):
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    secret = "SESSIONTOKEN123"
    config = Config()
    config.set("access_log_format", gunicorn_conf.access_log_format)
    logger = Logger(config)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"/admin/?s={secret}",
               "PATH_INFO": "/admin/", "QUERY_STRING": f"s={secret}",
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "203.0.113.9",
               "HTTP_REFERER": f"https://cartback.example/admin/?s={secret}",
               "HTTP_USER_AGENT": "Mozilla/5.0", "HTTP_AUTHORIZATION": f"Bearer {secret}",
               "HTTP_COOKIE": f"{COOKIE}={secret}"}
    request = SimpleNamespace(headers=[(k[5:].replace("_", "-"), v) for k, v in environ.items()
                                       if k.startswith("HTTP_")])
    response = SimpleNamespace(status="200 OK", response_length=10, sent=10,
                               headers=[("Set-Cookie", f"{COOKIE}={secret}")])
    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=12))
    line = gunicorn_conf.access_log_format % atoms
    assert "/admin/" in line and "200" in line
    assert secret not in line
