"""Printers' machine credentials for the API: OAuth2 clients (client credentials) and the access
tokens issued to them (docs/security.md §2.8, T2.15).

A client's secret and every access token are random 256-bit strings shown once and stored only
as their SHA-256. A slow password hash (argon2) protects guessable human passwords; these
secrets are not guessable (2^256 candidates), so a fast hash loses nothing, and it keeps the
token endpoint cheap: an argon2 check at 64 MiB per request would hand anyone who can reach the
endpoint a memory-exhaustion lever. Comparison is constant-time.

`api_clients` and `api_tokens` have no row-level security (migration 0006: they are looked up
by hash before any tenant is known), so every function serving a printer's page filters by the
current printer tenant explicitly. Functions flush and never commit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import re
import secrets

from sqlalchemy import select
from sqlalchemy import update

from infra.db import db
from infra.db import utcnow
from printing.models import ApiClient
from printing.models import ApiToken
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import current_tenant
from tenants.tenancy.errors import NotFoundError
from tenants.tenancy.errors import OperationError

READ = "batches:read"  # list and read orders, fetch the batch link and the package password
ACK = "batches:ack"  # accept, reject, report results, shipment and invoice
SCOPES = (READ, ACK)
MAX_TOKEN_SECONDS = 900  # T2.15; authlib's own default for client_credentials is ten days
_SCHEME = "sha256"
_CLIENT_ID = re.compile(r"^lgk-[0-9a-f]{24}$")
_TOUCH_EVERY = dt.timedelta(minutes=1)


@dataclasses.dataclass(frozen=True)
class NewClient:
    """A client as just made: the only moment its secret exists outside the caller's hands."""

    client: ApiClient
    secret: str


def hash_secret(secret: str) -> str:
    return f"{_SCHEME}${hashlib.sha256(secret.encode()).hexdigest()}"


def verify_secret(secret: str, stored: str) -> bool:
    """Constant-time comparison of `secret` against a stored `hash_secret` value."""
    scheme, _sep, digest = stored.partition("$")
    candidate = hashlib.sha256(secret.encode()).hexdigest()
    return hmac.compare_digest(candidate, digest) and scheme == _SCHEME


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_seconds(configured: int | str | None) -> int:
    """The access-token lifetime: the configured value, at most 900 s (default 900)."""
    try:
        seconds = int(configured) if configured is not None else MAX_TOKEN_SECONDS
    except (TypeError, ValueError):
        seconds = MAX_TOKEN_SECONDS
    return max(1, min(seconds, MAX_TOKEN_SECONDS))


def clean_scopes(scopes) -> str:
    """A space-separated scope string from the allowed scopes, or OperationError."""
    wanted = {s for s in (scopes or ()) if isinstance(s, str)}
    chosen = [s for s in SCOPES if s in wanted]
    if not chosen or wanted - set(SCOPES):
        raise OperationError("Wybierz uprawnienia: odczyt zamówień i/lub potwierdzanie realizacji.", "invalid_scope")
    return " ".join(chosen)


def _printer_id() -> int:
    printer_id = current_tenant().printer_id
    if printer_id is None:
        raise LookupError("no printer tenant is set")
    return printer_id


# --- the printer's operator (portal page) ---------------------------------------------------


def create_client(actor: Actor, *, name: str, scopes) -> NewClient:
    """A new client for the current printer; the returned secret is never stored."""
    printer_id = _printer_id()
    name = " ".join((name or "").split())
    if not name or len(name) > 100 or not name.isprintable():
        raise OperationError("Podaj nazwę klienta API (do 100 znaków), np. „System produkcji”.", "name_required")
    secret = secrets.token_urlsafe(32)  # 256 bits
    client = ApiClient(printer_id=printer_id, client_id=f"lgk-{secrets.token_hex(12)}", secret_hash=hash_secret(secret),
                       name=name, scope=clean_scopes(scopes), created_by_id=actor.user_id, created_at=utcnow())
    db.session.add(client)
    db.session.flush()
    return NewClient(client=client, secret=secret)


def printer_clients() -> list[ApiClient]:
    """The current printer's clients, active first, newest first."""
    rows = db.session.scalars(select(ApiClient).where(ApiClient.printer_id == _printer_id())
                              .order_by(ApiClient.id.desc()))
    return sorted(rows, key=lambda c: c.revoked_at is not None)


def get_printer_client(client_pk: int) -> ApiClient:
    client = db.session.scalar(select(ApiClient).where(ApiClient.id == client_pk,
                                                       ApiClient.printer_id == _printer_id()))
    if client is None:
        raise NotFoundError("api client")
    return client


def revoke_client(actor: Actor, client: ApiClient) -> None:
    """The client can get no new token, and the tokens it holds stop working at once; the client
    keeps who revoked it (`revoked_by_id`, docs/security.md T3.17)."""
    if client.printer_id != _printer_id():
        raise NotFoundError("api client")
    now = utcnow()
    if client.revoked_at is None:
        client.revoked_at, client.revoked_by_id = now, actor.user_id
    db.session.execute(update(ApiToken).where(ApiToken.client_id == client.id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=now).execution_options(synchronize_session=False))
    db.session.flush()


# --- the token endpoint and resource requests (no tenant yet) -------------------------------


def find_client(client_id: str) -> ApiClient | None:
    """A client by its public id, revoked ones included (the caller refuses them)."""
    if not isinstance(client_id, str) or not _CLIENT_ID.match(client_id):
        return None
    return db.session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))


def issue_token(client: ApiClient, scope: str, raw: str, seconds: int) -> ApiToken:
    """Record an access token (its hash) for `client`, and note the client's use."""
    now = utcnow()
    row = ApiToken(client_id=client.id, printer_id=client.printer_id, token_hash=token_hash(raw), scope=scope,
                   issued_at=now, expires_at=now + dt.timedelta(seconds=token_seconds(seconds)))
    db.session.add(row)
    client.last_used_at = now
    db.session.flush()
    return row


def find_token(raw: str) -> tuple[ApiToken, ApiClient] | None:
    """The token row and its client for a presented bearer token, valid or not."""
    if not raw or len(raw) > 200:
        return None
    row = db.session.execute(select(ApiToken, ApiClient).join(ApiClient, ApiClient.id == ApiToken.client_id)
                             .where(ApiToken.token_hash == token_hash(raw))).first()
    return (row[0], row[1]) if row else None


def is_active(token: ApiToken, client: ApiClient, now: dt.datetime | None = None) -> bool:
    return token.revoked_at is None and client.revoked_at is None and token.expires_at > (now or utcnow())


def touch(client: ApiClient) -> None:
    """Note the client's use (at most once a minute, to spare a write per request)."""
    now = utcnow()
    if client.last_used_at is None or now - client.last_used_at > _TOUCH_EVERY:
        client.last_used_at = now
        db.session.flush()
