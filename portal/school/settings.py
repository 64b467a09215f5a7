"""The school's settings: the duplicate-fee bank account, the card number's print format and
numbering (continuous or per year, docs/domain.md §5), how strict each photo check is, and the
deadlines of the school's procedure (docs/domain.md §20)."""

from __future__ import annotations

from flask import Blueprint
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select

from infra import clock
from infra.db import db
from portal import actions
from portal.access import guard_blueprint
from portal.access import require_roles
from portal.converters import parse_id
from portal.school.common import DIRECTOR
from portal.school.common import STAFF
from portal.school.common import current_school
from portal.school.common import parse_date
from portal.security import current_actor
from printing import agreements
from printing import operations as printing_ops
from printing import pricing
from printing import quotes
from printing import terms
from printing.models import ProcessingAgreement
from tenants.photos.checks import CHECKS
from tenants.photos.checks import Severity
from tenants.photos.checks import parse_policy
from tenants.pupils import deadlines
from tenants.registry import numbering
from tenants.tenancy import nrb
from tenants.tenancy.errors import OperationError

bp = Blueprint("school_settings", __name__, url_prefix="/szkola/ustawienia")
guard_blueprint(bp, *STAFF)  # every route; narrower ones add require_roles


def _page(*, error: str | None = None, status: int = 200, account: str | None = None):
    school = current_school()
    signed = list(db.session.scalars(select(ProcessingAgreement).order_by(ProcessingAgreement.valid_until.desc())))
    own = terms.school_printer()
    return render_template("school/settings.html", school=school, checks=CHECKS, severities=list(Severity),
                           own_printer=own, own_unit_cost=quotes.own_unit_cost(own) if own else None,
                           own_fixed=pricing.fixed_per_year(pricing.profile_of(own), clock.today().year)
                           if own else None,
                           agreements=signed, printers=printing_ops.city_printers(school.city_id),
                           today=clock.today(),
                           policy=parse_policy(school.photo_policy or {}),
                           numbering=numbering.setting_of(school),
                           account=account if account is not None else nrb.formatted(school.bank_account),
                           error=error), status


@bp.get("/")
def show():
    return _page()


@bp.post("/umowy")
@require_roles(*DIRECTOR)
def add_agreement():
    school = current_school()

    def record():
        printer_id = parse_id(request.form.get("printer_id"))
        if printer_id not in {p.id for p in printing_ops.city_printers(school.city_id)}:
            raise OperationError(_("Wybierz drukarnię z listy drukarni miasta."))
        dates = {name: parse_date(request.form.get(name, "")) for name in ("signed_on", "valid_from", "valid_until")}
        if None in dates.values():
            raise OperationError(_("Podaj daty w formacie dd.mm.rrrr."))
        agreements.record(current_actor(), printer_id, reference=request.form.get("reference", "")[:100], **dates)

    return actions.run(record, refused=lambda err: _page(error=str(err), status=422),
                       success=_("Zapisano umowę powierzenia."), then=url_for("school_settings.show"))


@bp.post("/")
@require_roles(*DIRECTOR)
def save():
    school = current_school()
    account = request.form.get("bank_account", "")[:60]

    def change():
        try:
            school.bank_account = nrb.validate(account) if account.strip() else ""
        except nrb.NrbError as err:
            raise OperationError(str(err)) from None
        # The print format and the numbering together: per-year numbering needs {rok} in the format.
        numbering.change(current_actor(), school, request.form.get("card_numbering", school.card_numbering)[:20],
                         request.form.get("card_number_format", school.card_number_format)[:60], clock.today())
        policy = parse_policy(school.photo_policy or {})
        for code in CHECKS:
            value = request.form.get(f"check_{code}") or policy[code]  # a check left out keeps its setting
            if value not in {s.value for s in Severity}:
                raise OperationError(_("Nieznane ustawienie sprawdzania zdjęć."))
            policy[code] = Severity(value)
        school.photo_policy = {code: severity.value for code, severity in policy.items()}

    return actions.run(change, refused=lambda err: _page(error=str(err), status=422, account=account),
                       success=_("Zapisano ustawienia szkoły."), then=url_for("school_settings.show"))


@bp.post("/terminy")
@require_roles(*DIRECTOR)
def save_procedure():
    form = request.form
    return actions.run(
        lambda: deadlines.set_procedure(current_actor(), current_school(), days=form.get("promise_days", "")[:20],
                                        unit=form.get("promise_unit", ""), notice=form.get("notice_days", "")[:20]),
        refused=lambda err: _page(error=str(err), status=422),
        success=_("Zapisano terminy z procedury szkoły."), then=url_for("school_settings.show") + "#terminy")


@bp.post("/drukarka")
@require_roles(*DIRECTOR)
def save_own_printer():
    return actions.run(lambda: terms.save_school_printer(current_school(), request.form),
                       refused=lambda err: _page(error=str(err), status=422),
                       success=_("Zapisano własną drukarkę szkoły. Jej koszt pojawi się w porównaniu przy zamówieniu."),
                       then=url_for("school_settings.show") + "#drukarka")
