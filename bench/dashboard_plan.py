"""The organisations of a benchmark city or country (`bench.dashboard_data`), planned and loaded from Python.

`plan` lays out the cities, printers (printing houses and city print centres) and schools of a
`Spec` (tens of thousands of rows: cheap in Python, deterministic for a given spec);
`load_organisations` writes them, with their price lists, cost profiles, budgets and users, by
COPY. The bulk (pupils, cards, orders, statistics) is SQL: `bench.dashboard_sql`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random


@dataclasses.dataclass(frozen=True)
class Spec:
    database: str
    cities: int
    schools: int
    pupils: int
    measured_schools: int = 150
    measured_pupils: int = 45_000
    zipf: float = 0.7  # city sizes ∝ rank^-zipf


# --- the organisations, made in Python (tens of thousands of rows) -----------------------------

# type, share of schools, mean pupils, year groups
TYPES = [("primary", 0.42, 450, 8), ("liceum", 0.12, 420, 4), ("technikum", 0.09, 520, 5),
         ("branzowa", 0.07, 220, 3), ("special", 0.06, 80, 8), ("adult", 0.08, 170, 4), ("preschool", 0.16, 90, 4)]
MEAN_PUPILS = {t: m for t, _, m, _ in TYPES}
GRADES = {t: g for t, _, _, g in TYPES}
SCHOOL_NAMES = {"primary": "Szkoła Podstawowa nr {n}", "liceum": "{r} Liceum Ogólnokształcące",
                "technikum": "Technikum nr {n}", "branzowa": "Branżowa Szkoła I stopnia nr {n}",
                "special": "Specjalny Ośrodek Szkolno-Wychowawczy nr {n}",
                "adult": "Centrum Kształcenia Ustawicznego nr {n}", "preschool": "Przedszkole nr {n}"}
DISTRICTS = ["Śródmieście", "Północ", "Zachód", "Prawobrzeże", "Pomorzany", "Niebuszewo", "Gumieńce", "Dąbie",
             "Warszewo", "Żelechowa", "Pogodno", "Podjuchy"]
# Price lists as in the demo city: (min quantity, gross zł per card); season surcharge, shipping.
CENTRE_TIERS = [(1, "11.40"), (50, "10.90"), (200, "10.40")]
HOUSE_TERMS = [([(1, "15.50"), (20, "13.00"), (50, "11.50"), (200, "9.90")], "1.50", "18.00"),
               ([(1, "14.00"), (30, "12.50"), (100, "10.50"), (500, "8.50")], "2.00", "22.99")]


def _roman(n: int) -> str:
    out = ""
    for value, letters in ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out, n = out + letters, n - value
    return out


def _spread(total: int, weights: list[float], minimum: int) -> list[int]:
    """Integers proportional to `weights`, each at least `minimum`, summing to `total`."""
    scale = total / sum(weights)
    counts = [max(minimum, round(w * scale)) for w in weights]
    counts[counts.index(max(counts))] += total - sum(counts)
    return counts


@dataclasses.dataclass
class Plan:
    cities: list[dict]
    printers: list[dict]
    schools: list[dict]
    city_printers: list[tuple[int, int]]
    measured: list[dict]  # {label, city_id, email, schools, pupils}


def plan(spec: Spec) -> Plan:
    rng = random.Random(f"legitka-bench-{spec.database}")
    if spec.cities == 1:
        sizes = [spec.schools]
    else:
        sizes = _spread(spec.schools, [k ** -spec.zipf for k in range(1, spec.cities + 1)], 8)
    measured_index = min(range(len(sizes)), key=lambda k: abs(sizes[k] - spec.measured_schools))
    sizes[0] += sizes[measured_index] - spec.measured_schools
    sizes[measured_index] = spec.measured_schools
    next_id = 1
    cities = []
    for k, size in enumerate(sizes):
        name = ("Miasto Pomiarowe" if k == measured_index else
                "Miasto Stołeczne (bench)" if k == 0 else f"Gmina {k + 1:03d} (bench)")
        cities.append({"id": next_id, "name": name, "slug": f"bench-city-{k + 1}", "schools": size, "rank": k})
        next_id += 1
    # Printing houses serve many cities; the largest cities (and the measured one) run a print centre.
    printers = []
    houses = 2 if spec.cities == 1 else 20
    for h in range(houses):
        tiers, surcharge, shipping = HOUSE_TERMS[h % 2]
        printers.append({"id": next_id, "name": f"Drukarnia Kart nr {h + 1} (bench)", "slug": f"bench-house-{h + 1}",
                         "centre": False, "lead": [21, 30, 14, 25, 10][h % 5], "tiers": tiers,
                         "surcharge": surcharge, "shipping": shipping})
        next_id += 1
    city_printers = []
    for city in cities:
        if city["rank"] < 40 or city["rank"] == measured_index:
            centre = {"id": next_id, "name": f"Centrum Druku Legitymacji — {city['name']}",
                      "slug": f"bench-centre-{city['rank'] + 1}", "centre": True, "lead": 14, "tiers": CENTRE_TIERS,
                      "surcharge": "0.00", "shipping": "0.00", "city_id": city["id"]}
            printers.append(centre)
            city["centre_id"] = next_id
            city_printers.append((city["id"], next_id))
            next_id += 1
        else:
            city["centre_id"] = None
        chosen = rng.sample(range(houses), min(houses, 3 if city["rank"] < 10 else 2))
        city["houses"] = [printers[h]["id"] for h in chosen]
        city_printers += [(city["id"], p) for p in city["houses"]]
    # Schools: the type mix and sizes of a Polish city; pupils spread by type and a random factor.
    schools = []
    for city in cities:
        kinds = rng.choices([t for t, *_ in TYPES], weights=[w for _, w, *_ in TYPES], k=city["schools"])
        numbers = {t: 0 for t, *_ in TYPES}
        districts = DISTRICTS[:max(1, min(len(DISTRICTS), city["schools"] // 15))]
        for kind in kinds:
            numbers[kind] += 1
            n = numbers[kind]
            schools.append({
                "id": next_id, "city_id": city["id"], "type": kind, "slug": f"bench-s{next_id}",
                "name": SCHOOL_NAMES[kind].format(n=n, r=_roman(n)) + f" — {city['name']}",
                "district": rng.choice(districts), "weight": MEAN_PUPILS[kind] * rng.uniform(0.5, 1.5),
                "grades": GRADES[kind],
                "own": kind != "preschool" and rng.random() < 0.03,
                "centre_id": city["centre_id"], "ext1": city["houses"][0],
                "ext2": city["houses"][1] if len(city["houses"]) > 1 else None,
            })
            next_id += 1
    # The measured city gets the pupils of the single-city data set, so that the two measure the
    # same city, alone and among all the others.
    measured_city = cities[measured_index]["id"]
    groups = [[s for s in schools if s["city_id"] == measured_city],
              [s for s in schools if s["city_id"] != measured_city]]
    totals = [spec.measured_pupils, spec.pupils - spec.measured_pupils] if groups[1] else [spec.pupils, 0]
    for group, total in zip(groups, totals, strict=True):
        if group:
            for school, n in zip(group, _spread(total, [s["weight"] for s in group], 15), strict=True):
                school["pupils"] = n
    for school in schools:
        school["sections"] = max(1, math.ceil(school["pupils"] / school["grades"] / 26))
    # Pupils are imported school by school, the statistics refreshed school by school: random order.
    order = list(range(len(schools)))
    rng.shuffle(order)
    base = 0
    for rank, i in enumerate(order):
        schools[i]["rank"], schools[i]["pupil_base"] = rank, base
        base += schools[i]["pupils"]
    measured = [{"label": f"{cities[measured_index]['name']}", "city_id": cities[measured_index]["id"],
                 "email": "urzednik@bench.legitka"}]
    if spec.cities > 1:
        measured.append({"label": cities[0]["name"], "city_id": cities[0]["id"],
                         "email": "urzednik.duze@bench.legitka"})
    for m in measured:
        mine = [s for s in schools if s["city_id"] == m["city_id"]]
        m["schools"], m["pupils"] = len(mine), sum(s["pupils"] for s in mine)
    return Plan(cities, printers, schools, city_printers, measured)


def copy_rows(cur, table: str, columns: list[str], rows) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load_organisations(cur, p: Plan, now: dt.datetime, today: dt.date, y0: int, staff_hash: str) -> int:
    """Cities, printers, schools, their links and price lists, profiles, budgets, users. Returns the staff user id."""
    from decimal import Decimal

    org_cols = ["id", "kind", "name", "slug", "city_id", "school_type", "street", "postal_code", "town",
                "director_name", "district", "is_city_print_centre", "lead_time_days", "contact_email", "created_at",
                "season_surcharge", "shipping_price", "preprinted_blanks", "bank_account"]
    towns = {c["id"]: c["name"] for c in p.cities}
    rows = [(c["id"], "city", c["name"], c["slug"], None, None, "", "", c["name"], "", "", False, None, "", now,
             Decimal("0.00"), Decimal("0.00"), False, "") for c in p.cities]
    rows += [(x["id"], "printer", x["name"], x["slug"], None, None, "ul. Drukarska 1", "00-001", "Warszawa", "", "",
              x["centre"], x["lead"], f"zamowienia@{x['slug']}.bench", now, Decimal(x["surcharge"]),
              Decimal(x["shipping"]), x["centre"], "") for x in p.printers]
    rows += [(s["id"], "school", s["name"], s["slug"], s["city_id"], s["type"], f"ul. Szkolna {s['id'] % 200 + 1}",
              "70-001", towns[s["city_id"]], "Dyrektor Szkoły", s["district"], False, None,
              f"sekretariat@{s['slug']}.bench", now, Decimal("0.00"), Decimal("0.00"), False,
              f"{s['id']:026d}") for s in p.schools]
    copy_rows(cur, "organisations", org_cols, rows)
    copy_rows(cur, "city_printers", ["city_id", "printer_id"], p.city_printers)
    tiers = [(x["id"], q, Decimal(price)) for x in p.printers for q, price in x["tiers"]]
    copy_rows(cur, "price_tiers", ["printer_id", "min_quantity", "unit_price"], tiers)
    profile = dict(model="Evolis Primacy 2 Duplex", purchase_price=Decimal("6500.00"),
                   purchased_on=dt.date(y0 - 2, 8, 20), amortisation_years=5, licence_per_year=Decimal("1000.00"),
                   starter_kit_price=Decimal("500.00"), blank_price=Decimal("7.90"), hologram_price=Decimal("1.20"),
                   ribbon_price=Decimal("480.00"), ribbon_yield=250, staff_minutes_per_card=Decimal("3.00"),
                   hourly_rate=Decimal("45.00"), spoilage_percent=Decimal("3.00"), lead_time_days=2, updated_at=now)
    own = [s for s in p.schools if s["own"]]
    copy_rows(cur, "school_printers", ["school_id", "city_id", *profile],
          [(s["id"], s["city_id"], *profile.values()) for s in own])
    centre = dict(profile, model="Evolis Avansia Duplex (centrum)", purchase_price=Decimal("42000.00"),
                  licence_per_year=Decimal("3000.00"), starter_kit_price=Decimal("1500.00"),
                  blank_price=Decimal("6.90"), ribbon_price=Decimal("520.00"), ribbon_yield=500,
                  staff_minutes_per_card=Decimal("1.50"), spoilage_percent=Decimal("2.00"), lead_time_days=14)
    copy_rows(cur, "centre_cost_profiles", ["city_id", "printer_id", *centre],
          [(x["city_id"], x["id"], *centre.values()) for x in p.printers if x["centre"]])
    pupils_by_city: dict[int, int] = {}
    for s in p.schools:
        pupils_by_city[s["city_id"]] = pupils_by_city.get(s["city_id"], 0) + s["pupils"]
    budgets = []
    for c in p.cities:
        for year in range(y0 - 2, y0 + 2):  # calendar years of the history, and the coming one
            amount = Decimal(round(pupils_by_city.get(c["id"], 0) * 0.4 * 12, -2)).quantize(Decimal("0.01"))
            budgets.append((c["id"], year, amount, dt.date(year, 10, 31), 90, now))
    copy_rows(cur, "city_budgets", ["city_id", "year", "amount", "target_date", "target_percent", "updated_at"],
              budgets)
    cur.execute("INSERT INTO users (email, full_name, password_hash, is_active, is_platform_admin, created_at) "
                "VALUES ('sekretariat@bench.legitka', 'Sekretariaty szkół (bench)', '!', true, false, %s) RETURNING id",
                (now,))
    staff = cur.fetchone()[0]
    for m in p.measured:
        cur.execute("INSERT INTO users (email, full_name, password_hash, is_active, is_platform_admin, created_at) "
                    "VALUES (%s, %s, %s, true, false, %s) RETURNING id",
                    (m["email"], f"Urzędnik — {m['label']}", staff_hash, now))
        cur.execute("INSERT INTO memberships (user_id, organisation_id, role, created_at) "
                    "VALUES (%s, %s, 'city_official', %s)", (cur.fetchone()[0], m["city_id"], now))
    return staff
