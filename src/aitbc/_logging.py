"""``AITBC_LOG=debug`` (or ``info``/``warning``): log the SDK's requests, retries and
reconnects to stderr without any logging setup, like ``OPENAI_LOG`` or ``HTTPX_LOG_LEVEL``.

Everything the SDK logs goes to the ``aitbc`` logger tree, so the standard
``logging.getLogger("aitbc").setLevel(logging.DEBUG)`` works too. No log line carries a
header, a body or an API key: only method, path, status, timing and error class.
"""

from __future__ import annotations

import logging
import os

__all__ = ["ENV_VAR", "configure_from_env"]

ENV_VAR = "AITBC_LOG"
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
_configured = False


def configure_from_env() -> None:
    """Attach one stderr handler to the ``aitbc`` logger at the level ``AITBC_LOG`` names.

    Idempotent (called by every client constructor); does nothing when the variable is
    unset, so applications that configure logging themselves keep full control.
    """
    global _configured
    if _configured:
        return
    level = _LEVELS.get(os.environ.get(ENV_VAR, "").strip().lower())
    if level is None:
        return
    _configured = True
    logger = logging.getLogger("aitbc")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
