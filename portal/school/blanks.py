"""The school's blank ledger and destruction protocols (docs/domain.md §22): blanks for its own
printer, and its spoiled or uncollected cards destroyed by protocol (pages: `portal.blank_pages`)."""

from __future__ import annotations

from flask import Blueprint

from portal import blank_pages
from portal.access import guard_blueprint
from portal.school.common import STAFF

bp = Blueprint("blanks", __name__, url_prefix="/szkola/blankiety")
guard_blueprint(bp, *STAFF)
blank_pages.install(bp, school=True)
