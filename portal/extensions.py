"""Flask extensions, unbound until `init_app`."""

from __future__ import annotations

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


def init_app(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = None  # our own server-side sessions (portal.auth.sessions)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(app.root_path + "/translations"))
