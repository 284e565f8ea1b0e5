"""The SMS settings on the settings page: shown with their help, saved, checked."""

from __future__ import annotations

import pytest

from app.core.rules import FIELDS
from app.db.models import Store
from tests.factories import POSTAL_ADDRESS


def form(**changes):
    values = {f.key: str(f.default) for f in FIELDS if f.kind != "bool"}
    values.update({"timezone": "UTC", "from_email": "hello@maple.example",
                   "postal_address": POSTAL_ADDRESS, **changes})
    return values


def test_settings_page_explains_each_sms_setting(admin, store):
    page = admin(store).get("/admin/settings").get_data(as_text=True)
    for key in ("first_channel", "second_channel", "sms_quiet_start", "sms_quiet_end",
                "sms_opening"):
        assert f'name="{key}"' in page
    assert "Reply STOP to opt out" in page and "sms if no email" in page
    assert "US law forbids texts before 8:00 and after 21:00" in page


def test_sms_settings_are_saved(admin, store, runtime):
    response = admin(store).post("/admin/settings", data=form(
        first_channel="email", second_channel="sms_if_no_email", sms_quiet_end="10:00",
        sms_opening="your linen is waiting."))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    with runtime.db.new_session() as session:
        saved = session.get(Store, store.id).settings
    assert (saved["second_channel"], saved["sms_quiet_end"], saved["sms_opening"]) == (
        "sms_if_no_email", "10:00", "your linen is waiting.")


@pytest.mark.parametrize("field, value, words", [
    ("first_channel", "pigeon", "choose one of"),
    ("sms_quiet_start", "8pm", "HH:MM"),
    ("sms_opening", "two\nlines", "one line"),
])
def test_bad_sms_settings_are_refused_by_field(admin, store, runtime, field, value, words):
    response = admin(store).post("/admin/settings", data=form(**{field: value}))
    assert response.status_code == 400 and words in response.get_data(as_text=True)
