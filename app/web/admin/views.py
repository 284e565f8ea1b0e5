"""The merchant's admin: dashboard, settings, templates, unsubscribe list, carts.

Thin views over Flask-free modules (dashboard, template_editor, cart_list,
suppressions, settings). Every query is scoped to the signed-in store; another
store's row is "not found". Every POST checks the CSRF token.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from app import integrations, performance
from app.carts import dry_run, offer_pool, preview
from app.carts.sender import mail_context
from app.carts.stops import stop_cart
from app.core.addresses import looks_like_address, normalize_email
from app.core.offers import codes_from_csv
from app.core.rules import FIELDS, Rules, check_timezone, effective, validate
from app.core.status_labels import CART_STATUS_HINTS, status_label
from app.db.models import Activity, Cart, Store, Suppression
from app.errors import BadRequest, SettingsError, TemplateRefused
from app.integrations import Embedding
from app.mail import breaker
from app.mail import editor as template_editor
from app.mail.compose import TEMPLATE_NAMES
from app.privacy import erasure_log, suppressions
from app.privacy import requests as privacy
from app.sms import optouts as sms_optouts
from app.stores import from_address
from app.web import has_nul, row_id, runtime
from app.web.admin import carts as cart_list
from app.web.admin import checklist, dashboard, error_pages
from app.web.admin.auth import (
    check_csrf,
    csrf_token,
    current_session,
    mint_session,
    redeem_login_link,
    set_session_cookie,
    signed_in_store_id,
)
from app.web.admin.chart import bars
from app.web.admin.formats import StoreFormats
from platforms import fields

bp = Blueprint("admin", __name__, url_prefix="/admin")
error_pages.register(bp)

PERIODS = (7, 30, 90)


@bp.before_request
def _sign_in() -> ResponseReturnValue | None:
    if request.endpoint == "admin.login":
        return None
    g.store_id = signed_in_store_id(integrations.admin_sign_ins())
    g.session_token = current_session()
    if request.method == "POST":
        check_csrf()
        if has_nul(request.form):  # PostgreSQL refuses NUL in text; no form field needs one
            raise BadRequest("form fields must not contain NUL characters")
    with runtime().db.new_session() as session:
        store = session.get(Store, g.store_id)
        if store is None or not store.installed:
            abort(404)
        session.expunge(store)
    g.store = store
    return None


@bp.after_request
def _headers(response: Response) -> Response:
    store = g.get("store")
    if store is not None and response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = frame_ancestors(store)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def frame_ancestors(store: Store) -> str:
    """Only the store's own admin may frame these pages (its integration says where that is)."""
    embedding = _embedding(store)
    if embedding is not None:
        return embedding.frame_ancestors(store)
    origin = ""
    if store.domain.startswith("https://"):
        parts = urlsplit(store.domain)
        origin = f" https://{parts.netloc}"
    return f"frame-ancestors 'self'{origin};"


@bp.app_context_processor
def _template_helpers() -> dict[str, Any]:
    def admin_url(endpoint: str, **values: Any) -> str:
        return url_for(endpoint, **values)  # the session rides in its cookie, never the URL

    return {"admin_url": admin_url,
            "csrf": lambda: csrf_token(g.session_token) if g.get("session_token") else ""}


def _embedding(store: Store) -> Embedding | None:
    integration = integrations.find(store.platform)
    return integration.embedding if integration is not None else None


def _page(template: str, **context: Any) -> str:
    """Render an admin page, with the head partial of the store's embedding policy, if any."""
    embedding = _embedding(g.store)
    head, embed = None, {}
    if embedding is not None and embedding.head_template:
        head = embedding.head_template
        embed = embedding.head_context(runtime().config) if embedding.head_context else {}
    # Until the merchant sets a From address, reminders go out from the default.
    sending_from = None if g.store.from_email else from_address(None, runtime().config)
    fmt = StoreFormats(effective(g.store.settings)["locale"], g.store.timezone, runtime().clock())
    return render_template(template, store=g.store, embed_head=head, embed=embed,
                           default_from=sending_from, fmt=fmt, status_label=status_label,
                           status_hints=CART_STATUS_HINTS, **context)


@bp.get("/login/<token>")
def login(token: str) -> ResponseReturnValue:
    rt = runtime()
    store_id = redeem_login_link(rt, token, rt.clock())
    if store_id is None:
        return render_template("admin/link_expired.html"), 403
    # The nonce is spent; the session goes into its cookie and the address bar is clean.
    return set_session_cookie(redirect(url_for("admin.home")), mint_session(store_id))


# --- dashboard -------------------------------------------------------------------------------

@bp.get("/")
def home() -> ResponseReturnValue:
    rt = runtime()
    days = request.args.get("days", type=int) or 30
    days = days if days in PERIODS else 30
    period = dashboard.Period.last_days(days, rt.clock(), g.store.timezone)
    with rt.db.new_session() as session:
        numbers = dashboard.numbers(session, g.store_id, period, g.store.timezone)
        rules = Rules.for_store(g.store.settings, g.store.timezone)
        holdout = performance.holdout_report(session, g.store_id, period.start, period.end,
                                             rules.attribution_window)
        steps = performance.step_report(session, g.store_id, period.start, period.end,
                                        rules.attribution_window)
        # Issue 13: the mail circuit breaker, shown while the provider refuses our mail.
        mail_pauses = breaker.open_pauses(session, rt.mailer.name, g.store_id)
        setup = _setup_checklist(session)
    chart = bars(numbers.per_day, title=f"Reminders sent and carts recovered, last {days} days")
    return _page("admin/dashboard.html", numbers=numbers, days=days, periods=PERIODS,
                 chart=chart, settings=effective(g.store.settings),
                 last_export=(g.store.platform_state or {}).get("export"),
                 mail_pauses=mail_pauses, holdout=holdout, steps=steps, setup=setup)


def _setup_checklist(session: Any) -> list[checklist.Item]:
    """The onboarding items while any required one is open; [] once all are settled."""
    if checklist.is_finished(g.store):
        return []
    items = checklist.items(session, g.store, runtime().mailer)
    if all(item.settled for item in items):
        with runtime().db.transaction() as tx:
            checklist.mark_finished(tx, g.store_id, runtime().clock())
        return []
    return items


# --- dry run ---------------------------------------------------------------------------------

@bp.get("/dry-run")
def dry_run_page() -> ResponseReturnValue:
    """What the next 24 hours would send for this store, and why not; writes nothing."""
    rt = runtime()
    now = rt.clock()
    with rt.db.new_session() as session:
        entries = dry_run.plan(session, now, hours=24, store_id=g.store_id,
                               mail_backend=rt.mailer.name)
        session.rollback()
    return _page("admin/dry_run.html", entries=entries, describe=dry_run.describe, now=now)


# --- settings --------------------------------------------------------------------------------

STORE_FIELDS = ("timezone", "from_email")


@bp.route("/settings", methods=["GET", "POST"])
def settings() -> ResponseReturnValue:
    rt = runtime()
    errors: dict[str, str] = {}
    values = effective(g.store.settings)
    store_values = {"timezone": g.store.timezone, "from_email": g.store.from_email or ""}
    saved = False
    if request.method == "POST":
        # Only this page's fields: the Emails page's brand and copy are not on this form.
        fields = [f for f in FIELDS if f.page == "settings"]
        # A field the posted form did not carry keeps its value rather than
        # being blanked (an older open tab, a fieldset added since it loaded);
        # an unticked checkbox is simply absent, so bools read as off.
        submitted = {f.key: request.form[f.key] for f in fields
                     if f.kind != "bool" and f.key in request.form}
        submitted.update({f.key: request.form.get(f.key) == "on" for f in fields
                          if f.kind == "bool"})
        store_values = {k: request.form.get(k, "").strip() for k in STORE_FIELDS}
        try:
            cleaned = validate(submitted)
        except SettingsError as err:
            errors.update(err.errors)
            cleaned = {}
        try:
            check_timezone(store_values["timezone"])
        except ValueError as err:
            errors["timezone"] = str(err)
        if store_values["from_email"] and not looks_like_address(store_values["from_email"]):
            errors["from_email"] = "is not an email address"
        values = {**values, **submitted}
        if not errors:
            with rt.db.transaction() as session:
                store = session.get(Store, g.store_id)
                assert store is not None
                store.settings = {**(store.settings or {}), **cleaned}
                store.timezone = store_values["timezone"]
                store.from_email = store_values["from_email"] or None
            g.store.settings, g.store.timezone = store.settings, store.timezone
            values, saved = effective(store.settings), True
    status = 400 if errors else 200
    return _page("admin/settings.html", fields=FIELDS, values=values, errors=errors,
                 store_values=store_values, saved=saved, pool=_offer_pool(),
                 notice=request.args.get("notice")), status


def _offer_pool() -> offer_pool.PoolSize | None:
    """A custom storefront's own codes (Cartback cannot make codes on its shop)."""
    if g.store.platform != integrations.CUSTOM:
        return None
    with runtime().db.new_session() as session:
        return offer_pool.size(session, g.store_id)


@bp.post("/offer-codes")
def offer_codes_import() -> ResponseReturnValue:
    rt = runtime()
    if g.store.platform != integrations.CUSTOM:
        raise BadRequest("this store's platform makes its own offer codes")
    upload = request.files.get("file")
    text = upload.read(2_000_000).decode("utf-8-sig", errors="replace") if upload else ""
    codes, refused = codes_from_csv(text)
    if not codes:
        return redirect(url_for("admin.settings", notice="No codes found: put one code per "
                                "line, in the first column.", _anchor="offer-codes"))
    with rt.db.transaction() as session:
        added = offer_pool.add(session, g.store_id, codes, rt.clock())
    notice = (f"Added {added} codes; {len(codes) - added} were already there"
              + (f"; refused {len(refused)} (spaces or longer than 64 characters)."
                 if refused else "."))
    return redirect(url_for("admin.settings", notice=notice, _anchor="offer-codes"))


# --- templates -------------------------------------------------------------------------------

def _parts_from_form() -> dict[str, str]:
    return {part: request.form.get(part, "") for part in template_editor.PARTS}


@bp.route("/templates/<name>", methods=["GET", "POST"])
def templates(name: str) -> ResponseReturnValue:
    if name not in TEMPLATE_NAMES:
        abort(404)
    rt = runtime()
    problems: list[template_editor.Problem] = []
    saved = False
    action = request.form.get("action", "save") if request.method == "POST" else None
    with rt.db.transaction() as session:
        if action == "reset":
            template_editor.reset(session, g.store_id, name)
            saved = True
        if action in ("save", "preview"):
            parts = _parts_from_form()
        else:
            parts = template_editor.current_parts(session, g.store_id, name)
        if action == "save":
            try:
                template_editor.save(session, g.store_id, name, parts)
                saved = True
            except TemplateRefused as err:
                problems = err.problems
        if saved:
            parts = template_editor.current_parts(session, g.store_id, name)
    composed = None
    with rt.db.new_session() as session:
        fallback = _last_template_fallback(session, g.store_id)
        ctx = preview.preview_context(session, g.store, rt.config["PUBLIC_URL"])
        source = preview.describe(session, g.store_id)
    try:
        composed = template_editor.preview(name, parts, ctx)
    except TemplateRefused as err:
        # The no-JavaScript Preview button shows what is wrong and never saves.
        problems = err.problems if action == "preview" else problems
    return _page("admin/templates.html", name=name, names=TEMPLATE_NAMES, parts=parts,
                 labels=template_editor.PART_LABELS, problems=problems, saved=saved,
                 previewing=action == "preview", composed=composed, source=source,
                 fallback=fallback), 400 if problems else 200


def _last_template_fallback(session: Any, store_id: int) -> Activity | None:
    """The newest reminder sent with the default because the edited template failed."""
    return session.scalars(
        select(Activity).join(Cart, Cart.id == Activity.cart_id)
        .where(Cart.store_id == store_id, Activity.kind == "template_fallback")
        .order_by(Activity.id.desc()).limit(1)).first()


@bp.post("/templates/<name>/preview")
def template_preview(name: str) -> ResponseReturnValue:
    if name not in TEMPLATE_NAMES:
        abort(404)
    rt = runtime()
    cart_id = row_id(request.form.get("cart_id"))
    if request.form.get("cart_id") and cart_id is None:
        abort(404)
    with rt.db.new_session() as session:
        ctx = preview.preview_context(session, g.store, rt.config["PUBLIC_URL"])
        if cart_id:
            cart = cart_list.get_cart(session, g.store_id, cart_id)
            if cart is None:
                abort(404)
            ctx = mail_context(cart, cart.store, preview.preview_links(rt.config["PUBLIC_URL"]))
    try:
        composed = template_editor.preview(name, _parts_from_form(), ctx)
    except TemplateRefused as err:
        return jsonify({"ok": False, "problems": [str(p) for p in err.problems]}), 400
    return jsonify({"ok": True, "subject": composed.subject, "html": composed.html,
                    "text": composed.text})


# --- unsubscribe list ------------------------------------------------------------------------

@bp.get("/unsubscribes")
def unsubscribes() -> ResponseReturnValue:
    rt = runtime()
    needle = normalize_email(request.args.get("q"))
    with rt.db.new_session() as session:
        query = select(Suppression).where(Suppression.store_id == g.store_id)
        if needle:
            query = query.where(Suppression.email.contains(needle, autoescape=True))
        entries = session.scalars(query.order_by(Suppression.created_at.desc()).limit(500)).all()
    return _page("admin/unsubscribes.html", entries=entries, q=request.args.get("q", ""),
                 error=request.args.get("error"), notice=request.args.get("notice"))


@bp.post("/unsubscribes")
def unsubscribe_add() -> ResponseReturnValue:
    """An email address, or a phone number (then no texts either, here or at AWS)."""
    rt = runtime()
    typed = (request.form.get("email") or "").strip()
    number = None if looks_like_address(typed) else _phone(typed)
    who = number or (normalize_email(typed) if looks_like_address(typed) else None)
    if who is None:
        return redirect(url_for("admin.unsubscribes", error=NOT_A_SHOPPER))
    with rt.db.transaction() as session:
        suppressions.add(session, g.store_id, who, source="merchant", now=rt.clock())
    if number is not None:
        sms_optouts.share_with_provider(rt.texter, number)
    return redirect(url_for("admin.unsubscribes", notice=f"{who} will get no more reminders."))


def _confirmed() -> bool:
    return request.method == "POST" and request.form.get("confirm") == "yes"


@bp.route("/unsubscribes/<int:entry_id>/remove", methods=["GET", "POST"])
def unsubscribe_remove(entry_id: int) -> ResponseReturnValue:
    """Re-subscribe: a page says what will happen; only its confirmed POST removes."""
    rt = runtime()
    with rt.db.transaction() as session:
        entry = session.scalars(select(Suppression).where(
            Suppression.id == entry_id, Suppression.store_id == g.store_id)).first()
        if entry is None:
            abort(404)
        if not _confirmed():
            session.expunge(entry)
            return _page("admin/confirm_resubscribe.html", entry=entry)
        session.delete(entry)
    return redirect(url_for("admin.unsubscribes",
                            notice=f"{entry.email} can get reminders again."))


@bp.get("/unsubscribes.csv")
def unsubscribe_export() -> ResponseReturnValue:
    rt = runtime()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["email", "scope", "source", "created_at"])
    with rt.db.new_session() as session:
        for entry in session.scalars(select(Suppression).where(
                Suppression.store_id == g.store_id).order_by(Suppression.created_at)):
            writer.writerow([entry.email, entry.scope, entry.source,
                             entry.created_at.isoformat()])
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=unsubscribes.csv"})


@bp.post("/unsubscribes/import")
def unsubscribe_import() -> ResponseReturnValue:
    rt = runtime()
    upload = request.files.get("file")
    if upload is None:
        return redirect(url_for("admin.unsubscribes",
                                error="Choose a CSV file to import."))
    text = upload.read(2_000_000).decode("utf-8-sig", errors="replace")
    added, skipped = 0, 0
    with rt.db.transaction() as session:
        for row in csv.reader(io.StringIO(text)):
            email = (row[0] if row else "").strip()
            if not looks_like_address(email):
                skipped += 1  # the header row, blanks, anything that is not an address
                continue
            suppressions.add(session, g.store_id, email, source="import", now=rt.clock())
            added += 1
    return redirect(url_for("admin.unsubscribes",
                            notice=f"Imported {added} addresses; skipped {skipped} lines."))


# --- privacy requests --------------------------------------------------------------------------

NOT_A_SHOPPER = ("That is not an email address, or a phone number in international form "
                 "(+44 20 7946 0018).")


def _phone(text: str) -> str | None:
    """A number as carts and the unsubscribe list hold it (E.164), or None."""
    return fields.or_none(fields.phone, text) if text else None


def _form_shopper() -> tuple[str | None, str | None] | None:
    """The shopper a privacy form names: an address, a number, or both; None when
    what was typed is not one (or nothing was)."""
    email = (request.form.get("email") or "").strip()
    phone = (request.form.get("phone") or "").strip()
    number = _phone(phone)
    if (email and not looks_like_address(email)) or (phone and number is None) or not (
            email or phone):
        return None
    return normalize_email(email), number


@bp.post("/privacy/report")
def privacy_report() -> ResponseReturnValue:
    rt = runtime()
    shopper = _form_shopper()
    if shopper is None:
        return redirect(url_for("admin.privacy", error=NOT_A_SHOPPER))
    email, phone = shopper
    with rt.db.new_session() as session:
        report = privacy.report_shopper(session, g.store_id, email, phone=phone)
    return Response(json.dumps(report, indent=2), mimetype="application/json", headers={
        "Content-Disposition": "attachment; filename=shopper-data.json"})


@bp.post("/privacy/erase")
def privacy_erase() -> ResponseReturnValue:
    """Erase a shopper: first a page says what goes and what stays; then the confirmed POST."""
    rt = runtime()
    shopper = _form_shopper()
    if shopper is None:
        return redirect(url_for("admin.privacy", error=NOT_A_SHOPPER))
    email, phone = shopper
    who = " and ".join(w for w in (email, phone) if w)
    if not _confirmed():
        with rt.db.new_session() as session:
            held = privacy.report_shopper(session, g.store_id, email, phone=phone)
        return _page("admin/confirm_erase.html", email=email, phone=phone, who=who, held=held)
    with rt.db.transaction() as session:
        ids = privacy.erase_shopper(session, g.store_id, email, phone=phone)
        erasure_log.record(session, g.store_id, "erase", rt.clock(), {"carts": len(ids)})
    rt.timers.cancel_many(ids)
    return redirect(url_for("admin.privacy",
                            notice=f"Erased everything about {who} ({len(ids)} carts)."))


@bp.get("/privacy", endpoint="privacy")
def privacy_page() -> ResponseReturnValue:
    """The shopper data tools, the platform's data requests and every erasure, with their status."""
    rt = runtime()
    with rt.db.new_session() as session:
        erasures = erasure_log.erasures(session, g.store_id)
    return _page("admin/privacy.html", requests=privacy.data_requests(g.store, rt.clock()),
                 erasures=erasures, error=request.args.get("error"),
                 notice=request.args.get("notice"))


@bp.post("/privacy/requests/answered")
def privacy_answered() -> ResponseReturnValue:
    rt = runtime()
    with rt.db.transaction() as session:
        found = privacy.mark_answered(session, g.store_id, request.form.get("request", ""),
                                      rt.clock())
    if not found:
        abort(404)
    return redirect(url_for("admin.privacy", notice="Marked as answered."))


# --- carts -----------------------------------------------------------------------------------

@bp.get("/carts")
def carts() -> ResponseReturnValue:
    rt = runtime()
    status = request.args.get("status") or None
    with rt.db.new_session() as session:
        page = cart_list.list_carts(session, g.store_id, status=status,
                                    email=request.args.get("q"),
                                    page=min(request.args.get("page", type=int) or 1, 10**6))
    return _page("admin/carts.html", page=page, status=status, q=request.args.get("q", ""),
                 statuses=cart_list.STATUSES)


@bp.get("/carts/<int:cart_id>")
def cart(cart_id: int) -> ResponseReturnValue:
    rt = runtime()
    with rt.db.new_session() as session:
        found = cart_list.get_cart(session, g.store_id, cart_id)
        if found is None:
            abort(404)
        entries = cart_list.timeline(session, found)
    return _page("admin/cart.html", cart=found, entries=entries,
                 notice=request.args.get("notice"))


@bp.post("/carts/<int:cart_id>/stop")
def cart_stop(cart_id: int) -> ResponseReturnValue:
    rt = runtime()
    with rt.db.transaction() as session:
        found = cart_list.get_cart(session, g.store_id, cart_id)
        if found is None:
            abort(404)
        stop_cart(session, found.id, reason="merchant", why="by you",
                  now=rt.clock())
    rt.timers.set(cart_id, None)
    return redirect(url_for("admin.cart", cart_id=cart_id,
                            notice="This cart gets no more reminders."))
