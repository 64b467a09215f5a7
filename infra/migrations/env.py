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
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
