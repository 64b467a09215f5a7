"""Card applications: first card (free), replacement (free, old card returned) and duplicate
(the fee in force on the day it is made, docs/domain.md §25; payment checked by staff). The
director approves; every step is recorded on the row.

Functions flush and never commit; refusals are `OperationError` with a Polish message.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from infra import clock
from infra import inputs
from infra.db import db
from infra.db import utcnow
from tenants.pupils import fees
from tenants.pupils.models import DUPLICATE_REASONS
from tenants.pupils.models import REPLACEMENT_REASONS
from tenants.pupils.models import RETIRED_REASONS
from tenants.pupils.models import Application
from tenants.pupils.models import ApplicationKind
from tenants.pupils.models import ApplicationStatus
from tenants.pupils.models import Pupil
from tenants.pupils.models import PupilStatus
from tenants.tenancy.actors import Actor
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation
from tenants.tenancy.operations import record_change

# A duplicate asks for a current photo (docs/domain.md §21): uploaded at most this many months ago,
# the ID-photo rule the schools copy (docs/domain.md §11).
CURRENT_PHOTO_MONTHS = 6
ADDRESS_NEEDS_NO_CARD = ("Zmiana adresu nie wymaga nowej legitymacji — adres nie jest drukowany na karcie. "
                         "Popraw adres w danych ucznia (jest potrzebny do mLegitymacji).")
OPEN_STATUSES = (ApplicationStatus.SUBMITTED.value, ApplicationStatus.APPROVED.value, ApplicationStatus.ORDERED.value)


def fee_for(kind: str, on: dt.date) -> tuple[Decimal, str]:
    """(amount, legal basis) an application of `kind` made on day `on` is charged: a duplicate the
    fee in force that day (docs/domain.md §6, §25; `OperationError` when no period covers it), the
    others nothing."""
    if kind != ApplicationKind.DUPLICATE.value:
        return Decimal("0.00"), ""
    fee = fees.required(on)
    return fee.amount, fee.basis


def create_application(actor: Actor, pupil: Pupil, kind: str = ApplicationKind.FIRST.value, *,
                       reason_code: str = "", note: str = "", school: Organisation | None = None) -> Application:
    """Open an application. Only for a learner who gets a card at all (docs/domain.md §2: a
    pre-school child only when disabled and in the compulsory pre-school year); one open
    application per pupil; a first card only once; a replacement or duplicate needs its reason;
    a duplicate needs the school's fee account.

    docs/domain.md §21: a pupil holding a valid paper card gets the card as an exchange — its number
    goes on the application and it stays valid until the new card is handed over; a first e-card
    for a paper-card holder stays free. A change of address is refused (no card needed); a new
    disability certificate needs the pupil marked disabled first, so the card is on a -N template."""
    if kind not in {k.value for k in ApplicationKind}:
        raise OperationError("Nieznany rodzaj wniosku.")
    if pupil.status != PupilStatus.ACTIVE.value:
        raise OperationError("Wniosek można złożyć tylko dla ucznia, który uczy się w szkole.")
    if (refusal := pupil.card_choice.refusal):  # a pre-school child outside MEiN-I/5 (docs/domain.md §2)
        raise OperationError(refusal)
    if db.session.scalar(select(Application.id).where(
            Application.pupil_id == pupil.id, Application.status.in_(OPEN_STATUSES))) is not None:
        raise OperationError("Ten uczeń ma już otwarty wniosek o legitymację.")
    if kind == ApplicationKind.FIRST.value:
        reason_code = ""
        if db.session.scalar(select(Application.id).where(
                Application.pupil_id == pupil.id, Application.kind == ApplicationKind.FIRST.value,
                Application.status == ApplicationStatus.ISSUED.value)) is not None:
            raise OperationError("Ten uczeń otrzymał już pierwszą legitymację — złóż wniosek o wymianę lub duplikat.")
    elif kind == ApplicationKind.REPLACEMENT.value and reason_code in RETIRED_REASONS:
        raise OperationError(ADDRESS_NEEDS_NO_CARD)
    elif kind == ApplicationKind.REPLACEMENT.value and reason_code not in REPLACEMENT_REASONS:
        raise OperationError("Wybierz powód wymiany legitymacji.")
    elif reason_code == "new_certificate" and not pupil.disabled:
        # Deliberately not switched here: the disability is the pupil's data, changed on their
        # record (with its own change entry) by staff who saw the orzeczenie.
        raise OperationError("Nowe orzeczenie o niepełnosprawności: najpierw zaznacz niepełnosprawność w danych "
                             "ucznia — legitymacja zostanie wydana na wzorze z literą N.")
    elif kind == ApplicationKind.DUPLICATE.value:
        if reason_code not in DUPLICATE_REASONS:
            raise OperationError("Wybierz powód wydania duplikatu (utrata, kradzież, zniszczenie).")
        if school is not None and not school.bank_account:
            raise OperationError("Najpierw wpisz w ustawieniach szkoły numer rachunku, na który wpłaca się opłatę "
                                 "za duplikat.")
    # the fee in force today, kept with the application whatever the table says later (docs/domain.md §25)
    fee_amount, fee_basis = fee_for(kind, clock.today())
    application = Application(
        school_id=pupil.school_id, pupil_id=pupil.id, kind=kind, reason_code=reason_code,
        reason=" ".join(note.split())[:200], fee_amount=fee_amount, fee_basis=fee_basis, created_by_id=actor.user_id,
        paper_card_number=pupil.paper_card_number if pupil.holds_paper_card else "")
    db.session.add(application)
    db.session.flush()
    return application


def _editable(application: Application) -> None:
    if application.status != ApplicationStatus.SUBMITTED.value:
        raise OperationError("Ten wniosek został już rozpatrzony — nie można go zmienić.")


def record_old_card_return(actor: Actor, application: Application, returned_on: dt.date) -> None:
    """A replacement: the pupil handed the old card back to the school on `returned_on`. A paper
    card is not returned here but at the new card's handover (docs/domain.md §21)."""
    _editable(application)
    if application.kind != ApplicationKind.REPLACEMENT.value:
        raise OperationError("Zwrot starej legitymacji zapisuje się tylko przy wymianie.")
    if application.paper_card_number:
        raise OperationError("Legitymację papierową uczeń oddaje przy odbiorze e-legitymacji — do tego czasu "
                             "pozostaje ważna.")
    if returned_on > clock.today():
        raise OperationError("Data zwrotu nie może być z przyszłości.")
    application.old_card_returned_on = returned_on
    record_change(actor, "old_card_returned", school_id=application.school_id, pupil_id=application.pupil_id,
                  detail=f"application={application.id}")
    db.session.flush()


def photo_is_current(pupil: Pupil) -> bool:
    """The pupil's photo was uploaded at most CURRENT_PHOTO_MONTHS ago (Warsaw days)."""
    if pupil.photo_uploaded_at is None:
        return False
    today = clock.today()
    month = today.month - CURRENT_PHOTO_MONTHS
    year, month = (today.year, month) if month > 0 else (today.year - 1, month + 12)
    day = min(today.day, 28) if month == 2 else min(today.day, 30 if month in (4, 6, 9, 11) else 31)
    return clock.day_of(pupil.photo_uploaded_at) >= dt.date(year, month, day)


def parse_amount(value: str) -> Decimal:
    """"9", "9,00", "9.00 zł" -> Decimal("9.00"), more than 0 and less than a million; `OperationError`
    otherwise."""
    try:
        return inputs.amount(value, low=Decimal("0.01"), high=Decimal("999999.99"))  # the column's Numeric(8, 2)
    except inputs.Refused:
        raise OperationError("Podaj kwotę wpłaty, np. 9,00.") from None


def record_payment(actor: Actor, application: Application, *, amount: Decimal, paid_on: dt.date,
                   reference: str) -> None:
    """A duplicate's fee: the member of staff `actor` checked that `amount` reached the school's
    account on `paid_on` (transfer title or receipt number in `reference`)."""
    _editable(application)
    if application.kind != ApplicationKind.DUPLICATE.value:
        raise OperationError("Ten wniosek jest bezpłatny — opłatę wnosi się tylko za duplikat.")
    if amount != application.fee_amount:
        raise OperationError(f"Opłata za duplikat wynosi {inputs.format_amount(application.fee_amount)} zł"
                             " — wpisz kwotę, która wpłynęła.")
    if paid_on > clock.today():
        raise OperationError("Data wpłaty nie może być z przyszłości.")
    reference = " ".join((reference or "").split())
    if not reference:
        raise OperationError("Podaj tytuł przelewu albo numer dowodu wpłaty.")
    application.payment_amount = amount
    application.payment_date = paid_on
    application.payment_reference = reference[:100]
    application.payment_checked_by_id = actor.user_id
    application.payment_checked_at = utcnow()
    db.session.flush()


def decide_application(actor: Actor, application: Application, *, approve: bool, reason: str = "") -> None:
    """The director approves or rejects a submitted application. Approval needs a photo and a
    learner who still gets a card (docs/domain.md §2); a replacement needs the old card back (a
    paper card comes back at handover instead); a duplicate needs its fee recorded and a photo
    uploaded within CURRENT_PHOTO_MONTHS (docs/domain.md §21)."""
    _editable(application)
    if approve:
        pupil = application.pupil
        if not pupil.photo_key:
            raise OperationError("Nie można zatwierdzić wniosku: uczeń nie ma przyjętego zdjęcia.")
        if (refusal := application.pupil.card_choice.refusal):  # the data changed since (docs/domain.md §2)
            raise OperationError(f"Nie można zatwierdzić wniosku. {refusal}")
        if (application.kind == ApplicationKind.REPLACEMENT.value and application.old_card_returned_on is None
                and not application.paper_card_number):
            raise OperationError("Nie można zatwierdzić wymiany: stara legitymacja nie została zwrócona.")
        if application.kind == ApplicationKind.DUPLICATE.value and not application.payment_recorded:
            raise OperationError(f"Nie można zatwierdzić duplikatu: nie zapisano wpłaty "
                                 f"{inputs.format_amount(application.fee_amount)} zł.")
        if application.kind == ApplicationKind.DUPLICATE.value and not photo_is_current(pupil):
            raise OperationError(f"Nie można zatwierdzić duplikatu: potrzebne jest aktualne zdjęcie (przesłane w "
                                 f"ciągu ostatnich {CURRENT_PHOTO_MONTHS} miesięcy) — poproś o nowe.")
        application.status = ApplicationStatus.APPROVED.value
    else:
        if not reason.strip():
            raise OperationError("Podaj powód odrzucenia wniosku.")
        application.status = ApplicationStatus.REJECTED.value
        application.rejection_reason = reason.strip()[:300]
    application.decided_by_id = actor.user_id
    application.decided_at = utcnow()
    db.session.flush()
