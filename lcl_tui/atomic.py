"""Atomic file writes: a reader (or a crash) sees the old file or the new one, never half.

Every file written here gets the mode `open()` would give it (0666 less the umask), so a
run folder shared by a team reads alike throughout: `tempfile.mkstemp` would make 0600.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def fsync_dir(path: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_temporary(path)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _new_temporary(path: Path) -> Path:
    """A fresh hidden file beside `path`, made as `open()` makes files (the umask applies)."""
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"no free temporary name beside {path}")


def match_open_modes(folder: Path) -> None:
    """Give every file under `folder` the mode `open()` gives a new file now (0666 less the
    umask), and every folder `mkdir`'s: some writers (safetensors) make their files 0600."""
    folder = Path(folder)
    probe = _new_temporary(folder / "mode-probe")  # made as open() makes files: the umask applies
    try:
        file_mode = stat.S_IMODE(probe.stat().st_mode)
    finally:
        probe.unlink()
    folder_mode = file_mode | ((file_mode & 0o444) >> 2)  # x wherever r, as mkdir's 0777 gives
    for path in [folder, *folder.rglob("*")]:
        wanted = folder_mode if path.is_dir() else file_mode
        if not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) != wanted:
            os.chmod(path, wanted)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write_text(path, json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def append_line(path: Path, line: str, durable: bool = True) -> None:
    """Append one line; `durable` also forces it to disk.

    The line always starts on a fresh line: a file left without its final newline (a kill
    mid-write, a full disk) gets one first, so the torn line stays the only casualty and
    readers, which skip it, still read this one.
    """
    data = (line.rstrip("\n") + "\n").encode("utf-8")
    with open(path, "a+b") as handle:
        end = os.fstat(handle.fileno()).st_size
        if end and os.pread(handle.fileno(), 1, end - 1) != b"\n":
            data = b"\n" + data
        handle.write(data)
        handle.flush()
        if durable:
            os.fsync(handle.fileno())
