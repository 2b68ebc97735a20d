"""Typed readers for configuration taken from the environment.

Every setting the service reads comes through one of these helpers, so a bad value fails at start
with a message that names the variable instead of surfacing later as an odd behaviour.
"""

import os
from pathlib import Path
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

Number = TypeVar("Number", int, float)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    """The variable's value, or ``default`` when it is unset."""
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    """A boolean written as 1/0, true/false, yes/no or on/off (any case)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def _env_number(name: str, default: Number, parse: type[Number], kind: str, minimum: Number | None) -> Number:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be {kind}, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    """An integer, optionally bounded below."""
    return _env_number(name, default, int, "an integer", minimum)


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    """A number of seconds or a similar non-negative quantity."""
    return _env_number(name, default, float, "a number", minimum)


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list; blank items are dropped."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_secret(name: str, default: str = "") -> str:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE`` (Docker / Kubernetes secrets).

    An empty variable counts as unset (compose files pass ``${NAME:-}``); setting both is refused.
    """
    direct = os.environ.get(name) or None
    file_name = os.environ.get(f"{name}_FILE") or None
    if direct is not None and file_name is not None:
        raise ImproperlyConfigured(f"set either {name} or {name}_FILE, not both")
    if file_name is not None:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {file_name}: {exc.strerror}") from None
    return direct if direct is not None else default


def require(values: dict[str, str], *, reason: str) -> None:
    """Fail at start, naming every variable in ``values`` that is empty."""
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ImproperlyConfigured(f"{', '.join(missing)} must be set {reason}")


def development_secret_key(path: Path) -> str:
    """The development key kept in ``path``, created on first use (web and worker processes may start
    at the same moment: ``core.files.create_once`` makes them agree on one key)."""
    from django.core.management.utils import get_random_secret_key

    from core.files import create_once

    return create_once(path, get_random_secret_key().encode()).strip()
