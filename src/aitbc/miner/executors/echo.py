"""The echo executor: returns its payload. Cheapest possible job, for smoke tests."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from .base import Execution, Executor, check_cancel


class EchoExecutor(Executor):
    """Job type ``echo``: the result is ``{"echo": payload}``, one unit."""

    def run(self, payload: Mapping[str, Any], cancel: threading.Event) -> Execution:
        """Return the payload unchanged under ``echo``."""
        check_cancel(cancel)
        return Execution(result={"echo": dict(payload)}, units=1)
