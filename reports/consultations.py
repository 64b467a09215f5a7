"""A consultation with the school directors as the city reads it (docs/city.md, *Konsultacje z
dyrektorami*): each school's answer beside its numbers, the summary over the answers, the schools
that have not answered, and the council report's section. Every table is a `reports.tables.Table`,
so the page, the CSV/XLSX downloads (formula-safe, `infra.spreadsheets`) and the PDF show the
same values.

Definitions: the schools asked are the city's schools now (reports.queries.city_schools);
*answered* = the school's director has given an answer (changed answers count once, as last
saved); shares are of the schools that answered, with one decimal; the average and the median
of the rating (1–5) and of the monthly staff hours are over those answers (the median of an even
count is the mean of the middle two, as `percentile_cont(0.5)`).
"""

from __future__ import annotations

import dataclasses
import functools
import statistics
from decimal import Decimal

from sqlalchemy import select

from infra.db import db
from infra.inputs import format_day
from reports import city_data
from reports import dashboard
from reports.city_data import Data
from reports.filters import Filters
from reports.models import SchoolStats
from reports.queries import School
from reports.tables import Table
from tenants.consultations import queries
from tenants.consultations import questions
from tenants.consultations.models import Consultation
from tenants.consultations.models import ConsultationAnswer

STATES = {"draft": "w przygotowaniu", "open": "otwarta", "closed": "zamknięta"}


def _share(part: int, whole: int) -> float | None:
    return dashboard.share(part, whole)


def _mean(values: list) -> float:
    """The mean rounded half up to one decimal ((12,5 + 6) / 2 = 9,25 → 9,3), exactly in Decimal."""
    return dashboard.one_decimal(sum(Decimal(v) for v in values) / len(values))


def _hours(value: Decimal) -> float:
    return float(value)


@dataclasses.dataclass
class Result:
    """One consultation's answers over the city's schools (read once, like reports.city_data.Data)."""

    consultation: Consultation
    data: Data

    @functools.cached_property
    def answers(self) -> dict[int, ConsultationAnswer]:
        return queries.answers(self.consultation.city_id, self.consultation.id)

    @functools.cached_property
    def numbers(self) -> dict[int, tuple]:
        """Per school: pupils, pupils needing a card, coverage (%), valid cards ordered — the
        rollout table's figures (reports.dashboard), read as four columns rather than whole rows."""
        if "stats" in vars(self.data):  # the page has read the statistics already
            rows = ((s.school_id, s.pupils_active, s.pupils_needing_card, s.pupils_valid_ecard + s.paper_cards,
                     s.cards_ordered) for s in self.data.stats.values())
        else:
            rows = db.session.execute(select(
                SchoolStats.school_id, SchoolStats.pupils_active, SchoolStats.pupils_needing_card,
                SchoolStats.pupils_valid_ecard + SchoolStats.paper_cards, SchoolStats.cards_ordered).where(
                SchoolStats.city_id == self.consultation.city_id)).all()
        return {school_id: (active, needing, dashboard.share_of(in_hand, active), ordered)
                for school_id, active, needing, in_hand, ordered in rows}

    @property
    def schools(self) -> list[School]:
        return self.data.all_schools

    @functools.cached_property
    def answered(self) -> list[School]:
        return [s for s in self.schools if s.id in self.answers]

    @functools.cached_property
    def missing(self) -> list[School]:
        return [s for s in self.schools if s.id not in self.answers]

    @functools.cached_property
    def type_labels(self) -> dict[int, str]:
        """Each school's type as its name (translated once per type, not once per row)."""
        labels = {t: School(0, "", t, "").type_label for t in {s.school_type for s in self.schools}}
        return {s.id: labels[s.school_type] for s in self.schools}

    def given(self) -> list[ConsultationAnswer]:
        """The answers of the city's schools (in the order of the schools)."""
        return [self.answers[s.id] for s in self.answered]


def result(city_id: int, consultation: Consultation, data: Data | None = None) -> Result:
    return Result(consultation, data or city_data.load(city_id, Filters.default()))


def problems_label(keys) -> str:
    return "; ".join(questions.PROBLEMS[k] for k in questions.PROBLEMS if k in (keys or ()))


def answers_table(r: Result) -> Table:
    """Per school: its numbers (as of the statistics' refresh) and its answer."""
    rows = []
    stats = r.numbers
    for school in r.schools:
        numbers = stats.get(school.id, (None,) * 4)
        a = r.answers.get(school.id)
        if a is None:
            given = ("nie", None, None, "", "", "", "", "", None)
        else:
            given = ("tak", a.satisfaction, _hours(a.staff_hours), questions.PREFERENCES[a.preference],
                     problems_label(a.problems), a.problems_text, a.comments, a.extra_answer,
                     city_data.local_time(a.updated_at))
        rows.append((school.name, r.type_labels[school.id], school.district, *numbers, *given))
    columns = ["Szkoła", "Typ", "Dzielnica", "Uczniowie", "Potrzebują legitymacji", "Pokrycie (%)",
               "Zamówione (ważne)", "Odpowiedź złożona", "Ocena (1–5)", "Godziny w miesiącu", "Preferencja",
               "Problemy", "Opis problemów", "Uwagi", "Odpowiedź na pytanie miasta", "Ostatnia zmiana odpowiedzi"]
    if not r.consultation.extra_question:
        index = columns.index("Odpowiedź na pytanie miasta")
        columns.pop(index)
        rows = [row[:index] + row[index + 1:] for row in rows]
    return Table("consultation_answers", f"Odpowiedzi szkół — {r.consultation.title}", tuple(columns), tuple(rows),
                 "Liczby szkoły ze statystyk (stan na ostatnie przeliczenie); odpowiedzi dyrektorów w brzmieniu "
                 "z portalu.")


def summary_rows(r: Result) -> list[tuple]:
    """(question, answer, schools, share %) rows: the distribution of each closed question."""
    given = r.given()
    n = len(given)
    rows: list[tuple] = [("Szkoły, które odpowiedziały", f"{n} z {len(r.schools)}", n, _share(n, len(r.schools)))]
    ratings = [a.satisfaction for a in given]
    for value, label in questions.SATISFACTION_SCALE.items():
        count = ratings.count(value)
        rows.append(("Ocena obecnego sposobu", label, count, _share(count, n)))
    if ratings:
        rows.append(("Ocena obecnego sposobu", "średnia", _mean(ratings), None))
        rows.append(("Ocena obecnego sposobu", "mediana", float(statistics.median(ratings)), None))
    for key, label in questions.PREFERENCES.items():
        count = sum(a.preference == key for a in given)
        rows.append(("Preferowany sposób na przyszłość", label, count, _share(count, n)))
    for key, label in questions.PROBLEMS.items():
        count = sum(key in (a.problems or ()) for a in given)
        rows.append(("Napotkane problemy", label, count, _share(count, n)))
    hours = [Decimal(a.staff_hours) for a in given]
    if hours:
        rows.append(("Godziny pracy w miesiącu", "razem we wszystkich szkołach", dashboard.one_decimal(sum(hours)),
                     None))
        rows.append(("Godziny pracy w miesiącu", "średnio na szkołę", _mean(hours), None))
        rows.append(("Godziny pracy w miesiącu", "mediana", dashboard.one_decimal(statistics.median(hours)), None))
    return rows


def summary_table(r: Result) -> Table:
    return Table("consultation_summary", f"Podsumowanie odpowiedzi — {r.consultation.title}",
                 ("Pytanie", "Odpowiedź", "Liczba szkół / wartość", "Udział (%)"), tuple(summary_rows(r)),
                 "Udział: odsetek szkół, które odpowiedziały (problemy: można było wybrać kilka).")


def missing_table(r: Result) -> Table:
    return Table("consultation_missing", f"Szkoły bez odpowiedzi — {r.consultation.title}",
                 ("Szkoła", "Typ", "Dzielnica"), tuple((s.name, r.type_labels[s.id], s.district) for s in r.missing))


def status_table(r: Result) -> Table:
    """Every school: answered or not, with the gist of the answer (the council's list)."""
    rows = []
    for s in r.schools:
        a = r.answers.get(s.id)
        rows.append((s.name, "tak" if a else "nie", a.satisfaction if a else None,
                     questions.PREFERENCES[a.preference] if a else "", _hours(a.staff_hours) if a else None))
    return Table("consultation_status", "Szkoły odpowiadające i nieodpowiadające",
                 ("Szkoła", "Odpowiedź złożona", "Ocena (1–5)", "Preferencja", "Godziny w miesiącu"), tuple(rows))


def comments_table(r: Result) -> Table:
    """The directors' own words (problems described, comments, the answer to the city's question)."""
    rows = []
    for s in r.answered:
        a = r.answers[s.id]
        for label, value in ((questions.PROBLEMS_TEXT, a.problems_text), (questions.COMMENTS, a.comments),
                             ("Odpowiedź na pytanie miasta", a.extra_answer)):
            if value:
                rows.append((s.name, label, value))
    return Table("consultation_comments", "Uwagi dyrektorów", ("Szkoła", "Rodzaj", "Treść"), tuple(rows))


TABLES = {"answers": answers_table, "summary": summary_table, "missing": missing_table}


def describe(c: Consultation) -> str:
    return f"„{c.title}”, termin odpowiedzi {format_day(c.deadline)}, {STATES.get(c.status, c.status)}"


def school_answers(city_id: int, school_id: int) -> list[tuple[Consultation, ConsultationAnswer | None]]:
    """The city's opened consultations, newest first, each with the school's answer (or None):
    what the school's page (`/miasto/szkola/<id>`) shows beside the school's numbers."""
    found = queries.school_consultations(city_id)
    given = {a.consultation_id: a for c in found for a in [queries.answers(city_id, c.id).get(school_id)] if a}
    return [(c, given.get(c.id)) for c in found]
