"""A school's print orders: choosing a channel from quotes side by side, the draft and its
proof, submission, the printer's progress, delivery, reprints of rejected cards, and handover.

Routes belong to the `school` blueprint (endpoint names `school.order` etc.)."""

from __future__ import annotations

from flask import Response
from flask import abort
from flask import flash
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select

from infra import clock
from infra.db import db
from infra.storage import NotFound
from portal import actions
from portal.access import require_roles
from portal.converters import parse_id
from portal.jobs import start_after_commit
from portal.order_forms import item_results
from portal.school.common import DIRECTOR
from portal.school.common import current_school
from portal.school.common import parse_date
from portal.school.views import bp
from portal.security import current_actor
from printing import agreements
from printing import deletions
from printing import fulfilment
from printing import operations as printing_ops
from printing import queries as printing_queries
from printing import quotes
from printing.batch import BatchError
from printing.batch import preview_data
from printing.batch import print_file
from printing.models import Channel
from printing.models import DeletionReceipt
from printing.models import ItemOutcome
from printing.models import OrderStatus
from printing.models import PrintOrder
from printing.render import render_proof
from tenants.pupils import deadlines
from tenants.pupils import queries
from tenants.pupils.models import Application
from tenants.pupils.models import ApplicationStatus
from tenants.tenancy import operations
from tenants.tenancy.errors import OperationError


@bp.get("/zamowienia")
def orders():
    rows = printing_queries.school_orders()
    return render_template("school/orders.html", orders=rows, deletions=deletions.standings(rows))


def _channel_quotes(quantity: int) -> tuple[list[quotes.Quote], dict[str, bool]]:
    """Every channel's quote for `quantity` cards today, and whether an agreement allows it."""
    school = current_school()
    today = clock.today()
    offers = quotes.compare(school, max(quantity, 1), today)
    allowed = {q.key: q.printer_id is None or agreements.in_force(school.id, q.printer_id, today) is not None
               for q in offers}
    return offers, allowed


def _new_order_page(*, error: str | None = None, status: int = 200, selected: set[int] | None = None):
    ready = list(db.session.scalars(select(Application).where(
        Application.status == ApplicationStatus.APPROVED.value, Application.order_id.is_(None))
        .order_by(Application.created_at)))
    chosen = selected if selected is not None else {a.id for a in ready}
    offers, allowed = _channel_quotes(len(chosen) or len(ready))
    return render_template("school/order_new.html", applications=ready, offers=offers, allowed=allowed,
                           high_season=any(q.surcharge_total for q in offers), selected=chosen,
                           error=error), status


def _channel_choice(value: str | None) -> int | None:
    """The printer id a form picked, None for the school's own printer; OperationError if none."""
    if value == Channel.OWN.value:
        return None
    printer_id = parse_id(value)
    if printer_id is None:
        raise OperationError(_("Wybierz drukarnię."))
    return printer_id


@bp.route("/zamowienia/nowe", methods=["GET", "POST"])
def new_order():
    if request.method == "GET":
        return _new_order_page()
    ids = [i for i in (parse_id(v) for v in request.form.getlist("application_id")) if i is not None]
    return actions.run(
        lambda: printing_ops.create_order(current_actor(), current_school(),
                                          _channel_choice(request.form.get("channel")), ids),
        refused=lambda err: _new_order_page(error=str(err), status=422, selected=set(ids)),
        success=_("Przygotowano szkic zamówienia. Sprawdź go i złóż."),
        then=lambda order: url_for("school.order", order_id=order.id))


def _order_page(order, *, error: str | None = None, status: int = 200):
    applications = list(db.session.scalars(select(Application).where(Application.order_id == order.id)))
    cards = queries.cards_of_order(order.id)
    draft_quote = offers = allowed = None
    if order.status == OrderStatus.DRAFT.value:
        key = Channel.OWN.value if order.printer_id is None else str(order.printer_id)
        draft_quote = quotes.quote_for(current_school(), key, max(len(applications), 1), clock.today())
    if order.status == OrderStatus.REJECTED.value:
        offers, allowed = _channel_quotes(order.card_count)
    items = fulfilment.items(order)
    receipt = db.session.scalar(select(DeletionReceipt).where(DeletionReceipt.order_id == order.id,
                                                              DeletionReceipt.deleted_at.is_not(None)))
    return render_template(
        "school/order.html", order=order, applications=applications, cards=cards, draft_quote=draft_quote,
        items={i.card_id: i for i in items}, rejected=fulfilment.rejected_cards(order), offers=offers,
        allowed=allowed, receipt=receipt, can_download=fulfilment.can_download(order),
        deletion=deletions.standing(order),
        nothing_printed=bool(items) and all(i.outcome != ItemOutcome.PRINTED.value for i in items),
        notice_due=deadlines.notice_due(current_school(), order.delivered_at) if order.delivered_at else None,
        school=current_school(), today=clock.today(), error=error), status


@bp.get("/zamowienia/<int:order_id>")
def order(order_id: int):
    return _order_page(printing_queries.get_school_order(order_id))


def _order_action(order_id: int, action, success: str):
    """Run `action(actor, order)`, commit, start the jobs it wrote to the outbox (batch, e-mails),
    and come back to the order page (or to the order `action` returned when it made a new one).

    Once committed the action has happened: a queue that cannot take the jobs now (Redis down)
    only delays them until the workers' relay enqueues them (`portal.jobs`)."""
    order = printing_queries.get_school_order(order_id)

    def then(result):
        if not start_after_commit():
            flash(_("Zadania w tle ruszą za chwilę: paczka i powiadomienia e-mail zostaną przygotowane "
                    "automatycznie."), "info")
        return url_for("school.order", order_id=result.id if isinstance(result, PrintOrder) else order_id)

    return actions.run(lambda: action(current_actor(), order), success=success, then=then,
                       refused=lambda err: _order_page(printing_queries.get_school_order(order_id), error=str(err),
                                                       status=422))


@bp.get("/zamowienia/<int:order_id>/podglad.pdf")
def order_proof(order_id: int):
    """The proof to check before ordering: every card of the order on A4, marked WZÓR."""
    order = printing_queries.get_school_order(order_id)
    try:
        cards = preview_data(order, current_actor(), today=clock.today())  # a "proof_view" row per pupil
    except BatchError as err:
        return _order_page(order, error=str(err), status=422)
    pdf = render_proof(cards)
    actions.commit()
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="podglad-zamowienia-{order.id}.pdf"', "Cache-Control": "no-store"})


@bp.post("/zamowienia/<int:order_id>/zloz")
@require_roles(*DIRECTOR)
def submit_order(order_id: int):
    return _order_action(order_id, printing_ops.submit_order,
                         _("Zamówienie złożone. Numery legitymacji zostały nadane w ewidencji."))


@bp.post("/zamowienia/<int:order_id>/usun")
def discard_order(order_id: int):
    order = printing_queries.get_school_order(order_id)
    return actions.run(lambda: printing_ops.discard_draft(current_actor(), order),
                       refused=lambda err: _order_page(printing_queries.get_school_order(order_id), error=str(err),
                                                       status=422),
                       success=_("Szkic zamówienia usunięty."), then=url_for("school.orders"))


@bp.post("/zamowienia/<int:order_id>/ponow")
def retry_order(order_id: int):
    return _order_action(order_id, printing_ops.retry_order, _("Paczka zostanie przygotowana ponownie."))


@bp.post("/zamowienia/<int:order_id>/dostarczone")
def delivered(order_id: int):
    return _order_action(order_id, fulfilment.confirm_delivery,
                         _("Potwierdzono dostarczenie. Można wydawać legitymacje; rodzice dostaną wiadomość."))


@bp.post("/zamowienia/<int:order_id>/dodruk")
@require_roles(*DIRECTOR)
def reprint(order_id: int):
    return _order_action(order_id, fulfilment.reprint,
                         _("Złożono zamówienie dodruku odrzuconych kart pod tymi samymi numerami."))


@bp.post("/zamowienia/<int:order_id>/przekieruj")
@require_roles(*DIRECTOR)
def redirect_order(order_id: int):
    def action(actor, order):
        return fulfilment.redirect(actor, order, _channel_choice(request.form.get("channel")))
    return _order_action(order_id, action, _("Zamówienie przekazano do wybranej drukarni."))


# --- the school's own printer: the school downloads the print file and reports each card ----


def _own_order(order_id: int):
    order = printing_queries.get_school_order(order_id)
    if order.channel != Channel.OWN.value:
        abort(404)
    return order


@bp.post("/zamowienia/<int:order_id>/plik-do-druku.pdf")
def own_print_file(order_id: int):
    order = _own_order(order_id)
    if not fulfilment.can_download(order):
        abort(404)
    try:
        data = print_file(order)  # out of the encrypted package: storage keeps no plain PDF
    except NotFound:
        abort(404)
    fulfilment.mark_downloaded(current_actor(), order)
    for card in queries.cards_of_order(order.id):
        operations.log_access(current_actor(), "print_file_download", school_id=order.school_id,
                              pupil_id=card.pupil_id, order_id=order.id)
    actions.commit()
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="zamowienie-{order.id}-do-druku.pdf"',
        "Cache-Control": "no-store"})


@bp.post("/zamowienia/<int:order_id>/wyniki")
def own_results(order_id: int):
    submitted = item_results(request.form, fulfilment.items(_own_order(order_id)))
    return _order_action(order_id, lambda actor, o: fulfilment.record_results(actor, o, submitted),
                         _("Zapisano wyniki druku."))


@bp.post("/legitymacje/<int:card_id>/wydanie")
def hand_over(card_id: int):
    card = queries.get_card(card_id)
    when = parse_date(request.form.get("handed_over_on", ""))

    def hand():
        if when is None:
            raise OperationError(_("Podaj datę wydania w formacie dd.mm.rrrr."))
        paper = card.pupil.paper_card_number if card.pupil.holds_paper_card else ""
        replaced = printing_ops.record_handover(
            current_actor(), card, handed_over_on=when, collected_by=request.form.get("collected_by", ""),
            paper_card_returned=request.form.get("paper_card_returned") == "1")
        ended = [paper] if paper and not card.pupil.holds_paper_card else []
        return replaced, ended

    return actions.run(
        hand, refused=lambda err: _order_page(printing_queries.get_school_order(card.order_id), error=str(err),
                                              status=422),
        success=lambda result: [
            _("Zapisano wydanie legitymacji nr %(number)s.", number=card.label),
            *(_("Poprzednia legitymacja nr %(number)s została unieważniona.", number=old.label) for old in result[0]),
            *(_("Legitymacja papierowa nr %(number)s została unieważniona.", number=n) for n in result[1])],
        then=lambda _result: url_for("school.order", order_id=card.order_id))
