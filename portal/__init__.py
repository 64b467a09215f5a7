"""The Legitka web portal: `create_app`, and `tune_garbage_collector` for serving processes (portal.wsgi)."""

from __future__ import annotations


def create_app(test_config: dict | None = None):
    """Build the Flask app: settings (defaults → LEGITKA_* env → `test_config`), services,
    tenancy hooks, security headers, blueprints. No I/O happens at import time."""
    import os
    import pathlib

    from flask import Flask

    from infra import file_lifecycle
    from infra import log_redaction
    from infra import services
    from infra.crypto import FieldCipher
    from infra.crypto import decode_key
    from infra.db import db
    from infra.db import guard_against_fork
    from infra.db import use_timeouts
    from infra.mail import build_mailer
    from infra.queue import build_queue
    from infra.storage import build_storage
    from portal import config as settings
    from tenants.tenancy import passwords
    from tenants.tenancy import scoping

    default_instance = pathlib.Path(__file__).resolve().parent.parent / "instance"
    instance = (test_config or {}).get("INSTANCE_PATH") or os.environ.get("LEGITKA_INSTANCE_PATH") or default_instance
    app = Flask(__name__, instance_path=str(instance))
    from portal.converters import IdConverter

    app.url_map.converters["int"] = IdConverter  # before any rule: every <int:id> stays within BIGINT
    app.config.update(settings.defaults(app.instance_path))
    app.config.from_prefixed_env("LEGITKA")
    if test_config:
        app.config.update(test_config)
    settings.finalise(app.config, app.instance_path)
    passwords.dummy_hash(app.config["PASSWORD_HASH_PROFILE"])  # made now, not on the first unknown e-mail
    if int(app.config["PROXY_HOPS"]):  # the client's address and scheme as the proxy saw them
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    if app.config["EMBEDDED"]:
        pathlib.Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    db.init_app(app)
    scoping.install(db)
    file_lifecycle.install()
    with app.app_context():
        guard_against_fork(db.engine)
        use_timeouts(db.engine, **settings.database_timeouts(app.config))  # the worker switches to the jobs' own
    services.register(app, services.Services(
        storage=build_storage(app.config),
        queue=build_queue(app.config),
        pesel_cipher=FieldCipher(decode_key(app.config["PESEL_KEY"]), decode_key(app.config["PESEL_INDEX_KEY"])),
        mailer=build_mailer(app.config),
    ))
    # Models must be imported before the first query so the mappers (and safety net) know them.
    import printing.models  # noqa: F401
    import reports.models  # noqa: F401
    import tenants.consultations.models  # noqa: F401
    import tenants.mail.models  # noqa: F401
    import tenants.photos.models  # noqa: F401
    import tenants.pupils.models  # noqa: F401
    import tenants.registry.models  # noqa: F401
    import tenants.roster.models  # noqa: F401
    import tenants.tenancy.models  # noqa: F401
    import tenants.transfers.models  # noqa: F401
    from portal import cli
    from portal import errors
    from portal import extensions
    from portal import formatting
    from portal import input_guard
    from portal import security
    from portal.admin import views as admin_views
    from portal.api import views as api_views
    from portal.auth import city_sign_in
    from portal.auth import factor as auth_factor  # noqa: F401 (the second factor's routes on the auth blueprint)
    from portal.auth import views as auth_views
    from portal.city import consultations as city_consultations
    from portal.city import costs as city_costs
    from portal.city import scenarios as city_scenarios
    from portal.city import views as city_views
    from portal.dpo import views as dpo_views
    from portal.parent import views as parent_views
    from portal.printer import api_keys as printer_api_keys
    from portal.printer import blanks as printer_blanks
    from portal.printer import views as printer_views
    from portal.school import blanks as school_blanks
    from portal.school import consultations as school_consultations
    from portal.school import holograms as school_holograms
    from portal.school import imports as school_imports
    from portal.school import mlegitymacja as school_mleg
    from portal.school import orders as school_orders  # noqa: F401 (routes on the school blueprint)
    from portal.school import photos as school_photos
    from portal.school import registry as school_registry
    from portal.school import settings as school_settings
    from portal.school import staff as school_staff
    from portal.school import transfers as school_transfers
    from portal.school import views as school_views

    extensions.init_app(app)
    security.init_app(app)
    formatting.init_app(app)
    errors.init_app(app)
    input_guard.install_form_check(app)  # after security: the refusal page has the request id and the signed-in user
    cli.init_app(app)
    for blueprint in (auth_views.bp, school_views.bp, school_photos.bp, school_imports.bp, school_settings.bp,
                      school_registry.bp, school_holograms.bp, school_mleg.bp, school_transfers.bp,
                      school_consultations.bp, parent_views.bp, printer_views.bp, city_views.bp, admin_views.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(api_views.bp)  # the printers' API, /api/v1
    app.register_blueprint(printer_api_keys.bp)
    app.register_blueprint(school_blanks.bp)  # /szkola/blankiety
    app.register_blueprint(school_staff.bp)  # /szkola/pracownicy
    app.register_blueprint(printer_blanks.bp)  # /drukarnia/blankiety
    app.register_blueprint(city_costs.bp)  # /miasto/koszty
    app.register_blueprint(city_consultations.bp)  # /miasto/konsultacje
    app.register_blueprint(city_scenarios.bp)  # /miasto/koszty/scenariusze
    app.register_blueprint(dpo_views.bp)  # /iod, the data protection officer (docs/dpo.md)
    app.register_blueprint(city_sign_in.bp)  # /logowanie/miasto: the city's own sign-in (OpenID Connect)
    # Every log line of the process from now on (request lines of `flask run`, gunicorn and the
    # worker included) without the secret parts of URLs: the routes' <token>s and the like.
    log_redaction.install(rule.rule for rule in app.url_map.iter_rules())
    return app


def tune_garbage_collector() -> None:
    """For a serving process, once it has built its app. Freeze everything alive now (`gc.freeze`):
    the imported modules, models and compiled templates are never garbage, yet every full
    collection walked them — a ~65 ms pause in one request of ten on a city's dashboard. And
    collect the youngest generation every 10,000 allocations instead of 700: a page allocates
    hundreds of thousands of objects, nearly all freed at once by reference counting, and the
    collector's passes over the rest cost 5–10 % of a dashboard request (docs/benchmarks.md).
    Cyclic garbage then lives a little longer, so watch the workers' memory after a change here.
    Not for tests, which build many apps."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
