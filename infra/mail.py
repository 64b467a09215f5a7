"""Outgoing e-mail: SMTP when configured, otherwise messages are written to a local outbox folder."""

from __future__ import annotations

import email.message
import pathlib
import smtplib

from infra.crypto import token


def send_mail(config, to: str, subject: str, body: str) -> None:
    msg = email.message.EmailMessage()
    msg["From"] = config.get("MAIL_FROM", "legitka@localhost")
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    host = config.get("SMTP_HOST")
    if host:
        with smtplib.SMTP(host, int(config.get("SMTP_PORT", 25)), timeout=10) as smtp:
            smtp.send_message(msg)
        return
    folder = pathlib.Path(config["MAIL_OUTBOX_PATH"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{token(8)}.eml").write_bytes(bytes(msg))
