"""Failed attempts counted per subject in Redis, and the growing wait they impose: what slows down
the guessing of passwords and API client secrets (docs/security.md T2.4; the policy — which subjects,
which limits — is the caller's, e.g. `portal.auth.throttle`).

A `Backoff` never locks a subject for good. Its first `free` failures cost nothing; each further
failure makes the subject wait before its next attempt, `first` seconds after the first of them,
doubling with every failure up to `cap`. A subject's count is forgotten `memory` seconds after
its last failure (at least `cap`, so a count outlives the longest wait). Attempts refused while
a wait lasts are not failures (nothing was checked) and do not lengthen it.

A `Spread` tells how many different members (addresses) failed for a subject lately, so that a
caller can slow an account down only when it is guessed at from many places at once.

Subjects and members are opaque strings chosen by the caller (HMACs of an e-mail and of an
address); nothing personal is stored in clear. Keys: `legitka:attempts:<name>:<subject>` holds a
count, `…:<subject>:wait` exists while the subject waits (its TTL is the time left), and a
spread's key holds a HyperLogLog of its members (12 KB at most, however many addresses).

Redis being down lets every attempt through and counts nothing (logged as a warning): a broken
counter must not lock anybody out.
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

log = logging.getLogger(__name__)

_MAX_DOUBLINGS = 40  # 2**40 × any first delay is past any cap; bounds the arithmetic


class Backoff:
    """Growing waits after `free` failures of one subject (see the module's docstring)."""

    def __init__(self, redis, name: str, *, free: int, first: int, cap: int, memory: int) -> None:
        self.redis, self.name = redis, name
        self.free, self.first, self.cap = max(0, int(free)), max(1, int(first)), max(1, int(cap))
        self.memory = max(int(memory), self.cap)

    def _count_key(self, subject: str) -> str:
        return f"legitka:attempts:{self.name}:{subject}"

    def _wait_key(self, subject: str) -> str:
        return f"legitka:attempts:{self.name}:{subject}:wait"

    def delay_after(self, failures: int) -> int:
        """The wait, in seconds, that the `failures`-th failure in a row starts (0: none)."""
        beyond = failures - self.free
        if beyond <= 0:
            return 0
        return min(self.cap, self.first * 2 ** min(beyond - 1, _MAX_DOUBLINGS))

    def wait(self, subject: str) -> int:
        """Seconds until the subject may try again (rounded up); 0: now."""
        try:
            left_ms = self.redis.pttl(self._wait_key(subject))
        except RedisError:
            log.warning("attempt counter %s unavailable; not limiting", self.name)
            return 0
        return -(-int(left_ms) // 1000) if left_ms and int(left_ms) > 0 else 0

    def failed(self, subject: str) -> int:
        """Count a failure; the wait it starts, in seconds (0 while within the free failures)."""
        try:
            pipe = self.redis.pipeline(transaction=True)
            pipe.incr(self._count_key(subject))
            pipe.expire(self._count_key(subject), self.memory)
            failures, _expiry = pipe.execute()
            delay = self.delay_after(int(failures))
            if delay:
                self.redis.set(self._wait_key(subject), b"1", px=delay * 1000)
        except RedisError:
            log.warning("attempt counter %s unavailable; failure not counted", self.name)
            return 0
        return delay

    def clear(self, subject: str) -> None:
        """Forget the subject's failures and any wait (after it proved who it is)."""
        try:
            self.redis.delete(self._count_key(subject), self._wait_key(subject))
        except RedisError:
            log.warning("attempt counter %s unavailable; not cleared", self.name)


class Spread:
    """How many different members (e.g. addresses) failed for a subject, forgotten `memory`
    seconds after the last one (a HyperLogLog: exact for a few, within 1 % for millions)."""

    def __init__(self, redis, name: str, *, memory: int) -> None:
        self.redis, self.name, self.memory = redis, name, max(1, int(memory))

    def add(self, subject: str, member: str) -> int:
        """Record a failure by `member`; how many different members failed (0 if Redis is down)."""
        key = f"legitka:attempts:{self.name}:{subject}"
        try:
            pipe = self.redis.pipeline(transaction=True)
            pipe.pfadd(key, member)
            pipe.expire(key, self.memory)
            pipe.pfcount(key)
            _added, _expiry, members = pipe.execute()
        except RedisError:
            log.warning("attempt counter %s unavailable; failure not counted", self.name)
            return 0
        return int(members)
