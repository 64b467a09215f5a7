"""How the city's pages write counts, percentages, months and downloads' names for a Polish reader
(docs/architecture.md, "Polish input and output"; walk findings 9–11 and 15), on the seeded city of
tests/reports/dashboard_helpers.py: its budget of this year (500,00 zł, 50 % by yesterday) and last
year (300,00 zł, no date, 90 %)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

from infra import clock
from infra import inputs

NBSP = "\u00a0"


def test_the_budget_form_shows_the_saved_budget_of_the_year(seeded, browser):
    official = browser(seeded.official)
    year = seeded.today.year
    html = official.get("/miasto/budzet").get_data(as_text=True)
    yesterday = inputs.format_day(seeded.today - dt.timedelta(days=1))
    assert f'name="year" inputmode="numeric" value="{year}"' in html
    assert 'name="amount" inputmode="decimal" value="500,00"' in html
    assert f'name="target_date" value="{yesterday}"' in html
    assert 'name="target_percent" inputmode="numeric" value="50"' in html
    last = official.get(f"/miasto/budzet?year={year - 1}").get_data(as_text=True)
    assert 'value="300,00"' in last and 'name="target_date" value=""' in last and 'value="90"' in last
    assert f'href="/miasto/budzet?year={year - 1}"' in html  # each saved year can be opened
    # a year without a budget: only its year; a year that is no year: this year's budget
    empty = official.get(f"/miasto/budzet?year={year + 3}").get_data(as_text=True)
    assert f'value="{year + 3}"' in empty and 'name="amount" inputmode="decimal" value=""' in empty
    assert 'value="500,00"' in official.get("/miasto/budzet?year=abc").get_data(as_text=True)


def test_the_overview_tiles_agree_with_their_counts(seeded, browser):
    html = browser(seeded.official).get("/miasto/").get_data(as_text=True)
    behind = re.search(r'<span class="num">(\d+)</span>(\S+) za planem \(cel: 50\u00a0% do (\d\d\.\d\d\.\d{4})\)', html)
    assert behind, "the behind-plan tile with its target as '50 % do dd.mm.rrrr'"
    assert behind.group(2) == inputs.plural(int(behind.group(1)), "szkoła", "szkoły", "szkół")
    cards = re.search(r'<span class="num">([\d\u00a0]+)</span>(\S+) (\S+) w okresie', html)
    n = int(cards.group(1).replace(NBSP, ""))
    assert f"{cards.group(2)} {cards.group(3)}" == inputs.plural(n, "karta zamówiona", "karty zamówione",
                                                                  "kart zamówionych")
    coverage = re.search(r'<span class="num">([^<]+)</span>uczniów z ważną legitymacją', html).group(1)
    assert re.fullmatch(r"\d{1,3},\d\u00a0%", coverage), coverage  # "92,8 %", one form with a no-break space
    assert "(mediana; 90\u00a0% w " in html  # the percentile's share written the same way
    pupils = re.search(r'<span class="num">([^<]+)</span>uczniów w szkołach', html).group(1)
    assert pupils == inputs.format_number(int(pupils.replace(NBSP, "")))  # grouped: "1 535"


def test_months_by_name_on_the_page_and_sortable_in_the_download(seeded, browser):
    official = browser(seeded.official)
    page = official.get("/miasto/wydatki?od=&do=").get_data(as_text=True)
    response = official.get("/miasto/eksport/cost_months.csv?od=&do=")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    months = [r[0] for r in rows[1:] if r and re.fullmatch(r"\d{4}-\d\d", r[0])]
    assert months and months == sorted(months)  # rrrr-mm: the column sorts by time
    for month in set(months):
        assert f">{inputs.format_month(month)}<" in page, month  # "październik 2026" where a person reads it
        assert f">{month}<" not in page
    today = clock.today().isoformat()
    assert response.headers["Content-Disposition"] == f'attachment; filename="legitka-koszty-miesiace-{today}.csv"'
    for key, name in (("cost_channels", "koszty-kanaly"), ("cost_schools", "koszty-szkoly"), ("budget", "budzet"),
                      ("orders_by_school", "zamowienia-szkol"), ("holograms", "hologramy")):
        disposition = official.get(f"/miasto/eksport/{key}.xlsx?od=&do=").headers["Content-Disposition"]
        assert disposition == f'attachment; filename="legitka-{name}-{today}.xlsx"', key
