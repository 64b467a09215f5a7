"""Outgoing e-mail: SMTP when configured, otherwise files in the instance folder.

Messages are plain text built by the caller. Sending happens in a job (ids in, mail out), never
inside a request's transaction, so a slow or failing mail server cannot undo a decision.

Nothing calls `Mailer.send` but the mail outbox's job (`tenants.mail.outbox.send_mail`): an e-mail
the product promises is a row written in the transaction of the change that promises it, sent at
least once (a lost job or a dead worker is made good by the relay) and, in practice, once. `send`
raises on failure (refused connection, SMTP error); the outbox retries with a growing back-off.
"""

from __future__ import annotations

import email.message
import email.utils
import pathlib
import smtplib

from infra.crypto import token


class Mailer:
    def send(self, to: str, subject: str, body: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError


def build_message(sender: str, to: str, subject: str, body: str) -> email.message.EmailMessage:
    message = email.message.EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = email.utils.formatdate(localtime=False)
    message["Message-ID"] = email.utils.make_msgid(domain="legitka.local")
    message.set_content(body)
    return message


class SmtpMailer(Mailer):
    """Plain SMTP, STARTTLS when `starttls` is set (production relays); a 10 s timeout."""

    def __init__(self, host: str, port: int, sender: str, *, starttls: bool = False,
                 username: str | None = None, password: str | None = None) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.starttls, self.username, self.password = starttls, username, password

    def send(self, to: str, subject: str, body: str) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(build_message(self.sender, to, subject, body))


class FileMailer(Mailer):
    """The embedded default: each message becomes an .eml file to open in a mail client."""

    def __init__(self, directory: str, sender: str) -> None:
        self.directory = pathlib.Path(directory)
        self.sender = sender

    def send(self, to: str, subject: str, body: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{token(8)}.eml"
        path.write_bytes(bytes(build_message(self.sender, to, subject, body)))


def build_mailer(config) -> Mailer:
    sender = config.get("MAIL_FROM") or "Legitka <legitka@localhost>"
    if config.get("SMTP_HOST"):
        return SmtpMailer(config["SMTP_HOST"], int(config.get("SMTP_PORT") or 25), sender,
                          starttls=bool(config.get("SMTP_STARTTLS")), username=config.get("SMTP_USERNAME"),
                          password=config.get("SMTP_PASSWORD"))
    return FileMailer(config["MAIL_DIRECTORY"], sender)
