"""A store's email brand and per-step copy: read from its settings, saved, reset.

The fields themselves (labels, defaults, checks) are declared once in
app.core.rules BRAND_FIELDS; this module turns them into what the renderer
reads and writes a merchant's changes back into `Store.settings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from app.core.rules import BRAND_FIELDS, effective, validate
from app.db.models import Store

COPY_PARTS = ("subject", "preheader", "body")
STEP_NAMES = ("first", "second", "saved")
BRAND_KEYS = tuple(f.key for f in BRAND_FIELDS if not f.key.startswith(STEP_NAMES))


def copy_keys(step: str) -> tuple[str, ...]:
    return tuple(f"{step}_{part}" for part in COPY_PARTS)


@dataclass(frozen=True)
class Brand:
    """The look and words every reminder of a store shares, as the renderer reads them."""

    logo_url: str
    logo_background: str
    logo_width: int
    logo_height: int
    accent_color: str
    sign_off: str
    language: str
    # "first_subject", "second_body", ...: copy with {placeholders} not yet filled.
    copy: Mapping[str, str] = field(default_factory=dict)


def brand_for(settings: Mapping[str, Any] | None) -> Brand:
    values = effective(settings)
    return Brand(
        logo_url=str(values["logo_url"]), logo_background=str(values["logo_background"]),
        logo_width=int(values["logo_width"]),
        logo_height=int(values["logo_height"]), accent_color=str(values["accent_color"]),
        sign_off=str(values["sign_off"]), language=str(values["email_language"]),
        copy={key: str(values[key]) for step in STEP_NAMES for key in copy_keys(step)},
    )


DEFAULT_BRAND = brand_for({})


def save(session: Session, store_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and store brand/copy `changes`; raises SettingsError naming each bad field.

    A value equal to the default is dropped rather than stored, so a later change to
    our defaults reaches every store that never changed it.
    """
    cleaned = validate(changes)
    defaults = effective({})
    store = session.get(Store, store_id, with_for_update=True)
    assert store is not None
    kept = {k: v for k, v in (store.settings or {}).items() if k not in cleaned}
    kept.update({k: v for k, v in cleaned.items() if v != defaults[k]})
    store.settings = kept
    return kept


def reset_copy(session: Session, store_id: int, step: str) -> None:
    """Back to our subject, preheader and message for one step."""
    store = session.get(Store, store_id, with_for_update=True)
    assert store is not None
    store.settings = {k: v for k, v in (store.settings or {}).items()
                      if k not in copy_keys(step)}
