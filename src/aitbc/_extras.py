"""Which optional extra each feature needs, and how a missing one is reported.

``pip install aitbc`` brings the SDK core only; the extras add what some features need:

==========  ==============================================================================
settlement  web3 (no tester) + SQLAlchemy/aiosqlite: CrossChainTransport, BridgeManager
devnet      py-evm/eth-tester (web3[tester]) on top of settlement: the local devnet
node        FastAPI, uvicorn, SQLAlchemy, Alembic ...: ``aitbc serve``, the reference node
cli         typer, rich: the ``aitbc`` command
==========  ==============================================================================

Whether an extra is installed is decided with ``importlib.util.find_spec`` on the
top-level modules its distributions provide: that finds a module without importing it,
so checking costs microseconds and never pulls web3 or FastAPI into a light process.
A feature that needs a missing extra raises :class:`~aitbc.errors.MissingExtraError`
naming the extra, on first use, never at ``import aitbc``.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterable
from typing import Any, NoReturn

from .errors import MissingExtraError

__all__ = [
    "EXTRA_MODULES",
    "extra_available",
    "import_for",
    "missing_extra_error",
    "missing_modules",
    "require_extras",
    "unavailable_class",
]

_SETTLEMENT = ("web3", "eth_abi", "eth_account", "eth_utils", "sqlalchemy", "aiosqlite")

# Top-level modules each extra's distributions install (``uvicorn[standard]`` adds only
# speed-ups, so uvicorn itself is the check). tests/sdk/test_extras.py keeps this table
# in step with pyproject.toml's extras.
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "settlement": _SETTLEMENT,
    "devnet": (*_SETTLEMENT, "eth_tester", "eth"),
    "node": (
        "fastapi",
        "starlette",
        "uvicorn",
        "sqlalchemy",
        "aiosqlite",
        "asyncpg",
        "alembic",
        "prometheus_client",
        "redis",
    ),
    "cli": ("typer", "rich"),
}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a finder that refuses it, a half-removed module
        return False


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that are not installed (empty when it is complete)."""
    return [name for name in EXTRA_MODULES[extra] if not _installed(name)]


def extra_available(extra: str) -> bool:
    """Whether every module of ``extra`` is installed."""
    return not missing_modules(extra)


def require_extras(feature: str, extras: Iterable[str]) -> None:
    """Raise MissingExtraError naming ``extras`` when one of them is incomplete."""
    wanted = tuple(extras)
    for extra in wanted:
        missing = missing_modules(extra)
        if missing:
            raise MissingExtraError(feature, ",".join(wanted), missing[0])


def missing_extra_error(exc: ImportError, feature: str, extra: str) -> MissingExtraError | None:
    """``exc`` as a MissingExtraError when the module it could not import belongs to
    ``extra``; None when it is something else (a bug, a broken install) to let through."""
    top_level = (exc.name or "").partition(".")[0]
    if top_level in EXTRA_MODULES[extra]:
        return MissingExtraError(feature, extra, top_level)
    return None


def import_for(module_name: str, feature: str, extra: str) -> Any:
    """Import ``module_name``; a module of ``extra`` missing becomes MissingExtraError."""
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        error = missing_extra_error(exc, feature, extra)
        if error is None:
            raise
        raise error from exc


class _Unavailable(type):
    """Metaclass of a stand-in: constructing it or reading an attribute raises."""

    _error: MissingExtraError

    def __call__(cls, *args: Any, **kwargs: Any) -> NoReturn:
        raise cls._error

    def __getattr__(cls, name: str) -> NoReturn:
        if name.startswith("__"):  # introspection (copy, inspect, typing) probes dunders
            raise AttributeError(name)
        raise cls._error


def unavailable_class(name: str, error: MissingExtraError) -> type:
    """A stand-in for class ``name`` whose extra is missing.

    ``from aitbc import CrossChainTransport`` then works on a core install, and the
    first use (constructing it, reading a class attribute) raises ``error``, which
    names the extra to install.
    """
    return _Unavailable(name, (), {"_error": error, "__doc__": str(error)})
