"""Alembic environment. The caller (`infra.migrate`) passes the URL and, for autogenerate,
the metadata, so this package never imports the domain packages."""

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy import pool

config = context.config
url = config.attributes["url"]
target_metadata = config.attributes.get("target_metadata")


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True,
                      transaction_per_migration=False)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # The migration scope (docs/security.md T1.16): the owner sees every tenant's rows through
            # the `migration_runner` policies, for this transaction only (every migration runs in it).
            connection.exec_driver_sql("SELECT set_config('legitka.migration', 'on', true)")
        context.run_migrations()


run_migrations_online()
