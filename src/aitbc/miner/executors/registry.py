"""Finding executors: the ``aitbc.executors`` entry point group.

The entry point name is the job type the miner registers for, so a plugin adds a job
type by declaring ``mytype = "mypkg.executors:MyExecutor"`` in its package metadata.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points

from ...errors import ConfigurationError
from .base import Executor

ENTRY_POINT_GROUP = "aitbc.executors"


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_executors() -> list[str]:
    """Sorted names of every installed executor (job types this machine could serve)."""
    return sorted(_entry_points())


def load_executors(names: Iterable[str]) -> dict[str, Executor]:
    """Instantiate the executors called ``names``, keyed by job type.

    Raises ConfigurationError for an empty selection, an unknown name (listing the
    installed ones) or a plugin that does not load or is not an Executor.
    """
    wanted = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    if not wanted:
        raise ConfigurationError("select at least one executor")
    found = _entry_points()
    unknown = [n for n in wanted if n not in found]
    if unknown:
        raise ConfigurationError(
            f"unknown executor(s) {', '.join(unknown)}; installed: {', '.join(sorted(found))}"
        )
    return {name: _instantiate(found[name]) for name in wanted}


def _instantiate(ep: EntryPoint) -> Executor:
    try:
        cls = ep.load()
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"executor {ep.name!r} ({ep.value}) does not load: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Executor)):
        raise ConfigurationError(f"executor {ep.name!r} ({ep.value}) is not an Executor class")
    return cls()
