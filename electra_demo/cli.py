"""Shared command-line plumbing: user errors become one line on stderr and exit code 2, no traceback."""
import sys

from .checkpoint import CheckpointError
from .data import DataError

USER_ERRORS = (DataError, CheckpointError, ValueError, FileNotFoundError)


def run_cli(main, argv=None):
    try:
        return main(argv)
    except USER_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
