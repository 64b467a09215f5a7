"""Signing in through the city's own account: OpenID Connect with the city's provider (docs/security.md
T2.18; configuration in docs/operations.md, *Signing in through the city's account*).

`POST /logowanie/miasto` (the sign-in page's button "Zaloguj przez konto miejskie", CSRF-checked)
sends the browser to the city's provider (`portal.auth.oidc_client`); the provider sends it back
to `GET /logowanie/miasto/powrot` with a code and the state.

- **The pending request** (state, nonce, PKCE verifier, the city, where to go after) is kept in
  Redis for 10 minutes under a hash of the state, and taken out by the first callback that names
  it (read and deleted in one transaction): a callback URL used twice, or a stale cookie
  replayed with it, finds nothing. The browser that started holds a hash of the state in its
  signed session, so a callback carried into another browser (login CSRF) is refused too.
- **Who the person is** (`tenants.tenancy.identity_links`): the user linked to the provider's
  issuer and subject, or (first time, where allowed) the user with the provider's verified e-mail.
  Nobody unknown gets in and no account is created here: the director or the city creates
  accounts, as for password sign-in. Platform administrators sign in with their password only.
- **What they may do**: the memberships the user already holds in Legitka **and** the city's role
  mapping grants from the ID token's claim (`portal.auth.oidc_settings`), only in this city or its
  schools. A city's provider never reaches another city or a printer, and never more than Legitka's
  own memberships; the session is held to those memberships (`sessions.CITY_MEMBERSHIPS`).
- **Refusals** re-show the sign-in page with a Polish message: 400 for a stale, replayed or
  foreign callback, 403 for a token or person refused, 404 for a city without the sign-in, 503
  when the provider (or Redis) cannot be reached or is misconfigured. The log gets the city and a
  reason code only: no token, code, subject, e-mail or claim.

The city's provider handles the person's factors: this completion (`complete`) does not ask for
Legitka's own second factor, which belongs to the password sign-in.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import redis
from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select

from infra import clock
from infra import services
from infra.db import db
from portal import actions
from portal.auth import oidc_client
from portal.auth import sessions
from portal.auth.oidc_client import Pending
from portal.auth.oidc_client import SignInFailed
from portal.auth.oidc_settings import CityProvider
from portal.redirects import local_target
from tenants.tenancy import identity_links
from tenants.tenancy.identity_links import NotMatched
from tenants.tenancy.models import Membership
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import OrgKind
from tenants.tenancy.models import User

bp = Blueprint("city_sign_in", __name__)
log = logging.getLogger("legitka.auth.city")

PENDING_SECONDS = 600
_PENDING = "city_sign_in_pending"  # session key: the hash of the state this browser started
_MAX_PARAMETER = 2048


class Refusal(Exception):
    def __init__(self, reason: str, message: str, status: int) -> None:
        super().__init__(reason)
        self.reason, self.message, self.status = reason, message, status


def providers() -> dict[str, CityProvider]:
    return current_app.config["OIDC_PROVIDERS"]


@bp.app_context_processor
def _choices():
    return {"city_sign_ins": choices}


def choices() -> list[tuple[str, str]]:
    """(city slug, label) of each city whose sign-in is configured and which exists."""
    configured = providers()
    if not configured:
        return []
    names = dict(db.session.execute(select(Organisation.slug, Organisation.name).where(
        Organisation.kind == OrgKind.CITY.value, Organisation.slug.in_(list(configured)))).all())
    return [(slug, provider.name or names[slug]) for slug, provider in configured.items() if slug in names]


def _city(slug: str) -> Organisation | None:
    return db.session.scalar(select(Organisation).where(Organisation.slug == slug,
                                                        Organisation.kind == OrgKind.CITY.value))


def _digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def _key(state: str) -> str:
    return f"legitka:city-sign-in:{_digest(state)}"


def _redirect_uri() -> str:
    return url_for("city_sign_in.callback", _external=True)


def _settings() -> tuple[int, int]:
    config = current_app.config
    return int(config["OIDC_LEEWAY_SECONDS"]), int(config["OIDC_TIMEOUT_SECONDS"])


def _unavailable() -> str:
    return _("Logowanie przez konto miejskie jest chwilowo niedostępne. Spróbuj później albo zaloguj się "
             "hasłem; jeśli to się powtarza, zgłoś to administratorowi.")


def _stale() -> str:
    return _("Ta próba logowania wygasła, została już użyta albo zaczęła się w innej przeglądarce. "
             "Zacznij logowanie przez konto miejskie od nowa.")


def _refused_page(refusal: Refusal):
    log.info("city sign-in refused: %s", refusal.reason)
    return render_template("auth/login.html", error=refusal.message, next_target=None), refusal.status


@bp.post("/logowanie/miasto")
def start():
    """Send the browser to the city's provider with a fresh state, nonce and PKCE challenge."""
    slug = request.form.get("miasto", "")
    provider = providers().get(slug)
    try:
        if provider is None or _city(slug) is None:
            raise Refusal("unknown_city", _("To miasto nie ma logowania przez konto miejskie."), 404)
        _leeway, timeout = _settings()
        try:
            url, pending = oidc_client.authorization_request(provider, _redirect_uri(), timeout)
        except SignInFailed as failure:
            log.warning("city sign-in for %s unavailable: %s", slug, failure.reason)
            raise Refusal(failure.reason, _unavailable(), 503)
        record = {"city": slug, "nonce": pending.nonce, "verifier": pending.verifier,
                  "next": local_target(request.form.get("next"))}
        try:
            services.queue().connection.set(_key(pending.state), json.dumps(record), ex=PENDING_SECONDS)
        except redis.RedisError:
            log.warning("city sign-in: Redis unavailable")
            raise Refusal("redis_unavailable", _unavailable(), 503)
    except Refusal as refusal:
        return _refused_page(refusal)
    session[_PENDING] = _digest(pending.state)
    return redirect(url)


def _take(state: str) -> dict | None:
    """The pending request named by `state`, removed: only the first caller gets it."""
    pipe = services.queue().connection.pipeline(transaction=True)
    pipe.get(_key(state))
    pipe.delete(_key(state))
    found, _deleted = pipe.execute()
    return json.loads(found) if found else None


@bp.get("/logowanie/miasto/powrot")
def callback():
    try:
        return _callback()
    except Refusal as refusal:
        return _refused_page(refusal)


def _callback():
    state = request.args.get("state", "")
    expected = session.pop(_PENDING, None)
    if not state or len(state) > _MAX_PARAMETER or expected is None \
            or not hmac.compare_digest(expected, _digest(state)):
        raise Refusal("state_not_started_here", _stale(), 400)
    try:
        record = _take(state)
    except redis.RedisError:
        raise Refusal("redis_unavailable", _unavailable(), 503)
    if record is None:
        raise Refusal("state_used_or_expired", _stale(), 400)
    slug = record["city"]
    provider, city = providers().get(slug), _city(slug)
    if provider is None or city is None:
        raise Refusal("unknown_city", _("To miasto nie ma logowania przez konto miejskie."), 400)
    leeway, timeout = _settings()
    if request.args.get("error"):  # the person cancelled, or the provider refused them
        raise Refusal("provider_error", _("Konto miejskie nie potwierdziło logowania. Spróbuj ponownie."), 403)
    try:
        _check_response_issuer(provider, timeout)
        code = request.args.get("code", "")
        if not code or len(code) > _MAX_PARAMETER:
            raise Refusal("no_code", _stale(), 400)
        claims = oidc_client.finish(provider, Pending(state, record["nonce"], record["verifier"]), code,
                                    _redirect_uri(), now=int(clock.utcnow().timestamp()), leeway=leeway,
                                    timeout=timeout)
    except SignInFailed as failure:
        if failure.provider_fault:
            log.warning("city sign-in for %s unavailable: %s", slug, failure.reason)
            raise Refusal(failure.reason, _unavailable(), 503)
        raise Refusal(failure.reason, _("Nie udało się potwierdzić tożsamości z konta miejskiego "
                                        "(nieważne lub niepasujące potwierdzenie). Zacznij logowanie od nowa."), 403)
    user, link, memberships = _who(provider, city, claims)
    return complete(user, memberships, issuer=provider.issuer, subject=claims["sub"], link=link,
                    target=record.get("next"))


def _check_response_issuer(provider: CityProvider, timeout: int) -> None:
    """RFC 9207: the `iss` the provider adds to its answer names the provider we asked (against
    a mix-up with another provider); required when the provider says it sends one."""
    sent = request.args.get("iss")
    announced = oidc_client.metadata(provider, timeout).get("authorization_response_iss_parameter_supported")
    if (sent is None and announced is True) or (sent is not None and sent != provider.issuer):
        raise SignInFailed("response_issuer")


def _who(provider: CityProvider, city: Organisation, claims: dict) -> tuple[User, object, list[Membership]]:
    """The user, their link (None: new) and the memberships this sign-in may use; or a Refusal."""
    try:
        user, link = identity_links.find_user(provider.issuer, claims["sub"], email=claims.get("email"),
                                              email_verified=claims.get("email_verified"),
                                              match_email=provider.match_verified_email)
    except NotMatched as unmatched:
        raise Refusal(unmatched.reason, _(
            "Twoje konto miejskie nie jest powiązane z żadnym kontem w Legitce. Konta zakłada miasto "
            "albo dyrektor szkoły: poproś o założenie konta na adres e-mail z konta miejskiego."), 403)
    if not user.is_active:
        raise Refusal("user_inactive", _("Twoje konto w Legitce jest wyłączone."), 403)
    if user.is_platform_admin:
        raise Refusal("platform_admin", _("Administrator platformy loguje się hasłem, nie kontem miejskim."), 403)
    memberships = _mapped_memberships(provider, city, user, claims)
    if not memberships:
        raise Refusal("no_mapped_membership", _(
            "Twoje konto miejskie nie daje dostępu do Legitki w tym mieście: brak uprawnień w grupach konta "
            "miejskiego albo w Legitce. Poproś administratora miasta o nadanie uprawnień."), 403)
    return user, link, memberships


def _claim_values(claims: dict, name: str) -> set[str]:
    value = claims.get(name)
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {item for item in value if isinstance(item, str)}
    return set()


def _mapped_memberships(provider: CityProvider, city: Organisation, user: User, claims: dict) -> list[Membership]:
    """The user's memberships that the claim's groups grant: the city's own, or its schools'."""
    wanted = set()
    for grant in provider.grants_for(_claim_values(claims, provider.claim)):
        if grant.school is None:
            wanted.add((grant.role.value, city.id))
            continue
        school_id = db.session.scalar(select(Organisation.id).where(
            Organisation.slug == grant.school, Organisation.kind == OrgKind.SCHOOL.value,
            Organisation.city_id == city.id))
        if school_id is None:  # a mapping naming another city's school, or a school gone: grants nothing
            log.warning("city sign-in for %s: a role mapping names no school of the city", provider.city)
            continue
        wanted.add((grant.role.value, school_id))
    return [membership for membership in user.memberships if (membership.role, membership.organisation_id) in wanted]


def complete(user: User, memberships: list[Membership], *, issuer: str, subject: str, link, target: str | None):
    """Sign the person in after the city's provider vouched for them: the link recorded, a fresh
    server-side session held to `memberships`. No Legitka second factor: the provider's own."""
    identity_links.record(user, issuer, subject, link)
    sessions.start(user, memberships[0].id)
    session[sessions.CITY_MEMBERSHIPS] = [membership.id for membership in memberships]
    actions.commit()
    return redirect(target or url_for("auth.home"))
