"""E-mails of the print flow, sent by rq jobs that take ids only: the printer hears of a new
order (no personal data: school, number of cards, due date, a link to the portal); parents hear
that their child's card waits at the school (first name only)."""

from __future__ import annotations

from sqlalchemy import select

from infra import services
from infra.db import db
from printing.models import PrintOrder
from tenants.context import Tenant
from tenants.context import tenant_scope
from tenants.models import Card
from tenants.models import CardStatus
from tenants.models import Organisation
from tenants.models import Pupil
from tenants.tasks import public_url

FOOTER = "\n— Legitka. Wiadomość wysłana automatycznie, prosimy na nią nie odpowiadać.\n"


def order_arrived(order_id: int, school_id: int) -> str:
    """Tell the printer that a school has sent it an order."""
    with tenant_scope(Tenant(school_id=school_id)):
        order = db.session.scalar(select(PrintOrder).where(PrintOrder.id == order_id))
        if order is None or order.printer_id is None:
            return "skipped"
        printer = db.session.get(Organisation, order.printer_id)
        school = db.session.get(Organisation, school_id)
        if not printer.contact_email:
            return "no-address"
        due = order.due_date.strftime("%d.%m.%Y") if order.due_date else "—"
        kind = "Dodruk kart" if order.reprint_of_id else "Nowe zamówienie"
        subject = f"{kind} nr {order.id} — {school.name}"
        body = (f"Dzień dobry,\n\n{school.name} ({school.town}) złożyła zamówienie nr {order.id}: "
                f"{order.card_count} legitymacji, termin realizacji {due}.\n\n"
                f"Zamówienie czeka na przyjęcie w portalu: {public_url()}/drukarnia/zamowienia/{order.id}\n"
                "Dane uczniów pobiera się wyłącznie z portalu lub przez API, nigdy pocztą.\n")
        services.mailer().send(printer.contact_email, subject, body + FOOTER)
        return "sent"


def cards_ready(order_id: int, school_id: int) -> int:
    """Tell each parent with an e-mail address that the card arrived and can be collected;
    returns how many messages were sent."""
    with tenant_scope(Tenant(school_id=school_id)):
        school = db.session.get(Organisation, school_id)
        rows = db.session.execute(
            select(Card, Pupil).join(Pupil, (Pupil.id == Card.pupil_id) & (Pupil.school_id == Card.school_id))
            .where(Card.school_id == school_id, Card.order_id == order_id,
                   Card.status == CardStatus.DELIVERED.value, Pupil.parent_email != "")).all()
        sent = 0
        for card, pupil in rows:
            first_name = pupil.first_names.split()[0]
            body = (f"Dzień dobry,\n\nlegitymacja szkolna dla: {first_name} (nr {card.label}) jest gotowa do "
                    f"odbioru w sekretariacie: {school.name}, {school.address_line}.\n"
                    "Odbiór potwierdza się podpisem. Przy wymianie lub duplikacie prosimy zwrócić poprzednią "
                    "legitymację, jeśli jest.\n")
            services.mailer().send(pupil.parent_email, f"Legitymacja do odbioru — {school.name}", body + FOOTER)
            sent += 1
        return sent
