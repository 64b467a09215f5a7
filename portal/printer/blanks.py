"""The printer's blank ledger, kept by the city's print centre (docs/domain.md §22): deliveries,
blanks spoiled in printing, destruction protocols (pages: `portal.blank_pages`)."""

from __future__ import annotations

from flask import Blueprint

from portal import blank_pages
from portal.access import guard_blueprint
from portal.printer.views import OPERATOR

bp = Blueprint("printer_blanks", __name__, url_prefix="/drukarnia/blankiety")
guard_blueprint(bp, *OPERATOR)
blank_pages.install(bp, school=False)
