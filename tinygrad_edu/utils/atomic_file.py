"""Replace a file's contents atomically, the way ``tge.save`` writes checkpoints.

``write_atomically(path, write_body)`` calls ``write_body(fd)`` on a fresh temporary file
and then puts that file at ``path``. What it promises, and how:

- **Old or new, never a mixture.** The temporary file lives in the target's own folder
  (same file system, so the rename is atomic), is fsync'ed, then renamed over the target with
  ``os.replace``, and the folder is fsync'ed. A crash, a SIGKILL or an exception at any moment
  leaves the complete old file or the complete new one at the target.
- **Symbolic links are followed.** ``path`` is resolved to the file it finally names
  (chains and relative links included, a dangling link creates its target); the link itself
  is left as it was and the target gets the new contents.
- **The mode is kept.** An existing target's permission bits (and its owner and group where
  the process is allowed to set them) are copied to the new file before the rename; a new
  file gets ``0o666 & ~umask``, as ``open()`` would give it.
- **Hard links are refused** (``HardLinkError``). A file with several names cannot have its
  contents replaced atomically: a rename gives one name the new inode while the other names
  keep the old weights, and writing through the shared inode in place can leave a half-written
  file behind if the save is interrupted. Refusing keeps the atomic promise and says so;
  save to a new name and link it yourself, or remove the other names first.
- **FIFOs, sockets and devices are refused** (``NotARegularFileError``): a checkpoint is a
  regular file, and replacing a FIFO or device node with one would silently break whatever
  used it. A folder raises ``IsADirectoryError``.
- **Leftovers of killed saves are removed.** Temporary files are named
  ``.NAME.tge-PID-RANDOM.tmp`` and held under an exclusive ``flock`` while being written. Each
  save first removes the temporary files of the same target whose writer is gone: the lock is
  free *and* the process PID is not running (both, so that a writer that has created its file
  but not yet locked it is never robbed). Files in the older ``.NAME.RANDOM.tmp`` naming, from
  earlier versions, are removed once unlocked and untouched for a minute. On systems without
  ``fcntl`` (Windows) nothing is removed.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
import threading
import time
from collections.abc import Callable

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

__all__ = ["HardLinkError", "NotARegularFileError", "remove_stale_temps", "resolve_target", "write_atomically"]

# Temporary files this process is writing right now (absolute paths), so that a save in one
# thread never removes the temporary file of a save in another thread.
_IN_FLIGHT: set[str] = set()
_IN_FLIGHT_LOCK = threading.Lock()

# A file in the older temporary naming is left alone while it was written to this recently.
OLD_STYLE_AGE_S = 60.0

# Keep temporary names under the usual 255-byte limit whatever the target's name.
_MAX_BASE_IN_TEMP = 200


class HardLinkError(OSError):
    """The target has more than one hard link, so it cannot be replaced atomically."""


class NotARegularFileError(OSError):
    """The target is a FIFO, socket or device node: only regular files are written."""


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def resolve_target(path: str, what: str = "save") -> tuple[str, os.stat_result | None]:
    """Follow symbolic links in ``path``; return (the real file path, its stat or None if new).

    Raises IsADirectoryError, FileNotFoundError (missing folder), NotARegularFileError,
    HardLinkError, or OSError for a symbolic-link loop.
    """
    if os.path.isdir(path):
        raise IsADirectoryError(f"{what}: {path!r} is a folder; give the path of the file to write")
    try:
        real = os.path.realpath(path, strict=True)
    except FileNotFoundError:
        real = os.path.realpath(path)  # a new file, or a dangling link: the file it would create
    except OSError as e:
        raise OSError(e.errno, f"{what}: cannot resolve {path!r}: {e.strerror} (a symbolic link loop?)") from None
    try:
        st = os.stat(real, follow_symlinks=False)
    except FileNotFoundError:
        st = None
    if st is None:
        folder = os.path.dirname(real)
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"{what}: the folder {folder!r} of {path!r} does not exist")
        return real, None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"{what}: {path!r} is a folder; give the path of the file to write")
    if not stat.S_ISREG(st.st_mode):
        raise NotARegularFileError(
            errno.EINVAL,
            f"{what}: {real!r} is {_kind(st.st_mode)}; checkpoints are written to regular files only "
            "(replacing it would break whatever uses it)",
        )
    if st.st_nlink > 1:
        raise HardLinkError(
            errno.EMLINK,
            f"{what}: {real!r} has {st.st_nlink} hard links; replacing it atomically would leave the "
            "other names holding the old contents, and writing through in place could leave a "
            "half-written file if interrupted. Save to a new file (and link it yourself), or "
            "remove the other links first",
        )
    return real, st


def _temp_prefix(base: str) -> str:
    return f".{base[:_MAX_BASE_IN_TEMP]}."


def _pid_running(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    try:  # a zombie (killed, not yet reaped) answers signal 0 but writes nothing any more
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def _remove_if_unlocked(full: str) -> bool:
    """Remove the temporary file ``full`` if no process holds its lock; True if removed."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(full, flags)
    except OSError:
        return False  # gone already, not ours to read, or a link planted under a temp name
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # a live writer holds it
        try:
            now = os.stat(full, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            return False  # the name was reused meanwhile
        try:
            os.unlink(full)
        except FileNotFoundError:
            return False
        return True
    finally:
        os.close(fd)


def remove_stale_temps(folder: str, base: str) -> list[str]:
    """Remove the temporary files left in ``folder`` by killed saves of the file ``base``.

    Returns the names removed. See the module docstring for when a file counts as left over.
    """
    if fcntl is None:
        return []
    prefix = _temp_prefix(base)
    new_style = re.compile(re.escape(prefix) + r"tge-(\d+)-[0-9a-f]{12}\.tmp\Z")
    old_style = re.compile(re.escape(prefix) + r"[0-9a-f]{12}\.tmp\Z")
    try:
        names = os.listdir(folder or ".")
    except OSError:
        return []
    removed = []
    me = os.getpid()
    for name in names:
        if not name.startswith(prefix):
            continue
        full = os.path.join(folder, name)
        m = new_style.match(name)
        if m:
            pid = int(m.group(1))
            if pid == me:
                with _IN_FLIGHT_LOCK:
                    if os.path.abspath(full) in _IN_FLIGHT:
                        continue
            elif _pid_running(pid):
                continue
        elif old_style.match(name):
            try:
                if time.time() - os.stat(full, follow_symlinks=False).st_mtime < OLD_STYLE_AGE_S:
                    continue
            except OSError:
                continue
        else:
            continue
        if _remove_if_unlocked(full):
            removed.append(name)
    return removed


def _create_temp(folder: str, base: str, mode: int) -> tuple[int, str]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f"{_temp_prefix(base)}tge-{os.getpid()}-{secrets.token_hex(6)}.tmp")
        key = os.path.abspath(tmp)
        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT.add(key)
        try:
            fd = os.open(tmp, flags, mode)
        except FileExistsError:
            with _IN_FLIGHT_LOCK:
                _IN_FLIGHT.discard(key)
            continue
        except BaseException:
            with _IN_FLIGHT_LOCK:
                _IN_FLIGHT.discard(key)
            raise
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                pass  # a file system without flock: the PID in the name still protects it
        return fd, tmp
    raise FileExistsError(f"could not create a temporary file beside {os.path.join(folder, base)!r}")


def _copy_owner_and_mode(fd: int, old: os.stat_result) -> None:
    if hasattr(os, "fchown"):
        now = os.fstat(fd)
        if (now.st_uid, now.st_gid) != (old.st_uid, old.st_gid):
            try:
                os.fchown(fd, old.st_uid, old.st_gid)
            except OSError:
                try:  # an ordinary user may still set a group they belong to
                    os.fchown(fd, -1, old.st_gid)
                except OSError:
                    pass
    if hasattr(os, "fchmod"):
        os.fchmod(fd, stat.S_IMODE(old.st_mode))  # after chown, which may clear set-id bits


def _fsync_dir(folder: str) -> None:
    """Make the rename durable. Not every platform/filesystem can fsync a directory."""
    try:
        dfd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # e.g. Windows, where directories cannot be opened this way
    try:
        os.fsync(dfd)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF, errno.EACCES):
            raise
    finally:
        os.close(dfd)


def write_atomically(path: str, write_body: Callable[[int], None], what: str = "save") -> str:
    """Write a file atomically: ``write_body(fd)`` fills a temporary file, which then replaces
    the file ``path`` names. Returns the real path written (symbolic links resolved).

    ``what`` prefixes error messages. Errors from ``resolve_target`` come before anything is
    written; on any exception later the temporary file is removed and the target is untouched.
    """
    real, old = resolve_target(os.fspath(path), what)
    folder, base = os.path.split(real)
    remove_stale_temps(folder, base)
    # A new file gets 0o666 & ~umask from open(); an existing one's mode is copied before the
    # rename, so the temporary file starts private (0o600) and never shows data more widely.
    fd, tmp = _create_temp(folder, base, 0o666 if old is None else 0o600)
    key = os.path.abspath(tmp)
    try:
        try:
            write_body(fd)
            if old is not None:
                _copy_owner_and_mode(fd, old)
            os.fsync(fd)
            os.replace(tmp, real)  # still holding the lock: nobody takes this file for stale
        finally:
            os.close(fd)
            with _IN_FLIGHT_LOCK:
                _IN_FLIGHT.discard(key)
    except BaseException:
        # Also on KeyboardInterrupt: the partial file must not outlive the failed save.
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(folder)
    return real
