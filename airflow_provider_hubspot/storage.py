"""Files on a local path or any Airflow object-storage URI (``file://``, ``s3://``, ``memory://``...).

One place for the few file operations the operators need — open, write aside and move into
place, copy down and up, remove — so every feature (sources, rejects, resume files, sync state)
treats local paths and object storage alike.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import IO, Any


def is_remote(path: str) -> bool:
    """Whether ``path`` is an object-storage URI rather than a local path."""
    return "://" in path


def _remote(path: str) -> Any:
    from airflow_provider_hubspot._compat import ObjectStoragePath

    return ObjectStoragePath(path)


def _remote_for_writing(path: str) -> Any:
    """The object-storage path, its parent "folder" created where the store has folders (``file://``)."""
    target = _remote(path)
    with suppress(OSError, NotImplementedError, ValueError):  # object stores without folders
        target.parent.mkdir(parents=True, exist_ok=True)
    return target


def normalize(path: str) -> str:
    """A comparable form of ``path`` (absolute, symlinks resolved; ``file://`` as a local path)."""
    if path.startswith("file://"):
        path = path.removeprefix("file://")
    return path if is_remote(path) else os.path.realpath(path)


def exists(path: str) -> bool:
    return bool(_remote(path).exists()) if is_remote(path) else os.path.exists(path)


def parent(path: str) -> str:
    """The folder (or prefix) holding ``path``."""
    return path.rsplit("/", 1)[0] if is_remote(path) else os.path.dirname(os.path.abspath(path))


def sibling(path: str, name: str) -> str:
    """``name`` in the folder of ``path``."""
    return f"{parent(path)}/{name}" if is_remote(path) else os.path.join(parent(path), name)


def open_bytes(path: str) -> IO[bytes]:
    """``path`` opened for reading bytes (the caller closes it); a missing file raises ``FileNotFoundError``."""
    return _remote(path).open("rb") if is_remote(path) else open(path, "rb")  # type: ignore[no-any-return]


@contextmanager
def open_binary(path: str) -> Iterator[IO[bytes]]:
    """Open ``path`` for reading bytes; a missing file raises ``FileNotFoundError``."""
    handle = open_bytes(path)
    try:
        yield handle
    finally:
        handle.close()


def create_text(path: str, *, newline: str | None = None) -> IO[str]:
    """A new UTF-8 text file at ``path`` (local folders created as needed); the caller closes it."""
    if is_remote(path):
        return _remote_for_writing(path).open("w")  # type: ignore[no-any-return]
    os.makedirs(parent(path), exist_ok=True)
    return open(path, "w", encoding="utf-8", newline=newline)


def create_binary(path: str) -> IO[bytes]:
    """A new file at ``path`` opened for writing bytes (local folders created as needed); the caller closes it."""
    if is_remote(path):
        return _remote_for_writing(path).open("wb")  # type: ignore[no-any-return]
    os.makedirs(parent(path), exist_ok=True)
    return open(path, "wb")


@contextmanager
def open_write(path: str, *, newline: str | None = None) -> Iterator[IO[str]]:
    """Open ``path`` for writing UTF-8 text, creating local folders as needed."""
    handle = create_text(path, newline=newline)
    try:
        yield handle
    finally:
        handle.close()


def move(source: str, target: str) -> None:
    """Move ``source`` onto ``target`` (atomic for local paths on one file system)."""
    if is_remote(source):
        _remote(source).rename(_remote(target))
    else:
        os.replace(source, target)


def remove(path: str) -> None:
    """Remove ``path`` if it exists; errors are ignored (used for clean-up)."""
    try:
        if is_remote(path):
            _remote(path).unlink(missing_ok=True)
        elif os.path.exists(path):
            os.remove(path)
    except OSError:
        pass


def copy_down(path: str, local: str) -> None:
    """Copy ``path`` (local or remote) to the local file ``local``."""
    if is_remote(path):
        with _remote(path).open("rb") as source, open(local, "wb") as target:
            shutil.copyfileobj(source, target, 1 << 20)
    else:
        shutil.copyfile(path, local)


def copy_up(local: str, path: str) -> None:
    """Copy the local file ``local`` to ``path`` (local or remote), creating local folders."""
    if is_remote(path):
        with open(local, "rb") as source, _remote_for_writing(path).open("wb") as target:
            shutil.copyfileobj(source, target, 1 << 20)
    else:
        os.makedirs(parent(path), exist_ok=True)
        shutil.copyfile(local, path)


def read_text(path: str) -> str | None:
    """The text of ``path``, or ``None`` when it does not exist."""
    try:
        if is_remote(path):
            with _remote(path).open("r") as handle:
                return str(handle.read())
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def write_text_atomic(path: str, text: str) -> None:
    """Replace ``path``'s content with ``text`` in one step (a single object write on object storage;
    write aside then rename on local paths), so a reader sees the old or the new text, never a mix."""
    if is_remote(path):
        with _remote_for_writing(path).open("w") as handle:
            handle.write(text)
        return
    os.makedirs(parent(path), exist_ok=True)
    partial = f"{path}.partial-{os.getpid()}"
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
