"""Substring search in SQL where the text searched for is the user's, never a pattern.

In LIKE and ILIKE `%` matches any run of characters and `_` any one character, so a search for
`%` or `_` typed into a search box matched every row; on PostgreSQL a backslash is LIKE's
default escape character as well, so `\\` changed what followed it. `contains()` escapes all
three with an explicit escape character (`ESCAPE '\\'`, understood alike by PostgreSQL and
SQLite) and is the one way the code builds a LIKE: every substring search goes through it
(tests/infra/test_like.py refuses a bare `like`, `ilike`, `contains`, … anywhere else).
SQLAlchemy's own `autoescape=True` does the same with `/`; one helper keeps one rule.
"""

from __future__ import annotations

from sqlalchemy.sql.elements import ColumnElement

LIKE_ESCAPE = "\\"


def escape_like(text: str) -> str:
    """`text` with LIKE's wildcards and its escape character escaped, to match literally."""
    return text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")


def contains(column, text: str) -> ColumnElement[bool]:
    """`column` contains `text` as typed, case-insensitively (on SQLite only ASCII letters fold,
    as SQLite's own `lower()` does)."""
    return column.ilike(f"%{escape_like(text)}%", escape=LIKE_ESCAPE)
