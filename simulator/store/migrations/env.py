"""Alembic environment: always run from store.db with a connection already inside a transaction."""
from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():  # joins the caller's transaction
    context.run_migrations()
