"""The one error type for the person using the tool, and the CLI wrapper that turns it into one line.

`UserError` (and its kinds below) means: the input is wrong, here is what. The CLI and the UI catch only
these, so a real bug keeps its traceback. Messages say what is wrong in neutral words; a surface may add
its own advice (`advice["cli"]`, `advice["ui"]`), so library code never names a flag or a server path in
the message itself. Raise with `from e` to keep the cause: ELECTRA_DEMO_DEBUG=1 prints the whole chain.
"""
import functools
import os
import sys


class UserError(Exception):
    """Bad input from the user: `str(e)` says what is wrong; `advice` maps a surface ("cli", "ui") to its fix."""

    def __init__(self, message: str, **advice: str):
        super().__init__(message)
        self.advice = advice

    def for_surface(self, surface: str) -> str:
        """The message, plus that surface's advice when there is one."""
        hint = self.advice.get(surface)
        return f"{self}; {hint}" if hint else str(self)


class DataError(UserError):
    """A data file that is missing, unreadable, or has a bad row; the message names the file and the line."""


class CheckpointError(UserError):
    """A checkpoint that is missing, corrupt, unsafe, inconsistent or of the wrong kind."""


class InputError(UserError):
    """A value the user typed or passed: text, a pooling name, a number out of range."""


def debug() -> bool:
    return os.environ.get("ELECTRA_DEMO_DEBUG") == "1"


def run_cli(main, argv=None):
    """Run main(argv); a UserError becomes `error: ...` on stderr and exit code 2 (a traceback with ELECTRA_DEMO_DEBUG=1)."""
    try:
        return main(argv)
    except UserError as e:
        if debug():
            raise
        print(f"error: {e.for_surface('cli')}", file=sys.stderr)
        sys.exit(2)


def cli(main):
    """The console entry point of `main`: `cli_main = cli(main)`, then `cli_main(argv)` runs it through `run_cli`."""
    return functools.wraps(main)(lambda argv=None: run_cli(main, argv))
