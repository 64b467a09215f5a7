"""The floors of the city dashboard benchmark (`bench.dashboard`): plain SQL per page.

For each page (or download) the benchmark measures, the aggregates it shows, computed by
PostgreSQL over the same database: `Q` holds the queries by name, `FLOORS` the queries of each
page, `floor_params` the parameters a page's URL gives them.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse

# --- the floors: plain SQL per page --------------------------------------------------------------
# The aggregates a page shows, computed by PostgreSQL and fetched (a few hundred rows at most).
# Parameters: city; d_from, d_to (the period of the page's filters, None = open; default the current
# school year), sy_from, sy_to (the school years it touches), school_filter (`szkola`), year
# (calendar), today, schools (the city's school ids, as the app lists them), school (the first school by
# name: what the cost pages default to), centre.


def _period(column: str) -> str:
    return (f"(%(d_from)s::date IS NULL OR {column} >= %(d_from)s::date) "
            f"AND (%(d_to)s::date IS NULL OR {column} <= %(d_to)s::date)")


ORDERED_IN = _period("submitted_on")
HANDED_IN = "handed_over_on IS NOT NULL AND " + _period("handed_over_on")
PUNCTUAL = """CASE WHEN promised_days IS NULL OR submitted_on IS NULL THEN NULL
                   WHEN delivered_on IS NOT NULL THEN delivered_on - submitted_on <= promised_days
                   WHEN status NOT IN ('ordered', 'printed', 'delivered', 'handed_over') THEN NULL
                   WHEN %(today)s::date > submitted_on + promised_days THEN false END"""
YEAR_ORDERS = ("coalesce(issue_date, submitted_at::date, created_at::date) "
               "BETWEEN make_date(%(year)s, 1, 1) AND make_date(%(year)s, 12, 31)")


def _lead(group: str) -> str:
    return f"""SELECT {group}, count(*) FILTER (WHERE h) AS handed,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY handed_over_on - applied_on) FILTER (WHERE h),
                  percentile_cont(0.9) WITHIN GROUP (ORDER BY handed_over_on - applied_on) FILTER (WHERE h),
                  count(*) FILTER (WHERE o) AS ordered,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY delivered_on - submitted_on) FILTER (WHERE o),
                  count(p) FILTER (WHERE o) AS judged, count(*) FILTER (WHERE o AND p) AS on_time,
                  count(*) FILTER (WHERE o AND print_rejections > 0) AS rejected
           FROM (SELECT *, {HANDED_IN} AS h, {ORDERED_IN} AS o, {PUNCTUAL} AS p FROM card_facts
                 WHERE city_id = %(city)s AND (({HANDED_IN}) OR ({ORDERED_IN}))) x
           GROUP BY {group}"""


def _money(group: str) -> str:
    return f"""SELECT {group}, count(*), sum(cost), count(*) FILTER (WHERE fee > 0), sum(fee) FROM card_facts
               WHERE city_id = %(city)s AND {ORDERED_IN} GROUP BY {group}"""


Q = {
    "stats": """SELECT s.id, s.name, s.school_type, s.district, st.* FROM organisations s
                LEFT JOIN school_stats st ON st.school_id = s.id
                WHERE s.kind = 'school' AND s.city_id = %(city)s ORDER BY s.name""",
    "school stats": "SELECT * FROM school_stats WHERE city_id = %(city)s AND school_id = %(school)s",
    "target": """SELECT * FROM city_budgets WHERE city_id = %(city)s AND target_date IS NOT NULL
                 ORDER BY target_date DESC LIMIT 2""",
    "tiles": f"""SELECT count(*) FILTER (WHERE {HANDED_IN}),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY handed_over_on - applied_on) FILTER (WHERE {HANDED_IN}),
                   percentile_cont(0.9) WITHIN GROUP (ORDER BY handed_over_on - applied_on) FILTER (WHERE {HANDED_IN}),
                   count(*) FILTER (WHERE {ORDERED_IN}), sum(cost) FILTER (WHERE {ORDERED_IN}),
                   sum(fee) FILTER (WHERE {ORDERED_IN}),
                   count({PUNCTUAL}) FILTER (WHERE {ORDERED_IN}),
                   count(*) FILTER (WHERE {ORDERED_IN} AND {PUNCTUAL})
                 FROM card_facts WHERE city_id = %(city)s""",
    "lead by school": _lead("school_id"),
    "lead by printer": _lead("channel, printer_id"),
    "cost by channel": _money("channel"),
    "cost by school": _money("school_id"),
    "cost by month": _money("date_trunc('month', submitted_on), channel"),
    "budget": """SELECT * FROM (SELECT extract(year FROM submitted_on)::int AS year, sum(cost), count(*)
                                FROM card_facts WHERE city_id = %(city)s AND submitted_on IS NOT NULL GROUP BY 1) f
                 FULL JOIN (SELECT * FROM city_budgets WHERE city_id = %(city)s) b USING (year)""",
    "holograms": """SELECT school_id, state, count(*) FROM holograms
                    WHERE school_id = ANY(%(schools)s::bigint[])
                      AND (%(sy_from)s::int IS NULL OR school_year >= %(sy_from)s::int)
                      AND (%(sy_to)s::int IS NULL OR school_year <= %(sy_to)s::int)
                    GROUP BY 1, 2""",
    "blanks": f"""SELECT school_id, count(*) FILTER (WHERE delivered_on IS NOT NULL),
                         count(*) FILTER (WHERE status = 'spoiled')
                  FROM card_facts WHERE city_id = %(city)s AND {ORDERED_IN} GROUP BY 1""",
    "orders by school": """SELECT s.id, s.name, o.ordered, o.delivered, o.handed, o.cost, o.n
            FROM organisations s LEFT JOIN (
                SELECT school_id, sum(card_count) AS ordered,
                       sum(card_count) FILTER (WHERE status = 'delivered') AS delivered,
                       sum(handed_over_count) AS handed, sum(total_price) AS cost, count(*) AS n
                FROM print_orders WHERE city_id = %(city)s AND status <> 'draft' GROUP BY school_id) o
              ON o.school_id = s.id
            WHERE s.kind = 'school' AND s.city_id = %(city)s ORDER BY s.name""",
    "latest orders": """SELECT o.id, o.submitted_at, o.card_count, o.status, o.total_price, o.invoice_gross, s.name,
                               p.name
                        FROM print_orders o JOIN organisations s ON s.id = o.school_id
                        LEFT JOIN organisations p ON p.id = o.printer_id
                        WHERE o.city_id = %(city)s AND o.status <> 'draft' ORDER BY o.submitted_at DESC LIMIT 20""",
    "invoice mismatches": """SELECT id, invoice_number, total_price, invoice_gross FROM print_orders
                             WHERE city_id = %(city)s AND invoice_mismatch ORDER BY invoice_recorded_at DESC""",
    "latest receipts": """SELECT order_id, school_id, delivered_at, deleted_at, files FROM deletion_receipts
                          WHERE city_id = %(city)s ORDER BY deleted_at DESC LIMIT 20""",
    "facts page": f"""SELECT count(*) OVER (), id, school_id, order_id, channel, printer_id, kind, status, applied_on,
                             submitted_on, delivered_on, handed_over_on, promised_days, cost, fee
                      FROM card_facts WHERE city_id = %(city)s AND {ORDERED_IN}
                        AND (%(school_filter)s::bigint IS NULL OR school_id = %(school_filter)s::bigint)
                      ORDER BY id LIMIT 500""",
    "facts": f"""SELECT id, school_id, order_id, channel, printer_id, kind, status, applied_on, submitted_on,
                        delivered_on, handed_over_on, promised_days, cost, fee
                 FROM card_facts WHERE city_id = %(city)s AND {ORDERED_IN}
                   AND (%(school_filter)s::bigint IS NULL OR school_id = %(school_filter)s::bigint) ORDER BY id""",
    "orders": f"""SELECT o.id, o.submitted_at, s.name, p.name, o.channel, o.card_count, o.handed_over_count, o.status,
                         o.total_price, o.invoice_gross, o.invoice_mismatch
                  FROM print_orders o JOIN organisations s ON s.id = o.school_id
                  LEFT JOIN organisations p ON p.id = o.printer_id
                  WHERE o.city_id = %(city)s AND o.status <> 'draft'
                    AND {_period("(o.submitted_at AT TIME ZONE 'Europe/Warsaw')::date")}
                    AND (%(school_filter)s::bigint IS NULL OR o.school_id = %(school_filter)s::bigint)
                  ORDER BY o.submitted_at DESC, o.id DESC""",
    # the cost model (reports.costs): this year's orders; it prices them per channel in Python
    "year's orders": f"""SELECT school_id, channel, printer_id, count(*), sum(card_count), sum(total_price)
                         FROM print_orders WHERE city_id = %(city)s AND status <> 'draft' AND {YEAR_ORDERS}
                         GROUP BY 1, 2, 3""",
    "consultations": "SELECT * FROM consultations WHERE city_id = %(city)s ORDER BY id DESC",
    "consultation answers": """SELECT * FROM consultation_answers WHERE city_id = %(city)s
                               AND consultation_id = (SELECT max(id) FROM consultations WHERE city_id = %(city)s)""",
    "duplicate fees": "SELECT school_id, duplicates_paid, duplicate_fees FROM school_stats WHERE city_id = %(city)s",
    "school's year": f"""SELECT count(*), sum(card_count) FROM print_orders
                         WHERE city_id = %(city)s AND school_id = %(school)s AND status <> 'draft' AND {YEAR_ORDERS}""",
    "centre's year": f"""SELECT sum(card_count) FROM print_orders WHERE city_id = %(city)s AND printer_id = %(centre)s
                         AND status <> 'draft' AND {YEAR_ORDERS}""",
}

# page (endpoint, or endpoint:export key) → the floor's queries
FLOORS: dict[str, list[str]] = {
    "city.overview": ["tiles", "stats", "target", "cost by month", "cost by channel", "budget", "orders by school",
                      "holograms", "blanks", "latest orders", "invoice mismatches", "latest receipts"],
    "city.rollout": ["stats", "target"],
    "city.lead_times": ["lead by school", "lead by printer"],
    "city.money": ["cost by channel", "cost by school", "cost by month", "budget"],
    "city.holograms": ["holograms", "blanks"],
    "city.facts": ["facts page"],
    "city.orders": ["orders"],
    "city.school": ["school stats"],
    "city.budget": ["budget"],
    "city.export:rollout": ["stats", "target"],
    "city.export:forecast": ["stats"],
    "city.export:forecast_check": ["stats"],
    "city.export:lead_schools": ["lead by school"],
    "city.export:lead_printers": ["lead by printer"],
    "city.export:cost_channels": ["cost by channel"],
    "city.export:cost_schools": ["cost by school"],
    "city.export:cost_months": ["cost by month"],
    "city.export:budget": ["budget"],
    "city.export:holograms": ["holograms", "blanks"],
    "city.export:facts": ["facts"],
    "city.export:orders_by_school": ["orders by school"],
    "city.export:orders": ["orders"],
    "city_consultations.index": ["consultations"],
    "city_consultations.show": ["consultations", "stats", "consultation answers"],
    "city_consultations.export:answers": ["stats", "consultation answers"],
    "city_consultations.export:summary": ["consultation answers"],
    "city_consultations.export:missing": ["consultation answers"],
    "city_costs.index": ["year's orders", "duplicate fees"],
    "city_costs.what_if": ["year's orders", "duplicate fees"],
    "city_costs.channels": ["school's year", "year's orders", "duplicate fees"],
    "city_costs.centre": ["centre's year"],
    "city_costs.export:kanaly": ["school's year", "year's orders", "duplicate fees"],
    "city_costs.export:co_jesli": ["year's orders", "duplicate fees"],
    "city_costs.export:co_jesli_kanaly": ["year's orders", "duplicate fees"],
    "city_costs.export:centrum": ["centre's year"],
}


def floor_key(app, target) -> str:
    """The FLOORS key of a URL: its endpoint, for exports with the table's key."""
    parts = urllib.parse.urlsplit(target.url)
    endpoint, args = app.url_map.bind("localhost").match(parts.path, method="GET")
    return f"{endpoint}:{args['key']}" if "key" in args else endpoint


def floor_params(base: dict, url: str) -> dict:
    """The period and school of the URL's filters (as reports.filters.parse_filters reads them)."""
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True))
    params = dict(base)
    if "od" in query or "do" in query:
        params["d_from"] = dt.date.fromisoformat(query["od"]) if query.get("od") else None
        params["d_to"] = dt.date.fromisoformat(query["do"]) if query.get("do") else None
    params["sy_from"] = school_year(params["d_from"]) if params["d_from"] else None
    params["sy_to"] = school_year(params["d_to"]) if params["d_to"] else None
    params["school_filter"] = int(query["szkola"]) if query.get("szkola", "").isdigit() else None
    return params


def school_year(day: dt.date) -> int:
    return day.year if day.month >= 9 else day.year - 1
