"""The hotline's ledger (SQLite by default, PostgreSQL with a postgresql:// URL)."""

from meldbox_host.ledger.store import Ledger, PinConflict  # noqa: F401


def open_ledger(target, clock=None):
    """A path or postgresql:// URL -> Ledger, migrated to the current schema."""
    return Ledger(target) if clock is None else Ledger(target, clock)
