"""Failed attempts counted per subject in a fixed window, in Redis: what slows down guessing of
passwords and API client secrets (SECURITY.md T2.4). Subjects are opaque strings chosen by the
caller (an HMAC of an e-mail, an address); nothing personal is stored in clear."""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class Attempts:
    """At most `limit` failures per subject within `window` seconds (the window starts at the
    first failure). Redis being down lets every attempt through (logged): a broken counter
    must not lock everybody out."""

    def __init__(self, redis, name: str, limit: int, window: int) -> None:
        self.redis, self.name, self.limit, self.window = redis, name, limit, window

    def _key(self, subject: str) -> str:
        return f"legitka:attempts:{self.name}:{subject}"

    def wait(self, subject: str) -> int:
        """Seconds until the subject may try again; 0 while it is under the limit."""
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.get(self._key(subject))
            pipe.ttl(self._key(subject))
            count, ttl = pipe.execute()
        except RedisError:
            log.warning("attempt counter %s unavailable; not limiting", self.name)
            return 0
        if count is None or int(count) < self.limit:
            return 0
        return max(int(ttl), 1)

    def failed(self, subject: str) -> None:
        try:
            pipe = self.redis.pipeline(transaction=True)
            pipe.incr(self._key(subject))
            pipe.expire(self._key(subject), self.window, nx=True)
            pipe.execute()
        except RedisError:
            log.warning("attempt counter %s unavailable; failure not counted", self.name)

    def clear(self, subject: str) -> None:
        try:
            self.redis.delete(self._key(subject))
        except RedisError:
            log.warning("attempt counter %s unavailable; not cleared", self.name)
