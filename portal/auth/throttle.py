"""Slowing down guesses at the sign-in form and the printers' API token endpoint (SECURITY.md
T2.4; OWASP Authentication and Credential Stuffing cheat sheets). Nobody is ever locked out:
wrong guesses buy growing waits, and each wait falls on the client that earned it, so a third
party guessing a director's password in September cannot keep the director out.

Sign-in form, for a browser that has never signed in to the account here (an unknown device):
- **the account from this address** (`LOGIN_FREE_FAILURES`, 5): then a wait of
  `LOGIN_DELAY_SECONDS` (2) that doubles with each further failure up to
  `LOGIN_MAX_DELAY_SECONDS` (900). The wait applies to this account from this address only;
- **this address across accounts** (`LOGIN_FAILURES_PER_ADDRESS`, 100): then the same growing
  waits for every sign-in from the address (one address spraying many accounts). Behind a
  reverse proxy set `LEGITKA_PROXY_HOPS`, or every user shares the proxy's address;
- **the account across all addresses** (`LOGIN_ACCOUNT_FREE_FAILURES`, 60 — far more than one
  address can fail in the counting window): then short waits doubling from the same first delay
  but capped at `LOGIN_ACCOUNT_MAX_DELAY_SECONDS` (60), against guessing from many addresses at
  once. So at most about 60 guesses an hour reach an account once such an attack is under way;
  its own user on a new browser then waits at most a minute, and on a known device not at all.

A browser where the account has signed in before (a known device, `portal.auth.devices`: a
signed cookie issued at each successful sign-in, kept `LOGIN_DEVICE_DAYS`, 365) is exempt from
all three: only its own failures count, under the same free failures and growing waits as an
address. The right password from the user's own browser is therefore never refused because of
anyone else's guesses, wherever they come from; nor from an unknown browser at another address,
short of a many-address attack on the account. A stolen device cookie is no key: it only moves
its thief to that device's own count.

Printers' API token endpoint: the client secret is 256 random bits, not guessable, and the client
id is not a secret, so nothing is counted per client; failures slow down **the client id from
this address** and **this address across clients**, with the same limits as the sign-in form.
The printer's own system, calling from its own address, is never refused because of someone
else's failures.

Every count is forgotten `LOGIN_WINDOW_MINUTES` (60) after its last failure (infra.throttle),
and a successful sign-in clears the count of its account from its address (unknown device) or of
its device. Counters live in Redis under HMACs (with the app's secret key) of the e-mail or
client id and of the address, so they hold neither e-mails nor IP addresses. Redis being down
limits nobody (logged).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac

from flask import current_app
from flask import request

from infra import services
from infra.throttle import Backoff

SIGN_IN = "sign-in"
API_TOKEN = "api-token"  # noqa: S105 (a counter's name, not a credential)


def _counter(name: str, free_setting: str, cap_setting: str = "LOGIN_MAX_DELAY_SECONDS") -> Backoff:
    config = current_app.config
    return Backoff(services.queue().connection, name, free=int(config[free_setting]),
                   first=int(config["LOGIN_DELAY_SECONDS"]), cap=int(config[cap_setting]),
                   memory=int(config["LOGIN_WINDOW_MINUTES"]) * 60)


def digest(*parts: str) -> str:
    """HMAC-SHA-256 of `parts` under the app's secret key: a counter's subject, a device's tag."""
    key = current_app.config["SECRET_KEY"]
    message = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    return hmac.new(key.encode() if isinstance(key, str) else key, message, hashlib.sha256).hexdigest()


def _address() -> str:
    return request.remote_addr or "unknown"


@dataclasses.dataclass(frozen=True)
class Guard:
    """The counters one attempt is checked against, counted in on failure and cleared on success."""

    counters: tuple[tuple[Backoff, str], ...]
    clears: tuple[tuple[Backoff, str], ...]

    def wait(self) -> int:
        """Seconds before this client may try this account again; 0: now."""
        return max((counter.wait(subject) for counter, subject in self.counters), default=0)

    def failed(self) -> int:
        """Count a wrong guess; seconds before this client's next attempt (0: straight away)."""
        return max([counter.failed(subject) for counter, subject in self.counters], default=0)

    def succeeded(self) -> None:
        for counter, subject in self.clears:
            counter.clear(subject)


def sign_in(email: str, device: str | None) -> Guard:
    """The guard for a sign-in as `email` (normalised by the caller) from this request's address;
    `device`: the id of this browser's known-device entry for the account (None: unknown)."""
    if device is not None:
        own = (_counter(f"{SIGN_IN}-device", "LOGIN_FREE_FAILURES"), digest(SIGN_IN, "device", email, device))
        return Guard(counters=(own,), clears=(own,))
    address = _address()
    pair = (_counter(f"{SIGN_IN}-pair", "LOGIN_FREE_FAILURES"), digest(SIGN_IN, "pair", email, address))
    return Guard(counters=(
        pair,
        (_counter(f"{SIGN_IN}-address", "LOGIN_FAILURES_PER_ADDRESS"), digest(SIGN_IN, "address", address)),
        (_counter(f"{SIGN_IN}-account", "LOGIN_ACCOUNT_FREE_FAILURES", "LOGIN_ACCOUNT_MAX_DELAY_SECONDS"),
         digest(SIGN_IN, "account", email)),
    ), clears=(pair,))


def api_token(client_id: str) -> Guard:
    """The guard for the token endpoint: the client id from this address, and this address."""
    address = _address()
    pair = (_counter(f"{API_TOKEN}-pair", "LOGIN_FREE_FAILURES"), digest(API_TOKEN, "pair", client_id, address))
    return Guard(counters=(
        pair,
        (_counter(f"{API_TOKEN}-address", "LOGIN_FAILURES_PER_ADDRESS"), digest(API_TOKEN, "address", address)),
    ), clears=(pair,))
