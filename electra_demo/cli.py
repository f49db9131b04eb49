"""Shared command-line plumbing: user errors become one line on stderr and exit code 2, no traceback.

Set ELECTRA_DEMO_DEBUG=1 to see the full traceback instead (for bug reports).
"""
import os
import sys

from .checkpoint import CheckpointError
from .data import DataError

USER_ERRORS = (DataError, CheckpointError, ValueError, FileNotFoundError)


def run_cli(main, argv=None):
    try:
        return main(argv)
    except USER_ERRORS as e:
        if os.environ.get("ELECTRA_DEMO_DEBUG") == "1":
            raise
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
