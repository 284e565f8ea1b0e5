"""Editing a store's email templates: load, check, preview, save, reset. Flask-free.

A template is saved only if every part renders against a sample cart in the
same sandbox the sender uses; a refusal names the part, the line and the
reason, and the last good template stays in use.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.db.models import TemplateOverride
from app.errors import TemplateFailed, TemplateRefused
from app.mail.compose import (
    EMAIL_TEMPLATES,
    PARTS,
    TEMPLATE_NAMES,
    TEMPLATE_SIZE_LIMIT,
    Composed,
    MailContext,
    render,
)

PART_LABELS = {"subject.txt": "Subject", "opening.txt": "Opening line",
               "txt": "Plain-text body", "html": "HTML body"}

SAMPLE_IMAGE = ("data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' width='56' "
                "height='56'><rect width='56' height='56' rx='8' fill='%23dfe3e8'/></svg>")

SAMPLE = MailContext(
    store_name="Your store", postal_address="1 Example Street, Springfield",
    first_name="Ada",
    items=[{"title": "Linen shirt", "quantity": 2, "unit_price": "49.00",
            # An inline picture: the preview must not fetch anything from the internet.
            "image_url": SAMPLE_IMAGE},
           {"title": "Canvas tote", "quantity": 1, "unit_price": "24.50"}],
    total=Decimal("122.50"), currency="EUR", locale="en-GB",
    return_url="https://cartback.example/r/sample",
    unsubscribe_url="https://cartback.example/u/sample",
    saved_link=False,
)


@dataclass(frozen=True)
class Problem:
    part: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = PART_LABELS.get(self.part, self.part)
        if self.line:
            where = f"{where}, line {self.line}"
        return f"{where}: {self.reason}"



def check_name(name: str) -> str:
    if name not in TEMPLATE_NAMES:
        raise KeyError(name)
    return name


def default_parts(name: str) -> dict[str, str]:
    return {part: (EMAIL_TEMPLATES / f"{name}.{part}").read_text() for part in PARTS}


def current_parts(session: Session, store_id: int, name: str) -> dict[str, str]:
    parts = default_parts(check_name(name))
    rows = session.scalars(select(TemplateOverride).where(
        TemplateOverride.store_id == store_id,
        TemplateOverride.part.in_([f"{name}.{p}" for p in PARTS])))
    for row in rows:
        parts[row.part[len(name) + 1:]] = row.body
    return parts


def preview(name: str, parts: dict[str, str], ctx: MailContext = SAMPLE) -> Composed:
    """Render `parts` as template set `name` within the render budget; raises TemplateRefused."""
    overrides = {f"{check_name(name)}.{part}": text for part, text in parts.items()}
    problems = [Problem(part, None, f"is longer than {TEMPLATE_SIZE_LIMIT // 1024} KiB")
                for part in PARTS if len(parts[part]) > TEMPLATE_SIZE_LIMIT]
    if problems:
        raise TemplateRefused(problems)
    for part in PARTS:
        # Render with only this part overridden too, so a refusal names it.
        try:
            render(name, ctx, overrides={f"{name}.{part}": overrides[f"{name}.{part}"]})
        except TemplateFailed as err:
            problems.append(Problem(err.part or part, err.line, err.reason))
    if problems:
        raise TemplateRefused(problems)
    try:
        return render(name, ctx, overrides=overrides)
    except TemplateFailed as err:  # the parts render alone but not together
        raise TemplateRefused([Problem(err.part or "html", err.line, err.reason)]) from err


def save(session: Session, store_id: int, name: str, parts: dict[str, str]) -> None:
    preview(name, parts)  # refuses before anything changes
    defaults = default_parts(name)
    for part in PARTS:
        key = f"{name}.{part}"
        existing = session.scalars(select(TemplateOverride).where(
            TemplateOverride.store_id == store_id, TemplateOverride.part == key)).first()
        text = parts[part].replace("\r\n", "\n")
        if text == defaults[part]:
            if existing is not None:
                session.delete(existing)
        elif existing is None:
            session.add(TemplateOverride(store_id=store_id, part=key, body=text))
        else:
            existing.body = text


def reset(session: Session, store_id: int, name: str) -> None:
    session.execute(delete(TemplateOverride).where(
        TemplateOverride.store_id == store_id,
        TemplateOverride.part.in_([f"{check_name(name)}.{p}" for p in PARTS])))
