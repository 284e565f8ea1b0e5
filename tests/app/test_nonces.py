"""Single-use nonces: issued for a purpose and a subject, consumed once, atomically."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import nonces
from app.db.models import OAuthState

TTL = timedelta(minutes=10)


@pytest.fixture
def issue(runtime, clock):
    def _issue(purpose="shopify", subject="cool.myshopify.com", ttl=TTL):
        with runtime.db.transaction() as session:
            return nonces.issue(session, purpose, subject, clock(), ttl)

    return _issue


@pytest.fixture
def consume(runtime, clock):
    def _consume(token, purpose="shopify", subject=None, now=None):
        with runtime.db.transaction() as session:
            return nonces.consume(session, purpose, token, now or clock(), subject=subject)

    return _consume


def test_nonce_is_consumed_once_and_returns_its_subject(issue, consume):
    token = issue()
    assert consume(token) == "cool.myshopify.com"
    assert consume(token) is None


def test_nonce_checks_the_subject_when_asked(issue, consume):
    token = issue()
    assert consume(token, subject="evil.myshopify.com") is None
    assert consume(token, subject="cool.myshopify.com") == "cool.myshopify.com"


def test_nonce_of_one_purpose_does_not_open_another(issue, consume):
    token = issue(purpose="woocommerce")
    assert consume(token, purpose="admin") is None
    assert consume(token, purpose="woocommerce") == "cool.myshopify.com"


def test_nonce_expires(issue, consume, clock):
    token = issue()
    assert consume(token, now=clock() + TTL) is None


@pytest.mark.parametrize("token", [None, "", "x" * 65, "never-issued"])
def test_nonce_refuses_what_was_never_issued(consume, token):
    assert consume(token) is None


def test_issuing_prunes_rows_stale_for_a_day(issue, runtime, clock):
    old = issue()
    clock.advance(minutes=10, days=1, seconds=1)
    fresh = issue()
    with runtime.db.new_session() as session:
        assert set(session.scalars(select(OAuthState.state))) == {fresh}
    assert old != fresh


def test_two_sessions_racing_for_one_nonce_cannot_both_win(issue, runtime, clock):
    # Given a nonce, and a first session that has consumed it but not committed
    token = issue()
    results: list[str | None] = []
    with runtime.db.transaction() as first:
        assert nonces.consume(first, "shopify", token, clock()) == "cool.myshopify.com"

        def second() -> None:
            with runtime.db.transaction() as other:
                results.append(nonces.consume(other, "shopify", token, clock()))

        # When a second session tries meanwhile, it waits for the first...
        racer = threading.Thread(target=second)
        racer.start()
        racer.join(timeout=0.5)
        assert racer.is_alive(), "the second consume did not wait for the first"
    # ...then, once the first commits, finds the nonce already used.
    racer.join(timeout=30)
    assert results == [None]
