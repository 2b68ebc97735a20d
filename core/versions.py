"""Optimistic version checks: a write names the version it read, and is refused when it is stale.

Services raise these; each interface turns them into its own answer (the API: 428 and 412).
"""

from collections.abc import Collection

ANY_VERSION = "*"


class VersionRequired(Exception):
    """The write named no version: it must say which one it read."""

    def __init__(self, message: str = "name the version you read (If-Match with its ETag)") -> None:
        super().__init__(message)


class VersionMismatch(Exception):
    """The object changed since the caller read it."""

    def __init__(self, message: str = "the object changed since you read it; read it again") -> None:
        super().__init__(message)


def check_version(*, expected: Collection[str] | None, current: str) -> None:
    """Pass when ``expected`` holds ``current`` or ``*``; raise otherwise (``VersionRequired`` when empty)."""
    if not expected:
        raise VersionRequired
    if ANY_VERSION not in expected and current not in expected:
        raise VersionMismatch
