"""Where the app may send a browser when the client names the target (`?next=` after signing in,
the language switch's `next` field): a path on this site and nothing else.

`local_target(value)` is the one gate for every redirect target taken from the client; a view
that redirects to anything the request carries passes it through here and falls back to a page
of its own choosing on None. A target is accepted only when a browser cannot read it as anything
but a path on this origin:

- it is text of at most 2,048 characters, starting with exactly one `/`;
- it holds no control, format, surrogate or unassigned character and no whitespace of any kind
  (browsers silently drop tab, CR and LF inside a URL, so `/\\t/evil.com` *is* `//evil.com` to
  them; a bidi override or a zero-width space hides what the link says), and no backslash
  (browsers read `\\` as `/` in http(s) URLs, so `/\\evil.com` is `//evil.com`);
- `urllib.parse.urlsplit` finds no scheme and no host (`javascript:`, `https://…`, `//…`);
- its path, percent-decoded (repeatedly, so double encoding does not hide anything), still has
  none of the above and no `.` or `..` segment (`/%2F/evil.com`, `/%5Cevil.com`, `/%09/evil.com`,
  `/..//evil.com` are not paths this site links to, whatever a particular browser makes of them).

The query string may hold any printable text (a search for "Łukasz" survives a sign-in); only its
raw form is checked, since its decoded values stay encoded in the Location header.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote
from urllib.parse import urlsplit

MAX_TARGET = 2048
_DECODE_ROUNDS = 4  # more nested encodings than this is not a link anyone made


def _clean_text(text: str) -> bool:
    """No backslash, and no character of Unicode's "other" (Cc, Cf, Cs, Co, Cn) or "separator"
    (Zs, Zl, Zp) classes: every control, invisible or whitespace character is refused."""
    return "\\" not in text and not any(unicodedata.category(ch)[0] in "CZ" for ch in text)


def _plain_path(path: str) -> bool:
    return (path.startswith("/") and not path.startswith("//") and _clean_text(path)
            and not any(segment in (".", "..") for segment in path.split("/")))


def local_target(value: object) -> str | None:
    """`value` if it is a path (with an optional query) on this site, else None. Never raises."""
    if not isinstance(value, str) or not value or len(value) > MAX_TARGET:
        return None
    if not _clean_text(value) or not value.startswith("/") or value.startswith("//"):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme or parts.netloc or not _plain_path(parts.path):
        return None
    path = parts.path
    for _round in range(_DECODE_ROUNDS):
        try:
            decoded = unquote(path, errors="strict") if "%" in path else path
        except UnicodeDecodeError:  # bytes that are no UTF-8: no path of ours
            return None
        if decoded == path:
            return value
        if not _plain_path(decoded):
            return None
        path = decoded
    return None
