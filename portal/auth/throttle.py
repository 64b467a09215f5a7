"""How many wrong guesses the portal allows (SECURITY.md T2.4): per account **and** per address,
for the sign-in form and for the printers' API token endpoint.

- An account (an e-mail, or an API client id) gets `LOGIN_FAILURES_PER_ACCOUNT` (10) failures
  in `LOGIN_WINDOW_MINUTES` (15); the next attempt is refused with 429 until the window ends,
  even with the right password, so at most 40 guesses an hour reach any account.
- An address gets `LOGIN_FAILURES_PER_ADDRESS` (100) failures in the same window, across all
  accounts: one attacker can lock out a few accounts, not a school's staff. Behind a reverse
  proxy set `LEGITKA_PROXY_HOPS`, or every user shares the proxy's address.
- A successful sign-in clears its account's count (not its address's).

Accounts are counted under an HMAC of the e-mail or client id with the app's secret key, so the
counters hold no e-mail addresses.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app
from flask import request

from infra import services
from infra.throttle import Attempts


def _counters(kind: str) -> tuple[Attempts, Attempts]:
    config, redis = current_app.config, services.queue().connection
    window = int(config["LOGIN_WINDOW_MINUTES"]) * 60
    return (Attempts(redis, f"{kind}-account", int(config["LOGIN_FAILURES_PER_ACCOUNT"]), window),
            Attempts(redis, f"{kind}-address", int(config["LOGIN_FAILURES_PER_ADDRESS"]), window))


def _account(name: str) -> str:
    key = current_app.config["SECRET_KEY"]
    return hmac.new(key.encode() if isinstance(key, str) else key, name.strip().lower().encode(),
                    hashlib.sha256).hexdigest()


def _address() -> str:
    return request.remote_addr or "unknown"


def wait(kind: str, name: str) -> int:
    """Seconds before `name` (an e-mail or client id) may try again from this address; 0: now."""
    account, address = _counters(kind)
    return max(account.wait(_account(name)), address.wait(_address()))


def failed(kind: str, name: str) -> None:
    account, address = _counters(kind)
    account.failed(_account(name))
    address.failed(_address())


def succeeded(kind: str, name: str) -> None:
    account, _address_counter = _counters(kind)
    account.clear(_account(name))
