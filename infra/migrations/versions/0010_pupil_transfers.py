"""Pupil transfers as requests the receiving school decides (issue 13).

New table `pupil_transfers`: written by the sending school, read by both schools. On PostgreSQL,
row-level security lets each of the two schools read the row and update it, and nobody delete it;
the `pupil_transfers_guard` trigger keeps what was sent unchanged and lets each school change only
its own columns, in one transition out of `pending` (the sender withdraws; the receiver accepts or
declines, and may note when it first opened the request).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
SCHOOL = "NULLIF(current_setting('app.school_id', true), '')::bigint"

# What the sender wrote; never changes afterwards.
SENT = ("id", "from_school_id", "to_school_id", "from_pupil_id", "first_names", "surname", "date_of_birth", "sex",
        "pesel_cipher", "pesel_index", "id_document_type", "id_document_cipher", "id_document_index", "class_name",
        "learner_type", "disabled", "address", "parent_email", "with_photo", "sent_by_id", "sent_at")
# The receiving school's decision, written once with the move out of `pending`.
DECISION = ("decided_by_id", "decided_at", "decline_reason", "took_photo", "to_pupil_id", "to_application_id")
# The sending school's withdrawal.
WITHDRAWAL = ("withdrawn_by_id", "withdrawn_at")


def _row(prefix: str, columns) -> str:
    return "ROW(" + ", ".join(f"{prefix}.{c}" for c in columns) + ")"


GUARD = f"""
CREATE FUNCTION pupil_transfers_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    me bigint := {SCHOOL};
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NOT EXISTS (SELECT 1 FROM organisations s JOIN organisations t ON t.city_id = s.city_id
                       WHERE s.id = NEW.from_school_id AND t.id = NEW.to_school_id
                         AND s.kind = 'school' AND t.kind = 'school') THEN
            RAISE EXCEPTION 'pupil_transfers: the receiving school must be another school of the same city';
        END IF;
        IF NEW.status <> 'pending' OR NEW.received_at IS NOT NULL
           OR {_row("NEW", DECISION)} IS DISTINCT FROM ROW(NULL::bigint, NULL::timestamptz, '', false, NULL::bigint,
                                                           NULL::bigint)
           OR {_row("NEW", WITHDRAWAL)} IS DISTINCT FROM ROW(NULL::bigint, NULL::timestamptz) THEN
            RAISE EXCEPTION 'pupil_transfers: a new request is pending and undecided';
        END IF;
        RETURN NEW;
    END IF;
    IF {_row("NEW", SENT)} IS DISTINCT FROM {_row("OLD", SENT)} THEN
        RAISE EXCEPTION 'pupil_transfers: what was sent never changes';
    END IF;
    IF me IS NULL OR me NOT IN (OLD.from_school_id, OLD.to_school_id) THEN
        RAISE EXCEPTION 'pupil_transfers: only the two schools of a request change it';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        IF OLD.status <> 'pending' THEN
            RAISE EXCEPTION 'pupil_transfers: the request is already closed';
        END IF;
        IF NEW.status = 'withdrawn' AND me <> OLD.from_school_id
           OR NEW.status IN ('accepted', 'declined') AND me <> OLD.to_school_id THEN
            RAISE EXCEPTION 'pupil_transfers: the sender withdraws, the receiver decides';
        END IF;
    END IF;
    IF {_row("NEW", DECISION)} IS DISTINCT FROM {_row("OLD", DECISION)}
       AND (me <> OLD.to_school_id OR OLD.status <> 'pending' OR NEW.status NOT IN ('accepted', 'declined')) THEN
        RAISE EXCEPTION 'pupil_transfers: only the receiving school records its decision, once';
    END IF;
    IF NEW.received_at IS DISTINCT FROM OLD.received_at
       AND (me <> OLD.to_school_id OR OLD.received_at IS NOT NULL) THEN
        RAISE EXCEPTION 'pupil_transfers: only the receiving school notes when it received the request, once';
    END IF;
    IF {_row("NEW", WITHDRAWAL)} IS DISTINCT FROM {_row("OLD", WITHDRAWAL)}
       AND (me <> OLD.from_school_id OR OLD.status <> 'pending' OR NEW.status <> 'withdrawn') THEN
        RAISE EXCEPTION 'pupil_transfers: only the sending school withdraws a pending request';
    END IF;
    IF NEW.photo_key IS DISTINCT FROM OLD.photo_key AND (NEW.photo_key IS NOT NULL OR NEW.status = 'pending') THEN
        RAISE EXCEPTION 'pupil_transfers: the photo copy is only dropped when the request closes';
    END IF;
    RETURN NEW;
END $$"""


def upgrade() -> None:
    op.create_table('pupil_transfers',
    sa.Column('id', Id, nullable=False),
    sa.Column('from_school_id', Id, nullable=False),
    sa.Column('to_school_id', Id, nullable=False),
    sa.Column('from_pupil_id', Id, nullable=False),
    sa.Column('status', sa.String(10), nullable=False),
    sa.Column('first_names', sa.String(100), nullable=False),
    sa.Column('surname', sa.String(100), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=False),
    sa.Column('sex', sa.String(1), nullable=True),
    sa.Column('pesel_cipher', sa.LargeBinary(), nullable=True),
    sa.Column('pesel_index', sa.String(64), nullable=True),
    sa.Column('id_document_type', sa.String(60), nullable=False),
    sa.Column('id_document_cipher', sa.LargeBinary(), nullable=True),
    sa.Column('id_document_index', sa.String(64), nullable=True),
    sa.Column('class_name', sa.String(20), nullable=False),
    sa.Column('learner_type', sa.String(12), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('address', sa.String(300), nullable=False),
    sa.Column('parent_email', sa.String(254), nullable=False),
    sa.Column('with_photo', sa.Boolean(), nullable=False),
    sa.Column('photo_key', sa.String(200), nullable=True),
    sa.Column('sent_by_id', Id, nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', Id, nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decline_reason', sa.String(300), nullable=False),
    sa.Column('took_photo', sa.Boolean(), nullable=False),
    sa.Column('to_pupil_id', Id, nullable=True),
    sa.Column('to_application_id', Id, nullable=True),
    sa.Column('withdrawn_by_id', Id, nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'accepted', 'declined', 'withdrawn')",
                       name=op.f('ck_pupil_transfers_status')),
    sa.CheckConstraint('from_school_id <> to_school_id', name=op.f('ck_pupil_transfers_another_school')),
    sa.CheckConstraint('pesel_index IS NOT NULL OR id_document_index IS NOT NULL',
                       name=op.f('ck_pupil_transfers_identified')),
    sa.CheckConstraint("(status = 'accepted') = (to_pupil_id IS NOT NULL)",
                       name=op.f('ck_pupil_transfers_accepted_has_pupil')),
    sa.CheckConstraint("status <> 'declined' OR decline_reason <> ''",
                       name=op.f('ck_pupil_transfers_declined_has_reason')),
    sa.CheckConstraint("status = 'pending' OR photo_key IS NULL", name=op.f('ck_pupil_transfers_closed_has_no_photo')),
    sa.ForeignKeyConstraint(['from_school_id'], ['organisations.id'],
                            name=op.f('fk_pupil_transfers_from_school_id_organisations')),
    sa.ForeignKeyConstraint(['to_school_id'], ['organisations.id'],
                            name=op.f('fk_pupil_transfers_to_school_id_organisations')),
    sa.ForeignKeyConstraint(['from_school_id', 'from_pupil_id'], ['pupils.school_id', 'pupils.id'],
                            name='fk_pupil_transfers_from_pupil'),
    sa.ForeignKeyConstraint(['to_school_id', 'to_pupil_id'], ['pupils.school_id', 'pupils.id'],
                            name='fk_pupil_transfers_to_pupil'),
    sa.ForeignKeyConstraint(['to_school_id', 'to_application_id'], ['applications.school_id', 'applications.id'],
                            name='fk_pupil_transfers_to_application'),
    sa.ForeignKeyConstraint(['sent_by_id'], ['users.id'], name=op.f('fk_pupil_transfers_sent_by_id_users')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_pupil_transfers_decided_by_id_users')),
    sa.ForeignKeyConstraint(['withdrawn_by_id'], ['users.id'], name=op.f('fk_pupil_transfers_withdrawn_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pupil_transfers')),
    )
    op.create_index(op.f('ix_pupil_transfers_from_school_id'), 'pupil_transfers', ['from_school_id'])
    op.create_index(op.f('ix_pupil_transfers_to_school_id'), 'pupil_transfers', ['to_school_id'])
    op.create_index('uq_pupil_transfers_one_pending', 'pupil_transfers', ['from_school_id', 'from_pupil_id'],
                    unique=True, postgresql_where=sa.text("status = 'pending'"),
                    sqlite_where=sa.text("status = 'pending'"))

    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE pupil_transfers ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE pupil_transfers FORCE ROW LEVEL SECURITY")
        # Both schools read; only the sender inserts; each updates rows where it is one side (the
        # trigger says which columns); no policy for DELETE, so nobody deletes a request.
        op.execute(f"CREATE POLICY both_schools_read ON pupil_transfers FOR SELECT "
                   f"USING (from_school_id = {SCHOOL} OR to_school_id = {SCHOOL})")
        op.execute(f"CREATE POLICY sender_sends ON pupil_transfers FOR INSERT WITH CHECK (from_school_id = {SCHOOL})")
        op.execute(f"CREATE POLICY sender_withdraws ON pupil_transfers FOR UPDATE "
                   f"USING (from_school_id = {SCHOOL}) WITH CHECK (from_school_id = {SCHOOL})")
        op.execute(f"CREATE POLICY receiver_decides ON pupil_transfers FOR UPDATE "
                   f"USING (to_school_id = {SCHOOL}) WITH CHECK (to_school_id = {SCHOOL})")
        op.execute(GUARD)
        op.execute("CREATE TRIGGER pupil_transfers_guard BEFORE INSERT OR UPDATE ON pupil_transfers"
                   " FOR EACH ROW EXECUTE FUNCTION pupil_transfers_guard()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS pupil_transfers_guard ON pupil_transfers")
        op.execute("DROP FUNCTION IF EXISTS pupil_transfers_guard()")
    op.drop_index('uq_pupil_transfers_one_pending', table_name='pupil_transfers')
    op.drop_index(op.f('ix_pupil_transfers_to_school_id'), table_name='pupil_transfers')
    op.drop_index(op.f('ix_pupil_transfers_from_school_id'), table_name='pupil_transfers')
    op.drop_table('pupil_transfers')
