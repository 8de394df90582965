"""The ``aitbc`` console script: checks the cli extra before importing typer.

Kept to the standard library (and the light :mod:`aitbc._extras`) so that, on a core
install, ``aitbc`` answers with one line naming the extra instead of a traceback.
"""

from __future__ import annotations

import sys

from .._extras import require_extras
from ..errors import MissingExtraError

EXIT_MISSING_EXTRA = 2  # the CLI's "bad input" status: fix the install, not a retry


def main() -> None:
    """Run the ``aitbc`` command, or say which extra it needs."""
    try:
        require_extras("the aitbc command", ("cli",))
    except MissingExtraError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(EXIT_MISSING_EXTRA)
    from .main import main as run  # typer, only now that it is known to be there

    run()


if __name__ == "__main__":
    main()
