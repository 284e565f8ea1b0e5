"""SMTP delivery (STARTTLS or implicit TLS, optional login) with errors classified.

Connecting, greeting and logging in may fail for passing reasons (transient).
A refused login is a broken setup for every store: it pauses sending (the
mail circuit breaker) instead of failing each reminder. The envelope (MAIL
FROM, RCPT TO) is sent step by step, so a connection lost there is
transient (nothing was handed over); a connection lost once DATA went out
is ambiguous: the server may already have accepted the message, so it is
recorded `unknown` and NOT retried (a second reminder is worse than none).
Reply codes decide the rest: a 4xx is transient, a 5xx or refused recipient
permanent, and replies that say the account's quota is used up or its
sending is paused (as SES's SMTP interface and Gmail word them) pause sending.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from app.errors import DeliveryError, MailPaused
from app.mail.message import wire_bytes

QUOTA_PHRASES = ("daily message quota exceeded", "daily user sending quota exceeded",
                 "sending quota exceeded")
PAUSED_PHRASES = ("sending paused", "sending is paused", "account is suspended",
                  "sending suspended")


def _reply_error(code: int, text: bytes | str) -> DeliveryError:
    said = (text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)).lower()
    if any(phrase in said for phrase in QUOTA_PHRASES):
        return MailPaused(f"SMTP {code}: sending quota used up", kind="quota")
    if any(phrase in said for phrase in PAUSED_PHRASES):
        return MailPaused(f"SMTP {code}: sending paused by the server", kind="paused")
    return DeliveryError(f"SMTP {code}", transient=400 <= code < 500)


class SmtpMailer:
    name = "smtp"

    def __init__(self, host: str, port: int = 587, *, user: str | None = None,
                 password: str | None = None, starttls: bool = True, use_ssl: bool = False,
                 timeout: float = 10.0, ssl_context: ssl.SSLContext | None = None) -> None:
        self.host, self.port = host, port
        self.user, self.password = user, password
        self.starttls, self.use_ssl = starttls, use_ssl
        self.timeout = timeout
        self.ssl_context = ssl_context or ssl.create_default_context()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmtpMailer:
        host = config.get("SMTP_HOST")
        if not host:
            from app.errors import ConfigError

            raise ConfigError("CARTBACK_SMTP_HOST is required when CARTBACK_MAIL_BACKEND=smtp.")
        return cls(host, config["SMTP_PORT"],
                   user=config.get("SMTP_USER"), password=config.get("SMTP_PASSWORD"),
                   starttls=config["SMTP_STARTTLS"], use_ssl=config["SMTP_SSL"])

    def _connect(self) -> smtplib.SMTP:
        client: smtplib.SMTP | None = None
        try:
            if self.use_ssl:
                client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                          context=self.ssl_context)
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.starttls:
                    client.starttls(context=self.ssl_context)
            if self.user:
                client.login(self.user, self.password or "")
            return client
        except BaseException:
            if client is not None:
                client.close()
            raise

    def _open(self) -> smtplib.SMTP:
        try:
            return self._connect()
        except smtplib.SMTPAuthenticationError as err:
            raise MailPaused(f"SMTP login refused ({err.smtp_code})", kind="config") from err
        except smtplib.SMTPNotSupportedError as err:
            raise DeliveryError("SMTP server does not offer STARTTLS", transient=False) from err
        except (OSError, smtplib.SMTPException) as err:
            raise DeliveryError(f"SMTP connect failed: {type(err).__name__}",
                                transient=True) from err

    def send(self, message: EmailMessage, *, sender: str, recipient: str) -> str:
        raw = wire_bytes(message)
        client = self._open()
        handed_over = False
        try:
            client.ehlo_or_helo_if_needed()
            code, reply = client.mail(sender)
            if code != 250:
                raise _reply_error(code, reply)
            code, reply = client.rcpt(recipient)
            if code not in (250, 251):
                if 500 <= code < 600 and not isinstance(_reply_error(code, reply), MailPaused):
                    raise DeliveryError("recipient refused", transient=False)
                raise _reply_error(code, reply)
            handed_over = True  # from here on the server may keep what it got
            code, reply = client.data(raw)
            if code != 250:
                raise _reply_error(code, reply)
        except smtplib.SMTPResponseException as err:
            raise _reply_error(err.smtp_code, err.smtp_error) from err
        except (OSError, smtplib.SMTPException) as err:
            if handed_over:
                raise DeliveryError(f"connection lost after DATA: {type(err).__name__}",
                                    transient=False, ambiguous=True) from err
            raise DeliveryError(f"connection lost before the message: {type(err).__name__}",
                                transient=True) from err
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()
        return str(message["Message-ID"])
