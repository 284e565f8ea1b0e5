"""A store's edited email templates, as the overrides the renderer takes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import TemplateOverride


def overrides_for(session: Session, store_id: int) -> dict[str, str]:
    rows = session.execute(
        select(TemplateOverride.part, TemplateOverride.body)
        .where(TemplateOverride.store_id == store_id)
    )
    return {part: body for part, body in rows}
