"""Storage's error, in a module of its own: the command line catches it without importing sqlite-utils."""

from __future__ import annotations


class StorageError(Exception):
    """The database cannot be opened or written; the message is safe to show an operator."""
