"""Pupil lists in: upload, recognise or map the columns, dry run, then a job imports.

The dry run validates every row (`tenants.roster.rows`) and compares it with the school's
pupils: a known PESEL or document number updates that pupil (a class change, a corrected
name), an unknown one adds a pupil, and a row that looks like an existing pupil under another
identity is refused. Re-importing the same list therefore changes nothing. The import itself
re-checks everything against the database as it is then and writes all valid rows in one
transaction: it happens completely or not at all.

The uploaded file is read once: what is kept in storage is the table as read (`dump_table`), so
the column mapping and the import job work on exactly the rows the dry run saw, without parsing
the spreadsheet again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from infra import clock
from infra import services
from infra.crypto import token
from infra.db import db
from infra.db import utcnow
from infra.storage import school_key
from tenants.pupils import card_templates
from tenants.pupils import operations as pupil_records
from tenants.pupils.models import Pupil
from tenants.roster.file import RosterFileError
from tenants.roster.file import Table
from tenants.roster.file import check_mapping
from tenants.roster.file import detect_layout
from tenants.roster.file import mask_digits
from tenants.roster.file import read_table
from tenants.roster.models import ImportKind
from tenants.roster.models import ImportStatus
from tenants.roster.models import RosterImport
from tenants.roster.rows import PupilRow
from tenants.roster.rows import validate_rows
from tenants.roster.table import dump_table
from tenants.roster.table import is_dumped_table
from tenants.roster.table import load_table
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import require_school
from tenants.tenancy.errors import OperationError
from tenants.tenancy.operations import record_change

log = logging.getLogger("legitka.tenants")

PROGRESS_EVERY = 100


def _key(school_id: int) -> str:
    return school_key(school_id, "imports", f"{token(16)}.bin")


def start(actor: Actor, data: bytes) -> RosterImport:
    """Keep the uploaded list and dry-run it when its columns are recognised.

    Raises `OperationError` (Polish) for a file that is no readable CSV/XLSX pupil list."""
    try:
        table = read_table(data)
    except RosterFileError as err:
        raise OperationError(str(err)) from None
    layout, mapping = detect_layout(table.headers)
    school_id = require_school()
    key = _key(school_id)
    services.storage().put(key, dump_table(table), "application/octet-stream")
    # A file without a header row has a pupil's data, maybe a PESEL, where the headers are.
    batch = RosterImport(school_id=school_id, kind=ImportKind.ROSTER.value, file_key=key, layout=layout or "",
                         headers=[_shown_header(h) for h in table.headers], mapping={k: v for k, v in mapping.items()},
                         status=ImportStatus.NEEDS_MAPPING.value, created_by_id=actor.user_id)
    db.session.add(batch)
    db.session.flush()
    if layout:
        _dry_run(batch, table)
    return batch


def _shown_header(header: str) -> str:
    """A header as the mapping form lists it: digit runs masked (a file without a header row has a
    pupil's data there), long ones shortened (the form lists every header for every field)."""
    header = mask_digits(header)
    return header if len(header) <= 80 else header[:79] + "…"


def set_mapping(actor: Actor, batch: RosterImport, mapping: dict[str, int | None]) -> None:
    """The secretary's column mapping; then the dry run. `OperationError` for a bad mapping."""
    if batch.status not in (ImportStatus.NEEDS_MAPPING.value, ImportStatus.CHECKED.value):
        raise OperationError("Tego importu nie można już zmienić.")
    try:
        checked = check_mapping(mapping, batch.headers)
    except RosterFileError as err:
        raise OperationError(str(err)) from None
    batch.mapping = checked
    batch.layout = "mapped"
    record_change(actor, "import_mapped", school_id=batch.school_id, detail=f"import={batch.id}")
    _dry_run(batch, _table(batch))


def _table(batch: RosterImport) -> Table:
    data = services.storage().get(batch.file_key)
    if is_dumped_table(data):
        return load_table(data)
    return read_table(data)  # an upload kept as the file itself, before tables were stored read


@dataclasses.dataclass
class Plan:
    """What importing the file would do, row by row."""

    report: list[dict]
    to_add: list[PupilRow]
    to_update: list[tuple[Pupil, PupilRow]]

    @property
    def summary(self) -> dict:
        counts = {"new": 0, "update": 0, "unchanged": 0, "invalid": 0}
        for row in self.report:
            counts[row["action"]] += 1
        return {"total": len(self.report), **counts}


def _name_key(surname: str, first_names: str, born: dt.date) -> tuple:
    return (surname.casefold(), first_names.casefold(), born)


def plan(table: Table, mapping: dict[str, int], *, today: dt.date | None = None) -> Plan:
    """Validate every row and decide new / update / unchanged / invalid against the school. A new
    or changed learner who gets no card (a pre-school child outside MEiN-I/5) gets a note."""
    results = validate_rows(table, mapping, today=today or clock.today())
    existing = list(db.session.scalars(select(Pupil).where(Pupil.school_id == require_school())))
    by_pesel = {p.pesel_index: p for p in existing if p.pesel_index}
    by_document = {p.id_document_index: p for p in existing if p.id_document_index}
    by_name = {}
    for p in existing:
        by_name.setdefault(_name_key(p.surname, p.first_names, p.date_of_birth), []).append(p)
    report, to_add, to_update = [], [], []
    for result in results:
        entry = {"line": result.line, "label": result.label, "errors": list(result.errors), "changes": []}
        row = result.row
        if row is None:
            entry["action"] = "invalid"
            report.append(entry)
            continue
        if row.pesel:
            pupil = by_pesel.get(pupil_records.pesel_index(row.pesel))
        else:
            pupil = by_document.get(pupil_records.document_index(row.id_document_number))
        if pupil is None:
            twins = by_name.get(_name_key(row.surname, row.first_names, row.date_of_birth), [])
            if twins:
                entry["action"] = "invalid"
                entry["errors"].append("W szkole jest już uczeń o tym imieniu, nazwisku i dacie urodzenia, ale z "
                                       "innym numerem PESEL lub dokumentu — sprawdź, czy to ta sama osoba.")
            else:
                entry["action"] = "new"
                to_add.append(row)
        else:
            changes = _changes(pupil, row)
            entry["changes"] = changes
            entry["action"] = "update" if changes else "unchanged"
            if changes:
                to_update.append((pupil, row))
        if entry["action"] in ("new", "update"):
            # imported all the same, but the school learns now that no card can be ordered (docs/domain.md §2)
            learner = row.learner_type or (pupil.learner_type if pupil else "pupil")
            disabled = row.disabled if row.disabled is not None else bool(pupil and pupil.disabled)
            choice = card_templates.choose(learner, disabled, row.date_of_birth, today or clock.today())
            if choice.refusal:
                entry["notes"] = [f"bez legitymacji: {choice.refusal}"]
        report.append(entry)
    return Plan(report, to_add, to_update)


LABELS = {"surname": "nazwisko", "first_names": "imiona", "date_of_birth": "data urodzenia",
          "class_name": "klasa", "book_number": "nr w księdze", "learner_type": "rodzaj ucznia",
          "disabled": "niepełnosprawność", "address": "adres", "parent_email": "e-mail rodzica", "status": "status",
          "id_document_type": "rodzaj dokumentu"}


def _changes(pupil: Pupil, row: PupilRow) -> list[str]:
    """Human-readable differences ("klasa: 1a → 2a"), following the import's rule that an
    empty cell keeps the stored value. Personal identifiers are never spelled out."""
    out = []
    for name, label in LABELS.items():
        new = getattr(row, name)
        if new is None or new == "":
            continue
        old = getattr(pupil, name)
        if new != old:
            if name in ("surname", "first_names", "class_name", "book_number"):
                out.append(f"{label}: {old or '—'} → {new}")
            else:
                out.append(f"{label}: zmiana")
    return out


def _dry_run(batch: RosterImport, table: Table) -> None:
    result = plan(table, batch.mapping)
    batch.report = [r for r in result.report if r["action"] != "unchanged"]
    batch.summary = result.summary
    batch.status = ImportStatus.CHECKED.value
    db.session.flush()


def confirm(actor: Actor, batch: RosterImport) -> None:
    """The secretary imports the valid rows: the job is queued (by the caller, after commit)."""
    if batch.status != ImportStatus.CHECKED.value:
        raise OperationError("Ten import nie czeka na potwierdzenie.")
    if not (batch.summary.get("new") or batch.summary.get("update")):
        raise OperationError("W pliku nie ma nic do zaimportowania: same błędne albo niezmienione wiersze.")
    batch.status = ImportStatus.QUEUED.value  # `tenants.roster.jobs` sends it, now and again if it is lost
    record_change(actor, "import_confirmed", school_id=batch.school_id, detail=f"import={batch.id}")
    db.session.flush()


def discard(actor: Actor, batch: RosterImport) -> None:
    if batch.status not in (ImportStatus.NEEDS_MAPPING.value, ImportStatus.CHECKED.value):
        raise OperationError("Tego importu nie można już odrzucić.")
    batch.status = ImportStatus.DISCARDED.value
    batch.finished_at = utcnow()
    record_change(actor, "import_discarded", school_id=batch.school_id, detail=f"import={batch.id}")
    drop_file(batch)


def drop_file(batch: RosterImport) -> None:
    """The uploaded list holds PESELs: it goes as soon as it is no longer needed."""
    if batch.file_key:
        services.storage().delete(batch.file_key)
        batch.file_key = None
    db.session.flush()


def delete_file(key: str | None) -> None:
    """Delete an ended import's file once the row no longer points at it (committed). A storage
    error leaves the file behind (logged: a leak, not a reason to undo the import's end)."""
    if not key:
        return
    try:
        services.storage().delete(key)
    except Exception as exc:
        log.error("an ended import's file could not be deleted: %s", type(exc).__name__)


def _details(row: PupilRow) -> pupil_records.PupilDetails:
    return pupil_records.PupilDetails(
        first_names=row.first_names, surname=row.surname, date_of_birth=row.date_of_birth, pesel=row.pesel or "",
        id_document_type=row.id_document_type, id_document_number=row.id_document_number, sex=row.sex,
        class_name=row.class_name, book_number=row.book_number, learner_type=row.learner_type,
        disabled=row.disabled, address=row.address, parent_email=row.parent_email, status=row.status)


def apply(actor: Actor, batch: RosterImport, progress=lambda done, total: None) -> dict:
    """Write every valid row, in the caller's transaction; returns the summary.

    `progress(done, total)` is called every `PROGRESS_EVERY` rows (the progress bar)."""
    result = plan(_table(batch), batch.mapping)
    work = [(None, row) for row in result.to_add] + list(result.to_update)
    added: list = []  # pupils added since the last flush: who added them is recorded once they have ids
    for done, (pupil, row) in enumerate(work, start=1):
        try:
            # The plan matched every row against the school's pupils and the file's other rows by the
            # same identities the unique constraints use (PESEL; document number whatever its type).
            if pupil is None:
                added.append(pupil_records.add_pupil(actor, _details(row), unique_checked=True))
            else:
                pupil_records.update_pupil(actor, pupil, _details(row), keep_blanks=True, unique_checked=True)
        except OperationError as err:
            # The dry run validated the row; a conflict here means the data changed since.
            raise OperationError(f"Wiersz {row.line}: {err}") from None
        if done % PROGRESS_EVERY == 0:
            _flush()
            _record_added(actor, added)
            progress(done, len(work))
    _flush()
    _record_added(actor, added)
    progress(len(work), len(work))
    batch.report = [r for r in result.report if r["action"] != "unchanged"]
    batch.summary = result.summary
    return result.summary


def _record_added(actor: Actor, added: list) -> None:
    for pupil in added:
        pupil_records.record_pupil_added(actor, pupil)
    added.clear()


def _flush() -> None:
    """Write the pending rows. The plan has just been made against the database, so a unique
    identity can only clash with a pupil another user saved in these very seconds."""
    try:
        db.session.flush()
    except IntegrityError:
        raise OperationError("W trakcie importu ktoś zapisał w ewidencji ucznia z tym samym numerem PESEL lub "
                             "dokumentu tożsamości co jeden z wierszy pliku. Nic nie zostało zapisane — zaimportuj "
                             "listę ponownie, a próbny import pokaże ten wiersz.") from None
