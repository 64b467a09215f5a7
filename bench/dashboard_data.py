"""Data for the city dashboard benchmark (`bench.dashboard`): synthetic cities in PostgreSQL.

Two databases, each migrated like production (owner `legitka_owner`, app role `legitka_app`):

* `legitka_bench_city`: one city, 150 schools, 45,000 pupils;
* `legitka_bench_national`: 24,000 schools in 380 cities and gminas (Zipf-sized, the largest
  ~1,400 schools), 5,000,000 pupils; one city in it has exactly 150 schools (the one measured).

Each holds three school years of history up to today: pupils, applications, cards, print orders
(mostly delivered; the latest ones still on their way) with their frozen quotes, invoices and
deletion receipts, the anonymous statistics the city reads (`school_stats`, `card_facts`, `order_facts`,
consistent with the registry), this school year's holograms, printers with price lists (a city
print centre, printing houses, a few schools' own printers), cost profiles, the city's budget,
and a city official per measured city who can sign in (`PASSWORD`).

Everything is made by a few `INSERT … SELECT generate_series` statements run by the superuser
(who is not subject to row-level security) with foreign-key triggers off for the session
(`session_replication_role = replica`; the rows are consistent by construction). Randomness is a
hash of each row's id, so a run is deterministic for a given day. Rows go in as production writes
them: orders, cards and applications in time order (a city's rows are spread over the whole
table), pupils and the statistics in per-school blocks, schools in random order. Then VACUUM
ANALYZE. A finished database carries a marker (a comment on the database); one without it (an
interrupted run) is made again.

Run `python -m bench.dashboard_data [--national] [--regenerate]`; `bench.dashboard` calls `ensure`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import math
import os
import random
import sys
import time

from infra import clock

PG = os.environ.get("LEGITKA_BENCH_PG", "127.0.0.1:5432")
ADMIN = "postgres"
OWNER = "legitka_owner"
APP = "legitka_app"
PASSWORD = "bench-haslo-urzednika"  # noqa: S105 (synthetic data on a local benchmark database)
MARKER = "legitka-bench-dashboard v2"  # v2: order_facts and schools' hologram counts


@dataclasses.dataclass(frozen=True)
class Spec:
    database: str
    cities: int
    schools: int
    pupils: int
    measured_schools: int = 150
    measured_pupils: int = 45_000
    zipf: float = 0.7  # city sizes ∝ rank^-zipf


CITY = Spec("legitka_bench_city", 1, 150, 45_000)
NATIONAL = Spec("legitka_bench_national", 380, 24_000, 5_000_000)


def url(database: str, role: str, driver: str = "postgresql+psycopg") -> str:
    return f"{driver}://{role}@{PG}/{database}"


def _conninfo(database: str, role: str = ADMIN) -> str:
    host, _, port = PG.partition(":")
    return f"host={host} port={port or 5432} user={role} dbname={database}"


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
GIRLS = ["Zuzanna", "Zofia", "Hanna", "Julia", "Maja", "Łucja", "Alicja", "Oliwia", "Maria", "Pola", "Wiktoria",
         "Amelia", "Lena", "Antonina", "Helena", "Małgorzata", "Jadwiga", "Ewa", "Róża", "Iga"]
BOYS = ["Jan", "Antoni", "Aleksander", "Franciszek", "Nikodem", "Szymon", "Filip", "Jakub", "Stanisław", "Mikołaj",
        "Wojciech", "Tymon", "Ignacy", "Józef", "Łukasz", "Bartłomiej", "Maciej", "Paweł", "Michał", "Kacper"]
SURNAMES = ["Nowak", "Kowalska", "Wiśniewski", "Wójcik", "Kamińska", "Lewandowski", "Zielińska", "Szymański",
            "Woźniak", "Dąbrowska", "Kozłowski", "Jankowska", "Mazur", "Krawczyk", "Piotrowski", "Grabowska",
            "Pawłowski", "Michalska", "Król", "Wieczorek", "Jabłońska", "Wróbel", "Nowakowski", "Majewska",
            "Olszewski", "Stępień", "Jaworska", "Malinowski", "Górska", "Sikora", "Żak", "Łęcka", "Ślusarczyk", "Bąk"]
# Price lists as in the demo city: (min quantity, gross zł per card); season surcharge, shipping.
CENTRE_TIERS = [(1, "11.40"), (50, "10.90"), (200, "10.40")]
HOUSE_TERMS = [([(1, "15.50"), (20, "13.00"), (50, "11.50"), (200, "9.90")], "1.50", "18.00"),
               ([(1, "14.00"), (30, "12.50"), (100, "10.50"), (500, "8.50")], "2.00", "22.99")]
OWN_UNIT_COST = "11.35"  # (7.90 blank + 1.20 hologram + 480/250 ribbon) × 1.03 spoilage: printing.quotes
# Ordering waves per school year: days after 1 September (the autumn rush, then smaller batches).
WAVES = [4, 30, 75, 153, 226]


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


# --- the bulk: SQL run by the superuser ---------------------------------------------------------

SETUP = [
    "SET session_replication_role = replica",  # no FK or other triggers: rows are consistent by construction
    "SET synchronous_commit = off",
    "SET work_mem = '512MB'",
    "SET maintenance_work_mem = '1GB'",
    "SET temp_buffers = '2GB'",
    "SET jit = off",
    # u(k, salt): a uniform number in [0, 1) from a row id, the same in every statement.
    """CREATE FUNCTION pg_temp.u(k bigint, salt int) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE
       AS $$ SELECT (hashint8(k * 1000 + salt)::float8 + 2147483648.0) / 4294967296.0 $$""",
    """CREATE FUNCTION pg_temp.pick(arr text[], x float8) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
       AS $$ SELECT arr[1 + floor(x * array_length(arr, 1))::int] $$""",
    """CREATE TEMP TABLE bench_school (school_id bigint, city_id bigint, school_type text, grades int, sections int,
       n_pupils int, pupil_base bigint, own boolean, centre_id bigint, ext1 bigint, ext2 bigint, refresh_rank int,
       learner_type text, disabled_share float8)""",
    "CREATE TEMP TABLE bench_wave (gi int, year int, w int, day date)",
]

# One row per pupil with the plan of its card life: which wave its first card was ordered in,
# an application still open, a paper card from before 13 July 2024.
PUPIL_PLAN = """
CREATE TEMP TABLE bench_pupil AS
WITH base AS (
    SELECT s.pupil_base + g AS id, s.school_id, s.city_id, s.school_type, s.grades, s.sections, s.learner_type,
           s.disabled_share
    FROM bench_school s CROSS JOIN LATERAL generate_series(1, s.n_pupils) AS g
), graded AS (
    SELECT b.*, 1 + floor(pg_temp.u(b.id, 1) * b.grades)::int AS grade FROM base b
), planned AS (
    SELECT g.*, %(y0)s - g.grade + 1 AS entry_year,
           CASE WHEN pg_temp.u(g.id, 5) < 0.03 THEN 'left' WHEN pg_temp.u(g.id, 5) < 0.04 THEN 'transferred'
                ELSE 'active' END AS status,
           pg_temp.u(g.id, 6) AS u_card, pg_temp.u(g.id, 7) AS u_wave
    FROM graded g
), carded AS (
    SELECT p.*,
           CASE WHEN p.entry_year >= %(y0)s - 2 THEN
                    CASE WHEN p.u_card < CASE WHEN p.entry_year = %(y0)s THEN 0.92 ELSE 0.97 END THEN p.entry_year END
                WHEN p.u_card < 0.40 THEN %(y0)s - 2 WHEN p.u_card < 0.65 THEN %(y0)s - 1
                WHEN p.u_card < 0.75 THEN %(y0)s END AS card_year,
           CASE WHEN p.u_wave < 0.70 THEN 0 WHEN p.u_wave < 0.84 THEN 1 WHEN p.u_wave < 0.92 THEN 2
                WHEN p.u_wave < 0.97 THEN 3 ELSE 4 END AS card_w
    FROM planned p
)
SELECT c.id, c.school_id, c.city_id, c.school_type, c.grade, c.sections, c.entry_year, c.status, c.learner_type,
       pg_temp.u(c.id, 4) < c.disabled_share AS disabled, c.card_year, w.gi AS first_gi,
       (c.card_year IS NULL AND c.entry_year < %(y0)s - 2) AS paper,
       CASE WHEN c.card_year IS NOT NULL AND w.gi IS NULL THEN
            CASE WHEN pg_temp.u(c.id, 8) < 0.35 THEN 'approved' WHEN pg_temp.u(c.id, 8) < 0.6 THEN 'submitted' END
       END AS open_state
FROM carded c LEFT JOIN bench_wave w ON w.year = c.card_year AND w.w = c.card_w
"""

PUPILS = """
INSERT INTO pupils (id, school_id, first_names, surname, date_of_birth, sex, pesel_cipher, pesel_index,
    id_document_type, id_document_cipher, id_document_index, book_number, class_name, learner_type, disabled, status,
    photo_key, photo_uploaded_at, photo_status, paper_card_number, paper_card_issued_on, mleg_registered_on, created_at)
SELECT p.id, p.school_id,
       pg_temp.pick(CASE WHEN p.girl THEN %(girls)s::text[] ELSE %(boys)s::text[] END, pg_temp.u(p.id, 30))
         || CASE WHEN pg_temp.u(p.id, 31) < 0.15
                 THEN ' ' || pg_temp.pick(CASE WHEN p.girl THEN %(girls)s::text[] ELSE %(boys)s::text[] END,
                                          pg_temp.u(p.id, 32)) ELSE '' END,
       pg_temp.pick(%(surnames)s::text[], pg_temp.u(p.id, 33)),
       make_date(%(y0)s - CASE p.school_type WHEN 'adult' THEN 19 + floor(pg_temp.u(p.id, 34) * 25)::int
                                             WHEN 'preschool' THEN 2 + p.grade
                                             WHEN 'primary' THEN 6 + p.grade WHEN 'special' THEN 6 + p.grade
                                             ELSE 14 + p.grade END, 1, 1) + floor(pg_temp.u(p.id, 35) * 365)::int,
       CASE WHEN p.no_pesel THEN NULL WHEN p.girl THEN 'K' ELSE 'M' END,
       CASE WHEN NOT p.no_pesel THEN sha256(int8send(p.id)) || substring(sha256(int8send(-p.id)) FROM 1 FOR 7) END,
       CASE WHEN NOT p.no_pesel THEN encode(sha256(int8send(p.id) || '\\x01'::bytea), 'hex') END,
       CASE WHEN p.no_pesel THEN 'paszport' ELSE '' END,
       CASE WHEN p.no_pesel THEN sha256(int8send(-p.id)) END,
       CASE WHEN p.no_pesel THEN encode(sha256(int8send(p.id) || '\\x02'::bytea), 'hex') END,
       (p.id - p.pupil_base) || '/' || p.entry_year,
       CASE WHEN p.learner_type = 'adult' THEN 'sem. ' ELSE '' END || p.grade
         || substring('abcdefghijklmnop' FROM 1 + floor(pg_temp.u(p.id, 36) * p.sections)::int FOR 1),
       p.learner_type, p.disabled, p.status,
       CASE WHEN p.photo = 'accepted' THEN 'bench/' || p.school_id || '/' || p.id || '.jpg' END,
       CASE WHEN p.photo = 'accepted'
            THEN make_date(least(p.entry_year, %(y0)s), 9, 10)::timestamp AT TIME ZONE 'UTC' END,
       p.photo,
       CASE WHEN p.paper THEN 'P/' || p.entry_year || '/' || (p.id - p.pupil_base) ELSE '' END,
       CASE WHEN p.paper THEN make_date(p.entry_year, 9, 20) END,
       CASE WHEN p.card_year < %(y0)s AND pg_temp.u(p.id, 37) < 0.35 THEN make_date(p.card_year + 1, 2, 1) END,
       make_date(least(p.entry_year, %(y0)s), 9, 1)::timestamp AT TIME ZONE 'UTC'
FROM (SELECT b.*, s.pupil_base, pg_temp.u(b.id, 2) < 0.5 AS girl, pg_temp.u(b.id, 3) < 0.01 AS no_pesel,
             CASE WHEN b.first_gi IS NOT NULL OR b.open_state IS NOT NULL OR pg_temp.u(b.id, 38) < 0.4 THEN 'accepted'
                  WHEN pg_temp.u(b.id, 38) < 0.45 THEN 'pending' ELSE 'missing' END AS photo
      FROM bench_pupil b JOIN bench_school s USING (school_id)) p
ORDER BY p.id
"""

# One row per card to order: each carded pupil's first card, and for 5 % a duplicate or a
# replacement in a later wave.
CARD_PLAN = """
CREATE TEMP TABLE bench_card AS
SELECT id AS pupil_id, school_id, city_id, 'first'::text AS kind, first_gi AS gi, 1 AS seq
FROM bench_pupil WHERE first_gi IS NOT NULL
UNION ALL
SELECT id, school_id, city_id, CASE WHEN pg_temp.u(id, 10) < 0.6 THEN 'duplicate' ELSE 'replacement' END,
       first_gi + 1 + floor(pg_temp.u(id, 9) * (%(max_gi)s - first_gi))::int, 2
FROM bench_pupil WHERE first_gi < %(max_gi)s AND pg_temp.u(id, 11) < 0.05
"""

# One order per school and wave; channel, printer, quote, lead time and where it has got to by now.
ORDER_PLAN = """
CREATE TEMP TABLE bench_ord AS
WITH o AS (
    SELECT c.school_id, c.city_id, c.gi, count(*)::int AS card_count, w.year,
           least(w.day + floor(pg_temp.u(c.school_id, 19) * 10)::int, %(today)s::date - 1) AS submitted_on,
           pg_temp.u(c.school_id * 10 + w.year, 12) AS u_ch, s.own, s.centre_id, s.ext1, s.ext2,
           c.school_id * 100 + c.gi AS k
    FROM bench_card c JOIN bench_wave w USING (gi) JOIN bench_school s USING (school_id)
    GROUP BY c.school_id, c.city_id, c.gi, w.year, w.day, s.own, s.centre_id, s.ext1, s.ext2
), p AS (
    SELECT o.*, CASE WHEN o.own THEN NULL
                     WHEN o.centre_id IS NOT NULL AND o.u_ch < 0.45 THEN o.centre_id
                     WHEN o.u_ch < 0.75 OR o.ext2 IS NULL THEN o.ext1 ELSE o.ext2 END AS printer_id,
           (o.submitted_on + time '07:30')::timestamp AT TIME ZONE 'UTC'
             + make_interval(mins => floor(pg_temp.u(o.k, 16) * 480)::int) AS submitted_at
    FROM o
), t AS (
    SELECT p.*,
           CASE WHEN p.printer_id IS NULL THEN 'own' WHEN pr.is_city_print_centre THEN 'city_centre'
                ELSE 'external' END AS channel,
           coalesce(pr.lead_time_days, 2) AS lead_days,
           coalesce(pr.name, 'Evolis Primacy 2 Duplex') AS printer_name,
           CASE WHEN p.printer_id IS NULL THEN %(own_unit)s::numeric
                ELSE (SELECT t.unit_price FROM price_tiers t WHERE t.printer_id = p.printer_id
                      AND t.min_quantity <= p.card_count ORDER BY t.min_quantity DESC LIMIT 1) END AS unit_price,
           CASE WHEN p.printer_id IS NOT NULL AND to_char(p.submitted_on, 'MM-DD') BETWEEN '08-15' AND '10-31'
                THEN pr.season_surcharge ELSE 0.00 END AS surcharge,
           coalesce(pr.shipping_price, 0.00) AS shipping,
           greatest(1, round(coalesce(pr.lead_time_days, 2) * (0.55 + 0.7 * pg_temp.u(p.k, 13)))::int
                       + CASE WHEN pg_temp.u(p.k, 14) < 0.08 THEN 5 + floor(pg_temp.u(p.k, 15) * 10)::int
                              ELSE 0 END) AS actual_days
    FROM p LEFT JOIN organisations pr ON pr.id = p.printer_id
), m AS (
    SELECT t.*,
           round(t.unit_price * t.card_count, 2) AS cards_total,
           round(t.surcharge * t.card_count, 2) AS surcharge_total,
           t.submitted_at + interval '3 minutes' AS ready_ts,
           CASE WHEN t.channel <> 'own' THEN t.submitted_at + interval '4 hours' END AS accepted_ts,
           CASE WHEN t.channel <> 'own' THEN t.submitted_at + interval '5 hours' END AS downloaded_ts,
           t.submitted_at + make_interval(days => greatest(t.actual_days - 2, 0), hours => 10) AS printed_ts,
           t.submitted_at + make_interval(days => t.actual_days) AS delivered_ts
    FROM t
)
SELECT row_number() OVER (ORDER BY m.submitted_at, m.school_id) AS id, m.*,
       m.cards_total + m.surcharge_total + m.shipping AS total,
       greatest(m.printed_ts + interval '2 hours', m.delivered_ts - interval '1 day') AS shipped_ts,
       m.delivered_ts + interval '7 days 1 hour' AS purge_ts,
       CASE WHEN m.delivered_ts <= %(now)s THEN 'delivered'
            WHEN greatest(m.printed_ts + interval '2 hours', m.delivered_ts - interval '1 day') <= %(now)s
                 THEN 'shipped'
            WHEN m.printed_ts <= %(now)s THEN 'printed'
            WHEN m.downloaded_ts <= %(now)s THEN 'downloaded'
            WHEN m.accepted_ts <= %(now)s THEN 'accepted'
            WHEN m.ready_ts <= %(now)s THEN 'ready' ELSE 'submitted' END AS status
FROM m
"""

ORDERS = """
INSERT INTO print_orders (id, school_id, city_id, printer_id, status, card_count, handed_over_count, unit_price,
    total_price, first_number, last_number, issue_date, created_by_id, submitted_by_id, submitted_at, attempt,
    error, pdf_key, pdf_sha256, manifest_key, ready_at, downloaded_at, printed_at, shipped_at, delivered_at,
    delivered_by_id, created_at, channel, quote, due_date, accepted_at, carrier, tracking_number, invoice_number,
    invoice_net, invoice_vat, invoice_gross, invoice_recorded_at, invoice_mismatch, purge_after, purged_at)
SELECT o.id, o.school_id, o.city_id, o.printer_id, o.status, o.card_count, coalesce(n.handed, 0), o.unit_price,
       o.total, n.first_number, n.last_number, o.submitted_on, %(staff)s, %(staff)s, o.submitted_at, 1,
       '', CASE WHEN NOT o.purged THEN 'batches/' || o.id || '/karty.pdf' END,
       CASE WHEN NOT o.purged THEN encode(sha256(int8send(o.id)), 'hex') END,
       CASE WHEN NOT o.purged THEN 'batches/' || o.id || '/manifest.json' END,
       o.ready_ts, CASE WHEN o.downloaded_ts <= %(now)s THEN o.downloaded_ts END, o.printed_at, o.shipped_at,
       o.delivered_at,
       CASE WHEN o.status = 'delivered' THEN %(staff)s END, o.submitted_at - interval '20 minutes', o.channel,
       json_build_object('channel', o.channel, 'printer_id', o.printer_id, 'name', o.printer_name,
                         'quantity', o.card_count, 'unit_price', o.unit_price::text,
                         'surcharge_per_card', o.surcharge::text, 'surcharge_total', o.surcharge_total::text,
                         'shipping', o.shipping::text, 'total', o.total::text,
                         'per_card', round(o.total / o.card_count, 2)::text, 'lead_time_days', o.lead_days,
                         'ordered_on', o.submitted_on, 'due_date', o.submitted_on + o.lead_days),
       o.submitted_on + o.lead_days, CASE WHEN o.accepted_ts <= %(now)s THEN o.accepted_ts END,
       CASE WHEN o.shipped_at IS NOT NULL AND o.channel = 'external' THEN 'InPost' ELSE '' END,
       CASE WHEN o.shipped_at IS NOT NULL AND o.channel = 'external' THEN '6200' || lpad(o.id::text, 12, '0')
            ELSE '' END,
       CASE WHEN o.invoiced THEN 'FV/' || to_char(o.submitted_on, 'YYYY/MM') || '/' || o.id ELSE '' END,
       CASE WHEN o.invoiced THEN round(o.gross / 1.23, 2) END,
       CASE WHEN o.invoiced THEN o.gross - round(o.gross / 1.23, 2) END,
       CASE WHEN o.invoiced THEN o.gross END,
       CASE WHEN o.invoiced THEN o.shipped_at END,
       o.invoiced AND o.gross <> o.total,
       CASE WHEN o.status = 'delivered' THEN o.purge_ts - interval '1 hour' END,
       CASE WHEN o.purged THEN o.purge_ts END
FROM (SELECT b.*,
             CASE WHEN b.printed_ts <= %(now)s THEN b.printed_ts END AS printed_at,
             CASE WHEN b.status IN ('shipped', 'delivered') THEN b.shipped_ts END AS shipped_at,
             CASE WHEN b.status = 'delivered' THEN b.delivered_ts END AS delivered_at,
             b.status IN ('shipped', 'delivered') AND b.channel <> 'own' AS invoiced,
             b.total + CASE WHEN pg_temp.u(b.k, 17) < 0.01 THEN greatest(b.shipping, 10.00) ELSE 0 END AS gross,
             b.status = 'delivered' AND b.purge_ts <= %(now)s AS purged
      FROM bench_ord b) o
LEFT JOIN (SELECT order_id, min(number) AS first_number, max(number) AS last_number,
                  count(*) FILTER (WHERE handed_over_on IS NOT NULL) AS handed
           FROM bench_cardx GROUP BY order_id) n ON n.order_id = o.id
ORDER BY o.id
"""

# Cards with ids in time order and numbers per school; what became of each by today.
CARD_LIFE = """
CREATE TEMP TABLE bench_cardx AS
WITH c AS (
    SELECT row_number() OVER (ORDER BY o.id, c.pupil_id) AS id,
           row_number() OVER (PARTITION BY c.school_id ORDER BY o.id, c.pupil_id) AS number,
           c.pupil_id, c.school_id, c.city_id, c.kind, c.seq, o.id AS order_id
    FROM bench_card c JOIN bench_ord o ON o.school_id = c.school_id AND o.gi = c.gi
), d AS (
    SELECT c.*, o.status AS order_status, o.submitted_on, o.submitted_at, o.channel, o.printer_id, o.lead_days,
           o.total, o.card_count, (o.delivered_ts AT TIME ZONE 'UTC')::date AS delivered_on,
           p.status AS pupil_status, p.learner_type, p.disabled, pg_temp.u(c.id, 20) < 0.004 AS spoiled,
           o.submitted_on - 2 - floor(pg_temp.u(c.id, 22) * 25)::int AS applied_on
    FROM c JOIN bench_ord o ON o.id = c.order_id JOIN bench_pupil p ON p.id = c.pupil_id
), e AS (
    SELECT d.*,
           CASE WHEN d.order_status = 'delivered' AND NOT d.spoiled
                     AND d.delivered_on + 1 + floor(pg_temp.u(d.id, 21) * 20)::int < %(today)s
                THEN d.delivered_on + 1 + floor(pg_temp.u(d.id, 21) * 20)::int END AS handed_over_on
    FROM d
), f AS (
    SELECT e.*, lead(e.handed_over_on) OVER w AS next_handed, lead(e.kind) OVER w AS next_kind,
           lag(e.id) OVER w AS prev_card_id
    FROM e WINDOW w AS (PARTITION BY e.pupil_id ORDER BY e.seq)
)
SELECT f.*,
       CASE WHEN f.order_status <> 'delivered' THEN 'ordered' WHEN f.spoiled THEN 'spoiled'
            WHEN f.handed_over_on IS NULL THEN 'delivered'
            WHEN f.next_handed IS NOT NULL OR f.pupil_status = 'left' THEN 'invalidated'
            ELSE 'handed_over' END AS final_status,
       CASE WHEN f.handed_over_on IS NULL THEN ''
            WHEN f.next_handed IS NOT NULL THEN CASE f.next_kind WHEN 'duplicate' THEN 'duplicated' ELSE 'replaced' END
            WHEN f.pupil_status = 'left' THEN 'left' ELSE '' END AS invalidation_reason,
       CASE WHEN f.handed_over_on IS NULL THEN NULL
            WHEN f.next_handed IS NOT NULL THEN f.next_handed
            WHEN f.pupil_status = 'left' THEN least(%(today)s::date - 1,
                                                    f.handed_over_on + 30 + floor(pg_temp.u(f.id, 23) * 300)::int)
       END AS invalidated_at,
       CASE f.learner_type WHEN 'preschool' THEN 'MEiN-I/5'
                           WHEN 'adult' THEN CASE WHEN f.disabled THEN 'MEiN-I/4-N' ELSE 'MEiN-I/2' END
                           ELSE CASE WHEN f.disabled THEN 'MEiN-I/3-N' ELSE 'MEiN-I/1' END END AS template_code,
       make_date(extract(year FROM f.submitted_on)::int - CASE WHEN extract(month FROM f.submitted_on) < 9
                                                               THEN 1 ELSE 0 END + 1, 9, 30) AS valid_until
FROM f
"""

CARDS = """
INSERT INTO cards (id, school_id, number, pupil_id, application_id, order_id, template_code, issue_date, valid_until,
    status, handed_over_on, collected_by, handover_recorded_by_id, created_at, handover_signed, number_label,
    blank_serial, chip_uid, invalidation_reason, status_note, invalidated_at, replaces_card_id)
SELECT c.id, c.school_id, c.number, c.pupil_id, c.id, c.order_id, c.template_code, c.submitted_on, c.valid_until,
       c.final_status, c.handed_over_on, CASE WHEN c.handed_over_on IS NOT NULL THEN 'rodzic ucznia' ELSE '' END,
       CASE WHEN c.handed_over_on IS NOT NULL THEN %(staff)s END, c.submitted_at, c.handed_over_on IS NOT NULL,
       c.number::text, CASE WHEN c.order_status = 'delivered' THEN 'EL' || lpad(c.id::text, 9, '0') ELSE '' END, '',
       c.invalidation_reason, CASE WHEN c.spoiled THEN 'uszkodzona przy druku' ELSE '' END, c.invalidated_at,
       CASE WHEN c.kind = 'replacement' THEN c.prev_card_id END
FROM bench_cardx c ORDER BY c.id
"""

# The carded applications share their card's id; open and rejected ones follow.
APPLICATIONS = """
INSERT INTO applications (id, school_id, pupil_id, kind, reason, status, fee_amount, created_by_id, decided_by_id,
    decided_at, rejection_reason, order_id, created_at, reason_code, old_card_returned_on, payment_amount,
    payment_date, payment_reference, payment_checked_by_id, payment_checked_at)
SELECT c.id, c.school_id, c.pupil_id, c.kind, '',
       CASE WHEN c.handed_over_on IS NOT NULL THEN 'issued' ELSE 'ordered' END,
       CASE WHEN c.kind = 'duplicate' THEN 9.00 ELSE 0.00 END, %(staff)s, %(staff)s,
       (c.applied_on + 1)::timestamp AT TIME ZONE 'UTC' + interval '10 hours', '', c.order_id,
       c.applied_on::timestamp AT TIME ZONE 'UTC' + interval '9 hours',
       CASE c.kind WHEN 'duplicate' THEN pg_temp.pick(ARRAY['lost', 'stolen', 'destroyed'], pg_temp.u(c.id, 24))
                   WHEN 'replacement' THEN pg_temp.pick(ARRAY['data_error', 'name_change', 'outdated_photo'],
                                                        pg_temp.u(c.id, 24)) ELSE '' END,
       CASE WHEN c.kind = 'replacement' THEN c.applied_on END,
       CASE WHEN c.kind = 'duplicate' THEN 9.00 END, CASE WHEN c.kind = 'duplicate' THEN c.applied_on END,
       CASE WHEN c.kind = 'duplicate' THEN 'Opłata za duplikat ' || c.id ELSE '' END,
       CASE WHEN c.kind = 'duplicate' THEN %(staff)s END,
       CASE WHEN c.kind = 'duplicate' THEN (c.applied_on + 1)::timestamp AT TIME ZONE 'UTC' END
FROM bench_cardx c
UNION ALL
SELECT %(card_max)s + row_number() OVER (ORDER BY p.id), p.school_id, p.id, x.kind, '', x.status, 0.00, %(staff)s,
       CASE WHEN x.status <> 'submitted' THEN %(staff)s END,
       CASE WHEN x.status <> 'submitted' THEN x.created + interval '1 day' END,
       CASE WHEN x.status = 'rejected' THEN 'brak zdjęcia spełniającego wymagania' ELSE '' END, NULL, x.created,
       '', NULL, NULL, NULL, '', NULL, NULL
FROM bench_pupil p CROSS JOIN LATERAL (
    SELECT 'first' AS kind, p.open_state AS status,
           (%(today)s::date - 1 - floor(pg_temp.u(p.id, 25) * 20)::int)::timestamp AT TIME ZONE 'UTC'
             + interval '9 hours' AS created
    WHERE p.open_state IS NOT NULL
    UNION ALL
    SELECT 'first', 'rejected', make_date(%(y0)s - 1, 9, 15)::timestamp AT TIME ZONE 'UTC'
    WHERE pg_temp.u(p.id, 26) < 0.005
) x
"""

CARD_FACTS = """
INSERT INTO card_facts (id, school_id, city_id, card_id, order_id, channel, printer_id, kind, status, applied_on,
    submitted_on, delivered_on, handed_over_on, promised_days, cost, fee, print_rejections)
SELECT row_number() OVER (ORDER BY s.refresh_rank, c.id), c.school_id, c.city_id, c.id, c.order_id, c.channel,
       c.printer_id, c.kind, c.final_status, c.applied_on, c.submitted_on,
       CASE WHEN c.order_status = 'delivered' AND NOT c.spoiled THEN c.delivered_on END, c.handed_over_on,
       c.lead_days,
       round(c.total / c.card_count, 2), CASE WHEN c.kind = 'duplicate' THEN 9.00 ELSE 0.00 END,
       CASE WHEN c.spoiled OR pg_temp.u(c.id, 27) < 0.01 THEN 1 ELSE 0 END
FROM bench_cardx c JOIN bench_school s USING (school_id)
ORDER BY s.refresh_rank, c.id
"""

# The card facts summed up per order and delivery day, as reports.statistics rebuilds them.
ORDER_FACTS = """
INSERT INTO order_facts (id, school_id, city_id, order_id, channel, printer_id, submitted_on, delivered_on,
    promised_days, cards, cost, paid, fees, live_waiting, spoiled, rejected)
SELECT row_number() OVER (ORDER BY min(f.id)), f.school_id, f.city_id, f.order_id, f.channel, f.printer_id,
       f.submitted_on, f.delivered_on, f.promised_days, count(*), sum(f.cost), count(*) FILTER (WHERE f.fee > 0),
       sum(f.fee),
       count(*) FILTER (WHERE f.status IN ('ordered', 'printed', 'delivered', 'handed_over')
                        AND f.delivered_on IS NULL),
       count(*) FILTER (WHERE f.status = 'spoiled'), count(*) FILTER (WHERE f.print_rejections > 0)
FROM card_facts f
GROUP BY f.school_id, f.city_id, f.order_id, f.channel, f.printer_id, f.submitted_on, f.delivered_on, f.promised_days
ORDER BY min(f.id)
"""

# Each school's hologram ledger on its statistics row: {school year: {state: count}}.
HOLOGRAM_COUNTS = """
UPDATE school_stats st SET hologram_counts = h.counts
FROM (SELECT school_id, json_object_agg(school_year::text, states) AS counts
      FROM (SELECT school_id, school_year, json_object_agg(state, n) AS states
            FROM (SELECT school_id, school_year, state, count(*) AS n FROM holograms GROUP BY 1, 2, 3) c
            GROUP BY 1, 2) y
      GROUP BY 1) h
WHERE h.school_id = st.school_id
"""

# The per-school counts, from the registry just written, as reports.statistics defines them.
SCHOOL_STATS = """
INSERT INTO school_stats (id, school_id, city_id, computed_at, pupils_active, pupils_needing_card,
    pupils_without_photo, paper_cards, mleg_registered, applications_open, applications_total, cards_ordered,
    cards_delivered, cards_handed_over, duplicates_paid, duplicate_fees, forecast_first_year)
WITH live AS (
    SELECT DISTINCT school_id, pupil_id FROM cards WHERE status IN ('ordered', 'printed', 'delivered', 'handed_over')
), pup AS (
    SELECT p.school_id,
           count(*) AS active,
           count(*) FILTER (WHERE l.pupil_id IS NULL) AS needing,
           count(*) FILTER (WHERE p.photo_key IS NULL) AS no_photo,
           count(*) FILTER (WHERE p.paper_card_number <> '' AND l.pupil_id IS NULL) AS paper,
           count(*) FILTER (WHERE p.mleg_registered_on IS NOT NULL AND p.mleg_invalidated_on IS NULL) AS mleg,
           count(*) FILTER (WHERE p.class_name ~ '^(sem\\. )?1[a-z]$') AS first_year
    FROM pupils p LEFT JOIN live l ON l.school_id = p.school_id AND l.pupil_id = p.id
    WHERE p.status = 'active'
    GROUP BY p.school_id
), app AS (
    SELECT a.school_id,
           count(*) FILTER (WHERE a.status IN ('submitted', 'approved') AND a.order_id IS NULL) AS open,
           count(*) AS total,
           count(*) FILTER (WHERE a.kind = 'duplicate' AND a.payment_checked_at IS NOT NULL) AS dups,
           coalesce(sum(a.payment_amount) FILTER (WHERE a.kind = 'duplicate' AND a.payment_checked_at IS NOT NULL),
                    0) AS fees
    FROM applications a JOIN pupils p ON p.school_id = a.school_id AND p.id = a.pupil_id
    WHERE p.status = 'active'
    GROUP BY a.school_id
), crd AS (
    SELECT school_id, count(*) FILTER (WHERE status IN ('ordered', 'printed', 'delivered', 'handed_over')) AS live,
           count(*) FILTER (WHERE status IN ('delivered', 'handed_over')) AS delivered,
           count(*) FILTER (WHERE status = 'handed_over') AS handed
    FROM cards GROUP BY school_id
)
SELECT s.refresh_rank + 1, s.school_id, s.city_id,
       %(now)s - make_interval(mins => floor(pg_temp.u(s.school_id, 28) * 10)::int),
       coalesce(pup.active, 0), coalesce(pup.needing, 0), coalesce(pup.no_photo, 0), coalesce(pup.paper, 0),
       coalesce(pup.mleg, 0), coalesce(app.open, 0), coalesce(app.total, 0), coalesce(crd.live, 0),
       coalesce(crd.delivered, 0), coalesce(crd.handed, 0), coalesce(app.dups, 0), coalesce(app.fees, 0),
       coalesce(pup.first_year, 0) + coalesce(pup.needing, 0)
FROM bench_school s LEFT JOIN pup USING (school_id) LEFT JOIN app USING (school_id) LEFT JOIN crd USING (school_id)
ORDER BY s.refresh_rank
"""

# This school year's holograms: one delivery per school; issued to handed-over cards from earlier
# years (70 % so far), the rest in stock.
HOLOGRAMS = [
    """CREATE TEMP TABLE bench_holo AS
       SELECT c.school_id, c.id AS card_id, row_number() OVER (PARTITION BY c.school_id ORDER BY c.id) AS n,
              least(%(today)s::date - 1, make_date(%(y0)s, 9, 1) + floor(pg_temp.u(c.id, 40) * 60)::int) AS issued_on
       FROM cards c
       WHERE c.status = 'handed_over' AND c.valid_until < make_date(%(y0)s + 1, 9, 30) AND pg_temp.u(c.id, 41) < 0.7""",
    """INSERT INTO hologram_deliveries (id, school_id, school_year, supplier, received_on, first_serial, last_serial,
           count, created_by_id, created_at)
       SELECT x.refresh_rank + 1, x.school_id, %(y0)s, 'PWPW S.A.', make_date(%(y0)s, 8, 28), 'HS 000001',
              'HS ' || lpad(x.cnt::text, 6, '0'), x.cnt, %(staff)s,
              make_date(%(y0)s, 8, 28)::timestamp AT TIME ZONE 'UTC'
       FROM (SELECT s.school_id, s.refresh_rank,
                    greatest(coalesce(h.k, 0), ceil(st.pupils_active * 1.05)::int, 1) AS cnt
             FROM bench_school s JOIN school_stats st USING (school_id)
             LEFT JOIN (SELECT school_id, count(*) AS k FROM bench_holo GROUP BY school_id) h USING (school_id)) x
       ORDER BY x.refresh_rank""",
    """INSERT INTO holograms (id, school_id, serial, school_year, delivery_id, state, card_id, issued_on, issued_by_id)
       SELECT row_number() OVER (ORDER BY d.id, g), d.school_id, 'HS ' || lpad(g::text, 6, '0'), %(y0)s, d.id,
              CASE WHEN h.card_id IS NOT NULL THEN 'issued' ELSE 'in_stock' END, h.card_id, h.issued_on,
              CASE WHEN h.card_id IS NOT NULL THEN %(staff)s END
       FROM hologram_deliveries d CROSS JOIN LATERAL generate_series(1, d.count) AS g
       LEFT JOIN bench_holo h ON h.school_id = d.school_id AND h.n = g
       ORDER BY d.id, g""",
]

RECEIPTS = """
INSERT INTO deletion_receipts (id, school_id, city_id, order_id, printer_id, files, delivered_at, deleted_at)
SELECT row_number() OVER (ORDER BY o.purge_ts, o.id), o.school_id, o.city_id, o.id, o.printer_id,
       json_build_array(json_build_object('name', 'karty.pdf', 'sha256', encode(sha256(int8send(o.id)), 'hex'),
                                          'versions', 1),
                        json_build_object('name', 'paczka.7z', 'sha256', encode(sha256(int8send(-o.id)), 'hex'),
                                          'versions', 1)),
       o.delivered_ts, o.purge_ts
FROM bench_ord o WHERE o.status = 'delivered' AND o.purge_ts <= %(now)s
ORDER BY o.purge_ts, o.id
"""

COUNTERS = ("INSERT INTO school_counters (school_id, last_no) "
            "SELECT school_id, max(number) FROM cards GROUP BY school_id")

# Every foreign key, checked once after the load (the triggers were off while loading).
FOREIGN_KEYS = """
SELECT c.conname, c.conrelid::regclass::text, c.confrelid::regclass::text,
       array_agg(a.attname::text ORDER BY k.ord), array_agg(b.attname::text ORDER BY k.ord)
FROM pg_constraint c
CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(ck, fk, ord)
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.ck
JOIN pg_attribute b ON b.attrelid = c.confrelid AND b.attnum = k.fk
WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
GROUP BY c.conname, c.conrelid, c.confrelid
ORDER BY c.conname
"""

SEQUENCED = ["organisations", "users", "memberships", "price_tiers", "pupils", "applications", "cards",
             "print_orders", "school_stats", "card_facts", "order_facts", "hologram_deliveries", "holograms",
             "deletion_receipts", "city_budgets", "centre_cost_profiles", "school_printers"]


def _copy(cur, table: str, columns: list[str], rows) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def check_references(cur) -> None:
    """Raise if any row points at a missing one (what the skipped triggers would have caught)."""
    cur.execute(FOREIGN_KEYS)
    broken = []
    for name, child, parent, columns, targets in cur.fetchall():
        present = " AND ".join(f"c.{x} IS NOT NULL" for x in columns)
        match = " AND ".join(f"p.{y} = c.{x}" for x, y in zip(columns, targets, strict=True))
        cur.execute(f"SELECT count(*) FROM {child} c WHERE {present} "
                    f"AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {match})")
        if n := cur.fetchone()[0]:
            broken.append(f"{name}: {n}")
    if broken:
        raise RuntimeError("rows without their referenced row: " + ", ".join(broken))


def _load_organisations(cur, p: Plan, now: dt.datetime, today: dt.date, y0: int, staff_hash: str) -> int:
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
    _copy(cur, "organisations", org_cols, rows)
    _copy(cur, "city_printers", ["city_id", "printer_id"], p.city_printers)
    tiers = [(x["id"], q, Decimal(price)) for x in p.printers for q, price in x["tiers"]]
    _copy(cur, "price_tiers", ["printer_id", "min_quantity", "unit_price"], tiers)
    profile = dict(model="Evolis Primacy 2 Duplex", purchase_price=Decimal("6500.00"),
                   purchased_on=dt.date(y0 - 2, 8, 20), amortisation_years=5, licence_per_year=Decimal("1000.00"),
                   starter_kit_price=Decimal("500.00"), blank_price=Decimal("7.90"), hologram_price=Decimal("1.20"),
                   ribbon_price=Decimal("480.00"), ribbon_yield=250, staff_minutes_per_card=Decimal("3.00"),
                   hourly_rate=Decimal("45.00"), spoilage_percent=Decimal("3.00"), lead_time_days=2, updated_at=now)
    own = [s for s in p.schools if s["own"]]
    _copy(cur, "school_printers", ["school_id", "city_id", *profile],
          [(s["id"], s["city_id"], *profile.values()) for s in own])
    centre = dict(profile, model="Evolis Avansia Duplex (centrum)", purchase_price=Decimal("42000.00"),
                  licence_per_year=Decimal("3000.00"), starter_kit_price=Decimal("1500.00"),
                  blank_price=Decimal("6.90"), ribbon_price=Decimal("520.00"), ribbon_yield=500,
                  staff_minutes_per_card=Decimal("1.50"), spoilage_percent=Decimal("2.00"), lead_time_days=14)
    _copy(cur, "centre_cost_profiles", ["city_id", "printer_id", *centre],
          [(x["city_id"], x["id"], *centre.values()) for x in p.printers if x["centre"]])
    pupils_by_city: dict[int, int] = {}
    for s in p.schools:
        pupils_by_city[s["city_id"]] = pupils_by_city.get(s["city_id"], 0) + s["pupils"]
    budgets = []
    for c in p.cities:
        for year in range(y0 - 2, y0 + 2):  # calendar years of the history, and the coming one
            amount = Decimal(round(pupils_by_city.get(c["id"], 0) * 0.4 * 12, -2)).quantize(Decimal("0.01"))
            budgets.append((c["id"], year, amount, dt.date(year, 10, 31), 90, now))
    _copy(cur, "city_budgets", ["city_id", "year", "amount", "target_date", "target_percent", "updated_at"], budgets)
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


def _waves(today: dt.date) -> tuple[int, list[tuple[int, int, int, dt.date]]]:
    """This school year (y0) and the ordering waves of the last three school years up to yesterday."""
    y0 = today.year if today.month >= 9 else today.year - 1
    waves = []
    for year in range(y0 - 2, y0 + 1):
        for w, offset in enumerate(WAVES):
            day = dt.date(year, 9, 1) + dt.timedelta(days=offset)
            if day < today:
                waves.append((len(waves), year, w, day))
    return y0, waves


def generate(spec: Spec, today: dt.date | None = None, log=print) -> dict:
    """Make the database from scratch; returns its description (also kept as the marker)."""
    import psycopg
    from sqlalchemy import create_engine
    from sqlalchemy import pool
    from sqlalchemy import text

    from infra.migrate import create_roles_and_database
    from infra.migrate import upgrade
    from tenants.tenancy.passwords import hash_password

    started = time.perf_counter()
    today = today or clock.today()
    now = clock.utcnow()
    admin = create_engine(url("postgres", ADMIN), poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{spec.database}" WITH (FORCE)'))
    admin.dispose()
    create_roles_and_database(url("postgres", ADMIN), spec.database, OWNER, APP)
    upgrade(url(spec.database, OWNER), url(spec.database, APP))
    p = plan(spec)
    y0, waves = _waves(today)
    params = {"y0": y0, "today": today, "now": now, "max_gi": len(waves) - 1, "own_unit": OWN_UNIT_COST,
              "girls": GIRLS, "boys": BOYS, "surnames": SURNAMES}
    timings = {}

    def step(label: str, sql: str, **extra) -> None:
        t0 = time.perf_counter()
        cur.execute(sql, {**params, **extra} if ("%(" in sql) else None)
        timings[label] = time.perf_counter() - t0
        rows = f"{cur.rowcount:>10,} rows" if cur.rowcount and cur.rowcount > 0 else " " * 15
        log(f"  {label:<28} {rows} {timings[label]:7.1f} s")

    with psycopg.connect(_conninfo(spec.database), autocommit=True) as conn, psycopg.ClientCursor(conn) as cur:
        for sql in SETUP:
            cur.execute(sql)
        t0 = time.perf_counter()
        staff = _load_organisations(cur, p, now, today, y0, hash_password(PASSWORD))
        params["staff"] = staff
        _copy(cur, "bench_school", ["school_id", "city_id", "school_type", "grades", "sections", "n_pupils",
                                    "pupil_base", "own", "centre_id", "ext1", "ext2", "refresh_rank", "learner_type",
                                    "disabled_share"],
              [(s["id"], s["city_id"], s["type"], s["grades"], s["sections"], s["pupils"], s["pupil_base"], s["own"],
                s["centre_id"], s["ext1"], s["ext2"], s["rank"],
                {"adult": "adult", "preschool": "preschool"}.get(s["type"], "pupil"),
                1.0 if s["type"] == "special" else 0.03) for s in p.schools])
        _copy(cur, "bench_wave", ["gi", "year", "w", "day"], waves)
        log(f"  {'organisations, users':<28} {len(p.schools) + len(p.cities) + len(p.printers):>10,} rows "
            f"{time.perf_counter() - t0:7.1f} s")
        step("plan: pupils", PUPIL_PLAN)
        step("pupils", PUPILS)
        step("plan: cards", CARD_PLAN)
        step("plan: orders", ORDER_PLAN)
        step("plan: card lives", CARD_LIFE)
        step("print_orders", ORDERS)
        step("cards", CARDS)
        cur.execute("SELECT coalesce(max(id), 0) FROM bench_cardx")
        step("applications", APPLICATIONS, card_max=cur.fetchone()[0])
        step("card_facts", CARD_FACTS)
        step("order_facts", ORDER_FACTS)
        step("school_stats", SCHOOL_STATS)
        step("deletion_receipts", RECEIPTS)
        step("school_counters", COUNTERS)
        for i, sql in enumerate(HOLOGRAMS):
            step(["plan: holograms", "hologram_deliveries", "holograms"][i], sql)
        step("school_stats: holograms", HOLOGRAM_COUNTS)
        for table in SEQUENCED:
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) "
                        f"FROM {table}")
        t0 = time.perf_counter()
        check_references(cur)
        log(f"  {'foreign keys checked':<28} {'':>15} {time.perf_counter() - t0:7.1f} s")
        loaded = time.perf_counter() - started
        t0 = time.perf_counter()
        cur.execute("VACUUM (ANALYZE)")
        log(f"  {'VACUUM ANALYZE':<28} {'':>15} {time.perf_counter() - t0:7.1f} s")
        cur.execute("SELECT pg_database_size(current_database())")
        size = cur.fetchone()[0]
        counts = {}
        for table in ("pupils", "applications", "cards", "print_orders", "card_facts", "order_facts", "school_stats",
                      "holograms"):
            cur.execute(f"SELECT reltuples::bigint FROM pg_class WHERE relname = '{table}'")
            counts[table] = cur.fetchone()[0]
        info = {"marker": MARKER, "database": spec.database, "generated_on": today.isoformat(),
                "seconds": round(time.perf_counter() - started, 1), "load_seconds": round(loaded, 1),
                "size_mb": round(size / 2**20), "counts": counts, "measured": p.measured,
                "cities": len(p.cities), "schools": len(p.schools), "pupils": spec.pupils}
        cur.execute(f"COMMENT ON DATABASE \"{spec.database}\" IS {_literal(json.dumps(info))}")
    return info


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def describe(spec: Spec) -> dict | None:
    """The marker of a finished database, or None (missing, or an interrupted run)."""
    import psycopg

    with psycopg.connect(_conninfo("postgres"), autocommit=True) as conn:
        row = conn.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                           (spec.database,)).fetchone()
    if not row or not row[0]:
        return None
    try:
        info = json.loads(row[0])
    except ValueError:
        return None
    return info if info.get("marker") == MARKER else None


def ensure(spec: Spec, regenerate: bool = False, log=print) -> tuple[dict, bool]:
    """The database's description, generating it first if missing (or asked to); (info, generated?)."""
    info = None if regenerate else describe(spec)
    if info is not None:
        return info, False
    log(f"Generating {spec.database}: {spec.cities} cit{'y' if spec.cities == 1 else 'ies'}, "
        f"{spec.schools:,} schools, {spec.pupils:,} pupils …")
    info = generate(spec, log=log)
    log(f"{spec.database}: generated in {info['seconds']:.0f} s ({info['size_mb']:,} MB): "
        + ", ".join(f"{k} {v:,}" for k, v in info["counts"].items()))
    return info, True


def main(argv: list[str]) -> None:
    specs = [CITY] + ([NATIONAL] if "--national" in argv else [])
    for spec in specs:
        info, generated = ensure(spec, regenerate="--regenerate" in argv)
        if not generated:
            print(f"{spec.database}: present (generated {info['generated_on']} in {info['seconds']:.0f} s, "
                  f"{info['size_mb']:,} MB); --regenerate to make it again")


if __name__ == "__main__":
    sys.stdout = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", line_buffering=True)
    main(sys.argv[1:])
