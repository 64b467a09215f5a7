"""Slowing down guesses at the sign-in form and the printers' API token endpoint (docs/security.md
T2.4; OWASP Authentication and Credential Stuffing cheat sheets). Nobody is ever locked out:
wrong guesses buy growing waits, and each wait falls on the client that earned it, so a third
party guessing a director's password in September cannot keep the director out.

Sign-in form, for a browser that has not signed in to the account before (an unknown device):
- **the account from this address**: `LOGIN_FREE_FAILURES` (5) failures cost nothing, then each
  further one makes this address wait before its next try for this account, `LOGIN_DELAY_SECONDS`
  (2) doubling with every failure up to `LOGIN_MAX_DELAY_SECONDS` (900): about 16 guesses in
  the first hour, 4 an hour after that;
- **this address across accounts**: the same, after `LOGIN_FAILURES_PER_ADDRESS` (100) failures
  (one address spraying many accounts). Behind a reverse proxy set `LEGITKA_PROXY_HOPS`, or every
  user shares the proxy's address. An IPv6 address counts as its /64 network (what one
  subscriber gets), or rotating within it would multiply every allowance;
- **the account across addresses**: once `LOGIN_ACCOUNT_ADDRESSES` (5) different addresses have
  failed for the account, every failure from an unknown browser anywhere starts an account-wide
  wait doubling from the same first delay but capped at `LOGIN_ACCOUNT_MAX_DELAY_SECONDS` (60),
  so a botnet gets at most about 60 guesses an hour at an account. One address, however many
  times it fails, never starts it: its own waits above already limit it.

A browser where the account has signed in before (a known device, `portal.auth.devices`: a
signed cookie issued at each successful sign-in, kept `LOGIN_DEVICE_DAYS`, 365) is exempt from
all three: only its own failures count, with the same free failures and growing waits as an
address. So the right password is never refused because of anyone else's guesses from the
user's own browser, wherever it is, nor from a new browser at an address the guesses did not come
from, unless guesses come from several addresses at once — and then for a minute at most. A
stolen device cookie is no key: its thief only moves to that device's own count.

Printers' API token endpoint: the client secret is 256 random bits, not guessable, and the client
id is not a secret, so nothing is counted per client; failures slow down **the client id from
this address** and **this address across clients**, with the limits above. The printer's own
system, calling from its own address, is never refused because of someone else's failures.

Counts are forgotten `LOGIN_WINDOW_MINUTES` (60) after their last failure (infra.throttle). A
successful sign-in clears its count for the account from its address (unknown device) or its
device's. Counters live in Redis under HMACs (the app's secret key) of the e-mail or client id and
of the address: no e-mail or IP address is stored. Redis being down limits nobody (logged).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import ipaddress

from flask import current_app
from flask import request

from infra import services
from infra.throttle import Backoff
from infra.throttle import Spread

SIGN_IN = "sign-in"
SECOND_FACTOR = "second-factor"
API_TOKEN = "api-token"  # noqa: S105 (a counter's name, not a credential)


def _counter(name: str, free: int, cap_setting: str = "LOGIN_MAX_DELAY_SECONDS") -> Backoff:
    config = current_app.config
    return Backoff(services.queue().connection, name, free=free, first=int(config["LOGIN_DELAY_SECONDS"]),
                   cap=int(config[cap_setting]), memory=_memory())


def _memory() -> int:
    return int(current_app.config["LOGIN_WINDOW_MINUTES"]) * 60


def _setting(name: str) -> int:
    return int(current_app.config[name])


def digest(*parts: str) -> str:
    """HMAC-SHA-256 of `parts` under the app's secret key: a counter's subject, a device's tag."""
    key = current_app.config["SECRET_KEY"]
    message = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    return hmac.new(key.encode() if isinstance(key, str) else key, message, hashlib.sha256).hexdigest()


def client_address(remote_addr: str | None) -> str:
    """What counts as one address: an IPv4 address, or an IPv6 address's /64 network."""
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return remote_addr or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclasses.dataclass(frozen=True)
class AccountWide:
    """The account's wait across addresses, counted once `threshold` addresses have failed."""

    backoff: Backoff
    spread: Spread
    subject: str
    address: str
    threshold: int


@dataclasses.dataclass(frozen=True)
class Guard:
    """The counters one attempt is checked against, counted in on failure and cleared on success."""

    counters: tuple[tuple[Backoff, str], ...]
    clears: tuple[tuple[Backoff, str], ...]
    account: AccountWide | None = None

    def wait(self) -> int:
        """Seconds before this client may try this account again; 0: now."""
        waits = [counter.wait(subject) for counter, subject in self.counters]
        if self.account is not None:
            waits.append(self.account.backoff.wait(self.account.subject))
        return max(waits, default=0)

    def failed(self) -> int:
        """Count a wrong guess; seconds before this client's next attempt (0: straight away)."""
        waits = [counter.failed(subject) for counter, subject in self.counters]
        account = self.account
        if account is not None and account.spread.add(account.subject, account.address) >= account.threshold:
            waits.append(account.backoff.failed(account.subject))
        return max(waits, default=0)

    def succeeded(self) -> None:
        for counter, subject in self.clears:
            counter.clear(subject)


def sign_in(email: str, device: str | None) -> Guard:
    """The guard for a sign-in as `email` (normalised by the caller) from this request's address;
    `device`: the id of this browser's known-device entry for the account (None: unknown)."""
    free = _setting("LOGIN_FREE_FAILURES")
    if device is not None:
        own = (_counter(f"{SIGN_IN}-device", free), digest(SIGN_IN, "device", email, device))
        return Guard(counters=(own,), clears=(own,))
    address = client_address(request.remote_addr)
    pair = (_counter(f"{SIGN_IN}-pair", free), digest(SIGN_IN, "pair", email, address))
    return Guard(
        counters=(pair, (_counter(f"{SIGN_IN}-address", _setting("LOGIN_FAILURES_PER_ADDRESS")),
                         digest(SIGN_IN, "address", address))),
        clears=(pair,),
        account=AccountWide(
            backoff=_counter(f"{SIGN_IN}-account", 0, "LOGIN_ACCOUNT_MAX_DELAY_SECONDS"),
            spread=Spread(services.queue().connection, f"{SIGN_IN}-account-addresses", memory=_memory()),
            subject=digest(SIGN_IN, "account", email), address=digest(SIGN_IN, "address", address),
            threshold=_setting("LOGIN_ACCOUNT_ADDRESSES")))


def api_token(client_id: str) -> Guard:
    """The guard for the token endpoint: the client id from this address, and this address."""
    address = client_address(request.remote_addr)
    pair = (_counter(f"{API_TOKEN}-pair", _setting("LOGIN_FREE_FAILURES")),
            digest(API_TOKEN, "pair", client_id, address))
    return Guard(counters=(pair, (_counter(f"{API_TOKEN}-address", _setting("LOGIN_FAILURES_PER_ADDRESS")),
                                  digest(API_TOKEN, "address", address))), clears=(pair,))


def second_factor(user_id: int) -> Guard:
    """Wrong second-factor codes of one account, from anywhere (docs/security.md T2.3): the password
    is already known to whoever types them, and a right password clears the sign-in counts, so the
    codes are counted per account: `LOGIN_FREE_FAILURES` (5) free, then growing waits as for
    passwords. A right code clears the count."""
    own = (_counter(SECOND_FACTOR, _setting("LOGIN_FREE_FAILURES")), digest(SECOND_FACTOR, str(user_id)))
    return Guard(counters=(own,), clears=(own,))
