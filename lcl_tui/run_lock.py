"""One writer per run folder: an OS file lock that dies with the process holding it.

Training and resuming hold `fcntl.flock(LOCK_EX)` on `writer.lock` in the run folder from
before their first write until their last. The kernel drops the lock when the process
ends, however it ends (SIGKILL included), so a lock is never stale and nothing needs
cleaning up. The holder writes its pid, host and start time into the file, for the one
line a second writer gets.

Readers never take the lock. `writer_state` only peeks (a shared lock, taken and dropped
at once), so a writer that meets a peek retries for a moment before it calls the folder busy.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import fcntl
import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from lcl_tui.errors import UserError

LOCK_NAME = "writer.lock"
# A reader's peek holds the lock for microseconds; a writer retries this long before it gives up.
BUSY_RETRY_SECONDS = 0.5
# File systems without flock (some FUSE mounts) answer with these: train unlocked, with a warning.
UNSUPPORTED = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL)

log = logging.getLogger(__name__)


class RunBusyError(UserError):
    """Another process writes this run folder now."""


class WriterState(str, Enum):
    HELD = "held"  # a live process writes the folder
    FREE = "free"  # the lock file is there and nobody holds it: any writer has ended
    UNKNOWN = "unknown"  # no lock file (a folder from before locks) or it cannot be read


@dataclass
class LockHolder:
    pid: int | None
    host: str | None
    since: float | None

    def describe(self) -> str:
        parts = [f"pid {self.pid}" if self.pid is not None else "another process"]
        if self.host:
            parts.append(f"on {self.host}")
        if self.since is not None:
            parts.append(f"since {_dt.datetime.fromtimestamp(self.since):%Y-%m-%d %H:%M:%S}")
        return " ".join(parts)


class WriterLock:
    """The exclusive lock on one run folder; `acquire` raises RunBusyError when taken."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        try:
            # 0666 less the umask, like every other file in the folder.
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as error:
            raise UserError(f"cannot write run folder {self.folder} ({error.strerror or error}); "
                            "check that it exists and that you may write it") from None
        deadline = time.monotonic() + BUSY_RETRY_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.02)
                    continue
                os.close(fd)
                holder = read_holder(self.folder)
                raise RunBusyError(
                    f"run {self.folder.name} is being written by {holder.describe()}; wait for it to "
                    "end or stop it there (only one process may train a run at a time)") from None
            except OSError as error:
                if error.errno not in UNSUPPORTED:
                    os.close(fd)
                    raise
                log.warning("%s: this file system has no file locks; nothing stops a second process "
                            "from writing the run at the same time", self.folder)
                break
        self._fd = fd
        record = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()})
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, record.encode() + b"\n", 0)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)  # closing drops the lock; the file stays for the next writer

    def __del__(self) -> None:
        self.release()


def read_holder(folder: Path) -> LockHolder:
    """Who holds (or last held) the lock, as it wrote itself down; blanks when unreadable."""
    try:
        raw = json.loads((Path(folder) / LOCK_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raw = {}
    raw = raw if isinstance(raw, dict) else {}

    def typed(key: str, kind: type | tuple[type, ...]):
        value = raw.get(key)
        return value if isinstance(value, kind) and not isinstance(value, bool) else None

    return LockHolder(pid=typed("pid", int), host=typed("host", str), since=typed("since", (int, float)))


def writer_state(folder: Path) -> WriterState:
    """Whether a live process writes the folder now, without ever blocking a writer for long."""
    try:
        fd = os.open(Path(folder) / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return WriterState.UNKNOWN
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return WriterState.HELD
    except OSError:
        return WriterState.UNKNOWN
    finally:
        os.close(fd)  # also drops the shared lock if it was taken
    return WriterState.FREE
