"""The parent's e-mail about a photo decision, promised through the mail outbox (`tenants.mail.outbox`).

`promise_decision` runs in the transaction that accepts or rejects the photo; the composer runs
in the send job as the photo's school. A rejection carries a fresh upload link, issued in the
send job's transaction and committed with the message marked sent (the link exists only in the
e-mail: its token is not stored)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from infra import inputs
from infra.db import db
from tenants.mail import outbox as mail_outbox
from tenants.mail.models import MailMessage
from tenants.photos import operations as photo_intake
from tenants.photos.models import PhotoSubmission
from tenants.photos.models import SubmissionStatus
from tenants.roster.tasks import public_url
from tenants.tenancy.models import Organisation

PHOTO_DECISION = "photo_decision"
FOOTER = "\n— Legitka, w imieniu szkoły. Prosimy nie odpowiadać na tę wiadomość.\n"


def promise_decision(submission: PhotoSubmission) -> None:
    """Tell the parent (the address given with the photo, else the pupil's) about the decision."""
    if submission.notify_email or submission.pupil.parent_email:
        mail_outbox.promise(PHOTO_DECISION, submission.id)


@mail_outbox.composer(PHOTO_DECISION)
def photo_decision(message: MailMessage) -> mail_outbox.Mail | None:
    """The photo was accepted, or why it was rejected, with a new link."""
    submission = db.session.scalar(select(PhotoSubmission).where(PhotoSubmission.id == message.subject_id))
    if submission is None or submission.status not in (SubmissionStatus.ACCEPTED.value,
                                                        SubmissionStatus.REJECTED.value):
        return None
    pupil = submission.pupil
    to = submission.notify_email or pupil.parent_email
    if not to:
        return None
    school = db.session.get(Organisation, message.school_id)
    first_name = pupil.first_names.split()[0]
    if submission.status == SubmissionStatus.ACCEPTED.value:
        subject = f"Zdjęcie do legitymacji przyjęte — {school.name}"
        body = (f"Dzień dobry,\n\nzdjęcie do legitymacji szkolnej dla: {first_name} zostało przyjęte przez "
                f"sekretariat szkoły {school.name}.\nSzkoła poinformuje, gdy legitymacja będzie do odbioru.\n")
    else:
        days = int(current_app.config.get("PHOTO_LINK_DAYS") or 14)
        link = photo_intake.issue_link(None, pupil, days=days)
        subject = f"Prosimy o nowe zdjęcie do legitymacji — {school.name}"
        body = (f"Dzień dobry,\n\nsekretariat szkoły {school.name} nie mógł przyjąć zdjęcia do legitymacji "
                f"dla: {first_name}.\nPowód: {submission.rejection_reason}\n\nNowe zdjęcie można wysłać przez "
                f"ten link (ważny {inputs.counted(days, 'dzień', 'dni', 'dni')}, "
                f"działa na telefonie):\n{public_url()}/zdjecie/{link}\n")
    return mail_outbox.Mail(to, subject, body + FOOTER)
