"""The Emails page: brand, per-step copy, a live preview on a real cart, and
"Send me a test". Routes on the admin blueprint; the advanced template-code
editor stays in app.web.admin.views.
"""

from __future__ import annotations

from typing import Any

from flask import abort, g, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue

from app.carts import merchant_test, preview
from app.core.brand import PLACEHOLDERS
from app.core.rules import FIELDS_BY_KEY, effective, validate
from app.errors import DeliveryError, SettingsError, TemplateFailed, TestSendRefused
from app.mail import brand, compose
from app.mail.templates import overrides_for
from app.web import runtime
from app.web.admin.views import _page, bp

STEP_LABELS = {"first": "First reminder", "second": "Second reminder", "saved": "Saved cart"}


def _keys(name: str) -> tuple[str, ...]:
    return brand.BRAND_KEYS + brand.copy_keys(name)


def _check(name: str) -> str:
    if name not in compose.TEMPLATE_NAMES:
        abort(404)
    return name


def _draft(name: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's brand and copy values, cleaned, and the errors naming each bad one."""
    submitted = {key: request.form.get(key, "") for key in _keys(name) if key in request.form}
    try:
        return validate(submitted), {}
    except SettingsError as err:
        good = {k: v for k, v in submitted.items() if k not in err.errors}
        return validate(good), err.errors


def _render(name: str, draft: dict[str, Any]) -> compose.Composed:
    """Step `name` as the store's own (or the sample) cart would get it, with `draft`."""
    rt = runtime()
    with rt.db.new_session() as session:
        ctx = preview.preview_context(session, g.store, rt.config["PUBLIC_URL"], draft)
        overrides = overrides_for(session, g.store_id)
    try:
        return compose.render(name, ctx, overrides=overrides)
    except TemplateFailed:
        # The store's edited template fails on this cart; show what the sender would send.
        return compose.render(name, ctx)


@bp.get("/emails")
def emails_home() -> ResponseReturnValue:
    return redirect(url_for("admin.emails", name="first"))


@bp.route("/emails/<name>", methods=["GET", "POST"])
def emails(name: str) -> ResponseReturnValue:
    _check(name)
    rt = runtime()
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    notice = request.args.get("notice")
    values = effective(g.store.settings)
    action = request.form.get("action") if request.method == "POST" else None
    if action == "reset":
        with rt.db.transaction() as session:
            brand.reset_copy(session, g.store_id, name)
        return redirect(url_for("admin.emails", name=name,
                                notice="Subject, preheader and message are back to ours."))
    if action == "save":
        cleaned, errors = _draft(name)
        if not errors:
            with rt.db.transaction() as session:
                brand.save(session, g.store_id, cleaned)
            return redirect(url_for("admin.emails", name=name, notice="Saved. New reminders "
                                    "use it."))
        values = _typed(name, values)
    return _emails_page(name, values, errors, cleaned, notice=notice), 400 if errors else 200


def _typed(name: str, values: dict[str, Any]) -> dict[str, Any]:
    """`values` with what the merchant typed on top, so a refused form keeps their words."""
    return {**values, **{k: request.form[k] for k in _keys(name) if k in request.form}}


def _emails_page(name: str, values: dict[str, Any], errors: dict[str, str],
                 draft: dict[str, Any], *, notice: str | None = None,
                 test_error: str | None = None) -> str:
    """The page; its preview shows the saved settings with `draft` (cleaned) on top."""
    rt = runtime()
    with rt.db.new_session() as session:
        source = preview.describe(session, g.store_id)
        test_to = merchant_test.merchant_address(g.store)
    try:
        composed = _render(name, draft)
    except TemplateFailed:
        composed = None
    return _page("admin/emails.html", name=name, names=compose.TEMPLATE_NAMES,
                 step_labels=STEP_LABELS,
                 brand_fields=[FIELDS_BY_KEY[k] for k in brand.BRAND_KEYS],
                 copy_fields=[FIELDS_BY_KEY[k] for k in brand.copy_keys(name)],
                 values=values, errors=errors, notice=notice, test_error=test_error,
                 composed=composed, source=source, test_to=test_to,
                 placeholders=PLACEHOLDERS, tests_per_hour=merchant_test.TESTS_PER_HOUR)


@bp.post("/emails/<name>/preview")
def emails_preview(name: str) -> ResponseReturnValue:
    """The draft on screen, rendered; nothing saved. Bad fields come back named."""
    _check(name)
    cleaned, errors = _draft(name)
    if errors:
        labels = {k: FIELDS_BY_KEY[k].label for k in errors}
        return jsonify({"ok": False, "errors": errors,
                        "problems": [f"{labels[k]}: {v}" for k, v in errors.items()]}), 400
    composed = _render(name, cleaned)
    return jsonify({"ok": True, "subject": composed.subject, "html": composed.html,
                    "text": composed.text})


@bp.post("/emails/<name>/test")
def emails_test(name: str) -> ResponseReturnValue:
    """Send the draft on screen (saved or not) to the merchant; never a reminder."""
    _check(name)
    rt = runtime()
    cleaned, errors = _draft(name)
    submitted = _typed(name, effective(g.store.settings))
    if errors:
        return _emails_page(name, submitted, errors, cleaned,
                            test_error="Fix the fields below first."), 400
    now = rt.clock()
    try:
        with rt.db.transaction() as session:
            to = merchant_test.reserve(session, g.store_id, now)
        with rt.db.new_session() as session:
            merchant_test.send(session, g.store, name, to, now, mailer=rt.mailer,
                               config=rt.config, overrides=overrides_for(session, g.store_id),
                               draft=cleaned)
    except TestSendRefused as err:
        return _emails_page(name, submitted, {}, cleaned,
                            test_error=err.public_message), err.status
    except TemplateFailed as err:
        return _emails_page(name, submitted, {}, cleaned, test_error=(
            f"Your edited template does not render on this cart: {err.reason}")), 400
    except DeliveryError as err:
        return _emails_page(name, submitted, {}, cleaned, test_error=(
            f"Your mail service did not take the test: {err.reason}")), 502
    with rt.db.transaction() as session:
        merchant_test.record_sent(session, g.store_id, now)
    return redirect(url_for("admin.emails", name=name,
                            notice=f"Test sent to {to}. Check your inbox (and spam folder)."))
