"""Error pages: Polish, with the request id, never a stack trace or data (docs/security.md T2.9)."""

from __future__ import annotations

import logging
import traceback

from flask import g
from flask import render_template
from flask import request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc

from infra import db_errors
from infra.db import db
from portal import denied
from portal.input_guard import ControlCharacters
from tenants.tenancy.errors import NotFoundError

log = logging.getLogger("legitka.portal")
RETRY_AFTER_SECONDS = 5  # how soon a request that met a busy or lost database may be tried again
DATABASE_ERRORS = (sa_exc.DBAPIError, sa_exc.DisconnectionError)


def log_database_busy(error: BaseException) -> None:
    """One line for a passing database error: its kind and SQLSTATE, never its message (which
    can quote a row) — the request id leads to the rest."""
    kind = "timeout" if db_errors.is_timeout(error) else "transient error"
    log.warning("database %s (%s %s) in request %s at %s; answered 503", kind, type(error).__name__,
                db_errors.sqlstate(error) or "-", g.get("request_id", ""), request.endpoint or "-")


def _page(status: int, title: str, message: str):
    return render_template("errors/error.html", status=status, title=title, message=message,
                           request_id=g.get("request_id", "")), status


def _log_exception(exc_info) -> None:
    """Log where an error happened without its message: library messages can quote data
    (an integrity error repeats the row), and personal data must never reach the logs."""
    exc_type, _exc, tb = exc_info
    frames = "".join(traceback.format_tb(tb)[-6:])
    log.error("unhandled %s in request %s\n%s", exc_type.__name__, g.get("request_id", ""), frames)


def init_app(app) -> None:
    app.log_exception = _log_exception

    @app.errorhandler(NotFoundError)
    def missing_object(err):
        return not_found(err)

    @app.errorhandler(400)
    def bad_request(err):
        return _page(400, _("Nieprawidłowe żądanie"),
                     _("Formularz zawierał nieprawidłowe dane. Wróć i spróbuj ponownie."))

    @app.errorhandler(ControlCharacters)
    def control_characters(err):
        return _page(400, _("Niedozwolone znaki w adresie"),
                     _("Adres strony zawiera znak sterujący (%(code)s), np. znak o kodzie 0 albo znak nowego wiersza. "
                       "Otwórz stronę jeszcze raz z menu albo z odnośnika.", code=err.code_point))

    @app.errorhandler(CSRFError)
    def csrf_error(err):
        return _page(400, _("Formularz wygasł"),
                     _("Ze względów bezpieczeństwa formularz trzeba wysłać ponownie. "
                       "Odśwież stronę i spróbuj jeszcze raz."))

    @app.errorhandler(403)
    def forbidden(err):
        denied.record(403)
        return _page(403, _("Brak dostępu"), _("Nie masz uprawnień do tej strony."))

    @app.errorhandler(404)
    def not_found(err):
        denied.record(404)  # the one place a tenant object's 404 is answered: it leaves a row (T3.10)
        return _page(404, _("Nie znaleziono"), _("Nie ma takiej strony albo nie masz do niej dostępu."))

    @app.errorhandler(405)
    def method_not_allowed(err):
        return _page(405, _("Niedozwolona operacja"), _("Tej strony nie można otworzyć w ten sposób."))

    @app.errorhandler(413)
    def too_large(err):
        limit = request.max_content_length or 0
        if request.content_length is not None and request.content_length <= limit:
            # The body was within the limit: one text field was over werkzeug's per-field one.
            return _page(413, _("Za długi tekst"), _("Jedno z pól formularza zawiera za długi tekst. Skróć go i "
                                                     "wyślij formularz ponownie."))
        return _page(413, _("Plik jest za duży"),
                     _("Wysłany plik przekracza dopuszczalny rozmiar (%(mb)s MB).", mb=limit // (1024 * 1024)))

    def database_error(err):
        """A passing database error (a lock or statement timeout, a lost connection, a
        serialization failure): nothing was changed, the same click later will most likely
        work. Anything lasting is the 500 it always was."""
        if not db_errors.is_transient(err):
            app.log_exception((type(err), err, err.__traceback__))
            return server_error(err)
        db.session.rollback()
        log_database_busy(err)
        page, status = _page(503, _("Spróbuj ponownie za chwilę"),
                             _("Baza danych jest w tej chwili zajęta i nie udało się dokończyć operacji. "
                               "Niczego nie zmieniono. Odczekaj kilka sekund i spróbuj ponownie."))
        return page, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}

    for error_class in DATABASE_ERRORS:
        app.register_error_handler(error_class, database_error)

    @app.errorhandler(500)
    def server_error(err):
        db.session.rollback()
        return _page(500, _("Błąd serwera"),
                     _("Coś poszło nie tak po naszej stronie. Podaj administratorowi numer zgłoszenia."))
