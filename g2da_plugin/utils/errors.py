"""Errors in what the user gave (config keys and values, dataset files, images, split and keypoints
files, checkpoints, weights) and the one line a tool prints for them.

A bug in the code keeps its traceback; an :class:`InputError` ends the process with ``g2da: <what is
wrong, naming the file or key>``. ``G2DA_TRACEBACK=1`` shows the traceback anyway, for debugging.
"""

import functools
import os
import sys

__all__ = ["InputError", "MissingInputError", "RunFailedError", "exit_on_input_error", "input_error_message"]

TRACEBACK_VARIABLE = "G2DA_TRACEBACK"


class InputError(ValueError):
    """Something the user gave is wrong; the message names the file or key and what was expected."""


class MissingInputError(InputError, FileNotFoundError):
    """A file or folder the user named (or a config implies) does not exist."""


class RunFailedError(InputError):
    """A training run started for a table or a sweep failed; the message carries the run's last line."""


def input_error_message(error):
    """The one-line message of an input error, or None for anything else (a bug).

    An error raised in a DataLoader worker or a spawned process comes back as a new exception whose
    text is the child's whole traceback, ending in the original ``Type: message`` line.
    """
    text = str(error)
    if isinstance(error, InputError) and "Traceback" not in text:
        return " ".join(text.split("\n"))
    if isinstance(error, InputError) or type(error).__name__ == "ProcessRaisedException":
        for line in reversed(text.strip().splitlines()):
            name, _, message = line.partition(": ")
            if name.split(".")[-1] in ("InputError", "MissingInputError", "RunFailedError") and message:
                return message
    return None


def exit_on_input_error(main):
    """Wrap a tool's ``main``: an input error ends the process with one ``g2da:`` line and exit code 1."""

    @functools.wraps(main)
    def wrapped(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except Exception as error:  # noqa: BLE001  (sorted into input errors and bugs just below)
            message = input_error_message(error)
            if message is None or os.environ.get(TRACEBACK_VARIABLE):
                raise
            print(f"g2da: {message}", file=sys.stderr)
            sys.exit(1)

    return wrapped
