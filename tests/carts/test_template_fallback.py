"""A merchant template that previews fine but fails on a real cart falls back
to the default for that move: the reminder still goes out, the timeline says
so, the admin shows a warning, and the rest of the run carries on."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.carts.wake import wake_due
from app.db.models import Activity, Send, TemplateOverride
from tests.factories import T0, cart_body


def test_failing_merchant_template_falls_back_to_the_default(admin, post_custom, runtime, store,
                                                             outbox):
    with runtime.db.transaction() as session:
        # Fine on the editor's two-item sample; fails on a one-item cart.
        session.add(TemplateOverride(store_id=store.id, part="first.txt",
                                     body="Also in your cart: {{ items[1].title }}\n"))
    post_custom(cart_body(cart_id="one-item"))
    post_custom(cart_body(cart_id="other", email="bob@example.com"))

    results = wake_due(runtime, T0 + timedelta(hours=4))
    assert sorted(r.result for r in results) == ["sent", "sent"]
    messages = outbox()
    assert len(messages) == 2
    assert all("Linen shirt" in m.get_body(("plain",)).get_content() for m in messages)
    with runtime.db.new_session() as session:
        assert sorted(s.template for s in session.scalars(select(Send))) == [
            "first:default", "first:default"]
        fallbacks = list(session.scalars(select(Activity).where(
            Activity.kind == "template_fallback")))
    assert len(fallbacks) == 2 and "no element 1" in fallbacks[0].detail["error"]

    page = admin(store).get("/admin/templates/first")
    assert page.status_code == 200
    assert 'id="template-fallback"' in page.get_data(as_text=True)
