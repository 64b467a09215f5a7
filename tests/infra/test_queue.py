"""The queue's Redis connection gives up quickly on an unreachable host, so that a request that
enqueues after its commit (or a worker's relay) is not held for the kernel's TCP timeout."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import redis

from infra.queue import CONNECT_TIMEOUT_SECONDS
from infra.queue import build_queue


def test_an_unreachable_redis_fails_within_the_connect_timeout():
    # A listener whose accept queue is full: the kernel drops further SYNs, like a host that is down.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        pending = []
        try:
            for _ in range(3):
                client = socket.socket()
                client.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    client.connect(("127.0.0.1", port))
                pending.append(client)
            queue = build_queue({"REDIS_URL": f"redis://127.0.0.1:{port}/0"})
            outcome = []

            def ping():
                started = time.monotonic()
                try:
                    queue.connection.ping()
                except redis.RedisError as exc:
                    outcome.append((type(exc), time.monotonic() - started))

            thread = threading.Thread(target=ping, daemon=True)
            thread.start()
            thread.join(CONNECT_TIMEOUT_SECONDS + 3)
            assert not thread.is_alive(), "still connecting to an unreachable Redis"
            [(error, seconds)] = outcome
            assert issubclass(error, redis.TimeoutError) and seconds < CONNECT_TIMEOUT_SECONDS + 1
        finally:
            for client in pending:
                client.close()
