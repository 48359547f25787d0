"""Reading files a user names (manifests, programs, includes, secrets): regular files only, bounded.

A FIFO, a device or a directory named where a file belongs is refused at once. The file is opened
with O_NONBLOCK, so even one swapped in after a check cannot block the open, and its type is read
from the open descriptor; at most `limit` + 1 bytes are ever read, whatever the file claims.
"""

from __future__ import annotations

import os
import stat


class FileRefused(Exception):
    """A file that cannot be read as asked: `reason` is a short phrase, without the path."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_regular(path: str, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, or FileRefused saying why not."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise FileRefused("not found") from None
    except IsADirectoryError:
        raise FileRefused("is a directory, not a file") from None
    except OSError as exc:
        raise FileRefused(f"cannot be read: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise FileRefused(f"is {_kind(mode)}, not a regular file")
        data = _read_at_most(fd, limit + 1)
    except OSError as exc:
        raise FileRefused(f"cannot be read: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise FileRefused(f"is larger than {_size(limit)}")
    return data


def _read_at_most(fd: int, count: int) -> bytes:
    chunks, left = [], count
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _size(limit: int) -> str:
    if limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MiB"
    if limit % 1024 == 0:
        return f"{limit // 1024} KiB"
    return f"{limit} bytes"
