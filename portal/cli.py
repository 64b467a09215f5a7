"""`flask --app portal legitka …`: migrations, onboarding without demo data, the worker, the demo.

Every command runs inside the app context; onboarding commands print what they created and
fail with a clear message (exit code 2) on bad input.
"""

from __future__ import annotations

import sys
import threading
import time
from decimal import Decimal
from decimal import InvalidOperation

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from infra import services
from infra.db import db
from infra.migrate import create_roles_and_database
from infra.migrate import upgrade
from printing.models import PriceTier
from tenants.pupils import names
from tenants.pupils.text_entry import TextRefused
from tenants.pupils.text_entry import check_text
from tenants.tenancy import audit_chain
from tenants.tenancy.models import CityPrinter
from tenants.tenancy.models import Membership
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import OrgKind
from tenants.tenancy.models import Role
from tenants.tenancy.models import SchoolType
from tenants.tenancy.models import User
from tenants.tenancy.passwords import PasswordPolicyError
from tenants.tenancy.passwords import check_policy
from tenants.tenancy.passwords import hash_password

legitka = AppGroup("legitka", help="Legitka administration.")
PURGE_EVERY_SECONDS = 3600  # the worker's retention sweep; deletion is due days after delivery
STATS_EVERY_SECONDS = 600  # the worker refreshes the city dashboard's statistics (reports.statistics)


def _text(label: str):
    """A click callback refusing text that may not be stored (`tenants.pupils.text_entry`): an
    organisation's name or address ends up on cards, in PDFs and in spreadsheets."""

    def callback(ctx, param, value):
        try:
            return value if value is None else check_text(value, label)
        except TextRefused as err:
            raise click.BadParameter(str(err)) from None

    return callback


def _name(subject: names.Subject, *, required: bool = True):
    """A click callback for a person's name, by the one rule for names (`tenants.pupils.names`)."""

    def callback(ctx, param, value):
        try:
            return names.person_name(value or "", subject, required=required, max_length=200)
        except names.InvalidName as err:
            raise click.BadParameter(str(err)) from None

    return callback


def _org(slug: str, *kinds: OrgKind) -> Organisation:
    org = db.session.scalar(select(Organisation).where(Organisation.slug == slug,
                                                       Organisation.kind.in_([k.value for k in kinds])))
    if org is None:
        raise click.UsageError(f"no {' or '.join(k.value for k in kinds)} with slug {slug!r}")
    return org


def _new_slug(slug: str) -> str:
    if db.session.scalar(select(Organisation.id).where(Organisation.slug == slug)) is not None:
        raise click.UsageError(f"slug {slug!r} is taken")
    return slug


@legitka.command("migrate")
def migrate_command():
    """Bring the database schema up to date (as the owner role) and grant the app role."""
    upgrade(current_app.config["MIGRATION_DATABASE_URL"], current_app.config["DATABASE_URL"])
    click.echo("Database is up to date.")


@legitka.command("create-roles")
@click.option("--admin-url", required=True, help="Superuser URL, e.g. postgresql+psycopg://postgres@host/postgres")
@click.option("--database", required=True)
@click.option("--owner", required=True, help="Role that owns the schema and runs migrations.")
@click.option("--app-role", required=True, help="Role the application connects as (owns nothing, RLS applies).")
def create_roles_command(admin_url, database, owner, app_role):
    """Create the PostgreSQL roles and database for a new deployment."""
    create_roles_and_database(admin_url, database, owner, app_role)
    click.echo(f"Roles {owner}, {app_role} and database {database} are ready.")


@legitka.command("create-city")
@click.argument("name", callback=_text("Nazwa"))
@click.option("--slug", required=True)
def create_city(name, slug):
    city = Organisation(kind=OrgKind.CITY.value, name=name, slug=_new_slug(slug))
    db.session.add(city)
    db.session.commit()
    click.echo(f"City {city.name} (id {city.id}) created.")


@legitka.command("create-school")
@click.argument("name", callback=_text("Nazwa"))
@click.option("--slug", required=True)
@click.option("--city", "city_slug", required=True)
@click.option("--type", "school_type", type=click.Choice([t.value for t in SchoolType]), required=True)
@click.option("--street", default="", callback=_text("Ulica"))
@click.option("--postal-code", default="", callback=_text("Kod pocztowy"))
@click.option("--town", default="", callback=_text("Miejscowość"))
@click.option("--director", default="", help="Head teacher's name as printed on cards.",
              callback=_name(names.DIRECTOR, required=False))
@click.option("--district", default="", callback=_text("Dzielnica"))
def create_school(name, slug, city_slug, school_type, street, postal_code, town, director, district):
    city = _org(city_slug, OrgKind.CITY)
    school = Organisation(kind=OrgKind.SCHOOL.value, name=name, slug=_new_slug(slug), city_id=city.id,
                          school_type=school_type, street=street, postal_code=postal_code, town=town or city.name,
                          director_name=director, district=district)
    db.session.add(school)
    db.session.commit()
    click.echo(f"School {school.name} (id {school.id}) created in {city.name}.")


def _parse_tiers(values: tuple[str, ...]) -> list[tuple[int, Decimal]]:
    tiers = []
    for value in values:
        try:
            qty, price = value.split(":")
            tiers.append((int(qty), Decimal(price.replace(",", "."))))
        except (ValueError, InvalidOperation):
            raise click.BadParameter(f"{value!r}: use MIN_QUANTITY:PRICE, e.g. 50:11.50") from None
    if not tiers or min(q for q, _ in tiers) != 1:
        raise click.BadParameter("the price list needs a tier starting at quantity 1")
    return tiers


@legitka.command("create-printer")
@click.argument("name", callback=_text("Nazwa"))
@click.option("--slug", required=True)
@click.option("--city", "city_slugs", multiple=True, help="City whose schools may order here (repeatable).")
@click.option("--price", "prices", multiple=True, required=True, help="Tier MIN_QUANTITY:PRICE in zł (repeatable).")
@click.option("--lead-time", type=int, default=14, help="Promised days from order to delivery.")
@click.option("--city-centre", is_flag=True, help="This is the city's own print centre.")
@click.option("--email", default="", callback=_text("E-mail"))
def create_printer(name, slug, city_slugs, prices, lead_time, city_centre, email):
    tiers = _parse_tiers(prices)
    printer = Organisation(kind=OrgKind.PRINTER.value, name=name, slug=_new_slug(slug), lead_time_days=lead_time,
                           is_city_print_centre=city_centre, contact_email=email)
    db.session.add(printer)
    db.session.flush()
    for qty, price in tiers:
        db.session.add(PriceTier(printer_id=printer.id, min_quantity=qty, unit_price=price))
    for city_slug in city_slugs:
        db.session.add(CityPrinter(city_id=_org(city_slug, OrgKind.CITY).id, printer_id=printer.id))
    db.session.commit()
    click.echo(f"Printer {printer.name} (id {printer.id}) created with {len(tiers)} price tiers.")


@legitka.command("create-user")
@click.argument("email")
@click.argument("full_name", callback=_name(names.FULL_NAME))
@click.option("--org", "org_slug", help="Organisation slug for the membership.")
@click.option("--role", type=click.Choice([r.value for r in Role]))
@click.option("--platform-admin", is_flag=True)
@click.password_option(prompt="Password")
def create_user(email, full_name, org_slug, role, platform_admin, password):
    """Create a user (or add a membership to an existing one)."""
    email = email.strip().lower()
    if bool(org_slug) != bool(role):
        raise click.UsageError("--org and --role go together")
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        try:
            check_policy(password)
        except PasswordPolicyError as err:
            raise click.UsageError(str(err)) from None
        user = User(email=email, full_name=full_name, password_hash=hash_password(password),
                    is_platform_admin=platform_admin)
        db.session.add(user)
        db.session.flush()
    if role:
        org = _org(org_slug, *Role(role).org_kinds)
        db.session.add(Membership(user_id=user.id, organisation_id=org.id, role=role))
    db.session.commit()
    click.echo(f"User {user.email} ready{f' as {role} of {org_slug}' if role else ''}.")


@legitka.command("demo-totp")
@click.argument("email")
def demo_totp_command(email):
    """Print the current second-factor code of a demo account (e-mail ending ".demo"), as its
    authenticator app would show it (one not used yet): the demo is usable without a phone (README,
    docs/security.md T2.3). The demo's accounts that need a second factor are seeded enrolled."""
    from tenants.tenancy import second_factor

    email = email.strip().lower()
    if not email.endswith(".demo"):
        raise click.UsageError("only demo accounts (e-mail ending .demo)")
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        raise click.UsageError(f"no account {email}")
    found = second_factor.current_code(user)
    db.session.rollback()
    if found is None:
        raise click.UsageError("this account has no second factor")
    code, wait = found
    if wait:
        click.echo(f"(this half-minute's codes were used: the next one works in {wait} s)", err=True)
    click.echo(code)


@legitka.command("relay")
def relay_command():
    """Enqueue due outbox work once (batches, e-mails), and re-enqueue work whose job was lost or
    whose worker died (for cron; every worker also does it every 30 s)."""
    from portal.jobs import relay_all

    click.echo(f"{relay_all()} job(s) enqueued.")


@legitka.command("mail-failed")
def mail_failed_command():
    """List e-mails given up on after every retry (id, school, kind, tries, reason; no addresses)."""
    from tenants.mail.outbox import failed_messages

    rows = failed_messages()
    for row in rows:
        click.echo(f"{row.id}\tschool {row.school_id}\t{row.kind} {row.subject_id}\t{row.attempts} tries\t"
                   f"{row.created_at:%Y-%m-%d %H:%M}\t{row.error}")
    click.echo(f"{len(rows)} failed e-mail(s).")


def reconcile_jobs() -> int:
    """The safety net of the jobs users wait for (infra.jobs): imports, photo ZIPs and council
    reports whose job Redis lost or whose worker died are sent again, or after too many sends
    fail with their reason. Returns how many were touched."""
    from reports.council_report import reconcile_reports
    from tenants.roster.jobs import reconcile_imports

    return reconcile_imports() + reconcile_reports()


@legitka.command("reconcile-jobs")
def reconcile_jobs_command():
    """Send again the imports, photo ZIPs and council reports whose job was lost or whose worker
    died, and fail those sent too often (for cron; every worker also does it with each relay)."""
    click.echo(f"{reconcile_jobs()} job(s) sent again or given up.")


@legitka.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--relay-every", default=30.0, type=click.FloatRange(min=0.1), show_default=True,
              help="Seconds between outbox relays (which also recover batches and e-mails whose job or worker "
                   "was lost).")
def worker_command(burst, relay_every):
    """Run an rq worker (batches, imports, photo ZIPs, e-mail), with the outbox relay in a side thread.

    The batch lease (LEGITKA_BATCH_LEASE_SECONDS, default 120) is renewed while a batch is built;
    after a worker dies its batch is enqueued again by the next relay once the lease has lapsed.
    Its database connections use the jobs' timeouts (LEGITKA_JOB_DB_*_TIMEOUT_SECONDS).
    Imports, photo ZIPs and council reports hold a lease of LEGITKA_JOB_LEASE_SECONDS (default
    120) and are sent again by the same relay round (`reconcile_jobs`).
    """
    from rq import Worker

    import printing.notifications  # noqa: F401  (registers the print flow's e-mail composers)
    import tenants.photos.mail  # noqa: F401  (and the photo decision's)
    from infra.db import use_timeouts
    from portal.config import database_timeouts
    from portal.jobs import relay_all
    from printing.retention import purge_due
    from reports.statistics import refresh_all

    queue = services.queue()
    if queue.inline:
        raise click.UsageError("LEGITKA_REDIS_URL is not set: jobs already run in-process")
    # Jobs and the relay may wait longer on a lock or a statement than a web request does.
    use_timeouts(db.engine, **database_timeouts(current_app.config, jobs=True))
    import printing.card_fonts

    printing.card_fonts.preload()  # the card fonts, once, before forking (~0.5 s saved per job)
    import tenants.photos.checks  # noqa: F401  (and OpenCV, for the photo ZIP jobs)

    app = current_app._get_current_object()
    stop = threading.Event()
    # rq forks a work horse per job. A fork copies only the forking thread, with every lock as it
    # was: were the relay thread inside the connection pool or the Redis client at that moment,
    # the horse would hang on their locks. The relay and the fork therefore take turns.
    turns = threading.Lock()

    class LegitkaWorker(Worker):
        def fork_work_horse(self, job, queue):
            with turns:
                super().fork_work_horse(job, queue)

    # Each sweep is due at start: `time.monotonic()` counts from an arbitrary point (the host's
    # boot on Linux), so a "last run" of 0 would wait until the host had been up that long.
    last_purge = [-float(PURGE_EVERY_SECONDS)]
    last_stats = [-float(STATS_EVERY_SECONDS)]

    def relay_once():
        with turns, app.app_context():
            relay_all()  # batches and e-mails: new, due again, lost with Redis, or left by a dead worker
            reconcile_jobs()  # imports, photo ZIPs, council reports: lost or died -> sent again (infra.jobs)
            if time.monotonic() - last_purge[0] >= PURGE_EVERY_SECONDS:
                purge_due()  # retention: batch files 7 days after delivery
                last_purge[0] = time.monotonic()
            if time.monotonic() - last_stats[0] >= STATS_EVERY_SECONDS:
                last_stats[0] = time.monotonic()
                refresh_all()  # the city dashboard's anonymous statistics

    def relay_loop():
        while not stop.wait(relay_every):
            try:
                relay_once()
            except Exception as exc:  # keep relaying; the next round retries
                click.echo(f"relay failed: {type(exc).__name__}", err=True)

    try:
        relay_once()  # before working, so work waiting in the outbox (or lost by Redis) is in the queue
    except Exception as exc:  # e.g. S3 down for the purge: start anyway, the loop retries
        click.echo(f"relay failed: {type(exc).__name__}", err=True)
    thread = threading.Thread(target=relay_loop, name="outbox-relay", daemon=True)
    thread.start()
    try:
        LegitkaWorker([queue.rq], connection=queue.connection).work(burst=burst)
    finally:
        stop.set()


@legitka.command("verify-log")
def verify_log_command():
    """Walk every tenant's access-log hash chain (docs/security.md T3.11); exit 1 naming the first
    broken row of each chain that does not check out."""
    checked, broken = audit_chain.verify()
    for fault in broken:
        click.echo(f"NARUSZONY {fault}", err=True)
    if broken:
        sys.exit(1)
    click.echo(f"Dziennik dostępu nienaruszony: {checked} łańcuchów sprawdzonych.")


@legitka.command("seed-demo")
def seed_demo_command():
    """Create (or complete) the demo city. Deterministic and idempotent."""
    from portal.demo import seed

    report = seed()
    click.echo(report)


@legitka.command("purge")
def purge_command():
    """Delete batch files whose retention after delivery has passed (every stored version) and
    write their deletion receipts. Safe to run any number of times; the worker runs it hourly."""
    from printing.retention import purge_due

    click.echo(f"{purge_due()} order(s) purged.")


@legitka.command("encrypt-storage")
@click.option("--prefix", default="", help="Only keys starting with this (e.g. schools/12/).")
def encrypt_storage_command(prefix):
    """Encrypt every plain object in file storage in place, and re-encrypt those under a retired
    key (docs/security.md T3.20). Objects encrypted for their recipient (the printers' .7z
    packages) are left as they are. Idempotent: an interrupted run is simply run again."""
    from infra.storage_crypto import encrypt_all

    def failed(key, exc):
        click.echo(f"failed: {key}: {type(exc).__name__}: {exc}", err=True)

    counts = encrypt_all(services.storage(), prefix, on_failure=failed)
    summary = ", ".join(f"{count} {outcome}" for outcome, count in counts.items())
    click.echo(f"{sum(counts.values())} object(s): {summary}.")
    if counts["failed"]:
        sys.exit(1)


@legitka.command("refresh-stats")
@click.option("--city", "city_slug", default=None, help="Only this city's schools (slug).")
def refresh_stats_command(city_slug):
    """Recompute the anonymous statistics behind the city dashboard (per-school counts and one
    fact per card). Safe to run any number of times; the worker does it every 10 minutes."""
    from reports.statistics import refresh_all
    from reports.statistics import refresh_city

    count = refresh_city(_org(city_slug, OrgKind.CITY).id) if city_slug else refresh_all()
    click.echo(f"Statistics refreshed for {count} school(s).")


def init_app(app) -> None:
    app.cli.add_command(legitka)
