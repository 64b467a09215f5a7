"""Printer operators: "Dostęp API" — the printer's API clients (make one, see the secret once,
revoke). The printer's own systems then use /api/v1 (portal.api)."""

from __future__ import annotations

from flask import Blueprint
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _

from portal import actions
from portal.access import guard_blueprint
from portal.security import current_actor
from printing import api_clients
from tenants.tenancy.models import Role

bp = Blueprint("printer_api", __name__, url_prefix="/drukarnia/api")

OPERATOR = (Role.PRINTER_OPERATOR,)
guard_blueprint(bp, *OPERATOR)  # every route; narrower ones add require_roles


def _page(*, created=None, error: str | None = None, status: int = 200):
    response = render_template("printer/api_clients.html", clients=api_clients.printer_clients(),
                               scopes=api_clients.SCOPES, created=created, error=error,
                               token_url=url_for("api.token", _external=True),
                               docs_url=url_for("api.openapi_document", _external=True))
    return response, status


@bp.get("/")
def clients():
    return _page()


@bp.post("/")
def create():
    """A new client; its secret is in this one response only (not stored, not redirected to)."""
    # Not redirected: the secret is shown in this one answer.
    return actions.run(lambda: api_clients.create_client(current_actor(), name=request.form.get("name", ""),
                                                         scopes=request.form.getlist("scope")),
                       refused=lambda err: _page(error=str(err), status=422),
                       then=lambda created: _page(created=created))


@bp.post("/<int:client_pk>/uniewaznij")
def revoke(client_pk: int):
    client = api_clients.get_printer_client(client_pk)
    return actions.run(lambda: api_clients.revoke_client(current_actor(), client),
                       success=lambda _result: _("Klient API %(name)s został unieważniony; jego tokeny przestały "
                                                 "działać.", name=client.name),
                       then=url_for("printer_api.clients"))
