"""The development backend: each text becomes a JSON file in the SMS outbox folder.

What a phone would show (`body`), to whom, and what the provider would bill
(encoding and parts), so a developer sees the text and its cost without an
AWS account, and tests read it back.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from app.sms.backends import TextMessage
from app.sms.segments import count


class OutboxTexter:
    name = "outbox"

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def send(self, message: TextMessage) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        message_id = f"outbox-{uuid.uuid4().hex[:16]}"
        segments = count(message.body)
        record = {"message_id": message_id, "to": message.to, "body": message.body,
                  "encoding": segments.encoding, "parts": segments.parts,
                  "context": message.context, "created_at": message.created_at.isoformat()}
        # Named by send time first, so a folder listing reads in order.
        path = self.directory / f"{message.created_at:%Y%m%d-%H%M%S}-{message_id}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(path)  # a reader never sees half a file
        return message_id


def read_outbox(directory: str | os.PathLike[str]) -> list[dict[str, object]]:
    """Every text in the folder, oldest first."""
    folder = Path(directory)
    if not folder.is_dir():
        return []
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]
