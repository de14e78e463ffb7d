"""Scan history: every scan recorded in a database, for trends and quarterly reports."""

from posture.history.store import History, HistoryError, database_url

__all__ = ["History", "HistoryError", "database_url"]
