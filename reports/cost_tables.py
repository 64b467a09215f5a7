"""The cost pages' tables (reports.tables): a school's channels side by side, the "what if" of
one channel per school and over every channel — built from `reports.costs`' results, so the
pages, their downloads and the council report show the same numbers (docs/city.md)."""

from __future__ import annotations

from collections.abc import Sequence

from infra import inputs
from printing.pricing import money
from reports.costs import CENTRE_COST
from reports.costs import INCOME_NOTE
from reports.costs import OWN
from reports.costs import PRICE_LIST
from reports.costs import ChannelComparison
from reports.costs import WhatIf
from reports.costs import internal_price
from reports.tables import Table

KIND_LABELS = {PRICE_LIST: "cennik", CENTRE_COST: "koszt własny miasta", OWN: "drukarka w szkole"}
INTERNAL_LABEL = "cennik wewnętrzny centrum (nie koszt miasta)"


def cards(n: int) -> str:
    """"1 karta", "23 karty", "10 000 kart" (infra.inputs.plural)."""
    return inputs.counted(n, "karta", "karty", "kart")


def comparison_table(cmp: ChannelComparison) -> Table:
    columns = ("Kanał", "Rodzaj", "Karty", "Zamówienia", "Koszt brutto (zł)", "w tym koszty stałe (zł)",
               "w tym dopłata sezonowa (zł)", "w tym wysyłka (zł)", "Netto (zł)", "VAT (zł)", "Za kartę (zł)",
               "Najtańszy", "Uwagi")
    cheapest = cmp.cheapest
    rows = tuple((r.name, INTERNAL_LABEL if internal_price(r) else KIND_LABELS[r.kind], r.quantity,
                  r.orders or None, r.total,
                  r.fixed if r.kind != PRICE_LIST else None, r.surcharge if r.kind == PRICE_LIST else None,
                  r.shipping if r.kind == PRICE_LIST else None, r.net, r.vat, r.per_card,
                  "tak" if cheapest is not None and r is cheapest else "", r.note) for r in cmp.rows)
    order_note = " + ".join(inputs.format_number(q) for q in cmp.order_sizes)
    # "12 + 11 kart": the form goes with the last number read ("5 + 2 karty").
    last = cmp.order_sizes[-1] if cmp.order_sizes else 0
    return Table(key="kanaly", title=f"Koszt kanałów: {cmp.school_name}, {cards(cmp.volume)}",
                 columns=columns, rows=rows,
                 note=f"Zamówienia: {order_note} {inputs.plural(last, 'karta', 'karty', 'kart')} "
                      f"z dnia {inputs.format_day(cmp.on_date)}; ceny brutto.")


def what_if_table(result: WhatIf) -> Table:
    columns = ("Szkoła", "Zamówienia", "Karty", "Koszt rzeczywisty (zł)", f"Koszt: {result.option.name} (zł)",
               "Różnica (zł)", "Wpływy z duplikatów (zł)", "Po odjęciu wpływów (zł)", "Uwagi")
    rows = tuple((r.school_name, r.orders, r.cards, r.actual, r.projected.total, r.difference, r.duplicate_income,
                  r.after_income, r.projected.note) for r in result.rows)
    return Table(key="co_jesli", title=f"Co by było, gdyby: {result.option.name}, rok {result.year}",
                 columns=columns, rows=rows,
                 note="Te same zamówienia (liczba kart, daty) wycenione w wybranym kanale; koszt rzeczywisty "
                      "to co miasto naprawdę zapłaciło: faktury drukarń zewnętrznych, a w centrum druku i we "
                      "własnych drukarkach koszt zmienny × karty + koszty stałe roku. " + INCOME_NOTE)


def what_if_summary_table(results: Sequence[WhatIf], year: int) -> Table:
    columns = ("Kanał", "Rodzaj", "Szkoły", "Karty", "Koszt w kanale (zł)", "Koszt rzeczywisty (zł)",
               "Różnica (zł)", "Za kartę (zł)", "Szkoły bez wyceny")
    rows = []
    # The centre's internal price list last, with no difference: it is not what the city would pay,
    # so "−6,350 zł" beside it would read as a saving that does not exist.
    for r in sorted(results, key=lambda r: internal_price(r.option)):
        priced_cards = sum(row.cards for row in r.rows if row.projected.available)
        per_card = money(r.projected / priced_cards) if priced_cards else None
        internal = internal_price(r.option)
        rows.append((r.option.name, INTERNAL_LABEL if internal else KIND_LABELS[r.option.kind], len(r.rows),
                     r.cards, r.projected, r.actual_priced,
                     None if internal else r.difference, per_card, r.unpriced))
    return Table(key="co_jesli_kanaly", title=f"Rok {year}: koszt, gdyby wszystkie szkoły drukowały w jednym kanale",
                 columns=columns, rows=tuple(rows),
                 note="Koszt rzeczywisty: co miasto naprawdę zapłaciło (faktury; centrum druku i własne drukarki — "
                      "koszt zmienny i koszty stałe roku), liczony dla tych samych szkół, które kanał mógł wycenić.")
