"""Outgoing e-mail, always through the outbox so that a mail server down loses nothing.

With ``VIATIC_SMTP_HOST`` set, messages go out by SMTP. Without it (development, ``make
run``) they are kept in the database and readable on the platform admin's mailbox page.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage as MimeMessage

from flask import current_app
from icalendar import Calendar

from core import outbox
from core.db import db, utcnow
from core.models import Commune, EmailMessage, OutboxMessage

OUTBOX_KIND = "core.email"


def uses_dev_mailbox() -> bool:
    return not current_app.config.get("SMTP_HOST")


def queue(
    recipient: str,
    subject: str,
    body: str,
    commune: Commune | None = None,
    calendar: str | None = None,
) -> EmailMessage:
    """Queue an e-mail; it is sent once the caller's transaction commits. ``calendar`` is
    an iCalendar scheduling message (an invitation ``METHOD:REQUEST``, a cancellation
    ``METHOD:CANCEL``...) that mail apps apply to the recipient's calendar (iMIP, RFC 6047)."""
    if calendar is not None:
        itip_method(calendar)  # a calendar without its METHOD is a mistake of the caller's
    message = EmailMessage(recipient=recipient, subject=subject, body=body, calendar=calendar)
    db.add(message)
    db.flush()
    outbox.put(OUTBOX_KIND, {"email_id": message.id}, key=f"email:{message.id}", commune=commune)
    return message


def itip_method(calendar: str) -> str:
    """The iTIP method of an iCalendar text (REQUEST, CANCEL...): RFC 6047 wants the MIME
    part's ``method`` parameter to say the same."""
    method = Calendar.from_ical(calendar).get("METHOD")
    if not method:
        raise ValueError("An e-mail's calendar must carry its METHOD (iMIP, RFC 6047)")
    return str(method).upper()


def deliver(message: OutboxMessage) -> None:
    """Outbox handler of ``core.email``."""
    email = db.get(EmailMessage, message.payload["email_id"])
    if email is None or email.sent_at is not None:
        return  # already sent: delivery is idempotent
    config = current_app.config
    if config.get("SMTP_HOST"):
        mime = MimeMessage()
        mime["From"] = config["MAIL_FROM"]
        mime["To"] = email.recipient
        mime["Subject"] = email.subject
        mime["Message-ID"] = f"<{message.idempotency_key.replace(':', '.')}@viatic>"
        mime.set_content(email.body)
        if email.calendar:
            mime.add_alternative(
                email.calendar, subtype="calendar", params={"method": itip_method(email.calendar)}
            )
        port = int(config.get("SMTP_PORT", 25))
        with smtplib.SMTP(config["SMTP_HOST"], port, timeout=15) as smtp:
            if config.get("SMTP_STARTTLS"):
                smtp.starttls()
            if config.get("SMTP_USER"):
                smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
            smtp.send_message(mime)
        # A real mail server has the message now: the body (which may hold a sign-in link)
        # need not stay in our database.
        email.body = ""
        email.calendar = None
    email.sent_at = utcnow()
