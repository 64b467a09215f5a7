"""The bulk of a benchmark database (`bench.dashboard_data`): SQL run by the superuser.

Pupils, applications, cards, print orders, the statistics, holograms and deletion receipts are
made by `INSERT … SELECT generate_series` statements over the schools `bench.dashboard_plan`
laid out (copied into the temp table `bench_school`) and the ordering waves (`waves`, copied into
`bench_wave`). `check_references` checks every foreign key once the load is done.
"""

from __future__ import annotations

import datetime as dt

GIRLS = ["Zuzanna", "Zofia", "Hanna", "Julia", "Maja", "Łucja", "Alicja", "Oliwia", "Maria", "Pola", "Wiktoria",
         "Amelia", "Lena", "Antonina", "Helena", "Małgorzata", "Jadwiga", "Ewa", "Róża", "Iga"]
BOYS = ["Jan", "Antoni", "Aleksander", "Franciszek", "Nikodem", "Szymon", "Filip", "Jakub", "Stanisław", "Mikołaj",
        "Wojciech", "Tymon", "Ignacy", "Józef", "Łukasz", "Bartłomiej", "Maciej", "Paweł", "Michał", "Kacper"]
SURNAMES = ["Nowak", "Kowalska", "Wiśniewski", "Wójcik", "Kamińska", "Lewandowski", "Zielińska", "Szymański",
            "Woźniak", "Dąbrowska", "Kozłowski", "Jankowska", "Mazur", "Krawczyk", "Piotrowski", "Grabowska",
            "Pawłowski", "Michalska", "Król", "Wieczorek", "Jabłońska", "Wróbel", "Nowakowski", "Majewska",
            "Olszewski", "Stępień", "Jaworska", "Malinowski", "Górska", "Sikora", "Żak", "Łęcka", "Ślusarczyk", "Bąk"]
OWN_UNIT_COST = "11.35"  # (7.90 blank + 1.20 hologram + 480/250 ribbon) × 1.03 spoilage: printing.quotes
# Ordering waves per school year: days after 1 September (the autumn rush, then smaller batches).
WAVES = [4, 30, 75, 153, 226]


def cutovers(today: dt.date) -> tuple[int, list[dt.date]]:
    """The default cut-over days (tenants/registry/school_year.py, docs/domain.md §4) of the years
    the bench's orders fall in: (first year, [its cut-over, the next year's, …])."""
    from tenants.registry.school_year import cutover

    first = today.year - 4
    return first, [cutover(year) for year in range(first, today.year + 1)]


def waves(today: dt.date) -> tuple[int, list[tuple[int, int, int, dt.date]]]:
    """This school year (y0) and the ordering waves of the last three school years up to yesterday."""
    y0 = today.year if today.month >= 9 else today.year - 1
    waves = []
    for year in range(y0 - 2, y0 + 1):
        for w, offset in enumerate(WAVES):
            day = dt.date(year, 9, 1) + dt.timedelta(days=offset)
            if day < today:
                waves.append((len(waves), year, w, day))
    return y0, waves

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
       make_date(extract(year FROM f.submitted_on)::int
                 - CASE WHEN extract(month FROM f.submitted_on) < 9 AND f.submitted_on < (%(cutovers)s::date[])[
                            extract(year FROM f.submitted_on)::int - %(cutover_from)s + 1] THEN 1 ELSE 0 END
                 + 1, 9, 30) AS valid_until
FROM f
"""

CARDS = """
INSERT INTO cards (id, school_id, number, pupil_id, application_id, order_id, template_code, issue_date, valid_until,
    status, handed_over_on, collected_by, handover_recorded_by_id, created_at, handover_signed, number_label,
    blank_serial, chip_uid, invalidation_reason, status_note, invalidated_at, replaces_card_id, template_version)
SELECT c.id, c.school_id, c.number, c.pupil_id, c.id, c.order_id, c.template_code, c.submitted_on, c.valid_until,
       c.final_status, c.handed_over_on, CASE WHEN c.handed_over_on IS NOT NULL THEN 'rodzic ucznia' ELSE '' END,
       CASE WHEN c.handed_over_on IS NOT NULL THEN %(staff)s END, c.submitted_at, c.handed_over_on IS NOT NULL,
       c.number::text, CASE WHEN c.order_status = 'delivered' THEN 'EL' || lpad(c.id::text, 9, '0') ELSE '' END, '',
       c.invalidation_reason, CASE WHEN c.spoiled THEN 'uszkodzona przy druku' ELSE '' END, c.invalidated_at,
       CASE WHEN c.kind = 'replacement' THEN c.prev_card_id END,
       CASE WHEN c.submitted_on >= %(amended)s THEN '2023-2653' ELSE '2023-1120' END  -- docs/domain.md §25
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

# The per-school counts, from the registry just written, as reports.statistics defines them
# (who holds a valid card: tenants.registry.holders, docs/domain.md §26).
SCHOOL_STATS = """
INSERT INTO school_stats (id, school_id, city_id, computed_at, pupils_active, pupils_needing_card, needing_new,
    needing_invalidated, needing_requests, pupils_valid_ecard, pupils_without_photo, paper_cards, mleg_registered,
    applications_open, applications_total, cards_ordered, cards_delivered, cards_handed_over, duplicates_paid,
    duplicate_fees, forecast_first_year)
WITH card AS (
    SELECT school_id, pupil_id,
           bool_or(status IN ('ordered', 'printed', 'delivered', 'handed_over')) AS live,
           bool_or(status = 'handed_over') AS in_hand, bool_or(status = 'invalidated') AS ended
    FROM cards GROUP BY school_id, pupil_id
), request AS (
    SELECT DISTINCT school_id, pupil_id FROM applications
    WHERE status IN ('submitted', 'approved', 'ordered')
      AND (kind IN ('replacement', 'duplicate') OR paper_card_number <> '')
), held AS (
    SELECT p.*, coalesce(c.live, false) OR (p.paper_card_number <> '' AND p.paper_card_invalidated_on IS NULL)
                AS valid,
           coalesce(c.ended, false) OR p.paper_card_number <> '' AS held_once, coalesce(c.in_hand, false) AS in_hand,
           r.pupil_id IS NOT NULL AS requested
    FROM pupils p LEFT JOIN card c ON c.school_id = p.school_id AND c.pupil_id = p.id
    LEFT JOIN request r ON r.school_id = p.school_id AND r.pupil_id = p.id
    WHERE p.status = 'active'
), pup AS (
    SELECT h.school_id,
           count(*) AS active,
           count(*) FILTER (WHERE NOT h.valid AND NOT h.held_once) AS new,
           count(*) FILTER (WHERE NOT h.valid AND h.held_once) AS lost,
           count(*) FILTER (WHERE h.valid AND h.requested) AS requests,
           count(*) FILTER (WHERE h.in_hand) AS in_hand,
           count(*) FILTER (WHERE h.photo_key IS NULL) AS no_photo,
           count(*) FILTER (WHERE h.paper_card_number <> '' AND h.paper_card_invalidated_on IS NULL
                            AND NOT h.in_hand) AS paper,
           count(*) FILTER (WHERE h.mleg_registered_on IS NOT NULL AND h.mleg_invalidated_on IS NULL) AS mleg,
           count(*) FILTER (WHERE h.class_name ~ '^(sem\\. )?1[a-z]$') AS first_year
    FROM held h
    GROUP BY h.school_id
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
       coalesce(pup.active, 0), coalesce(pup.new + pup.lost + pup.requests, 0), coalesce(pup.new, 0),
       coalesce(pup.lost, 0), coalesce(pup.requests, 0), coalesce(pup.in_hand, 0), coalesce(pup.no_photo, 0),
       coalesce(pup.paper, 0), coalesce(pup.mleg, 0), coalesce(app.open, 0), coalesce(app.total, 0),
       coalesce(crd.live, 0), coalesce(crd.delivered, 0), coalesce(crd.handed, 0), coalesce(app.dups, 0),
       coalesce(app.fees, 0), coalesce(pup.first_year, 0)
FROM bench_school s LEFT JOIN pup USING (school_id) LEFT JOIN app USING (school_id) LEFT JOIN crd USING (school_id)
ORDER BY s.refresh_rank
"""

# What the forecast (reports.forecast) reads, per school: its pupils and first classes now, and the
# duplicate cards applied for per school year (the card facts). The bench has no transfers.
FORECAST_INPUTS = """
SELECT st.school_id, st.pupils_active, st.forecast_first_year,
       coalesce((SELECT json_object_agg(y, n) FROM (
           SELECT extract(year FROM f.applied_on)::int - CASE WHEN extract(month FROM f.applied_on) < 9 THEN 1 ELSE 0
                  END AS y, count(*) AS n
           FROM card_facts f WHERE f.school_id = st.school_id AND f.kind = 'duplicate' AND f.applied_on IS NOT NULL
           GROUP BY 1) d), '{}') AS duplicates
FROM school_stats st
"""


def forecasts(rows, today: dt.date) -> list[tuple]:
    """(school_id, year_history, forecast) per school: the running school year and the two before it
    with today's pupils and first classes (the bench's pupils are spread evenly over its years),
    then reports.forecast's summary, as JSON text for the update."""
    import json

    from reports import forecast

    running = forecast.running_year(today)
    out = []
    for school_id, pupils, first_year, duplicates in rows:
        history = {str(y): {"pupils": pupils, "first_year": first_year} for y in range(running - 2, running + 1)}
        summary = forecast.summary(today, history, {}, {int(k): v for k, v in (duplicates or {}).items()})
        out.append((school_id, json.dumps(history), json.dumps(summary)))
    return out


FORECAST_UPDATE = """
UPDATE school_stats st SET year_history = b.history::json, forecast = b.forecast::json
FROM bench_forecast b WHERE b.school_id = st.school_id
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

# The consultation with the directors (docs/city.md): one open consultation per city, answered by
# about 70 % of its schools (rating, problems, hours, preference and some free text drawn per school).
CONSULTATIONS = [
    """INSERT INTO consultations (id, city_id, title, intro, extra_question, deadline, status, created_at, opened_at)
       SELECT id, id, 'Legitymacje szkolne od przyszłego roku: własny kanał, wspólne zamówienie czy centrum druku?',
              'Miasto pyta dyrektorów szkół przed decyzją o wspólnym zamawianiu.',
              'Czy szkoła mogłaby odbierać legitymacje z centrum druku osobiście?',
              %(today)s::date + 14, 'open', %(now)s, %(now)s
       FROM organisations WHERE kind = 'city'""",
    """INSERT INTO consultation_answers (id, school_id, city_id, consultation_id, satisfaction, problems, problems_text,
              staff_hours, preference, comments, extra_answer, answered_at, updated_at)
       SELECT s.id, s.id, s.city_id, s.city_id, 1 + floor(pg_temp.u(s.id, 901) * 5)::int,
              (SELECT coalesce(json_agg(p.k ORDER BY p.i), '[]'::json)
               FROM unnest(ARRAY['photos', 'delays', 'costs', 'errors', 'holograms', 'staff', 'equipment'])
                    WITH ORDINALITY AS p(k, i) WHERE pg_temp.u(s.id * 10 + p.i, 902) < 0.3),
              CASE WHEN pg_temp.u(s.id, 903) < 0.3 THEN 'Rodzice przysyłają zdjęcia z telefonu; część trzeba poprawiać.'
                   ELSE '' END,
              round((pg_temp.u(s.id, 904) * 20)::numeric, 1),
              pg_temp.pick(ARRAY['keep_own', 'city_order', 'print_centre', 'no_opinion'], pg_temp.u(s.id, 905)),
              CASE WHEN pg_temp.u(s.id, 906) < 0.4
                   THEN 'Prosimy o decyzję przed wakacjami, żeby zdążyć z zamówieniem na wrzesień.' ELSE '' END,
              CASE WHEN pg_temp.u(s.id, 907) < 0.5 THEN 'Tak.' ELSE '' END, %(now)s, %(now)s
       FROM organisations s WHERE s.kind = 'school' AND pg_temp.u(s.id, 900) < 0.7""",
]

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
             "deletion_receipts", "city_budgets", "centre_cost_profiles", "school_printers", "consultations",
             "consultation_answers"]

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
