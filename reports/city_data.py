"""What one page of the city's dashboard reads, once: `Data` holds the city's schools, those
under the filters, their statistics, the city's budgets and the period's card facts summed up
(reports.aggregates), each read the first time something asks for it.

A page (or a job) makes one `Data` with `load` and passes it to every table and helper it uses:
that object is what makes a part read once, and a new `Data` reads afresh (tests and jobs that
change rows between calls make a new one). Nothing is kept between requests.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Iterable

from sqlalchemy import or_
from sqlalchemy import select

from infra import clock
from infra.db import db
from printing.models import CityBudget
from reports import aggregates
from reports import budgets
from reports import queries
from reports import real_cost
from reports.aggregates import Handed
from reports.aggregates import Ordered
from reports.filters import Filters
from reports.models import CardFact
from reports.models import SchoolStats
from reports.queries import School
from reports.tables import Table
from tenants.tenancy.models import CityPrinter
from tenants.tenancy.models import Organisation
from tenants.tenancy.models import OrgKind


@dataclasses.dataclass(frozen=True)
class Listing:
    """A table and, per row, what the row stands for (`school_id`, `printer`, `channel`,
    `month`, `year`, `order_id`, `behind`): the view turns them into links to the lists behind
    the numbers."""

    table: Table
    keys: tuple[dict, ...]


def of_filters(schools: Iterable[School], f: Filters) -> list[School]:
    """The schools of the filters' type and district, in the order given."""
    return [s for s in schools if (not f.school_type or s.school_type == f.school_type)
            and (not f.district or s.district == f.district)]


class Data:
    """What a page's tables read, each part at most once and only if a table asks for it: the
    city's schools (all of them, and those under the filters), their statistics, the city's
    budgets, and the period's card facts summed up (reports.aggregates)."""

    def __init__(self, city_id: int, filters: Filters) -> None:
        self.city_id, self.filters = city_id, filters
        self._ordered: dict[str, list[Ordered]] = {}
        self._handed: dict[str, list[Handed]] = {}

    @functools.cached_property
    def all_schools(self) -> list[School]:
        """Every school of the city, by name (reports.queries.city_schools)."""
        return queries.city_schools(self.city_id)

    @functools.cached_property
    def schools(self) -> list[School]:
        """The city's schools under the filters' type and district, by name."""
        return of_filters(self.all_schools, self.filters)

    @functools.cached_property
    def stats(self) -> dict[int, SchoolStats]:
        ids = {s.id for s in self.schools}
        return {s.school_id: s for s in db.session.scalars(
            select(SchoolStats).where(SchoolStats.city_id == self.city_id)) if s.school_id in ids}

    @functools.cached_property
    def budgets(self) -> list[CityBudget]:
        """The city's budgets and targets (reports.budgets)."""
        return budgets.city_budgets(self.city_id)

    @functools.cached_property
    def real(self) -> real_cost.CityCosts:
        """The city's in-house orders at what they really cost (reports.real_cost), every year."""
        return real_cost.city_costs(self.city_id)

    def ordered(self, by: str) -> list[Ordered]:
        """Cards of orders placed in the period, per `by` (aggregates.ORDERED_BY)."""
        if by not in self._ordered:
            self._ordered[by] = aggregates.ordered(self.city_id, self.filters, by)
        return self._ordered[by]

    def handed(self, by: str = "all") -> list[Handed]:
        """Cards handed over in the period by waiting days, per `by` (aggregates.HANDED_BY)."""
        if by not in self._handed:
            self._handed[by] = aggregates.handed(self.city_id, self.filters, by)
        return self._handed[by]


def load(city_id: int, f: Filters) -> Data:
    """A page's reads for the city under the filters (nothing is read until asked for)."""
    return Data(city_id, f)


def districts(data: Data) -> list[str]:
    return sorted({s.district for s in data.all_schools if s.district})


def printer_names(ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    return dict(db.session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(wanted))).all())


def city_printer_name(city_id: int, printer_id: int) -> str:
    """The name of a printer that serves the city or printed for it ("" for any other id: a
    city learns no other organisation's name through the card list's filter)."""
    serves = select(CityPrinter.printer_id).where(CityPrinter.city_id == city_id, CityPrinter.printer_id == printer_id)
    printed = select(CardFact.id).where(CardFact.city_id == city_id, CardFact.printer_id == printer_id).limit(1)
    return db.session.scalar(select(Organisation.name).where(
        Organisation.id == printer_id, Organisation.kind == OrgKind.PRINTER.value,
        or_(serves.exists(), printed.exists()))) or ""


def local_time(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(clock.zone()).strftime("%d.%m.%Y %H:%M")


def school_stats(city_id: int, school_id: int) -> SchoolStats | None:
    """One school's statistics row (None before its first refresh, or not the city's school)."""
    return db.session.scalar(select(SchoolStats).where(SchoolStats.city_id == city_id,
                                                       SchoolStats.school_id == school_id))


def computed_range(data: Data) -> tuple[dt.datetime | None, dt.datetime | None, int]:
    """When the statistics of the city's schools (under the filters) were last computed: the
    oldest and the newest refresh, and how many schools have none yet."""
    ids = [s.id for s in data.schools]
    if "stats" in vars(data):  # the page's tables have read the statistics already
        times = [s.computed_at for s in data.stats.values()]
    else:  # only their times, rather than every school's statistics
        times = list(db.session.scalars(select(SchoolStats.computed_at).where(
            SchoolStats.city_id == data.city_id, SchoolStats.school_id.in_(ids))))
    return min(times, default=None), max(times, default=None), len(ids) - len(times)
