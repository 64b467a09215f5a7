"""Platform administrators: the organisations on the platform (onboarding is by CLI for now)."""

from __future__ import annotations

from flask import Blueprint
from flask import render_template
from sqlalchemy import select

from infra.db import db
from portal.access import guard_blueprint
from tenants.tenancy.models import Organisation

bp = Blueprint("admin", __name__, url_prefix="/admin")
guard_blueprint(bp, platform_admin=True)


@bp.get("/")
def organisations():
    orgs = list(db.session.scalars(select(Organisation).order_by(Organisation.kind, Organisation.name)))
    return render_template("admin/organisations.html", organisations=orgs)
