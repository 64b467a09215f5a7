"""The lists behind the dashboard's numbers (reports.listings, portal.city): the card list holds
exactly the cards each number counts, every number links to its list, and the card list comes a
page at a time. The seeded city: tests/reports/dashboard_helpers.py `seeded`."""

from __future__ import annotations

import re
from decimal import Decimal

from reports import dashboard
from reports.filters import FactQuery
from reports.filters import Filters
from tenants.tenancy.context import Tenant
from tenants.tenancy.context import tenant_scope
from tests.reports.dashboard_helpers import check_against_the_card_list
from tests.reports.dashboard_helpers import col
from tests.reports.dashboard_helpers import earlier
from tests.reports.dashboard_helpers import listing
from tests.reports.dashboard_helpers import page_tables
from tests.reports.dashboard_helpers import recent


def test_card_list_is_the_list_behind_the_numbers(app, seeded):
    f = recent(seeded)
    cost = listing(app, seeded, "cost_schools", f)
    for row, key in zip(cost.table.rows, cost.keys, strict=True):
        facts = listing(app, seeded, "facts", f, FactQuery(school_id=key["school_id"])).table
        assert len(facts.rows) == row[3]
        assert sum((r[col(facts, "Cena z zamówienia (zł)")] for r in facts.rows), Decimal("0.00")) == row[
            col(cost.table, "Cena z zamówień (zł)")]
    rollout = listing(app, seeded, "rollout", f)
    for row, key in zip(rollout.table.rows, rollout.keys, strict=True):
        for state, column in (("w_obiegu", "Zamówione (ważne)"), ("dostarczone", "Dostarczone"), ("wydane", "Wydane")):
            facts = listing(app, seeded, "facts", Filters(None, None, today=seeded.today),
                            FactQuery(school_id=key["school_id"], state=state)).table
            assert len(facts.rows) == row[col(rollout.table, column)], (row[0], state)
    lead = listing(app, seeded, "lead_schools", f)
    for row, key in zip(lead.table.rows, lead.keys, strict=True):
        handed = listing(app, seeded, "facts", f, FactQuery(school_id=key["school_id"], basis="wydania"))
        days = [r[col(handed.table, "Dni: wniosek → wydanie")] for r in handed.table.rows]
        assert (len(days), dashboard.percentile(days, 0.5)) == (row[1], row[2])
        judged = listing(app, seeded, "facts", f, FactQuery(school_id=key["school_id"], state="ocenione"))
        on_time = listing(app, seeded, "facts", f, FactQuery(school_id=key["school_id"], state="terminowe"))
        assert (len(judged.table.rows), len(on_time.table.rows)) == (row[4], row[5])
    for period in (f, earlier(seeded), Filters(None, None, today=seeded.today)):
        with app.app_context(), tenant_scope(Tenant(city_id=seeded.city)):
            check_against_the_card_list(seeded.city, period)
    # Nothing personal in a card's row, not even its number.
    facts = listing(app, seeded, "facts", f).table
    assert "Numer" not in " ".join(facts.columns) and len(facts.columns) == 16


def test_every_number_links_to_its_list(app, seeded, browser):
    official = browser(seeded.official)
    html = official.get("/miasto/wdrozenie").get_data(as_text=True)
    link = re.search(r'<a href="(/miasto/karty\?[^"]*stan=wydane[^"]*)">(\d+)</a>', html)
    listed = official.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert len(page_tables(listed)["facts"]) - 1 == int(link.group(2))
    school = re.search(r'href="(/miasto/szkola/\d+)#stan"', html).group(1)
    assert official.get(school).status_code == 200
    money = official.get("/miasto/wydatki").get_data(as_text=True)
    assert "/miasto/karty?" in money and "kanal=external" in money and "miesiac=" in money
    overview = official.get("/miasto/").get_data(as_text=True)
    assert "/miasto/zamowienia?" in overview and 'href="/miasto/wdrozenie?' in overview


def test_the_card_list_comes_a_page_at_a_time(app, seeded, browser, monkeypatch):
    from portal.city import views

    monkeypatch.setattr(views, "FACTS_PER_PAGE", 4)
    official = browser(seeded.official)
    everything = listing(app, seeded, "facts", Filters(None, None, today=seeded.today)).table
    assert len(everything.rows) > 8  # three pages at least
    url, shown, pages = "/miasto/karty?od=&do=", [], 0
    while url:
        html = official.get(url.replace("&amp;", "&")).get_data(as_text=True)
        rows = page_tables(html)["facts"][1:]
        assert 1 <= len(rows) <= 4
        shown += [row[1] for row in rows]  # the order numbers, newest first
        pages += 1
        found = re.search(r'<a href="([^"]+)" rel="next">', html)
        url = found.group(1) if found else None
    assert pages == -(-len(everything.rows) // 4)
    assert shown == [str(row[1]) for row in everything.rows]  # every card once, in the export's order
    last = official.get(f"/miasto/karty?od=&do=&strona={pages}").get_data(as_text=True)
    assert f"z {len(everything.rows)} (strona {pages} z {pages})" in last and 'rel="prev"' in last
    for bad in ("0", "abc", "-1", "99999", "²", "9" * 5000):  # never a 500; out of range: the nearest page
        response = official.get(f"/miasto/karty?od=&do=&strona={bad}")
        assert response.status_code == 200, bad
        expected = pages if bad == "99999" else 1
        assert f"(strona {expected} z {pages})" in response.get_data(as_text=True), bad
