"""The relying party's side of OpenID Connect's authorization code flow, with authlib (docs/security.md
T2.18): the provider's discovery document, the authorization request (PKCE S256, state, nonce),
the code exchange and the ID token's validation. No Flask request, session or database here:
`portal.auth.city_sign_in` keeps the pending request and decides who the person is.

- Discovery (OpenID Connect Discovery 1.0 §4): `<issuer>/.well-known/openid-configuration`,
  whose `issuer` must equal the configured one exactly (§4.3), and whose endpoints must be https
  (http only on loopback). Kept an hour per issuer; the key set is fetched again once when a
  token names a key it does not hold (the provider rotated its keys).
- Authorization request: `response_type=code`, a fresh `state` and `nonce` (256 bits each) and a
  PKCE verifier (RFC 7636, S256 only).
- Code exchange at the token endpoint, the client authenticated with HTTP Basic
  (`client_secret_basic`), the verifier sent.
- ID token (Core §3.1.3.7): signature by a key of the provider's JWKS, with an asymmetric
  algorithm the provider announces (never `none` or a shared-secret HMAC); `iss` equal to the
  issuer, `aud` holding our client id (and `azp` ours when several), `exp` not passed and `iat`
  present, by Legitka's clock (`infra.clock`, so tests can move it) with `OIDC_LEEWAY_SECONDS` of
  tolerated skew; `nonce` equal to ours; `at_hash` matching the access token when present; a
  non-empty `sub`.

Every failure is a `SignInFailed` with a short reason code (for the log) and whether the
provider (not the person) is at fault; no token, code or claim is ever put in its text.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from urllib.parse import urlencode

import requests
from authlib.common.security import generate_token
from authlib.common.security import is_secure_transport
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from portal.auth.oidc_settings import CityProvider

# Asymmetric signatures only: `none` proves nothing, and HS* would be keyed with our own secret.
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
METADATA_SECONDS = 3600
MAX_SUBJECT = 255


class SignInFailed(Exception):
    """The sign-in cannot go on. `reason`: a short code for the log; `provider_fault`: the
    provider was unreachable or answered nonsense (the operator's problem, not the person's)."""

    def __init__(self, reason: str, *, provider_fault: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.provider_fault = provider_fault


@dataclasses.dataclass(frozen=True)
class Pending:
    """What the authorization request was made with, kept server-side until its single use."""

    state: str
    nonce: str
    verifier: str


@dataclasses.dataclass(frozen=True)
class _Discovered:
    metadata: dict
    fetched: float
    keys: dict | None = None


_cache: dict[str, _Discovered] = {}
_lock = threading.Lock()


def _get_json(url: str, timeout: int) -> dict:
    try:
        response = requests.get(url, timeout=timeout, allow_redirects=False, headers={"Accept": "application/json"})
        response.raise_for_status()
        body = response.json()
    except (requests.RequestException, ValueError):
        raise SignInFailed("provider_unreachable", provider_fault=True)
    if not isinstance(body, dict):
        raise SignInFailed("provider_answer_invalid", provider_fault=True)
    return body


def metadata(provider: CityProvider, timeout: int) -> dict:
    """The provider's discovery document, checked (§4.3) and kept for an hour."""
    with _lock:
        known = _cache.get(provider.issuer)
    if known is not None and time.monotonic() - known.fetched < METADATA_SECONDS:
        return known.metadata
    found = _get_json(provider.issuer.rstrip("/") + "/.well-known/openid-configuration", timeout)
    if found.get("issuer") != provider.issuer:
        raise SignInFailed("discovery_issuer_mismatch", provider_fault=True)
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(found.get(name), str) or not is_secure_transport(found[name]):
            raise SignInFailed("discovery_endpoint_invalid", provider_fault=True)
    with _lock:
        _cache[provider.issuer] = _Discovered(found, time.monotonic())
    return found


def _key_set(provider: CityProvider, timeout: int, *, again: bool = False) -> KeySet:
    meta = metadata(provider, timeout)
    with _lock:
        known = _cache.get(provider.issuer)
    keys = known.keys if known is not None and not again else None
    if keys is None:
        keys = _get_json(meta["jwks_uri"], timeout)
        with _lock:
            if known is not None:
                _cache[provider.issuer] = dataclasses.replace(known, keys=keys)
    try:
        return KeySet.import_key_set(keys)
    except (JoseError, ValueError, TypeError, KeyError):
        raise SignInFailed("provider_keys_invalid", provider_fault=True)


def authorization_request(provider: CityProvider, redirect_uri: str, timeout: int) -> tuple[str, Pending]:
    """The URL to send the browser to, and what to keep until it comes back."""
    meta = metadata(provider, timeout)
    pending = Pending(state=generate_token(43), nonce=generate_token(43), verifier=generate_token(64))
    query = urlencode({"response_type": "code", "client_id": provider.client_id, "redirect_uri": redirect_uri,
                       "scope": provider.scopes, "state": pending.state, "nonce": pending.nonce,
                       "code_challenge": create_s256_code_challenge(pending.verifier),
                       "code_challenge_method": "S256"})
    endpoint = meta["authorization_endpoint"]
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}", pending


def finish(provider: CityProvider, pending: Pending, code: str, redirect_uri: str, *, now: int, leeway: int,
           timeout: int) -> dict:
    """Exchange the code and return the ID token's validated claims."""
    meta = metadata(provider, timeout)
    session = OAuth2Session(provider.client_id, provider.client_secret,
                            token_endpoint_auth_method="client_secret_basic")  # noqa: S106 (a method's name)
    try:
        with session:
            token = session.fetch_token(meta["token_endpoint"], grant_type="authorization_code", code=code,
                                        redirect_uri=redirect_uri, code_verifier=pending.verifier,
                                        timeout=timeout, allow_redirects=False)
    except OAuthError:  # invalid_grant: a used, expired or foreign code, a wrong verifier
        raise SignInFailed("code_refused")
    except (requests.RequestException, ValueError):
        raise SignInFailed("provider_unreachable", provider_fault=True)
    raw = token.get("id_token")
    if not isinstance(raw, str) or not raw:
        raise SignInFailed("no_id_token", provider_fault=True)
    return validate_id_token(provider, raw, nonce=pending.nonce, access_token=token.get("access_token"),
                             now=now, leeway=leeway, timeout=timeout)


def validate_id_token(provider: CityProvider, raw: str, *, nonce: str, access_token: str | None, now: int,
                      leeway: int, timeout: int) -> dict:
    """The ID token's claims, once its signature and claims hold (see the module's docstring)."""
    announced = metadata(provider, timeout).get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [name for name in announced if name in SIGNING_ALGORITHMS]
    if not algorithms:
        raise SignInFailed("no_usable_algorithm", provider_fault=True)
    try:
        try:
            decoded = jwt.decode(raw, _key_set(provider, timeout), algorithms=algorithms)
        except InvalidKeyIdError:  # perhaps rotated since we fetched the keys: fetch them once more
            decoded = jwt.decode(raw, _key_set(provider, timeout, again=True), algorithms=algorithms)
    except (JoseError, ValueError, TypeError):
        raise SignInFailed("id_token_signature")
    params = {"nonce": nonce, "client_id": provider.client_id}
    if access_token:
        params["access_token"] = access_token
    claims = CodeIDToken(decoded.claims, decoded.header,
                         {"iss": {"essential": True, "value": provider.issuer},
                          "aud": {"essential": True, "value": provider.client_id},
                          "nonce": {"essential": True}},
                         params)
    try:
        claims.validate(now=now, leeway=leeway)
    except JoseError as error:
        raise SignInFailed(f"id_token_{getattr(error, 'claim', None) or error.error}")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > MAX_SUBJECT:
        raise SignInFailed("id_token_sub")
    return dict(claims)


def forget(issuer: str | None = None) -> None:
    """Drop the kept discovery documents and keys (all, or one issuer's)."""
    with _lock:
        if issuer is None:
            _cache.clear()
        else:
            _cache.pop(issuer, None)
