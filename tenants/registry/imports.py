"""Importing the register of cards a school issued before Legitka (docs/domain.md §24).

Upload → preview → confirm, with nothing written before the school confirms:

- `start` reads the file with the pupil-list import's reader (`tenants.roster.file.read_table`, its
  limits and hostile-file guards), recognises the register's columns (`import_file`) and keeps the
  table as read in storage under a random key, on an `imports` row of kind "registry" with the
  preview (`plan`): per row its Polish errors and warnings, never a PESEL.
- `confirm` plans again against the registry as it is then, under the school counter's row lock, and
  writes every entry in the caller's transaction or none: one row with an error refuses the whole
  file. Then each sequence's counter (the continuous one, or a year's when the school numbers per
  year) is raised to its highest imported number, so the next Legitka card gets max + 1
  (`tenants.registry.numbering.raise_counter`).

Rows are matched to the school's pupils by PESEL (its keyed index). A current pupil's valid paper card
is also recorded as the pupil's paper card, so the exchange rules of §21 apply to it; a row whose
PESEL belongs to no pupil (a pupil who left, a former pupil) is still a registry entry, holding the
name and class from the file and the PESEL encrypted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from infra import clock
from infra import file_lifecycle
from infra import services
from infra.crypto import token
from infra.db import db
from infra.db import utcnow
from infra.storage import school_key
from tenants.pupils import operations as pupil_records
from tenants.pupils.models import Pupil
from tenants.pupils.models import PupilStatus
from tenants.registry import import_file
from tenants.registry import numbering
from tenants.registry import school_year
from tenants.registry.models import Card
from tenants.registry.models import CardMedium
from tenants.registry.models import CardSource
from tenants.registry.models import CardStatus
from tenants.registry.models import SchoolCounter
from tenants.registry.operations import number_label
from tenants.roster.file import RosterFileError
from tenants.roster.file import read_table
from tenants.roster.models import ImportStatus
from tenants.roster.models import RosterImport
from tenants.roster.table import Table
from tenants.roster.table import dump_table
from tenants.roster.table import load_table
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import require_school
from tenants.tenancy.errors import NotFoundError
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation
from tenants.tenancy.operations import record_change

KIND = "registry"  # `imports.kind` of a register import (the pupil lists' are "roster" and "photos")
INVALIDATED_NOTE = "unieważniona przed wdrożeniem Legitki (według importowanej ewidencji)"


def get(import_id: int) -> RosterImport:
    batch = db.session.scalar(select(RosterImport).where(
        RosterImport.id == import_id, RosterImport.school_id == require_school(), RosterImport.kind == KIND))
    if batch is None:
        raise NotFoundError("import")
    return batch


def recent(limit: int = 10) -> list[RosterImport]:
    return list(db.session.scalars(select(RosterImport).where(RosterImport.kind == KIND)
                                   .order_by(RosterImport.created_at.desc(), RosterImport.id.desc()).limit(limit)))


def start(actor: Actor, data: bytes) -> RosterImport:
    """Keep the uploaded register and preview it. `OperationError` (Polish) for a file that is no
    readable CSV/XLSX or has no register's columns; nothing is kept then."""
    try:
        table = read_table(data)
        mapping = import_file.detect_columns(table.headers)
    except (RosterFileError, import_file.ColumnsError) as err:
        raise OperationError(str(err)) from None
    school_id = require_school()
    key = school_key(school_id, "imports", f"{token(16)}.bin")
    services.storage().put(key, dump_table(table), "application/octet-stream")
    file_lifecycle.delete_if_rolled_back(key)
    batch = RosterImport(school_id=school_id, kind=KIND, status=ImportStatus.CHECKED.value, file_key=key,
                         layout="registry", headers=[], mapping=mapping, created_by_id=actor.user_id)
    db.session.add(batch)
    db.session.flush()
    preview = plan(table, mapping)
    batch.report, batch.summary = preview.report, preview.summary
    record_change(actor, "registry_import_uploaded", school_id=school_id, detail=f"import={batch.id}")
    db.session.flush()
    return batch


@dataclasses.dataclass
class Plan:
    report: list[dict]  # per row: line, label, errors, warnings, action ("invalid" | "pupil" | "former")
    entries: list[tuple[import_file.EntryRow, Pupil | None]]
    warnings: list[str]  # about the whole register (gaps)
    summary: dict


def _counters() -> dict[int, int]:
    """The last number given in each of the school's sequences (0: continuous; a year)."""
    return dict(db.session.execute(select(SchoolCounter.year, SchoolCounter.last_no)
                                   .where(SchoolCounter.school_id == require_school())).all())


def _setting(*, locked: bool) -> numbering.Setting:
    """The school's numbering (docs/domain.md §5); `locked`: read under the share lock a submit
    takes, so a change of the setting cannot slip between the check and the write."""
    if locked:
        return numbering._locked_setting(require_school(), for_update=False)  # noqa: SLF001
    return numbering.setting_of(db.session.get(Organisation, require_school()))


def _checks(table: Table, mapping: dict[str, int], setting: numbering.Setting, today: dt.date):
    return import_file.check_rows(table, mapping, today=today, sequence=lambda row: setting.sequence_of(row.issue_date))


def plan(table: Table, mapping: dict[str, int], *, today: dt.date | None = None,
         setting: numbering.Setting | None = None) -> Plan:
    """What importing the register would write, checked against the school's registry and pupils.
    Each entry is numbered in the sequence the school's numbering gives its year of issue."""
    today = today or clock.today()
    setting = setting or _setting(locked=False)
    checks = _checks(table, mapping, setting, today)
    school_id = require_school()
    taken = {(year, n): label for year, n, label in db.session.execute(
        select(Card.numbering_year, Card.number, Card.number_label).where(Card.school_id == school_id))}
    counters = _counters()
    pupils = {p.pesel_index: p for p in db.session.scalars(
        select(Pupil).where(Pupil.school_id == school_id, Pupil.pesel_index.is_not(None)))}
    paper_rows: dict[int, int] = {}  # pupil id -> line of their valid paper card in the file
    report, entries = [], []
    for check in checks:
        row, warnings = check.row, []
        pupil = None
        if row is not None:
            year = setting.sequence_of(row.issue_date)
            last_no = counters.get(year, 0)
            in_year = f" roku {year}" if year else ""
            if (year, row.number) in taken:
                check.errors.append(f"Numer {row.label} jest już w ewidencji Legitki (legitymacja nr "
                                    f"{taken[year, row.number] or row.number}) — dwa wpisy nie mogą mieć tego samego "
                                    "numeru.")
            elif row.number <= last_no:
                check.errors.append(f"Numer {row.label} należy do numerów{in_year} nadanych już w Legitce "
                                    f"(1–{last_no}) — importowany wpis kolidowałby z nimi.")
            pupil = pupils.get(pupil_records.pesel_index(row.pesel))
            warnings, problem = _pupil_checks(row, pupil, paper_rows)
            if problem:
                check.errors.append(problem)
        action = "invalid" if check.errors else ("pupil" if pupil is not None else "former")
        report.append({"line": check.line, "label": check.label, "errors": list(check.errors),
                       "warnings": warnings, "action": action})
        if not check.errors:
            entries.append((row, pupil))
    by_sequence: dict[int, set[int]] = {}
    for row, _pupil in entries:
        by_sequence.setdefault(setting.sequence_of(row.issue_date), set()).add(row.number)
    register_warnings = []
    for year, numbers in sorted(by_sequence.items()):
        missing = import_file.gaps(numbers | {n for y, n in taken if y == year}, max(numbers))
        if missing:
            in_year = f" roku {year}" if year else ""
            register_warnings.append(
                f"W ewidencji{in_year} brakowałoby numerów " + import_file.runs_text(missing) + " — nie ma ich ani w "
                "pliku, ani w Legitce. Jeśli to luki w dotychczasowej ewidencji szkoły (np. numery zepsutych druków), "
                "można importować; jeśli plik jest niepełny, uzupełnij go.")
    highest = {year: max(numbers) for year, numbers in by_sequence.items()}  # what each counter is raised to
    now = setting.sequence_of(today)  # the sequence the next Legitka card numbers in
    last_now = counters.get(now, 0)
    invalid = sum(1 for r in report if r["action"] == "invalid")
    summary = {"total": len(report), "valid": len(entries), "invalid": invalid,
               "pupil": sum(1 for r in report if r["action"] == "pupil"),
               "former": sum(1 for r in report if r["action"] == "former"),
               "paper": sum(1 for row, _p in entries if row.medium == import_file.PAPER),
               "highest": max(highest.get(now, 0), last_now), "next": max(highest.get(now, 0), last_now) + 1,
               "next_label": number_label(setting.number_format, max(highest.get(now, 0), last_now) + 1,
                                                    today),
               "sequences": {str(year): n for year, n in sorted(highest.items())},
               "legitka_last": last_now, "warnings": register_warnings}
    return Plan(report, entries, register_warnings, summary)


def _pupil_checks(row: import_file.EntryRow, pupil: Pupil | None,
                  paper_rows: dict[int, int]) -> tuple[list[str], str | None]:
    """(warnings, an error or None) for a row and the pupil its PESEL names."""
    warnings: list[str] = []
    if pupil is None:
        warnings.append("Tego numeru PESEL nie ma wśród uczniów szkoły — wpis trafi do ewidencji z imieniem, "
                        "nazwiskiem i klasą z pliku (np. absolwent). Jeśli uczeń nadal się uczy, najpierw dodaj go "
                        "do listy uczniów.")
        return warnings, None
    if (pupil.surname.casefold(), pupil.first_names.casefold()) != (row.surname.casefold(),
                                                                     row.first_names.casefold()):
        warnings.append(f"Uczeń o tym numerze PESEL jest w szkole jako {pupil.surname} {pupil.first_names} — "
                        "wpis zostanie przypisany temu uczniowi.")
    active = pupil.status == PupilStatus.ACTIVE.value
    if not active and row.status == import_file.VALID:
        warnings.append("Uczeń nie uczy się już w szkole, a legitymacja jest w pliku ważna — sprawdź jej stan.")
    if row.medium == import_file.PAPER and row.status == import_file.VALID and active:
        if pupil.id in paper_rows:
            return warnings, (f"Ten uczeń ma w pliku drugą ważną legitymację papierową (wiersz {paper_rows[pupil.id]})"
                              " — ważna może być tylko jedna.")
        paper_rows[pupil.id] = row.line
        if pupil.paper_card_number and pupil.paper_card_number != row.label:
            return warnings, (f"Uczeń ma już zapisaną legitymację papierową nr {pupil.paper_card_number} — popraw "
                              "plik albo dane ucznia.")
        if pupil.paper_card_number and pupil.paper_card_invalidated_on is not None:
            return warnings, ("Ta legitymacja papierowa jest w Legitce już unieważniona (wymieniona na "
                              "e-legitymację) — w pliku wpisz stan „unieważniona”.")
    return warnings, None


def confirm(actor: Actor, batch: RosterImport) -> dict:
    """Write the whole register, or nothing (`OperationError` when any row has an error now)."""
    if batch.status != ImportStatus.CHECKED.value or not batch.file_key:
        raise OperationError("Ten import nie czeka na potwierdzenie.")
    school_id = require_school()
    today = clock.today()
    setting = _setting(locked=True)
    table = load_table(services.storage().get(batch.file_key))
    # Hold the counter of every sequence the file numbers in (in order, as a submit takes one): an
    # order submitted meanwhile waits, then numbers after the import (docs/security.md §2.4).
    for year in sorted({setting.sequence_of(c.row.issue_date) for c in _checks(table, batch.mapping, setting, today)
                        if c.row is not None}):
        numbering.raise_counter(school_id, 0, year=year or None)
    result = plan(table, batch.mapping, today=today, setting=setting)
    batch.report, batch.summary = result.report, result.summary
    if result.summary["invalid"]:
        raise OperationError(f"W pliku są błędne wiersze ({result.summary['invalid']}) — import zapisuje całą "
                             "ewidencję albo nic. Popraw plik i prześlij go ponownie.")
    if not result.entries:
        raise OperationError("W pliku nie ma żadnego wpisu do zaimportowania.")
    cipher = services.pesel_cipher()
    cutover = school_year.current_setting()
    for row, pupil in result.entries:
        paper = row.medium == import_file.PAPER
        valid = row.status == import_file.VALID
        card = Card(
            school_id=school_id, number=row.number, numbering_year=setting.sequence_of(row.issue_date),
            number_label=row.label, source=CardSource.IMPORT.value,
            medium=CardMedium.PAPER.value if paper else CardMedium.ID1.value, import_id=batch.id,
            pupil_id=pupil.id if pupil is not None else None, template_code="", issue_date=row.issue_date,
            valid_until=None if paper else school_year.valid_until(school_year.school_year_served(row.issue_date,
                                                                                                  cutover)),
            status=CardStatus.HANDED_OVER.value if valid else CardStatus.INVALIDATED.value,
            status_note="" if valid else INVALIDATED_NOTE, handed_over_on=row.collected_on,
            holder_name=f"{row.surname} {row.first_names}", holder_class=row.class_name,
            holder_birth=row.date_of_birth,
            holder_pesel_cipher=cipher.encrypt(row.pesel) if pupil is None else None)
        db.session.add(card)
        if (pupil is not None and paper and valid and pupil.status == PupilStatus.ACTIVE.value
                and not pupil.paper_card_number):
            # the pupil's paper card (docs/domain.md §7): an application for them is an exchange (§21)
            pupil.paper_card_number, pupil.paper_card_issued_on = row.label, row.issue_date
            record_change(actor, "paper_card_recorded", school_id=school_id, pupil_id=pupil.id,
                          detail=f"import={batch.id}")
    try:
        db.session.flush()
    except IntegrityError:
        raise OperationError("W trakcie importu w ewidencji pojawił się numer z pliku. Nic nie zostało zapisane — "
                             "prześlij plik ponownie, a podgląd pokaże ten wiersz.") from None
    for year, highest in result.summary["sequences"].items():
        numbering.raise_counter(school_id, highest, year=int(year) or None)
    batch.status, batch.finished_at = ImportStatus.DONE.value, utcnow()
    file_lifecycle.delete_after_commit(batch.file_key)  # it holds PESELs; kept if this rolls back
    batch.file_key = None
    record_change(actor, "registry_imported", school_id=school_id,
                  detail=f"import={batch.id} entries={len(result.entries)} next={result.summary['next']}")
    db.session.flush()
    return result.summary


def discard(actor: Actor, batch: RosterImport) -> None:
    if batch.status != ImportStatus.CHECKED.value:
        raise OperationError("Tego importu nie można już odrzucić.")
    batch.status, batch.finished_at = ImportStatus.DISCARDED.value, utcnow()
    if batch.file_key:
        file_lifecycle.delete_after_commit(batch.file_key)
        batch.file_key = None
    record_change(actor, "registry_import_discarded", school_id=batch.school_id, detail=f"import={batch.id}")
    db.session.flush()
