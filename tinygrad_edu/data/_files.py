"""Finding dataset files on disk, and downloading them (urllib, checksum-verified).

Where a dataset called NAME (``mnist``, ``fashion-mnist``, ``rt-polarity``) is looked for,
in this order:

1. the ``root`` argument: ``root/NAME/``, then ``root/`` itself;
2. the environment variable ``TGE_DATA``: ``$TGE_DATA/NAME/``, then ``$TGE_DATA/``;
3. the cache folder ``~/.cache/tinygrad_edu/NAME/`` (``$TGE_CACHE_DIR/NAME/`` when that
   variable is set, else ``$XDG_CACHE_HOME/tinygrad_edu/NAME/`` when that one is);
4. folders the dataset itself names (Debian's ``/usr/share/datasets/fashion-mnist/``).

The first folder that holds every file asked for wins. A file may be stored compressed
(``x.gz``) or not (``x``).
"""
from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["DatasetNotFoundError", "ChecksumError", "cache_dir", "search_dirs", "find_files",
           "download_file", "file_digest", "locate", "DOWNLOAD_TIMEOUT"]

DOWNLOAD_TIMEOUT = 10.0   # seconds without data before a download gives up


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are not on disk and could not be downloaded. The message says
    which files to put where."""


class ChecksumError(ValueError):
    """A downloaded file's checksum is not the published one."""


def cache_dir(name: str | None = None) -> Path:
    """The download cache: ``$TGE_CACHE_DIR``, else ``$XDG_CACHE_HOME/tinygrad_edu``, else
    ``~/.cache/tinygrad_edu``; with ``name``, that dataset's folder inside it."""
    base = os.environ.get("TGE_CACHE_DIR")
    if base:
        path = Path(base).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        path = (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "tinygrad_edu"
    return path / name if name else path


def search_dirs(name: str, root=None, extra=()) -> list[Path]:
    """The folders searched for dataset ``name``, in order (see the module docstring)."""
    dirs = []
    if root is not None:
        dirs += [Path(root).expanduser() / name, Path(root).expanduser()]
    env = os.environ.get("TGE_DATA")
    if env:
        dirs += [Path(env).expanduser() / name, Path(env).expanduser()]
    dirs.append(cache_dir(name))
    dirs += [Path(p) for p in extra]
    unique = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def _present(folder: Path, filename: str) -> Path | None:
    """``folder/filename`` or its compressed / uncompressed twin, whichever exists."""
    names = [filename]
    names.append(filename[:-3] if filename.endswith(".gz") else filename + ".gz")
    for n in names:
        p = folder / n
        if p.is_file():
            return p
    return None


def find_files(filenames, dirs) -> dict | None:
    """The first folder of ``dirs`` holding all ``filenames``: {filename: Path}, or None."""
    for d in dirs:
        found = {f: _present(d, f) for f in filenames}
        if all(found.values()):
            return found
    return None


def file_digest(path, algorithm: str = "sha256") -> str:
    """Hex digest of a file (``algorithm``: any hashlib name, e.g. "sha256" or "md5")."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download_file(url: str, dest, sha256: str | None = None, md5: str | None = None,
                  timeout: float | None = None) -> Path:
    """Download ``url`` to ``dest`` (atomically: a temporary file, checked, then renamed).

    sha256 / md5: expected hex digests; a mismatch raises ChecksumError and leaves no
    file behind. Network failures raise OSError (urllib.error.URLError, socket.timeout)
    or http.client.HTTPException. Returns ``dest`` as a Path.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f"{dest.name}.part{os.getpid()}")
    h256, h5 = hashlib.sha256(), hashlib.md5()
    try:
        with urllib.request.urlopen(url, timeout=timeout or DOWNLOAD_TIMEOUT) as resp, open(tmp, "wb") as out:
            while True:
                chunk = resp.read(1 << 16)
                if not chunk:
                    break
                out.write(chunk)
                h256.update(chunk)
                h5.update(chunk)
        if sha256 is not None and h256.hexdigest() != sha256.lower():
            raise ChecksumError(f"{url}: SHA-256 is {h256.hexdigest()}, expected {sha256}")
        if md5 is not None and h5.hexdigest() != md5.lower():
            raise ChecksumError(f"{url}: MD5 is {h5.hexdigest()}, expected {md5}")
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest


def locate(title: str, name: str, filenames, root=None, extra_dirs=(), download=False,
           mirrors=(), sha256=None, md5=None, timeout=None) -> dict:
    """Find ``filenames`` of a dataset, downloading what is missing when allowed.

    title: name for messages ("MNIST"); name: folder name ("mnist"); mirrors: base URLs
    (each + filename is a download URL), tried in order; sha256 / md5: {filename: digest}.
    Downloads go to ``root/name/`` when ``root`` is given, else to the cache folder.
    Returns {filename: Path}. Raises DatasetNotFoundError with instructions otherwise.
    """
    filenames = list(filenames)
    dirs = search_dirs(name, root, extra_dirs)
    found = find_files(filenames, dirs)
    if found is not None:
        return found
    target = (Path(root).expanduser() / name) if root is not None else cache_dir(name)
    problems = []
    if download and mirrors:
        for f in filenames:
            if _present(target, f):
                continue
            for base in mirrors:
                url = base.rstrip("/") + "/" + f
                try:
                    download_file(url, target / f, sha256=(sha256 or {}).get(f),
                                  md5=(md5 or {}).get(f), timeout=timeout)
                    break
                except (OSError, ValueError, http.client.HTTPException) as e:
                    reason = e.reason if isinstance(e, urllib.error.URLError) else e
                    problems.append(f"{url}: {type(e).__name__}: {reason}")
            else:
                break   # no mirror had this file: stop here, the message lists what failed
        found = find_files(filenames, [target])
        if found is not None:
            return found
    lines = [f"{title} files not found. Looked in:"]
    lines += [f"  {d}" for d in dirs]
    if download and mirrors:
        lines.append("Download failed:")
        lines += [f"  {p}" for p in problems] or ["  (no error recorded)"]
    elif mirrors:
        lines.append("Downloading was disabled (download=False).")
    lines.append("Put these files (gzip-compressed or not) together in one folder:")
    lines += [f"  {f}" for f in filenames]
    lines.append(f"for example {target}/, or pass root=FOLDER, or set the environment "
                 f"variable TGE_DATA to a folder holding them or holding a {name}/ folder with them.")
    if mirrors:
        lines.append("They are published at: " + ", ".join(mirrors))
    raise DatasetNotFoundError("\n".join(lines))
