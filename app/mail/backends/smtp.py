"""SMTP delivery (STARTTLS or implicit TLS, optional login) with errors classified.

Connecting, greeting and logging in may fail for passing reasons (transient).
Once the message is on its way, only the server's reply code decides: a 4xx
is transient, a 5xx or refused recipient is permanent. A connection lost
mid-message is recorded as failed and NOT retried: the server may already
have accepted it, and a second reminder is worse than none.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from app.errors import DeliveryError


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
            raise DeliveryError(f"SMTP login refused ({err.smtp_code})", transient=False) from err
        except smtplib.SMTPNotSupportedError as err:
            raise DeliveryError("SMTP server does not offer STARTTLS", transient=False) from err
        except (OSError, smtplib.SMTPException) as err:
            raise DeliveryError(f"SMTP connect failed: {type(err).__name__}",
                                transient=True) from err

    def send(self, message: EmailMessage, *, sender: str, recipient: str) -> str:
        client = self._open()
        try:
            client.send_message(message, from_addr=sender, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as err:
            raise DeliveryError("recipient refused", transient=False) from err
        except smtplib.SMTPResponseException as err:
            transient = 400 <= err.smtp_code < 500
            raise DeliveryError(f"SMTP {err.smtp_code}", transient=transient) from err
        except (OSError, smtplib.SMTPException) as err:
            raise DeliveryError(f"connection lost while sending: {type(err).__name__}",
                                transient=False) from err
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()
        return str(message["Message-ID"])
