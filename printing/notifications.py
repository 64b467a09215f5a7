"""E-mails of the print flow, promised through the mail outbox (`tenants.mail.outbox`): the printer
hears of a new order (no personal data: school, number of cards, due date, a link to the portal);
parents hear that their child's card waits at the school (first name only).

`promise_*` run in the transaction of the change (order placed, reprint, redirect, delivery);
the composers run in the send job, as the order's school, and return None when the news went
stale (the order moved to another printer or was delivered; the card was handed over)."""

from __future__ import annotations

from sqlalchemy import select

from infra import inputs
from infra.db import db
from printing.models import OrderStatus
from printing.models import PrintOrder
from tenants.mail import outbox as mail_outbox
from tenants.mail.models import MailMessage
from tenants.registry.models import Card
from tenants.registry.models import CardStatus
from tenants.roster.tasks import public_url
from tenants.tenancy.models import Organisation

FOOTER = "\n— Legitka. Wiadomość wysłana automatycznie, prosimy na nią nie odpowiadać.\n"
ORDER_ARRIVED = "order_arrived"
CARDS_READY = "cards_ready"


def promise_order_arrived(order: PrintOrder) -> None:
    """The order now waits at its printer (placed, reprinted or redirected): tell the printer."""
    if order.printer_id is not None:
        mail_outbox.promise(ORDER_ARRIVED, order.id, recipient_id=order.printer_id)


def promise_cards_ready(cards: list[Card]) -> None:
    """One message per delivered card whose pupil has a parent's address."""
    for card in cards:
        if card.pupil.parent_email:
            mail_outbox.promise(CARDS_READY, card.id)


@mail_outbox.composer(ORDER_ARRIVED)
def order_arrived(message: MailMessage) -> mail_outbox.Mail | None:
    """Tell the printer that a school has sent it an order."""
    order = db.session.scalar(select(PrintOrder).where(PrintOrder.id == message.subject_id))
    if order is None or order.printer_id is None or order.printer_id != message.recipient_id \
            or order.status == OrderStatus.DELIVERED.value:
        return None
    printer = db.session.get(Organisation, order.printer_id)
    school = db.session.get(Organisation, message.school_id)
    if not printer.contact_email:
        return None
    due = inputs.format_day(order.due_date) if order.due_date else "—"
    kind = "Dodruk kart" if order.reprint_of_id else "Nowe zamówienie"
    body = (f"Dzień dobry,\n\n{school.name} ({school.town}) złożyła zamówienie nr {order.id}: "
            f"{order.card_count} legitymacji, termin realizacji {due}.\n\n"
            f"Zamówienie czeka na przyjęcie w portalu: {public_url()}/drukarnia/zamowienia/{order.id}\n"
            "Dane uczniów pobiera się wyłącznie z portalu lub przez API, nigdy pocztą.\n")
    return mail_outbox.Mail(printer.contact_email, f"{kind} nr {order.id} — {school.name}", body + FOOTER)


@mail_outbox.composer(CARDS_READY)
def cards_ready(message: MailMessage) -> mail_outbox.Mail | None:
    """Tell the parent that the card arrived and can be collected."""
    card = db.session.scalar(select(Card).where(Card.id == message.subject_id))
    if card is None or card.status != CardStatus.DELIVERED.value or not card.pupil.parent_email:
        return None
    school = db.session.get(Organisation, message.school_id)
    first_name = card.pupil.first_names.split()[0]
    body = (f"Dzień dobry,\n\nlegitymacja szkolna dla: {first_name} (nr {card.label}) jest gotowa do "
            f"odbioru w sekretariacie: {school.name}, {school.address_line}.\n"
            "Odbiór potwierdza się podpisem. Przy wymianie lub duplikacie prosimy zwrócić poprzednią "
            "legitymację, jeśli jest.\n")
    return mail_outbox.Mail(card.pupil.parent_email, f"Legitymacja do odbioru — {school.name}", body + FOOTER)
