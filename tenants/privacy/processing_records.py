"""The school's records of processing activities (rejestr czynności przetwarzania, GDPR art. 30(1)),
generated from what Legitka does for the school: docs/privacy-registers.md §6–§8.

What is generated: the activities Legitka carries out for the school (issuing cards and keeping
their register always; the parents' photo links, the mLegitymacja entries and the transfers of
pupils only when the school has used them), for each its purposes, legal basis, categories of
data subjects and of data (a category such as the home address only when the school's records
hold it), recipients, transfers outside the EEA (none) and retention; the recipients that are
printers come from the school's data-processing agreements (`Recipient`, read by
`printing.agreements.recipients`: this package sits below `printing` and does not read its
tables); and the security measures Legitka applies. What only the director can say — the
controller's name and contact, the data protection officer, other recipients, the school's own
measures — is `PrivacyContacts`, kept with who changed it last (`save_contacts`).

`build` takes a list of school ids and the recipients found for them, and makes one `Record` per
school the current tenant sees; `record_pdf` writes one as an A4 PDF.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from collections.abc import Sequence

from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import select

from infra import clock
from infra import inputs
from infra.db import db
from infra.db import utcnow
from tenants.photos.models import PhotoLink
from tenants.privacy import TEMPLATES
from tenants.privacy.models import SHORT_MAX
from tenants.privacy.models import TEXT_MAX
from tenants.privacy.models import PrivacyContacts
from tenants.pupils.models import Pupil
from tenants.registry.models import Card
from tenants.tenancy.actors import Actor
from tenants.tenancy.context import current_tenant
from tenants.tenancy.context import require_school
from tenants.tenancy.errors import OperationError
from tenants.tenancy.models import Organisation
from tenants.transfers.models import PupilTransfer

NO_TRANSFER = ("Nie dotyczy — dane nie są przekazywane do państwa trzeciego (poza EOG) ani do organizacji "
               "międzynarodowej.")
REGULATION = ("rozporządzenie Ministra Edukacji i Nauki z 7 czerwca 2023 r. w sprawie świadectw, dyplomów "
              "państwowych i innych druków (Dz.U. 2023 poz. 1120 ze zm., w tym Dz.U. 2023 poz. 2653)")
PLATFORM = ("Operator platformy Legitka (podmiot przetwarzający: utrzymanie systemu, bazy danych i magazynu "
            "plików)")
ARCHIVE = ("zgodnie z przepisami o archiwizacji: instrukcja kancelaryjna i jednolity rzeczowy wykaz akt szkoły "
           "(kategorię archiwalną wskazuje szkoła)")

# What Legitka does to keep the data safe (art. 30(1)(g), art. 32): docs/security.md T3.1–T3.19.
MEASURES = (
    "Numery PESEL i numery innych dokumentów tożsamości zaszyfrowane w bazie (AES-256-GCM); wyszukiwanie po "
    "indeksie HMAC, bez odszyfrowania; ekran pokazuje numer zamaskowany, a każde odsłonięcie zapisuje się "
    "w dzienniku dostępu.",
    "Dane każdej szkoły oddzielone trzykrotnie: kontrola dostępu w aplikacji, filtr zapytań oraz wymuszone "
    "zabezpieczenia na poziomie wierszy (row-level security) w PostgreSQL; rola aplikacji nie jest właścicielem "
    "tabel.",
    "Dziennik dostępu do danych uczniów: każdy wgląd, eksport, wydruk i odmowa dostępu; wpisy tylko dopisywane, "
    "powiązane łańcuchem skrótów SHA-256 (wykrywa zmianę lub usunięcie wpisu).",
    "Plik do druku tylko w zaszyfrowanym archiwum 7z (AES-256) z zaszyfrowanym hasłem; drukarnia otrzymuje "
    "wyłącznie pola drukowane na legitymacji; pliki usuwane wraz ze wszystkimi wersjami po okresie z umowy "
    "powierzenia, z potwierdzeniem usunięcia.",
    "Zamówienie trafia tylko do drukarni z ważną umową powierzenia przetwarzania danych; po jej wygaśnięciu "
    "drukarnia traci dostęp do zamówień szkoły; drukarnia potwierdza usunięcie swojej kopii.",
    "Konta imienne z rolami (dyrektor, sekretariat); hasła przechowywane jako skróty argon2id; ograniczenie prób "
    "logowania; sesje po stronie serwera; ochrona CSRF i nagłówki bezpieczeństwa.",
    "Zdjęcia zapisywane na nowo, bez metadanych (EXIF, GPS), pod losowymi nazwami; oryginały nie są "
    "przechowywane.",
    "Szyfrowanie transmisji (TLS) i szyfrowanie magazynu plików po stronie serwera — zapewnia operator wdrożenia.",
)


@dataclasses.dataclass(frozen=True)
class Recipient:
    """A printer the school has a data-processing agreement with (one row per agreement)."""

    school_id: int
    name: str
    address: str
    print_centre: bool  # the city's own print centre rather than a printing house
    reference: str
    signed_on: dt.date
    valid_from: dt.date
    valid_until: dt.date
    retention_days: int
    orders: int  # orders the school sent to it (the printer received their data)

    @property
    def kind(self) -> str:
        return "miejskie centrum druku" if self.print_centre else "drukarnia"

    def in_force(self, on: dt.date) -> bool:
        return self.valid_from <= on <= self.valid_until


@dataclasses.dataclass(frozen=True)
class Activity:
    """One processing activity of the record (art. 30(1)(b)–(f))."""

    name: str
    purposes: str
    legal_basis: str
    subjects: list[str]
    data: list[str]
    recipients: list[str]
    transfers: str
    retention: list[str]


@dataclasses.dataclass(frozen=True)
class Contacts:
    controller_name: str
    controller_contact: str
    dpo_name: str
    dpo_contact: str
    other_recipients: str
    school_measures: str
    updated_at: dt.datetime | None


@dataclasses.dataclass(frozen=True)
class Record:
    """The school's records of processing activities as of `made_on`."""

    school_id: int
    school_name: str
    school_address: str
    contacts: Contacts
    activities: list[Activity]
    printers: list[Recipient]
    measures: list[str]
    made_on: dt.date


@dataclasses.dataclass(frozen=True)
class _Facts:
    """What the school's records hold, as counts: which categories of data and activities apply."""

    pupils: int = 0
    adults: int = 0
    with_address: int = 0
    disabled: int = 0
    other_document: int = 0
    parent_email: int = 0
    mleg: int = 0
    mleg_objections: int = 0
    transfers_sent: int = 0
    photo_links: int = 0
    collected_by: int = 0


# --- reading ------------------------------------------------------------------------------------


def build(school_ids: Sequence[int], recipients: Mapping[int, Sequence[Recipient]]) -> list[Record]:
    """One record per school of `school_ids` the current tenant sees, with that school's
    `recipients` (the printers with agreements, `printing.agreements.recipients`)."""
    ids = _readable(school_ids)
    if not ids:
        return []
    schools = db.session.scalars(select(Organisation).where(Organisation.id.in_(ids), Organisation.kind == "school")
                                 .order_by(Organisation.name)).all()
    contacts = {c.school_id: c for c in db.session.scalars(select(PrivacyContacts)
                                                           .where(PrivacyContacts.school_id.in_(ids)))}
    facts = _facts(ids)
    records = []
    for school in schools:
        printers = sorted((r for r in recipients.get(school.id, ()) if r.school_id == school.id),
                          key=lambda r: (r.name, r.valid_from))
        records.append(Record(
            school_id=school.id, school_name=school.name, school_address=school.address_line,
            contacts=_contacts(school, contacts.get(school.id)),
            activities=_activities(facts[school.id], printers, contacts.get(school.id)),
            printers=printers, measures=list(MEASURES), made_on=clock.today()))
    return records


def _readable(school_ids: Sequence[int]) -> list[int]:
    """The ids to build records for: a school tenant reads only its own school (any other id
    would give an empty record, its rows being invisible); any other caller passes only the
    schools it may read (docs/privacy-registers.md §5)."""
    ids = [int(i) for i in school_ids]
    own = current_tenant().school_id
    return [i for i in ids if i == own] if own is not None else ids


def contacts_form(school: Organisation) -> dict[str, str]:
    """The director's fields as the form shows them (the saved ones, or the school's own defaults)."""
    found = _contacts(school, db.session.scalar(select(PrivacyContacts).where(PrivacyContacts.school_id == school.id)))
    return {name: getattr(found, name) for name in CONTACT_FIELDS}


CONTACT_FIELDS = {
    "controller_name": ("Administrator danych", SHORT_MAX),
    "controller_contact": ("Dane kontaktowe administratora", SHORT_MAX),
    "dpo_name": ("Inspektor ochrony danych", SHORT_MAX),
    "dpo_contact": ("Dane kontaktowe inspektora ochrony danych", SHORT_MAX),
    "other_recipients": ("Inni odbiorcy danych", TEXT_MAX),
    "school_measures": ("Środki bezpieczeństwa stosowane w szkole", TEXT_MAX),
}


def record_pdf(record: Record) -> bytes:
    """The record as an A4 PDF (docs/privacy-registers.md §8)."""
    return TEMPLATES.render("processing_record.html", "processing_record.css", r=record,
                            made_on=inputs.format_day(record.made_on),
                            updated=_when(record.contacts.updated_at))


# --- writing ------------------------------------------------------------------------------------


def save_contacts(actor: Actor, form: Mapping[str, str]) -> PrivacyContacts:
    """The director fills in the controller's and the officer's details (art. 30(1)(a)), other
    recipients and the school's own measures; stored with who changed them (docs/security.md T3.17)."""
    values = {}
    for name, (label, limit) in CONTACT_FIELDS.items():
        value = (form.get(name) or "").strip()
        if len(value) > limit:
            raise OperationError(f"{label}: najwyżej {inputs.format_number(limit)} znaków.")
        values[name] = value
    if not values["controller_name"]:
        raise OperationError("Podaj nazwę administratora danych (zwykle nazwa i adres szkoły).")
    if not values["controller_contact"]:
        raise OperationError("Podaj dane kontaktowe administratora danych (adres e-mail lub telefon szkoły).")
    school_id = require_school()
    row = db.session.scalar(select(PrivacyContacts).where(PrivacyContacts.school_id == school_id))
    if row is None:
        row = PrivacyContacts(school_id=school_id)
        db.session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at, row.updated_by_id = utcnow(), actor.user_id
    db.session.flush()
    return row


# --- the parts ----------------------------------------------------------------------------------


def _contacts(school: Organisation, row: PrivacyContacts | None) -> Contacts:
    if row is None:
        name = ", ".join(p for p in (school.name, school.address_line) if p)
        return Contacts(controller_name=name, controller_contact=school.contact_email or "", dpo_name="",
                        dpo_contact="", other_recipients="", school_measures="", updated_at=None)
    return Contacts(controller_name=row.controller_name, controller_contact=row.controller_contact,
                    dpo_name=row.dpo_name, dpo_contact=row.dpo_contact, other_recipients=row.other_recipients,
                    school_measures=row.school_measures, updated_at=row.updated_at)


def _count(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _facts(ids: list[int]) -> dict[int, _Facts]:
    """Per school: counts that decide which categories and activities apply."""
    found: dict[int, dict] = {}
    for row in db.session.execute(select(
            Pupil.school_id, func.count(), _count(Pupil.learner_type == "adult"), _count(Pupil.address != ""),
            _count(Pupil.disabled.is_(True)), _count(Pupil.id_document_type != ""), _count(Pupil.parent_email != ""),
            _count(Pupil.mleg_registered_on.is_not(None)), _count(Pupil.mleg_objection_on.is_not(None)))
            .where(Pupil.school_id.in_(ids)).group_by(Pupil.school_id)):
        found[row[0]] = dict(zip(("pupils", "adults", "with_address", "disabled", "other_document", "parent_email",
                                  "mleg", "mleg_objections"), map(int, row[1:]), strict=True))
    for school_id, count in db.session.execute(select(PupilTransfer.from_school_id, func.count()).where(
            PupilTransfer.from_school_id.in_(ids)).group_by(PupilTransfer.from_school_id)):
        found.setdefault(school_id, {})["transfers_sent"] = int(count)
    for school_id, count in db.session.execute(select(PhotoLink.school_id, func.count()).where(
            PhotoLink.school_id.in_(ids)).group_by(PhotoLink.school_id)):
        found.setdefault(school_id, {})["photo_links"] = int(count)
    for school_id, count in db.session.execute(select(Card.school_id, func.count()).where(
            Card.school_id.in_(ids), Card.collected_by != "").group_by(Card.school_id)):
        found.setdefault(school_id, {})["collected_by"] = int(count)
    return {school_id: _Facts(**found.get(school_id, {})) for school_id in ids}


def _printer_lines(printers: Sequence[Recipient], today: dt.date) -> list[str]:
    lines = []
    for p in printers:
        state = "w mocy" if p.in_force(today) else ("wygasła" if p.valid_until < today else "jeszcze nie w mocy")
        sent = f"; zamówień skierowanych: {p.orders}" if p.orders else "; bez zamówień"
        lines.append(f"{p.name} ({p.kind}, podmiot przetwarzający) — umowa powierzenia {p.reference} z "
                     f"{inputs.format_day(p.signed_on)}, od {inputs.format_day(p.valid_from)} do "
                     f"{inputs.format_day(p.valid_until)} ({state}){sent}")
    return lines


def _activities(facts: _Facts, printers: Sequence[Recipient], contacts: PrivacyContacts | None) -> list[Activity]:
    today = clock.today()
    printer_lines = _printer_lines(printers, today) or [
        "Brak umów powierzenia z drukarniami — legitymacje drukuje szkoła we własnym zakresie."]
    others = [line.strip() for line in (contacts.other_recipients if contacts else "").splitlines() if line.strip()]
    pupils = "słuchacze (uczniowie szkoły dla dorosłych)" if facts.adults and facts.adults == facts.pupils \
        else "uczniowie" + (" i słuchacze" if facts.adults else "")
    card_data = ["imiona i nazwisko", "data urodzenia", "płeć (wynikająca z numeru PESEL)", "numer PESEL"]
    if facts.other_document:
        card_data.append("rodzaj i numer innego dokumentu tożsamości (uczniowie bez numeru PESEL)")
    card_data += ["zdjęcie", "klasa (oddział) i numer w księdze uczniów", "rodzaj ucznia"]
    if facts.disabled:
        card_data.append("informacja o niepełnosprawności (decyduje o wzorze legitymacji MEiN-I/3-N, I/4-N)")
    if facts.with_address:
        card_data.append("adres zamieszkania (na potrzeby mLegitymacji; nie jest drukowany)")
    card_data += ["numer legitymacji, daty wydania i ważności, numer blankietu i hologramu",
                  "wnioski o legitymację, duplikat lub nową legitymację (powód, decyzja, opłata za duplikat)"]
    if facts.collected_by:
        card_data.append("imię i nazwisko osoby, która odebrała legitymację")
    print_retention = sorted({p.retention_days for p in printers})
    days = ", ".join(str(d) for d in print_retention) or "7"
    activities = [Activity(
        name="Wydawanie legitymacji szkolnych i prowadzenie ich ewidencji",
        purposes="Wydanie uczniowi legitymacji szkolnej (pierwszej, nowej lub duplikatu), zamówienie jej druku, "
                 "prowadzenie ewidencji wydanych legitymacji, hologramów i blankietów.",
        legal_basis=f"Art. 6 ust. 1 lit. c RODO (obowiązek prawny) — {REGULATION}; art. 9 ust. 2 lit. g RODO dla "
                    "informacji o niepełnosprawności, gdy decyduje o wzorze legitymacji.",
        subjects=[pupils, "rodzice (opiekunowie prawni) składający wnioski i odbierający legitymacje",
                  "pracownicy szkoły prowadzący sprawy legitymacji"],
        data=card_data,
        recipients=[*printer_lines, PLATFORM, *others],
        transfers=NO_TRANSFER,
        retention=[f"Ewidencja legitymacji i wnioski: {ARCHIVE}.",
                   f"Pliki do druku w Legitce: usuwane {days} dni po potwierdzeniu dostawy do szkoły (wraz ze "
                   "wszystkimi wersjami), z potwierdzeniem usunięcia.",
                   f"Kopia danych u drukarni: najdłużej {days} dni od dostawy, zgodnie z umową powierzenia; "
                   "drukarnia potwierdza usunięcie w Legitce."],
    )]
    if facts.photo_links or facts.parent_email:
        activities.append(Activity(
            name="Zbieranie zdjęć do legitymacji od rodziców",
            purposes="Przyjęcie zdjęcia ucznia przesłanego przez rodzica za pomocą jednorazowego linku i "
                     "zawiadomienie rodzica o jego przyjęciu lub odrzuceniu.",
            legal_basis=f"Art. 6 ust. 1 lit. c RODO — {REGULATION} (zdjęcie na legitymacji).",
            subjects=[pupils, "rodzice (opiekunowie prawni)"],
            data=["zdjęcie ucznia", "imię ucznia (pokazywane na stronie linku)",
                  "adres e-mail rodzica (jeśli rodzic go poda)"],
            recipients=["Brak odbiorców poza szkołą i operatorem platformy."],
            transfers=NO_TRANSFER,
            retention=["Link: ważny 14 dni, jednorazowy. Zdjęcie: przechowywane razem z danymi ucznia "
                       "(zapisane na nowo, bez metadanych), zastępowane nowszym.", f"Dane ucznia: {ARCHIVE}."],
        ))
    if facts.mleg or facts.mleg_objections:
        activities.append(Activity(
            name="mLegitymacja szkolna",
            purposes="Wydanie i unieważnienie mLegitymacji (wpis w Systemie Informacji Oświatowej), przyjęcie "
                     "sprzeciwu rodziców wobec wydania mLegitymacji.",
            legal_basis="Art. 6 ust. 1 lit. c RODO — ustawa o aplikacji mObywatel (Dz.U. 2023 poz. 1234) i "
                        f"{REGULATION}.",
            subjects=[pupils, "rodzice (opiekunowie prawni) wnoszący sprzeciw"],
            data=["dane z legitymacji szkolnej", "adres zamieszkania (jeśli szkoła go prowadzi)",
                  "data sprzeciwu rodziców", "daty wpisu i unieważnienia w SIO"],
            recipients=["Minister właściwy do spraw oświaty i wychowania — System Informacji Oświatowej "
                        "(mLegitymacja w aplikacji mObywatel); szkoła wprowadza dane do SIO sama."],
            transfers=NO_TRANSFER,
            retention=[f"{ARCHIVE[0].upper()}{ARCHIVE[1:]}."],
        ))
    if facts.transfers_sent:
        activities.append(Activity(
            name="Przeniesienie ucznia do innej szkoły miasta",
            purposes="Przekazanie szkole przyjmującej danych ucznia i jego zdjęcia, aby wydała mu legitymację.",
            legal_basis="Art. 6 ust. 1 lit. c RODO — przepisy o dokumentacji przebiegu nauczania i " + REGULATION + ".",
            subjects=[pupils],
            data=["imiona i nazwisko, data urodzenia, płeć, numer PESEL lub innego dokumentu", "klasa, rodzaj ucznia",
                  "informacja o niepełnosprawności", "adres zamieszkania", "zdjęcie"],
            recipients=["Szkoła przyjmująca ucznia (szkoła tego samego miasta korzystająca z Legitki)."],
            transfers=NO_TRANSFER,
            retention=["Kopia zdjęcia w prośbie o przeniesienie usuwana po decyzji szkoły przyjmującej; dane "
                       f"prośby: {ARCHIVE}."],
        ))
    activities.append(Activity(
        name="Konta pracowników szkoły i dziennik dostępu do danych",
        purposes="Uwierzytelnienie pracowników, rozliczalność (kto, kiedy i jakie dane ucznia przeglądał lub "
                 "zmieniał), wykrywanie nieuprawnionego dostępu.",
        legal_basis="Art. 6 ust. 1 lit. c RODO w związku z art. 5 ust. 2 i art. 32 RODO.",
        subjects=["pracownicy szkoły (dyrektor, sekretariat)"],
        data=["imię i nazwisko, służbowy adres e-mail, rola", "czas, czynność, adres IP i identyfikator żądania"],
        recipients=["Brak odbiorców poza szkołą i operatorem platformy."],
        transfers=NO_TRANSFER,
        retention=["Dziennik dostępu: tylko dopisywany; okres przechowywania określa administrator (platforma "
                   "nie usuwa wpisów automatycznie)."],
    ))
    return activities


def _when(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    local = (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(clock.zone())
    return f"{inputs.format_day(local)}, {local:%H:%M}"
