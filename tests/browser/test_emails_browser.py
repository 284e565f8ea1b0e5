"""The Emails page in a real headless Chromium (offline): edit the subject with a
placeholder and watch the preview follow, reset to default, send a test."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.audit import NEEDS_CHROMIUM, shot
from tests.browser.seed import signed_in

pytestmark = NEEDS_CHROMIUM

DEFAULT_SUBJECT = "Hi {first_name}, your cart at {store_name} is waiting"


def preview_subject(page):
    return page.inner_text("#preview-subject")


def test_browser_emails_edit_preview_reset_and_send_a_test(served, page, outbox):
    base = signed_in(page, served)
    page.goto(f"{base}/admin/emails/first")
    assert page.input_value("#first_subject") == DEFAULT_SUBJECT
    assert "recent cart" in page.inner_text("#preview-source")  # one of the store's own

    page.fill("#first_subject", "{item_count} things wait at {store_name}")
    page.wait_for_function(
        "document.getElementById('preview-subject').textContent.endsWith('things wait at "
        "Maple & Co')")
    assert "{" not in preview_subject(page)
    page.fill("#first_subject", "Your {coupon} awaits")
    problems = page.locator("#preview-problems")
    problems.wait_for(state="visible")
    assert "{coupon} is not a placeholder we know" in problems.inner_text()

    page.fill("#first_subject", "{item_count} things wait at {store_name}")
    page.fill("#accent_color", "#1a3d8f")
    page.click("button:has-text('Save')")
    expect(page.locator("#email-notice")).to_contain_text("Saved. New reminders use it.")
    assert page.input_value("#first_subject") == "{item_count} things wait at {store_name}"
    shot(page, "emails")

    page.click("button:has-text('Reset first reminder to default')")
    expect(page.locator("#email-notice")).to_contain_text("back to ours")
    assert page.input_value("#first_subject") == DEFAULT_SUBJECT
    assert preview_subject(page).startswith("Hi ")
    assert page.input_value("#accent_color") == "#1a3d8f"  # the brand is not a step's words

    page.click("button:has-text('Send me a test')")
    expect(page.locator("#email-notice")).to_contain_text("Test sent to hello@maple.example")
    tests = [m for m in outbox() if m["Subject"].startswith("[Test] ")]
    assert len(tests) == 1 and tests[0]["To"] == "hello@maple.example"
    assert tests[0]["Subject"].startswith("[Test] Hi ")
