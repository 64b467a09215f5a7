"""Flask extensions, unbound until `init_app`."""

from __future__ import annotations

from flask import request
from flask import session
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def select_locale() -> str:
    """Polish unless the user chose English with the switch in the header.

    The browser's Accept-Language is deliberately not followed: staff on an English-language
    browser still work in the Polish of the documents they handle.
    """
    return "en" if session.get("lang") == "en" else "pl"


# Endpoints that take bigger uploads than MAX_CONTENT_LENGTH (a ZIP of a school's photos).
LARGE_UPLOADS = {"photos.zip_upload": 200 * 1024 * 1024}


def _upload_limit() -> None:
    limit = LARGE_UPLOADS.get(request.endpoint)
    if limit:
        request.max_content_length = limit


def init_app(app) -> None:
    from portal import input_guard

    # Before CSRFProtect's own hook, which reads the form and with it the whole body; then
    # control characters are refused (portal.input_guard) before anything else reads a value.
    app.before_request(_upload_limit)
    input_guard.install_check(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = None  # our own server-side sessions (portal.auth.sessions)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(app.root_path + "/translations"))
