"""The default backend: each email becomes an .eml file in the outbox folder.

The files are real RFC 5322 messages (CRLF line ends), so any mail client can
open them and tests can parse them back.
"""

from __future__ import annotations

import os
import re
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from app.mail.message import wire_bytes


class OutboxMailer:
    name = "outbox"

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def send(self, message: EmailMessage, *, sender: str, recipient: str) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        message_id = str(message["Message-ID"])
        # Named by send time first, so a folder listing reads in order.
        sent = parsedate_to_datetime(str(message["Date"])).strftime("%Y%m%d-%H%M%S")
        stem = re.sub(r"[^A-Za-z0-9._-]", "", message_id.strip("<>").split("@")[0])
        path = self.directory / f"{sent}-{stem}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(wire_bytes(message))
        # Rename so a reader never sees half a file.
        tmp.replace(path)
        return message_id
