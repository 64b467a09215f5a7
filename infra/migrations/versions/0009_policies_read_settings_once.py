"""Row-level security policies read the tenant settings once per statement, not once per row.

A policy written `school_id = NULLIF(current_setting('app.school_id', true), '')::bigint` makes
PostgreSQL call `current_setting`, `NULLIF` and the cast for every row it filters: about half
the time of a city dashboard's scan over its card facts. Wrapped in a scalar sub-select the
same expression becomes an InitPlan, computed once per statement. The rows a policy lets through
do not change: a setting cannot change while one statement runs. Every policy of the schema is
rewritten (the USING and WITH CHECK expressions as PostgreSQL itself prints them); new policies
should be written the same way, `(SELECT NULLIF(current_setting('app.…', true), '')::bigint)`.

Revision ID: 0009
Revises: 0008
"""

import re

from alembic import op
from sqlalchemy import text

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# A setting as PostgreSQL prints it inside a policy: cast to bigint, NULLIF'd, or bare.
SETTING = re.compile(r"\(NULLIF\(current_setting\('app\.\w+'::text, true\), ''::text\)\)::bigint"
                     r"|NULLIF\(current_setting\('app\.\w+'::text, true\), ''::text\)"
                     r"|current_setting\('app\.\w+'::text, true\)")
# The same, wrapped (PostgreSQL prints the sub-select's column alias too).
WRAPPED = re.compile(r"\( SELECT ((?:\(NULLIF\(|NULLIF\(|)current_setting\('app\.\w+'::text, true\)"
                     r"(?:, ''::text\)\)::bigint|, ''::text\)|)) AS \"?\w+\"?\)")


def _rewrite(change) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return  # SQLite has no row-level security
    policies = bind.execute(text("SELECT tablename, policyname, qual, with_check FROM pg_policies "
                                 "WHERE schemaname = current_schema()")).all()
    for table, name, using, check in policies:
        clauses = []
        if using:
            clauses.append(f"USING ({change(using)})")
        if check:
            clauses.append(f"WITH CHECK ({change(check)})")
        if clauses:
            op.execute(f'ALTER POLICY "{name}" ON "{table}" ' + " ".join(clauses))


def upgrade() -> None:
    _rewrite(lambda expression: SETTING.sub(lambda m: f"(SELECT {m.group(0)})", expression))


def downgrade() -> None:
    _rewrite(lambda expression: WRAPPED.sub(lambda m: m.group(1), expression))
