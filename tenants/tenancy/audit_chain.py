"""The access log's hash chain (docs/security.md T3.11): each tenant's rows form one chain, so a row
changed or removed afterwards — even by a database superuser, whom the append-only trigger does not
stop — is found by `verify` (`flask legitka verify-log`, for the data protection officer).

- A chain per tenant: `school:<id>` for rows about a school's pupils and orders (whoever acted:
  the school, its city or a printer), `printer:<id>` / `city:<id>` for a printer's or city's own
  denied attempts (rows without a school).
- Each row stores its number in the chain (`chain_seq`, 1, 2, …), the previous row's hash
  (`prev_hash`; the first row the chain's genesis) and `row_hash = sha256(prev_hash + "\\n" +
  canonical(row))`, the canonical row being the JSON list of its columns (`FIELDS`), never its id.
- A logged row is numbered and hashed when the session flushes it (`_link_pending`): each
  chain's head (`access_log_heads`: last number, last hash, the genesis) is locked with
  SELECT … FOR UPDATE, in the order of the chains' names, until the transaction ends. Two
  transactions of one tenant chain one after the other; a rolled-back transaction's numbers were
  never taken. SQLite has one writer at a time anyway.
- Rows written before the chain existed (migration 0030) keep `chain_seq` empty; each chain
  starts from its recorded genesis `sha256("legitka-access-log-genesis\\n" + chain)`, and
  `genesis_at` records when it started. Those earlier rows are covered only by the append-only
  trigger.

`verify` walks each chain in `chain_seq` order and names the first row whose number, link or
hash does not match, or a head that does not match the last row (the last rows removed).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json

from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from infra.db import db
from infra.db import utcnow
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import current_tenant
from tenants.tenancy.context import tenant_scope
from tenants.tenancy.models import AccessLog
from tenants.tenancy.models import AccessLogHead

_PENDING = "legitka_access_log_pending"  # Session.info key: this transaction's rows, not yet chained
FIELDS = ("chain", "chain_seq", "ts", "actor_user_id", "actor_role", "actor_organisation_id", "school_id",
          "pupil_id", "order_id", "action", "endpoint", "request_id", "ip", "result", "detail", "api_client")


def genesis(chain: str) -> str:
    return hashlib.sha256(f"legitka-access-log-genesis\n{chain}".encode()).hexdigest()


def chain_for(school_id: int | None, tenant: Tenant | None = None) -> str | None:
    """The chain a row joins: its school's, else the acting tenant's (None: no tenant, no row)."""
    if school_id is not None:
        return f"school:{school_id}"
    tenant = tenant or current_tenant()
    if tenant.printer_id is not None:
        return f"printer:{tenant.printer_id}"
    if tenant.city_id is not None:
        return f"city:{tenant.city_id}"
    if tenant.school_id is not None:
        return f"school:{tenant.school_id}"
    return None


def _value(row: AccessLog, name: str):
    value = getattr(row, name)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return value


def canonical(row: AccessLog) -> str:
    return json.dumps([_value(row, name) for name in FIELDS], ensure_ascii=False, separators=(",", ":"))


def row_hash(prev_hash: str, row: AccessLog) -> str:
    return hashlib.sha256(f"{prev_hash}\n{canonical(row)}".encode()).hexdigest()


def _insert_head(session, chain: str) -> None:
    """The chain's head, if it has none yet; a concurrent first row of the same tenant loses
    nothing (ON CONFLICT DO NOTHING, then both lock the one head)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    first = genesis(chain)
    session.execute(dialect.insert(AccessLogHead).values(chain=chain, seq=0, head_hash=first, genesis_hash=first,
                                                         genesis_at=utcnow()).on_conflict_do_nothing())


def _locked_head(session, chain: str) -> AccessLogHead:
    query = (select(AccessLogHead).where(AccessLogHead.chain == chain).with_for_update()
             .execution_options(populate_existing=True))
    head = session.scalars(query).first()
    if head is None:
        _insert_head(session, chain)
        head = session.scalars(query).one()
    return head


def append(row: AccessLog) -> None:
    """Add `row` (its `chain` set) to the session; `_link_pending` chains it at the next flush."""
    db.session.add(row)
    db.session.info.setdefault(_PENDING, []).append(row)


def _link_pending(session, flush_context, instances) -> None:
    """As the session flushes: chain the rows logged since the last flush, tenant by tenant in the
    order of the chains' names (two transactions locking several heads take them in one order),
    each chain's rows in the order they were logged. A head stays locked until the transaction
    ends, so one tenant's rows are chained one transaction after the other."""
    rows = session.info.pop(_PENDING, None)
    if not rows:
        return
    by_chain: dict[str, list[AccessLog]] = {}
    for row in rows:
        if row in session.new:
            by_chain.setdefault(row.chain, []).append(row)
    for chain in sorted(by_chain):
        head = _locked_head(session, chain)
        for row in by_chain[chain]:
            row.chain_seq = head.seq + 1
            row.prev_hash = head.head_hash
            row.row_hash = row_hash(head.head_hash, row)
            head.seq, head.head_hash = row.chain_seq, row.row_hash


def _drop_pending(session) -> None:
    session.info.pop(_PENDING, None)  # rolled back: the rows were never written


event.listen(Session, "before_flush", _link_pending)
event.listen(Session, "after_rollback", _drop_pending)


@dataclasses.dataclass(frozen=True)
class Broken:
    """The first fault of a chain: the row (its id, or None when the tail is missing) and why."""

    chain: str
    row_id: int | None
    chain_seq: int | None
    reason: str

    def __str__(self) -> str:
        where = f"row id {self.row_id} (no. {self.chain_seq})" if self.row_id is not None else "the chain's end"
        return f"{self.chain}: {where}: {self.reason}"


def _scope(chain: str) -> Tenant:
    kind, _, number = chain.partition(":")
    return Tenant(**{f"{kind}_id": int(number)})


def verify_chain(head: AccessLogHead) -> Broken | None:
    """Walk one chain from its genesis; the first fault, or None when every row and the head agree."""
    expected_prev, expected_seq = head.genesis_hash, 1
    if head.genesis_hash != genesis(head.chain):
        return Broken(head.chain, None, None, "the recorded genesis is not this chain's")
    with tenant_scope(_scope(head.chain)):
        rows = db.session.scalars(select(AccessLog).where(AccessLog.chain == head.chain,
                                                          AccessLog.chain_seq.is_not(None))
                                  .order_by(AccessLog.chain_seq, AccessLog.id)).all()
        for row in rows:
            if row.chain_seq != expected_seq:
                missing = "missing" if row.chain_seq > expected_seq else "repeated"
                return Broken(head.chain, row.id, row.chain_seq, f"no. {expected_seq} expected ({missing} row)")
            if row.prev_hash != expected_prev:
                return Broken(head.chain, row.id, row.chain_seq, "does not follow the previous row (prev_hash)")
            if row_hash(row.prev_hash, row) != row.row_hash:
                return Broken(head.chain, row.id, row.chain_seq, "altered (its hash does not match its columns)")
            expected_prev, expected_seq = row.row_hash, expected_seq + 1
        db.session.rollback()
    if head.seq != expected_seq - 1 or head.head_hash != expected_prev:
        return Broken(head.chain, None, None, f"the head is at no. {head.seq}, the rows end at no. {expected_seq - 1}"
                                              " (last rows removed)")
    return None


def verify() -> tuple[int, list[Broken]]:
    """How many chains were walked, and each broken one's first fault (none: the whole log is
    intact). Reads each chain as its tenant, whom row-level security lets see that chain's rows."""
    heads = db.session.scalars(select(AccessLogHead).order_by(AccessLogHead.chain)).all()
    db.session.expunge_all()
    found = []
    for head in heads:
        broken = verify_chain(head)
        if broken is not None:
            found.append(broken)
    return len(heads), found
