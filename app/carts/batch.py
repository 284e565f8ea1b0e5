"""Due carts in batches: claim many in one transaction, deliver, record many in one.

The per-cart path (`app.carts.wake.wake`) costs about four transactions and
fifteen statements per reminder. A backlog — an outage, the end of quiet
hours, `cartback wake-due` — goes through here instead, a batch of carts at a
time, with every promise of the per-cart path kept:

1. **Claim** (one transaction): the batch's cart rows are locked (PostgreSQL:
   `FOR UPDATE SKIP LOCKED`, so a second process takes other carts; a row
   held elsewhere is woken alone after the batch, waiting for it), the
   waiter decides each cart's move, the shoppers of the carts with a reminder
   due are locked in one sorted upsert (the atomic per-shopper cap, see
   `app.carts.history.lock_shoppers`), their history is read in two set-based
   queries (`BatchHistory`), and each cart goes through the same gates and
   claim as one wake (`sender.gate`, then `sender.claim_many` for all that
   passed in one statement): the partial unique index still allows one
   claimed-or-sent row per cart and move.
2. **Deliver** (no transaction): each claim is composed and handed to the
   backend one by one, so a backend's pacing (SES max send rate) is honoured
   exactly. Just before a hand-over, the claims still to go are checked again
   in one set-based read (`sender.why_not_send_many`) if the last check is
   older than `RECHECK_S`: an order, deletion, update, erasure or opt-out
   that landed since cancels the send, as in the per-cart path.
3. **Record** (one transaction): the rows are re-read under lock and each
   outcome recorded by the per-cart functions (`sender.record_delivery` and
   the outcomes of `app.carts.delivery_outcomes`), which only advance a cart
   still as it was claimed. A `MailPaused` stops the rest of the batch for its
   scope: they are deferred to the breaker's retry time, never failed.

While the mail breaker has a pause open for a store, its carts go one at a
time through `wake` (the probe decides for the others), as do the carts of a
batch whose claim transaction failed: the per-cart path is the fallback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.carts import delivery_outcomes, offers, sender
from app.carts.history import REACHED_SHOPPER, lock_shoppers
from app.carts.intake import next_wake
from app.carts.wake import WakeResult, _from_default
from app.core.addresses import identities, normalize_email
from app.core.rules import Rules
from app.core.waiter import Move, MoveKind, decide
from app.db.models import (
    LIVE_STATUSES,
    Cart,
    CartStatus,
    MailPause,
    Send,
    SendResult,
    Store,
    Suppression,
    Tombstone,
)
from app.errors import DeliveryError, MailPaused, Overtaken
from app.mail import breaker
from app.mail.templates import overrides_for
from app.metrics import WAKE_FAILURES
from app.privacy import tombstones
from app.runtime import Runtime

log = logging.getLogger(__name__)

BATCH = 200
# How old the last set-based re-read of a batch may be at a hand-over.
RECHECK_S = 0.25
# A claim not handed over within half its lease (a very slow backend's pace) is
# released rather than sent late: past the lease, a wake would take the
# unconfirmed claim for a send that may have happened and never send it.
HANDOVER_LIMIT_S = sender.CLAIM_LEASE.total_seconds() / 2


class BatchHistory:
    """The gates' `History` for a batch of carts, read in two queries.

    Built after the batch's shoppers are locked, so what it read cannot
    change before the claims commit; claims made in this batch are added as
    they happen (`claimed`), so a second cart of the same shopper in the same
    batch sees the first one's claim, as a second wake would.
    """

    def __init__(self, session: Session, store_ids: set[int], addresses: set[str],
                 since: datetime) -> None:
        self._suppressed: dict[tuple[int, str], set[int | None]] = {}
        self._sends: dict[tuple[int, str], list[tuple[int, datetime]]] = {}
        if not addresses:
            return
        for store_id, email, scope, cart_id in session.execute(
                select(Suppression.store_id, Suppression.email,
                       Suppression.scope, Suppression.cart_id)
                .where(Suppression.store_id.in_(store_ids),
                       Suppression.email.in_(addresses))):
            self._suppressed.setdefault((store_id, email), set()).add(
                None if scope == "all" else cart_id)
        for store_id, address, cart_id, created_at in session.execute(
                select(Send.store_id, func.lower(Send.address), Send.cart_id, Send.created_at)
                .where(Send.store_id.in_(store_ids), func.lower(Send.address).in_(addresses),
                       Send.result.in_(REACHED_SHOPPER),
                       Send.created_at >= since)):
            self._sends.setdefault((store_id, address), []).append((cart_id, created_at))

    def for_store(self, store_id: int) -> _StoreView:
        return _StoreView(self, store_id)

    def claimed(self, store_id: int, email: str, cart_id: int, now: datetime) -> None:
        self._sends.setdefault((store_id, normalize_email(email) or ""), []).append(
            (cart_id, now))


@dataclass(frozen=True)
class _StoreView:
    batch: BatchHistory
    store_id: int

    def is_suppressed(self, email: str, cart_id: int) -> bool:
        scopes = self.batch._suppressed.get((self.store_id, normalize_email(email) or ""), set())
        return None in scopes or cart_id in scopes

    def reminders_about_other_carts_since(self, email: str, cart_id: int,
                                          since: datetime) -> int:
        """What the frequency cap counts, from the batch's one read plus its own claims."""
        sends = self.batch._sends.get((self.store_id, normalize_email(email) or ""), [])
        return sum(1 for other, at in sends if other != cart_id and at >= since)


@dataclass
class _Claim:
    cart: Cart
    store: Store
    move: str
    rules: Rules
    send_id: int
    due: datetime
    fingerprint: tuple[object, ...]
    overrides: dict[str, str]
    channel: str = "email"
    delivered: sender.Delivered | None = None
    error: DeliveryError | None = None
    overtaken: str | None = None
    paused_behind: bool = False  # not tried: an earlier send of the batch hit MailPaused
    crashed: str | None = None  # an unexpected error: left claimed, as a crashed wake leaves it
    minted: offers.Minted | None = None  # the offer code made for this send, if any


def _result(cart_id: int, move: str | None, result: str, reason: str | None = None,
            wake_at: datetime | None = None, due: datetime | None = None,
            now: datetime | None = None) -> WakeResult:
    late = (now - due).total_seconds() if due is not None and now is not None else None
    return WakeResult(cart_id, move, result, reason, wake_at, late)


@dataclass
class _Claimed:
    outcomes: list[WakeResult] = field(default_factory=list)
    claims: list[_Claim] = field(default_factory=list)
    one_by_one: list[int] = field(default_factory=list)  # carts under an open mail pause
    # Rows another transaction held (or gone): woken one by one after the batch,
    # which waits for that lock and then sees the truth, as one wake would.
    held: list[int] = field(default_factory=list)


def wake_batch(runtime: Runtime, cart_ids: Sequence[int], now: datetime,
               wake_one: Callable[[Runtime, int, datetime], WakeResult]) -> list[WakeResult]:
    """Wake these carts as a batch; returns one result per cart this process acted on.

    `wake_one` (the per-cart wake, reporting its own failures) runs the carts
    the batch leaves to it: those under an open mail pause, and those whose
    row another transaction held locked (PostgreSQL skips them in the batch;
    one wake then waits for the lock, so a fired timer is never lost).
    """
    try:
        claimed = _claim(runtime, cart_ids, now)
    except Exception:  # noqa: BLE001 - the per-cart path is the fallback
        log.exception("batch claim failed: waking these carts one by one",
                      extra={"carts": len(cart_ids)})
        return [wake_one(runtime, cart_id, now) for cart_id in cart_ids]
    _deliver(runtime, claimed.claims, now)
    results = claimed.outcomes + _record(runtime, claimed.claims, now)
    for result in results:
        runtime.timers.set(result.cart_id, result.wake_at)
    results.sort(key=lambda r: r.cart_id)
    return results + [wake_one(runtime, cart_id, now)
                      for cart_id in claimed.one_by_one + claimed.held]


def _claim(runtime: Runtime, cart_ids: Sequence[int], now: datetime) -> _Claimed:
    done = _Claimed()
    with runtime.db.transaction() as session:
        carts = session.scalars(
            select(Cart).where(Cart.id.in_(cart_ids)).order_by(Cart.id)
            .with_for_update(skip_locked=True)).all()
        found = {cart.id for cart in carts}
        done.held = [cart_id for cart_id in cart_ids if cart_id not in found]
        stores = {s.id: s for s in session.scalars(
            select(Store).where(Store.id.in_({c.store_id for c in carts})))}
        paused = _paused_stores(session, runtime.mailer.name, set(stores))
        rules = {sid: Rules.for_store(s.settings, s.timezone) for sid, s in stores.items()}
        due: list[tuple[Cart, str, datetime]] = []
        for cart in carts:
            if cart.wake_at is None or cart.wake_at > now:
                done.outcomes.append(_result(cart.id, None, "not_due", wake_at=cart.wake_at))
                continue
            move = decide(cart, now, rules[cart.store_id])
            if move is not None and move.is_reminder and cart.store_id in paused:
                done.one_by_one.append(cart.id)
                continue
            if move is None or not move.is_reminder:
                done.outcomes.append(_act_without_mail(cart, move, now))
                continue
            due.append((cart, move.kind.value, cart.wake_at))
        if not due:
            return done
        lock_shoppers(session, [(stores[c.store_id], who) for c, _, _ in due
                                for who in identities(c.email, c.phone)], now)
        since = min(now - r.dnd_window for r in rules.values())
        history = BatchHistory(session, {c.store_id for c, _, _ in due},
                               {a for c, _, _ in due for a in identities(c.email, c.phone)},
                               since)
        overrides = {sid: overrides_for(session, sid) for sid in {c.store_id for c, _, _ in due}}
        judged: list[tuple[Cart, str, datetime, sender.Attempt | sender.Cleared]] = []
        for cart, move, was_due in due:
            store = stores[cart.store_id]
            verdict = sender.gate(session, cart, store, move, now, rules[store.id],
                                  history=history.for_store(store.id))
            if isinstance(verdict, sender.Cleared):
                # Counted now, so the shopper's next cart in this batch sees it
                # (a claim then turned away by the index only makes the cap stricter).
                assert verdict.address is not None
                history.claimed(store.id, verdict.address, cart.id, now)
            judged.append((cart, move, was_due, verdict))
        claimed = iter(sender.claim_many(
            session, [(cart, move, verdict) for cart, move, _, verdict in judged
                      if isinstance(verdict, sender.Cleared)], now))
        for cart, move, was_due, verdict in judged:
            attempt = verdict if isinstance(verdict, sender.Attempt) else next(claimed)
            store = stores[cart.store_id]
            if attempt.result != SendResult.CLAIMED.value:
                if attempt.result != SendResult.DEFERRED.value:
                    cart.wake_at = next_wake(cart, now, rules[store.id])
                done.outcomes.append(_result(cart.id, move, attempt.result, attempt.reason,
                                             cart.wake_at, was_due, now))
                continue
            assert attempt.send_id is not None
            done.claims.append(_Claim(cart, store, move, rules[store.id], attempt.send_id,
                                      was_due, sender.fingerprint(cart), overrides[store.id],
                                      attempt.channel))
    return done


def _paused_stores(session: Session, backend: str, store_ids: set[int]) -> set[int]:
    """Stores of the batch with an open mail pause over them (rare: then one by one)."""
    scopes = {f"backend:{backend}"} | {f"store:{sid}" for sid in store_ids}
    open_scopes = set(session.scalars(select(MailPause.scope).where(
        MailPause.scope.in_(scopes), MailPause.closed_at.is_(None))))
    if f"backend:{backend}" in open_scopes:
        return set(store_ids)
    return {sid for sid in store_ids if f"store:{sid}" in open_scopes}


def _act_without_mail(cart: Cart, move: Move | None, now: datetime) -> WakeResult:
    """The moves that send nothing, exactly as one wake makes them."""
    due = cart.wake_at
    if move is None:
        cart.wake_at = None
        return _result(cart.id, None, "no_move", due=due, now=now)
    if move.kind is MoveKind.WAIT:
        cart.wake_at = move.until
        return _result(cart.id, "wait", "rescheduled", wake_at=cart.wake_at, due=due, now=now)
    assert move.kind is MoveKind.GIVE_UP
    cart.status = CartStatus.EXPIRED.value
    cart.ended_reason = "gave_up"
    cart.wake_at = None
    return _result(cart.id, "give_up", "expired", due=due, now=now)


def _deliver(runtime: Runtime, claims: list[_Claim], now: datetime) -> None:
    verdicts: dict[int, str | None] = {}
    checked_at = float("-inf")
    paused_scopes: set[str] = set()
    started = time.monotonic()

    for index, claim in enumerate(claims):
        if claim.channel == "email" and (f"store:{claim.store.id}" in paused_scopes
                                         or "backend" in paused_scopes):
            claim.paused_behind = True
            continue
        if time.monotonic() - started >= HANDOVER_LIMIT_S:
            claim.overtaken = "claim lease running out"
            continue

        def still_current(index: int = index, claim: _Claim = claim) -> str | None:
            nonlocal verdicts, checked_at
            if time.monotonic() - checked_at > RECHECK_S:
                pending = {c.cart.id: (c.send_id, c.fingerprint) for c in claims[index:]}
                with runtime.db.new_session() as check:
                    verdicts = why_not_send_many(check, pending)
                checked_at = time.monotonic()
            return verdicts.get(claim.cart.id, "erased")

        # A step's offer code is made only now, once every gate passed and the
        # send is claimed; a platform error means no offer, not no reminder.
        offer = claim.rules.offer_for(claim.move)
        minted = claim.minted = (offers.mint(runtime, claim.store, claim.cart, claim.move,
                                             offer, now) if offer else None)
        try:
            claim.delivered = sender.compose_and_deliver(
                claim.cart, claim.store, claim.move, now, links=runtime.links,
                mailer=runtime.mailer, polisher=runtime.polisher, overrides=claim.overrides,
                unsubscribe_mailto=runtime.config.get("UNSUBSCRIBE_MAILTO"),
                default_from=_from_default(claim.store, runtime), still_current=still_current,
                offer=minted, channel=claim.channel, texter=runtime.texter)
        except MailPaused as err:
            claim.error = err
            paused_scopes.add(f"store:{claim.store.id}" if err.store_level else "backend")
        except DeliveryError as err:
            claim.error = err
        except Overtaken as err:
            claim.overtaken = err.reason
        except Exception as err:  # noqa: BLE001 - one cart's failure never loses the batch
            # As when one wake raises: the claim stays, so the move is never
            # sent twice; the cart's lease runs out and its next wake says so.
            WAKE_FAILURES.inc()
            log.exception("wake failed", extra={"cart_id": claim.cart.id})
            claim.crashed = type(err).__name__


def _record(runtime: Runtime, claims: list[_Claim], now: datetime) -> list[WakeResult]:
    outcomes = [_result(c.cart.id, c.move, "error", c.crashed, c.cart.wake_at)
                for c in claims if c.crashed]
    claims = [c for c in claims if not c.crashed]
    if not claims:
        return outcomes
    backend = runtime.mailer.name
    with runtime.db.transaction() as session:
        ids = [c.cart.id for c in claims]
        carts = {c.id: c for c in session.scalars(
            select(Cart).where(Cart.id.in_(ids)).order_by(Cart.id)
            .with_for_update().execution_options(populate_existing=True))}
        sends = {s.id: s for s in session.scalars(
            select(Send).where(Send.id.in_([c.send_id for c in claims]))
            .execution_options(populate_existing=True))}
        delivered_stores: set[int] = set()
        # Outcomes that opened the breaker first, so the ones behind them see its retry time.
        for claim in sorted(claims, key=lambda c: c.paused_behind):
            cart, send = carts.get(claim.cart.id), sends.get(claim.send_id)
            outcome = _record_one(session, runtime, claim, cart, send, now, backend)
            offers.remember(session, send, claim.minted)
            if claim.delivered is not None and claim.delivered.channel == "email":
                delivered_stores.add(claim.store.id)
            wake_at = None
            if cart is not None:
                if (outcome.until is None and cart.status in LIVE_STATUSES
                        and cart.store.installed):
                    cart.wake_at = next_wake(cart, now, claim.rules)
                wake_at = cart.wake_at
            outcomes.append(_result(claim.cart.id, claim.move, outcome.result, outcome.reason,
                                    wake_at, claim.due, now))
        for store_id in sorted(delivered_stores):
            breaker.close(session, backend, store_id, now)
    return outcomes


def _record_one(session: Session, runtime: Runtime, claim: _Claim, cart: Cart | None,
                send: Send | None, now: datetime, backend: str) -> sender.Attempt:
    error = claim.error
    if claim.paused_behind and cart is not None and send is not None:
        until = breaker.wait_until(session, backend, claim.store.id, now)
        if until is not None:
            send.result = SendResult.DEFERRED.value
            send.reason = delivery_outcomes.MAIL_PAUSED
            if delivery_outcomes.still_live(cart):
                cart.wake_at = until
                return sender.Attempt(SendResult.DEFERRED.value, delivery_outcomes.MAIL_PAUSED,
                                      send.id, until=until)
            return sender.Attempt(SendResult.DEFERRED.value, delivery_outcomes.MAIL_PAUSED,
                                  send.id)
        return sender.release_claim(session, cart, send, now, "mail paused")
    if claim.overtaken is not None:
        return sender.release_claim(session, cart, send, now, claim.overtaken)
    if cart is not None and send is not None and isinstance(error, MailPaused):
        return delivery_outcomes.defer_for_pause(
            session, cart, send, error, now, backend=backend,
            timing=breaker.Timing.from_config(runtime.config))
    if cart is not None and send is not None and error is not None and error.ambiguous:
        return delivery_outcomes.record_unknown(session, cart, send, error, now)
    return sender.record_delivery(session, cart, send, now, claim.delivered, error)


def why_not_send_many(session: Session,
                      claims: dict[int, tuple[int, tuple[object, ...]]]) -> dict[int, str | None]:
    """`sender.why_not_send` for many claims (cart id -> send id, fingerprint) in five reads."""
    carts = {c.id: c for c in session.scalars(select(Cart).where(Cart.id.in_(claims)))}
    results = dict(session.execute(select(Send.id, Send.result).where(
        Send.id.in_([send_id for send_id, _ in claims.values()]))).all())
    stores = {s.id: s for s in session.scalars(
        select(Store).where(Store.id.in_({c.store_id for c in carts.values()})))}
    addresses = {(c.store_id, a) for c in carts.values() for a in identities(c.email, c.phone)}
    suppressed: dict[tuple[int, str], set[int | None]] = {}
    erased: set[tuple[int, str]] = set()
    if addresses:
        for store_id, email, scope, cart_id in session.execute(
                select(Suppression.store_id, Suppression.email, Suppression.scope,
                       Suppression.cart_id)
                .where(Suppression.store_id.in_(stores),
                       Suppression.email.in_({a for _, a in addresses}))):
            suppressed.setdefault((store_id, email), set()).add(
                None if scope == "all" else cart_id)
        digests = {(sid, tombstones.digest(stores[sid], tombstones.EMAIL, a)): a
                   for sid, a in addresses}
        for store_id, digest in session.execute(
                select(Tombstone.store_id, Tombstone.digest)
                .where(Tombstone.store_id.in_(stores),
                       Tombstone.kind == tombstones.EMAIL,
                       Tombstone.digest.in_({d for _, d in digests}))):
            if (store_id, digest) in digests:
                erased.add((store_id, digests[(store_id, digest)]))
    verdicts: dict[int, str | None] = {}
    for cart_id, (send_id, claimed) in claims.items():
        cart = carts.get(cart_id)
        verdicts[cart_id] = _verdict(cart, stores.get(cart.store_id) if cart else None,
                                     results.get(send_id), claimed, suppressed, erased)
    return verdicts


def _verdict(cart: Cart | None, store: Store | None, send_result: str | None,
             claimed: tuple[object, ...], suppressed: dict[tuple[int, str], set[int | None]],
             erased: set[tuple[int, str]]) -> str | None:
    """The same questions in the same order as `sender.why_not_send`."""
    if cart is None or store is None or send_result is None:
        return "erased"
    if send_result != SendResult.CLAIMED.value:
        return "claim released"
    if not store.installed:
        return "uninstalled"
    if cart.status not in LIVE_STATUSES:
        return cart.ended_reason or cart.status
    for address in identities(cart.email, cart.phone):
        scopes = suppressed.get((cart.store_id, address), set())
        if None in scopes or cart.id in scopes:
            return "unsubscribed"
        if (cart.store_id, address) in erased:
            return "erased"
    if sender.fingerprint(cart) != claimed:
        return "cart changed"
    return None
