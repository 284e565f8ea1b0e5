"""The template editor in the admin: Preview never saves, hostile templates are
refused with a reason (never a 500), oversized parts are refused at save."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.db.models import TemplateOverride
from app.mail import editor

DEFAULTS = editor.default_parts("first")
HOSTILE = [
    "{% for i in range(10**9) %}x{% endfor %}",
    "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
    "{{ 'x' * 10**10 }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{% include 'first.txt' %}",
    "{{ 1/0 }}",
]


def overrides(runtime):
    with runtime.db.new_session() as session:
        return {o.part: o.body for o in session.scalars(select(TemplateOverride))}


def test_admin_no_javascript_preview_shows_the_draft_and_saves_nothing(admin, store, runtime):
    form = dict(DEFAULTS, **{"subject.txt": "Draft subject {{ store_name }}",
                             "action": "preview"})
    response = admin(store).post("/admin/templates/first", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Draft subject Maple &amp; Co" in page  # the store's own name, not a made-up one
    assert "nothing was saved" in page
    assert overrides(runtime) == {}


def test_admin_no_javascript_preview_of_a_broken_draft_names_the_problem(admin, store, runtime):
    form = dict(DEFAULTS, txt="{% if %}", action="preview")
    response = admin(store).post("/admin/templates/first", data=form)
    assert response.status_code == 400
    assert "Preview only, not saved" in response.get_data(as_text=True)
    assert overrides(runtime) == {}


@pytest.mark.parametrize("source", HOSTILE)
def test_admin_hostile_template_is_refused_at_save_and_preview_never_500(admin, store, runtime,
                                                                         source):
    signed_in = admin(store)
    saved = signed_in.post("/admin/templates/first", data=dict(DEFAULTS, txt=source))
    assert saved.status_code == 400
    assert "Not saved" in saved.get_data(as_text=True)
    preview = signed_in.post("/admin/templates/first/preview", data=dict(DEFAULTS, txt=source))
    assert preview.status_code == 400
    problems = preview.get_json()["problems"]
    assert problems and problems[0].startswith("Plain-text body")
    assert overrides(runtime) == {}


def test_admin_template_part_over_64_kib_is_refused_at_save(admin, store, runtime):
    big = "<p>{{ greeting }}</p>\n" * 3200  # ~70 KiB
    response = admin(store).post("/admin/templates/first", data=dict(DEFAULTS, html=big))
    assert response.status_code == 400
    assert "longer than 64 KiB" in response.get_data(as_text=True)
    assert overrides(runtime) == {}


JINJA_BITS = ["{{", "}}", "{%", "%}", "for i in range(99999)", "endfor", "if", "endif", "*",
              "**", "10**9", "'x'", "greeting", "items", "|center(", ")", "(", "__class__",
              "loop.", "include 'first.html'", "macro m()", "endmacro", "m()", " ", "\n",
              "é", "\x00", "1/0", "set a =", "[", "]"]


@settings(max_examples=30, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(source=st.lists(st.sampled_from(JINJA_BITS), max_size=14).map("".join),
       part=st.sampled_from(["subject.txt", "opening.txt", "txt", "html"]),
       endpoint=st.sampled_from(["/admin/templates/first", "/admin/templates/first/preview"]))
def test_admin_fuzzed_templates_are_saved_previewed_or_refused_never_500(admin, store, runtime,
                                                                         source, part,
                                                                         endpoint):
    before = overrides(runtime)
    response = admin(store).post(endpoint, data=dict(DEFAULTS, **{part: source}))
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert overrides(runtime) == before
