"""The form fuzzer's machinery (used by tests/portal/test_fuzz_forms.py).

- **Discovery.** A role's client crawls from its start page, then the GET routes of `app.url_map`
  in its part of the site that no link reached (URL variables from the links it found, else the
  world's ids), and
  parses each HTML page it gets: links (with their query parameters) and forms (action, method,
  enctype; every input, select, textarea and named button, with the value a browser would send).
  A new page, form, field or query parameter is therefore fuzzed without editing the test.
- **Hostile values** (`HOSTILE`, `FILES`), chosen per field deterministically (`values_for`).
- **Snapshots** of every table's rows, read as the database's superuser (PostgreSQL) or straight
  from the SQLite file, to show that a refused request changed nothing. Bookkeeping that any
  request may legitimately write is left out (`IGNORED`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import html.parser
import io
import re
import time
import traceback
import zlib
from urllib.parse import parse_qsl
from urllib.parse import urlencode
from urllib.parse import urlsplit

from tests.helpers import make_zip

# --- hostile values ------------------------------------------------------------------------------

HOSTILE = {
    "empty": "",
    "1 MB": "x" * (1024 * 1024),
    "10,000 letters": "ż" * 10_000,
    "5,000 digits": "9" * 5000,
    "40 nines": "9" * 40,
    "1e309": "1e309",
    "NaN": "NaN",
    "-1": "-1",
    "NUL": "a\x00b",
    "control characters": "a\x01\x08\x1b[2J\x7fb",
    "CR LF": "a\r\nBcc: x@example.com",
    "RTL override": "\u202eabc",
    "zero-width only": "\u200b\u200c\u2060",
    "superscript digit": "²",
    "31.02.2026": "31.02.2026",
    "2026-13-45": "2026-13-45",
    "99.99.99999": "99.99.99999",
    "01.01.0001": "01.01.0001",
    "31.12.9999": "31.12.9999",
}
# Each field gets the values that break its kind of parsing (MUST), then up to SHARED more from
# the rest of its pool — NUL, the other NUMERIC or DATES values where it looks like one, the TEXT
# values for a field one types into, one more picked by a stable hash — shared out among the
# form's fields of the same shape (same kind and options, numeric or date-like alike: most likely
# one parser), so that together they get all of it. Deterministic: the same run every time.
NUMERIC = ("NaN", "-1", "superscript digit")
DATES = ("2026-13-45", "99.99.99999", "01.01.0001")
TEXT = ("RTL override", "zero-width only", "CR LF", "control characters", "1 MB")
CHOICES = ("select", "radio", "checkbox", "hidden", "button")
SHARED = 3
DOWNLOADS = ("empty", "5,000 digits", "NUL", "40 nines", "1e309", "10,000 letters")  # a PDF or sheet per request


def _stable(*parts: str) -> int:
    return zlib.crc32("\x1f".join(parts).encode())


def values_for(form_key: str, field: Field, *, place: int = 0, group: int = 1) -> list[str]:
    """The hostile value names for one field, the `place`-th of `group` fields of its shape."""
    numeric, date, typed = field.looks_numeric(), field.looks_like_date(), field.kind not in CHOICES
    must = ["5,000 digits"] + (["empty"] if group == 1 else [])
    must += ["40 nines", "1e309"] if numeric else []
    must += ["31.02.2026", "31.12.9999"] if date else []
    must += ["10,000 letters"] if typed and not numeric and not date else []
    pool = ["NUL", *(NUMERIC if numeric else ()), *(DATES if date else ()), *(TEXT if typed else ())]
    pool += ["empty"] if group > 1 else []
    rest = [name for name in HOSTILE if name not in pool and name not in must]
    pool.append(rest[_stable(form_key, field.name) % len(rest)])
    each = min(SHARED, max(1, -(-len(pool) // group)))
    start = place * each + _stable(form_key, str(group))
    share = [pool[(start + i) % len(pool)] for i in range(each)]
    return list(dict.fromkeys([*must, *share]))


def shapes(fields: list[Field]) -> dict[str, tuple[int, int]]:
    """Each field's (place, group) among the fields of the same shape: same kind, same options,
    looking numeric or like a date alike (one parser, most likely)."""
    groups: dict[tuple, list[str]] = {}
    for field in fields:
        key = (field.kind, tuple(field.options), field.looks_numeric(), field.looks_like_date())
        groups.setdefault(key, []).append(field.name)
    return {name: (names.index(name), len(names)) for names in groups.values() for name in names}


def valid_file(field_name: str) -> tuple[bytes, str]:
    """What a person would upload in this file field."""
    from tests.helpers import jpeg
    from tests.helpers import roster_csv

    if field_name == "archive":
        return make_zip({"Kowalska_Anna.jpg": jpeg()}), "zdjecia.zip"
    if field_name == "file":
        return roster_csv(), "lista.csv"
    return jpeg(), "zdjecie.jpg"


FILES = {
    "empty file": lambda name: (b"", valid_file(name)[1]),
    "not an image": lambda name: (b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n" + b"x" * 5000, valid_file(name)[1]),
    "huge file name": lambda name: (valid_file(name)[0], "a" * 5000 + ".jpg"),
    "NUL in file name": lambda name: (valid_file(name)[0], "a\x00b.jpg"),
}


# --- what a page offers --------------------------------------------------------------------------


@dataclasses.dataclass
class Field:
    name: str
    kind: str  # input type, "select", "textarea" or "button"
    values: list[str] = dataclasses.field(default_factory=list)  # what a browser sends as is
    options: list[str] = dataclasses.field(default_factory=list)
    required: bool = False
    placeholder: str = ""

    def looks_numeric(self) -> bool:
        sample = [*self.values, *self.options]
        return self.kind == "number" or any(re.fullmatch(r"-?[0-9]+(?:[.,][0-9]+)?", v or "") for v in sample) or \
            bool(re.search(r"(?:^|_)(?:id|year|rok|amount|price|net|vat|gross|volume|orders|percent|days|"
                           r"capacity|yield|minutes|rate|mm|count|strona)(?:$|_)", self.name))

    def looks_like_date(self) -> bool:
        sample = [*self.values, self.placeholder]
        return self.kind == "date" or any(re.search(r"[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}|[0-9]{4}-[0-9]{2}-[0-9]{2}|"
                                                     r"dd\.mm", v or "") for v in sample) or \
            bool(re.search(r"(?:^|_)(?:on|date|od|do|from|until)$", self.name))

    def valid(self) -> list[str]:
        """The value(s) a person would send: the rendered one, else the selected or first option,
        else something plausible for a required field left empty."""
        if self.values:
            return list(self.values)
        if self.kind in ("checkbox",):
            return []
        if self.options:
            return [self.options[0]]
        if not self.required and self.kind not in ("date", "email", "number"):
            return []
        if self.kind == "date" or self.looks_like_date():
            from infra import clock

            return [clock.today().strftime("%d.%m.%Y")]
        if self.kind == "email":
            return ["rodzic@example.pl"]
        if self.kind == "number" or self.looks_numeric():
            return ["1"]
        return ["Test 1"]


@dataclasses.dataclass
class Form:
    method: str
    action: str  # path with its query string
    enctype: str
    fields: dict[str, Field]
    page: str  # the page it was found on
    endpoint: str = ""

    @property
    def key(self) -> str:
        """The form's identity: method, endpoint and field names, ids in names ignored
        (`outcome-17` and `outcome-23` are the same form on two orders)."""
        names = sorted({re.sub(r"[0-9]+", "#", name) for name in self.fields if name != "csrf_token"})
        return f"{self.method} {self.endpoint} [{', '.join(names)}]"

    def data(self) -> dict[str, list[str]]:
        return {name: field.valid() for name, field in self.fields.items() if field.kind != "file"}


class _PageParser(html.parser.HTMLParser):
    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.links: list[str] = []
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: Field | None = None
        self._option: tuple[str | None, bool] | None = None
        self._option_text = ""
        self._textarea: Field | None = None

    def _add(self, field: Field, value: str | None, *, checked: bool = True) -> None:
        fields = self._form.fields
        current = fields.setdefault(field.name, field)
        if current is not field:  # radios, checkboxes and buttons sharing a name
            current.required = current.required or field.required
        if field.kind in ("radio", "button", "submit"):
            current.options.append(value or "")
            if checked and field.kind == "radio":
                current.values = [value or "on"]
        elif field.kind == "checkbox":
            current.options.append(value or "on")
            if checked:
                current.values.append(value or "on")
        elif value is not None:
            current.values = [value]

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = Form(method=(a.get("method") or "get").upper(), action=a.get("action") or self.page,
                              enctype=a.get("enctype") or "application/x-www-form-urlencoded", fields={},
                              page=self.page)
        elif self._form is None:
            return
        elif tag == "input" and a.get("name") and not a.get("disabled"):
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "image", "reset"):
                if kind == "submit":
                    self._add(Field(a["name"], "button"), a.get("value", ""), checked=False)
                return
            field = Field(a["name"], kind, required="required" in a, placeholder=a.get("placeholder") or "")
            if kind in ("checkbox", "radio"):
                self._add(field, a.get("value"), checked="checked" in a)
            elif kind == "file":
                self._add(field, None)
            else:
                self._add(field, a.get("value", ""))
        elif tag == "button" and a.get("name") and (a.get("type") or "submit") == "submit":
            self._add(Field(a["name"], "button"), a.get("value", ""), checked=False)
        elif tag == "select" and a.get("name"):
            self._select = Field(a["name"], "select", required="required" in a)
            self._select_multiple = "multiple" in a
        elif tag == "option" and self._select is not None:
            self._option = (a.get("value"), "selected" in a)
            self._option_text = ""
        elif tag == "textarea" and a.get("name"):
            self._textarea = Field(a["name"], "textarea", values=[""], required="required" in a,
                                   placeholder=a.get("placeholder") or "")

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.values[0] += data
        if self._option is not None:
            self._option_text += data

    def _close_option(self):
        if self._option is not None and self._select is not None:
            value, selected = self._option
            value = value if value is not None else self._option_text.strip()
            self._select.options.append(value)
            if selected:
                self._select.values = [value]
        self._option = None

    def handle_endtag(self, tag):
        if tag == "option":
            self._close_option()
        elif tag == "select" and self._select is not None:
            self._close_option()
            if self._form is not None:
                self._form.fields.setdefault(self._select.name, self._select)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            if self._form is not None:
                self._form.fields.setdefault(self._textarea.name, self._textarea)
            self._textarea = None
        elif tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None


def parse_page(page: str, body: str) -> tuple[list[str], list[Form]]:
    parser = _PageParser(page)
    parser.feed(body)
    parser.close()
    return parser.links, parser.forms


def is_file(path: str) -> bool:
    """A download (PDF, spreadsheet, photo, package) rather than a page: slower to make, and
    the same code for every object, so crawled and fuzzed less."""
    return bool(re.search(r"\.(?:pdf|xlsx|csv|jpg|7z|json)$", path))


def local(url: str) -> tuple[str, str] | None:
    """(path, query) of a link on this site, else None."""
    parts = urlsplit(url)
    if parts.scheme not in ("", "http", "https") or (parts.netloc and parts.netloc != "localhost"):
        return None
    if not parts.path.startswith("/"):
        return None
    return parts.path, parts.query


def with_query(path: str, params: dict[str, list[str]]) -> str:
    query = urlencode([(k, v) for k, values in params.items() for v in values])
    return f"{path}?{query}" if query else path


def query_params(query: str) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(name, []).append(value)
    return params


# --- sending, and what went wrong ----------------------------------------------------------------


def multipart(fields: dict, files: dict[str, tuple[bytes, str]]) -> dict:
    """Keyword arguments for the test client posting a multipart form, the body made in memory:
    the test client's own encoder spools a large body to a temporary file that a refused request
    (413) leaves unclosed, and pytest turns that ResourceWarning into an error."""
    from werkzeug.datastructures import FileStorage
    from werkzeug.datastructures import MultiDict
    from werkzeug.test import encode_multipart

    values = [(name, value) for name, values in fields.items() for value in
              (values if isinstance(values, list) else [values])]
    values += [(name, FileStorage(io.BytesIO(content), filename=filename, content_type="application/octet-stream"))
               for name, (content, filename) in files.items()]
    boundary, body = encode_multipart(MultiDict(values))
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


@dataclasses.dataclass
class Finding:
    role: str
    method: str
    url: str
    field: str
    value: str
    status: int | str
    detail: str = ""

    def __str__(self) -> str:
        url = self.url if len(self.url) < 160 else self.url[:150] + "…"
        return f"{self.role}: {self.method} {url} [{self.field} = {self.value}] -> {self.status} {self.detail}"


def call(client, method: str, url: str, **kw):
    """The response, or the exception the app let through (TESTING propagates it) as a 500 with
    the last frames of its traceback."""
    try:
        return client.open(url, method=method, **kw), ""
    except Exception as exc:  # noqa: BLE001 (a crash is what the fuzzer looks for)
        frames = traceback.extract_tb(exc.__traceback__)[-3:]
        where = " < ".join(f"{f.filename.rsplit('/', 2)[-2]}/{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}"
                           for f in reversed(frames))
        return None, f"{type(exc).__name__} at {where}"


# --- snapshots -----------------------------------------------------------------------------------

# Written by any request, refused or not, by design:
IGNORED = {
    "access_log": None,  # every view of personal data is logged, a 422 page showing a pupil too
    "access_log_heads": None,  # and its tenant's hash chain moves on (docs/security.md T3.11)
    "user_sessions": {"last_seen_at"},  # a signed-in request touches its session once a minute
    "api_clients": {"last_used_at"},  # each API call records when its client was last used
    # the receiving school's first look at a request (tenants.transfers.operations.opened)
    "pupil_transfers": {"received_at"},
}


class Snapshots:
    """Every table's rows (minus IGNORED) as one digest per table. On PostgreSQL the database
    computes the digests in one statement (md5 of the rows as text, in order); on SQLite they are
    computed here from the rows."""

    def __init__(self, connection, tables: dict[str, list[str]], *, postgresql: bool):
        self.connection, self.postgresql = connection, postgresql
        self.queries = {}
        for table, columns in sorted(tables.items()):
            if table in IGNORED and IGNORED[table] is None:
                continue
            keep = [c for c in columns if c not in (IGNORED.get(table) or set())]
            self.queries[table] = "SELECT " + ", ".join(f'"{c}"' for c in keep) + f' FROM "{table}"'
        self.statement = " UNION ALL ".join(
            f"SELECT '{table}', md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), '')) FROM ({query}) r"
            for table, query in self.queries.items())
        self.taken, self.seconds = 0, 0.0

    def take(self) -> dict[str, str]:
        began = time.perf_counter()
        try:
            return self._take()
        finally:
            self.taken += 1
            self.seconds += time.perf_counter() - began

    def _take(self) -> dict[str, str]:
        cursor = self.connection.cursor()
        if self.postgresql:
            cursor.execute(self.statement)
            return dict(cursor.fetchall())
        digests = {}
        for table, query in self.queries.items():
            cursor.execute(query)
            rows = sorted(repr(row) for row in cursor.fetchall())
            digests[table] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
        return digests


def postgresql_snapshots():
    """`Snapshots` of the test database's every table, read as the superuser (row-level security
    hides no row); close `.connection` when done."""
    import collections

    import psycopg

    from tests.conftest import DB_NAME
    from tests.conftest import PG_HOST

    host, port = PG_HOST.split(":")
    connection = psycopg.connect(host=host, port=port, user="postgres", dbname=DB_NAME, autocommit=True)
    tables = collections.defaultdict(list)
    for table, column in connection.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name <> 'alembic_version' ORDER BY table_name, ordinal_position"):
        tables[table].append(column)
    return Snapshots(connection, tables, postgresql=True)


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(t for t in after if before.get(t) != after[t])
