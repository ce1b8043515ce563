"""The team's memory: saved scenarios, runs, decisions and the audit log in a real database.

Pure Python (no streamlit), above ``analysis`` and below ``cli``. SQLite under the data folder
by default, PostgreSQL when ``PIPELINE_TWIN_DATABASE_URL`` names one. Every function that
changes something takes the acting person (:class:`~simulator.store.access.Actor`), checks
their role and writes the audit entry itself, in the same transaction as the change, so no
caller can forget either.
"""
