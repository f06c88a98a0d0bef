"""Atomic file writes: a reader, or a process killed half-way, sees the old file or the new one."""

import os
import tempfile


def atomic_write(path, write):
    """Call ``write(f)`` on a temporary binary file in ``path``'s folder, flush it to disk, then
    rename it onto ``path`` (``os.replace`` is atomic within one file system)."""
    path = os.fspath(path)
    fd, temporary = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)),
                                     prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, 0o644)   # mkstemp creates 0600
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def atomic_write_text(path, text):
    """:func:`atomic_write` of a UTF-8 text."""
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))
