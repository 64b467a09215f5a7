"""The registry of issued cards: the list, one card's life, the book (PDF/XLSX), handover lists."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select

from infra import clock
from infra import inputs
from infra.db import db
from portal import actions
from portal.access import guard_blueprint
from portal.school.common import STAFF
from portal.school.common import current_school
from portal.school.common import parse_date
from portal.security import current_actor
from printing import queries as printing_queries
from tenants.documents.collection_notice import ClassNotice
from tenants.documents.collection_notice import render_notice
from tenants.documents.registry_book import handover_pdf
from tenants.documents.registry_book import registry_pdf
from tenants.documents.registry_book import registry_xlsx
from tenants.pupils import queries
from tenants.registry import holograms
from tenants.registry import import_file
from tenants.registry import imports as registry_imports
from tenants.registry import operations as registry
from tenants.registry import queries as registry_queries
from tenants.registry.models import INVALIDATION_REASONS
from tenants.registry.models import Card
from tenants.registry.models import Hologram
from tenants.roster.table import MAX_BYTES as import_file_limit_bytes
from tenants.tenancy.errors import OperationError

bp = Blueprint("registry", __name__, url_prefix="/szkola/ewidencja")
guard_blueprint(bp, *STAFF)  # every route; narrower ones add require_roles


@bp.get("")
def index():
    f = registry_queries.RegistryFilter.from_args(request.args)
    cards = registry_queries.entries(f)
    return render_template("school/registry.html", cards=cards, f=f, years=registry_queries.issue_years(),
                           classes=queries.class_names(),
                           holograms=registry_queries.holograms_by_card([c.id for c in cards]),
                           status_text=registry_queries.status_text)


def _export(kind: str):
    f = registry_queries.RegistryFilter.from_args(request.args)
    cards = registry_queries.entries(f)
    school = current_school()
    # The book holds full PESELs: every export is logged per pupil (by the reveal).
    rows = registry_queries.book_rows(current_actor(), cards, f"registry_{kind}")
    actions.commit()
    if kind == "pdf":
        data = registry_pdf(school.name, school.address_line, f.scope, rows, clock.today())
        return Response(data, mimetype="application/pdf", headers={
            "Content-Disposition": 'inline; filename="ewidencja-legitymacji.pdf"', "Cache-Control": "no-store"})
    data = registry_xlsx(school.name, f.scope, rows)
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", headers={
        "Content-Disposition": 'attachment; filename="ewidencja-legitymacji.xlsx"', "Cache-Control": "no-store"})


@bp.get("/ksiega.pdf")
def book_pdf():
    return _export("pdf")


@bp.get("/ewidencja.xlsx")
def book_xlsx():
    return _export("xlsx")


@bp.get("/zamowienie/<int:order_id>/lista-odbioru.pdf")
def handover_list(order_id: int):
    order = printing_queries.get_school_order(order_id)
    cards = queries.cards_of_order(order.id)
    rows = [(c.label, f"{c.pupil.surname} {c.pupil.first_names}", c.pupil.class_name) for c in cards]
    label = _("zamówienie nr %(id)s, legitymacje %(first)s–%(last)s", id=order.id,
              first=cards[0].label if cards else "", last=cards[-1].label if cards else "")
    data = handover_pdf(current_school().name, label, rows, clock.today())
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": 'inline; filename="lista-odbioru.pdf"', "Cache-Control": "no-store"})


@bp.get("/do-odbioru.pdf")
def collection_notice():
    """The class notices for parents without an e-mail address (docs/domain.md §20); `klasa`: one
    class only."""
    class_name = request.args.get("klasa", "").strip()[:20]
    by_class: dict[str, list[str]] = {}
    for card in registry_queries.ready_to_collect(class_name=class_name):
        by_class.setdefault(card.pupil.class_name, []).append(card.pupil.full_name)
    school = current_school()
    data = render_notice(school.name, school.address_line,
                         [ClassNotice(name, pupils) for name, pupils in by_class.items()], clock.today())
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": 'inline; filename="legitymacje-do-odbioru.pdf"', "Cache-Control": "no-store"})


def _card_page(card: Card, *, error: str | None = None, status: int = 200):
    history = list(db.session.scalars(select(Hologram).where(Hologram.card_id == card.id)
                                      .order_by(Hologram.school_year)))
    replaced_by = db.session.scalar(select(Card).where(Card.replaces_card_id == card.id))
    replaces = db.session.get(Card, card.replaces_card_id) if card.replaces_card_id else None
    year = holograms.school_year_of(clock.today())
    return render_template("school/card.html", card=card, holograms=history, replaced_by=replaced_by,
                           replaces=replaces, reasons=INVALIDATION_REASONS, status_text=registry_queries.status_text,
                           school_year=year, error=error), status


@bp.get("/legitymacja/<int:card_id>")
def card(card_id: int):
    return _card_page(queries.get_card(card_id))


def _card_action(card_id: int, action, success: str):
    card = queries.get_card(card_id)
    return actions.run(lambda: action(card), success=success,
                       refused=lambda err: _card_page(queries.get_card(card_id), error=str(err), status=422),
                       then=url_for("registry.card", card_id=card_id))


@bp.post("/legitymacja/<int:card_id>/zepsuta")
def spoil(card_id: int):
    return _card_action(card_id, lambda c: registry.spoil(current_actor(), c, request.form.get("note", "")[:400]),
                        _("Legitymacja oznaczona jako zepsuta; numer pozostaje w ewidencji."))


@bp.post("/legitymacja/<int:card_id>/uniewaznij")
def invalidate(card_id: int):
    return _card_action(card_id, lambda c: registry.invalidate(current_actor(), c, request.form.get("reason", ""),
                                                               note=request.form.get("note", "")[:400]),
                        _("Legitymacja unieważniona."))


@bp.post("/legitymacja/<int:card_id>/karta")
def blank(card_id: int):
    def action(card):
        card.blank_serial = " ".join(request.form.get("blank_serial", "").split())[:40]
        card.chip_uid = request.form.get("chip_uid", "").replace(" ", "").replace(":", "").upper()[:40]
        if card.chip_uid and not all(ch in "0123456789ABCDEF" for ch in card.chip_uid):
            raise OperationError(_("UID układu to liczba szesnastkowa, np. 04A2249A3B5E80."))

    return _card_action(card_id, action, _("Zapisano numer blankietu i UID układu."))


@bp.post("/legitymacja/<int:card_id>/hologram")
def hologram(card_id: int):
    def action(card):
        year = inputs.whole_or_none(request.form.get("school_year"), low=2000, high=2100)
        if year is None:
            raise OperationError(_("Wybierz rok szkolny."))
        on = parse_date(request.form.get("issued_on", "")) or clock.today()
        holograms.issue(current_actor(), card, request.form.get("serial", "")[:30], school_year=year, on=on)

    return _card_action(card_id, action, _("Hologram przypisany; data ważności legitymacji zaktualizowana."))


# --- The register of cards issued before Legitka (docs/domain.md §24) ----------------------------

def _import_new(error: str | None = None, status: int = 200):
    return render_template("school/registry_import_new.html", recent=registry_imports.recent(),
                           fields=import_file.FIELDS, required=import_file.REQUIRED, error=error), status


@bp.get("/import")
def import_new():
    return _import_new()


@bp.post("/import")
def import_upload():
    file = request.files.get("file")
    data = file.read(import_file_limit_bytes + 1) if file else b""
    if not data:
        return _import_new(_("Wybierz plik CSV lub XLSX."), 422)
    return actions.run(lambda: registry_imports.start(current_actor(), data),
                       refused=lambda err: _import_new(str(err), 422),
                       then=lambda batch: url_for("registry.import_show", import_id=batch.id))


@bp.get("/import/szablon.<ext>")
def import_template(ext: str):
    if ext == "csv":
        return Response(import_file.template_csv(), mimetype="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="legitka-ewidencja.csv"'})
    if ext == "xlsx":
        return Response(import_file.template_xlsx(),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": 'attachment; filename="legitka-ewidencja.xlsx"'})
    return redirect(url_for("registry.import_new"))


def _import_page(batch, *, error: str | None = None, status: int = 200):
    return render_template("school/registry_import.html", batch=batch, error=error), status


@bp.get("/import/<int:import_id>")
def import_show(import_id: int):
    return _import_page(registry_imports.get(import_id))


def _import_action(import_id: int, action, *, success, then):
    batch = registry_imports.get(import_id)
    return actions.run(lambda: action(batch), success=success, then=then,
                       refused=lambda err: _import_page(registry_imports.get(import_id), error=str(err), status=422))


@bp.post("/import/<int:import_id>/zapisz")
def import_confirm(import_id: int):
    return _import_action(
        import_id, lambda batch: registry_imports.confirm(current_actor(), batch),
        success=lambda summary: _("Zaimportowano %(n)s wpisów. Następna legitymacja zamówiona w Legitce dostanie numer "
                                  "%(next)s.", n=summary["valid"], next=summary.get("next_label") or summary["next"]),
        then=url_for("registry.import_show", import_id=import_id))


@bp.post("/import/<int:import_id>/odrzuc")
def import_discard(import_id: int):
    return _import_action(import_id, lambda batch: registry_imports.discard(current_actor(), batch),
                          success=_("Import odrzucony, plik usunięty."), then=url_for("registry.import_new"))
