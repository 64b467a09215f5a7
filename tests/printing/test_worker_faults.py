"""The real worker under faults (docs/security.md §2.5, §2.6, T4.2–T4.5, T4.8): `flask legitka worker`
as a subprocess on the test PostgreSQL and Redis, killed with SIGKILL mid-batch, started on a
flushed Redis, fed the same job several times. The database's outbox and lease bring every order
to exactly one `ready` package, and Redis never holds more than ids."""

from __future__ import annotations

import contextlib
import pathlib
import zlib

from rq.job import Job
from sqlalchemy import select

from infra import services
from infra.db import db
from printing import operations as printing_ops
from printing.tasks import build_batch
from printing.tasks import job_id
from printing.tasks import relay_outbox
from tenants.pupils import applications
from tenants.pupils import pesel as pesel_rules
from tenants.registry.models import Card
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import Organisation
from tests.helpers import add_pupil
from tests.helpers import run_jobs
from tests.helpers import store_photo
from tests.printing.worker_processes import BORN
from tests.printing.worker_processes import FIRST_NAME
from tests.printing.worker_processes import SURNAME
from tests.printing.worker_processes import assert_one_complete_package
from tests.printing.worker_processes import order_row
from tests.printing.worker_processes import outbox_of
from tests.printing.worker_processes import status_of
from tests.printing.worker_processes import submit
from tests.workers import horses
from tests.workers import wait_for

# --- Redis holds ids only (T4.8) ------------------------------------------------------------


def redis_contents(redis) -> bytes:
    """Every key and value in the test Redis database, job payloads decompressed."""
    chunks = []
    for key in redis.scan_iter(count=1000):
        kind = redis.type(key).decode()
        chunks.append(key)
        if kind == "string":
            values = [redis.get(key)]
        elif kind == "hash":
            values = [b for pair in redis.hgetall(key).items() for b in pair]
        elif kind == "list":
            values = redis.lrange(key, 0, -1)
        elif kind == "set":
            values = list(redis.smembers(key))
        elif kind == "zset":
            values = redis.zrange(key, 0, -1)
        elif kind == "stream":
            values = [b for _id, entry in redis.xrange(key) for pair in entry.items() for b in pair]
        else:
            values = []
        for value in values:
            if value is None:
                continue
            chunks.append(value)
            with contextlib.suppress(zlib.error):
                chunks.append(zlib.decompress(value))  # rq compresses the pickled job (function, args)
    return b"\n".join(chunks)


def assert_redis_holds_ids_only(app, redis, secrets: list[bytes]) -> int:
    """No fixture PESEL, name or photo bytes anywhere in Redis; every job's arguments are
    integer ids. Returns how many jobs Redis still holds."""
    blob = redis_contents(redis)
    for secret in secrets:
        assert secret not in blob, f"{secret[:20]!r} found in Redis"
    jobs = 0
    for key in redis.scan_iter("rq:job:*"):
        if redis.type(key) != b"hash":
            continue
        job = Job.fetch(key.decode().removeprefix("rq:job:"), connection=redis)
        assert job.kwargs == {} and job.args and all(type(a) is int for a in job.args), job.args
        assert job.failure_ttl <= 7 * 24 * 3600 and job.result_ttl <= 3600
        jobs += 1
    return jobs


def personal_data(app, school_id: int, order_id: int) -> list[bytes]:
    """What of the order's pupils must never be in Redis: names, PESELs, the photo's bytes."""
    with app.app_context(), tenant_scope(Tenant(school_id=school_id)):
        cards = db.session.scalars(select(Card).where(Card.order_id == order_id)).all()
        photo = services.storage().get(cards[0].pupil.photo_key)
        secrets = [FIRST_NAME.encode(), SURNAME.encode(), photo[len(photo) // 2:len(photo) // 2 + 64]]
        for card in cards:
            secrets.append(services.pesel_cipher().decrypt(card.pupil.pesel_cipher).encode())
    secrets.append(pesel_rules.make(BORN, 100, "K").encode())
    return secrets


# --- the tests ------------------------------------------------------------------------------


def test_sigkill_mid_batch_then_restart_gives_one_complete_package(app, two_schools, workers, redis, tmp_path):
    """T4.3/T4.4: the worker and its work horse die by SIGKILL while the batch renders; a new
    worker takes the order over once the dead one's lease lapses (nobody moves it), and the
    result is one package, the same numbers, one access-log row per card."""
    a = two_schools["a"]
    cards = 40  # a few seconds of rendering
    order_id = submit(app, a, two_schools["director_a"], two_schools["p1"], cards)
    first = workers.start("--relay-every", "0.5")
    wait_for(lambda: status_of(app, a, order_id) == "rendering" and horses(first.pid), 60,
             "the batch to start rendering", workers)
    workers.kill(first)
    killed = order_row(app, a, order_id)
    assert killed.status == "rendering" and killed.attempt == 1, "the batch ended before the kill: use more cards"
    numbers_before = (killed.first_number, killed.last_number)

    second = workers.start("--relay-every", "0.5")
    wait_for(lambda: status_of(app, a, order_id) == "ready", 90, "the order to become ready", workers)
    workers.stop(second)

    order = assert_one_complete_package(app, a, order_id, cards, tmp_path)
    assert (order.first_number, order.last_number) == numbers_before
    assert order.attempt == 2  # the dead attempt and the one that finished; no other took over
    (event,) = outbox_of(app, order_id)
    assert event.enqueued_count == 2  # sent at submit, sent again once the lease had lapsed
    assert_redis_holds_ids_only(app, redis, personal_data(app, a, order_id))


def test_redis_flushed_after_submit_the_outbox_brings_the_job_back(app, two_schools, workers, redis, tmp_path):
    """T4.5: the job is in Redis, Redis loses everything; the worker's relay finds the order's
    job gone and enqueues it again from the outbox at once (no waiting for a retry interval)."""
    a = two_schools["a"]
    order_id = submit(app, a, two_schools["director_a"], two_schools["p1"], 2)
    (event,) = outbox_of(app, order_id)
    assert redis.exists(Job.key_for(job_id(event, 1)))
    redis.flushdb()
    workers.burst()
    assert_one_complete_package(app, a, order_id, 2, tmp_path)
    (event,) = outbox_of(app, order_id)
    assert event.enqueued_count == 2
    assert_redis_holds_ids_only(app, redis, personal_data(app, a, order_id))


def test_the_same_job_delivered_several_times_builds_once(app, two_schools, workers, redis, tmp_path):
    """T4.2: the order's job three times in the queue, worked by two workers at once, then once
    more after it is ready: one `ready` transition, one package, the same checksum."""
    a = two_schools["a"]
    order_id = submit(app, a, two_schools["director_a"], two_schools["p1"], 3)
    with app.app_context():
        queue = services.queue()
        for copy in ("a", "b"):
            queue.enqueue(build_batch, order_id, a, job_id=f"duplicate-{order_id}-{copy}")
    procs = [workers.start("--burst", "--relay-every", "3600") for _ in range(2)]
    for proc in procs:
        assert workers.wait(proc) == 0, workers.output()
    (event,) = outbox_of(app, order_id)
    results = sorted(Job.fetch(name, connection=redis).return_value()
                     for name in (job_id(event, 1), f"duplicate-{order_id}-a", f"duplicate-{order_id}-b"))
    assert results == ["ready", "skipped", "skipped"]
    order = assert_one_complete_package(app, a, order_id, 3, tmp_path)
    assert order.attempt == 1
    package = pathlib.Path(app.config["LOCAL_STORAGE_PATH"], order.package_key)
    written = package.stat().st_mtime_ns

    with app.app_context():
        services.queue().enqueue(build_batch, order_id, a, job_id=f"late-{order_id}")
    run_jobs(app)
    assert Job.fetch(f"late-{order_id}", connection=redis).return_value() == "skipped"
    again = assert_one_complete_package(app, a, order_id, 3, tmp_path)
    assert (again.package_sha256, again.pdf_sha256, again.ready_at, again.attempt) == (
        order.package_sha256, order.pdf_sha256, order.ready_at, 1)
    assert package.stat().st_mtime_ns == written  # not even rewritten
    assert_redis_holds_ids_only(app, redis, personal_data(app, a, order_id))


def test_jobs_carry_ids_only_and_redis_keeps_no_personal_data(app, two_schools, workers, redis, tmp_path):
    """T4.8/T4.9: after a real worker ran a good batch and a poison one (a photo is missing),
    no key or value in Redis holds a PESEL, a name or photo bytes; job args are the two ids."""
    a = two_schools["a"]
    good = submit(app, a, two_schools["director_a"], two_schools["p1"], 2)
    secrets = personal_data(app, a, good)
    poison = _poison_order(app, two_schools)
    workers.burst()
    assert status_of(app, a, good) == "ready"
    failed = order_row(app, two_schools["b"], poison)
    assert failed.status == "failed" and "Brak zdjęcia" in failed.error
    secrets += [b"Poison", b"Trucizna", pesel_rules.make(BORN, 300, "K").encode()]
    with app.app_context():
        job = Job.fetch(job_id(outbox_of(app, good)[0], 1), connection=services.queue().connection)
    assert job.args == (good, a) and job.func_name == "printing.tasks.build_batch"
    assert assert_redis_holds_ids_only(app, redis, secrets) >= 2


def _poison_order(app, two_schools) -> int:
    """School B's order whose only pupil's photo file is gone: the batch must fail, readably."""
    b = two_schools["b"]
    actor = Actor(user_id=two_schools["director_b"], role="school_director", organisation_id=b)
    with app.app_context(), tenant_scope(Tenant(school_id=b)):
        school = db.session.get(Organisation, b)
        pupil = add_pupil(actor, first="Trucizna", surname="Poison", born=BORN, serial=300)
        store_photo(actor, school, pupil)
        application = applications.create_application(actor, pupil)
        applications.decide_application(actor, application, approve=True)
        order = printing_ops.create_order(actor, school, two_schools["p1"], [application.id])
        printing_ops.submit_order(actor, order)
        db.session.commit()
        services.storage().delete(pupil.photo_key)
        relay_outbox()
        return order.id
