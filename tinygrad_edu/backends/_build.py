"""Build the C kernels in ``csrc/`` into the extension ``tinygrad_edu.backends._tge_c``.

The module is made by cffi in API mode: cffi reads the declarations from ``csrc/tge.h``
(between its ``cdef-begin`` / ``cdef-end`` marker comments, preprocessor lines dropped),
writes a small C wrapper that includes that header, and compiles it together with the
kernel sources (every ``csrc/*.c``: :data:`SOURCES` is read from the folder) into one
shared library.

Two ways in:

* ``pip install .`` / ``pip install -e .``: ``setup.py`` names :data:`ffibuilder` in
  ``cffi_modules``, so setuptools compiles the module with the package (an editable
  install copies it into ``tinygrad_edu/backends/`` of the checkout).
* The rebuild command after editing anything in ``csrc/``, run from anywhere::

      python -m tinygrad_edu.backends._build      # or: python tinygrad_edu/backends/_build.py

  It compiles in a temporary folder and then moves the new library over the old one in
  ``tinygrad_edu/backends/`` (an atomic rename, safe even while another process has the
  old one loaded).  It needs only cffi, setuptools and a C compiler, so it works when the
  compiled module is missing or broken.

Compiler flags: ``-O3 -std=gnu11 -ffp-contract=fast -fno-math-errno -fopenmp`` and nothing
machine-specific; the AVX2 and
AVX-512 GEMM kernels are chosen at run time (see ``csrc/gemm.c``).  Environment knobs:
``TGE_OPENMP=0`` builds without OpenMP (on macOS it is off unless ``TGE_OPENMP=1``), and
``TGE_CFLAGS`` appends flags (e.g. ``TGE_CFLAGS=-march=native`` for a local build).

``TGE_SANITIZE=1`` makes a debugging build instead, under AddressSanitizer and
UndefinedBehaviorSanitizer (``-fsanitize=address,undefined,float-cast-overflow
-fno-omit-frame-pointer -fno-sanitize-recover=all -g -O1 -fno-wrapv``, on compile and link).  Build it somewhere else than the
checkout, and point the package at it::

    TGE_SANITIZE=1 python -m tinygrad_edu.backends._build --out /tmp/tge_asan
    TGE_C_MODULE_DIR=/tmp/tge_asan LD_PRELOAD=$(gcc -print-file-name=libasan.so) python ...

(``.ci/sanitizers`` does exactly that; see docs/reliability.md.)
"""
import os
import re
import shlex
import shutil
import sys
import tempfile

from cffi import FFI

MODULE_NAME = "tinygrad_edu.backends._tge_c"

_BACKENDS_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(_BACKENDS_DIR))
CSRC = os.path.join(ROOT, "csrc")
HEADER = os.path.join(CSRC, "tge.h")


def _csrc_files(*suffixes) -> tuple:
    """The files of csrc/ ending in one of ``suffixes``, sorted (empty without csrc/)."""
    if not os.path.isdir(CSRC):
        return ()
    return tuple(sorted(f for f in os.listdir(CSRC) if f.endswith(suffixes)))


#: every C file of csrc/ is compiled: a new family file needs no entry anywhere
SOURCES = _csrc_files(".c")
#: what a rebuild depends on besides the sources: the headers and the included .inc files
DEPENDS = _csrc_files(".h", ".inc")

_CDEF_BEGIN = "cdef-begin"
_CDEF_END = "cdef-end"


_INCLUDE = re.compile(r'^\s*#\s*include\s+"([\w.]+)"')


def read_cdef(header: str = HEADER) -> str:
    """The declarations cffi needs: the header's lines between the marker comments,
    without preprocessor lines (cffi's cdef is not a preprocessor).  An ``#include "x.h"``
    between the markers (tge.h's family headers, e.g. tge_rnn.h) is replaced by that
    header's own cdef region, read the same way."""
    with open(header, encoding="utf-8") as f:
        lines = f.read().splitlines()
    starts = [i for i, line in enumerate(lines) if _CDEF_BEGIN in line]
    ends = [i for i, line in enumerate(lines) if _CDEF_END in line]
    if len(starts) != 1 or len(ends) != 1 or ends[0] <= starts[0]:
        raise RuntimeError(f"{header}: expected one '{_CDEF_BEGIN}' line followed by one "
                           f"'{_CDEF_END}' line")
    out = []
    for line in lines[starts[0] + 1:ends[0]]:
        included = _INCLUDE.match(line)
        if included:
            out.append(read_cdef(os.path.join(os.path.dirname(header), included.group(1))))
        elif not line.lstrip().startswith("#"):
            out.append(line)
    return "\n".join(out)


#: what TGE_SANITIZE=1 adds (the first one also to the link).  float-cast-overflow (a NaN
#: or out-of-range float converted to an integer) is not part of GCC's "undefined";
#: -fno-wrapv because Python's own CFLAGS carry -fwrapv, under which signed overflow is
#: defined and goes unreported
SANITIZE_FLAGS = ["-fsanitize=address,undefined,float-cast-overflow",
                  "-fno-omit-frame-pointer", "-fno-sanitize-recover=all", "-g", "-O1",
                  "-fno-wrapv"]


def sanitize_requested() -> bool:
    """True when TGE_SANITIZE asks for the AddressSanitizer + UBSan build."""
    return os.environ.get("TGE_SANITIZE", "").strip().lower() not in ("", "0", "no", "false")


def _openmp_flags() -> list:
    want = os.environ.get("TGE_OPENMP", "")
    if want == "0" or (sys.platform == "darwin" and want != "1"):
        return []
    if sys.platform == "win32":
        return ["/openmp"]
    return ["-fopenmp"]


def _rel(path: str) -> str:
    """`path` relative to the working directory when possible: setuptools wants
    relative source paths when it builds from the project root."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if rel.startswith("..") else rel


def make_ffibuilder(relative_paths: bool = True) -> FFI:
    """A fresh FFI builder for the module.  setup.py wants source paths relative to the
    project root (its working directory); FFI.compile() runs from a temporary folder
    and needs absolute ones."""
    if not os.path.isfile(HEADER):
        raise RuntimeError(f"cannot build the C kernels: {HEADER} not found (the build "
                           "needs a source checkout with its csrc/ folder)")
    # -fno-math-errno: sqrt/exp need not set errno (nothing reads it), so loops that call
    # them can vectorise (csrc/optim.c's Adam step)
    compile_args = ["-O3", "-std=gnu11", "-ffp-contract=fast", "-fno-math-errno",
                    "-fvisibility=hidden"]
    link_args = []
    if sanitize_requested():
        compile_args = compile_args[1:] + SANITIZE_FLAGS  # -O1 instead of -O3
        link_args += SANITIZE_FLAGS[:1]
    omp = _openmp_flags()
    compile_args += omp
    link_args += omp
    extra = shlex.split(os.environ.get("TGE_CFLAGS", ""))
    compile_args += extra

    path = _rel if relative_paths else os.path.abspath
    builder = FFI()
    builder.cdef(read_cdef())
    builder.set_source(
        MODULE_NAME,
        '#include "tge.h"\n',
        sources=[path(os.path.join(CSRC, s)) for s in SOURCES],
        depends=[path(os.path.join(CSRC, d)) for d in DEPENDS],
        include_dirs=[path(CSRC)],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        libraries=[] if sys.platform == "win32" else ["m"],  # libm: erf/erff in activation.c
        # one file name for every way of building (_tge_c.cpython-311-x86_64-linux-gnu.so,
        # not .abi3.so), so that a pip build and the in-place rebuild replace each other
        # instead of one shadowing the other
        py_limited_api=False,
    )
    return builder


# What setup.py's cffi_modules points at (None in an installed copy of this file, which
# has no csrc/ beside it).  Making it only reads csrc/tge.h; nothing is compiled here.
ffibuilder = make_ffibuilder() if os.path.isfile(HEADER) else None


def build_in_place(verbose: bool = False, out_dir: str = None) -> str:
    """Compile the module and put it in ``tinygrad_edu/backends/`` (or in ``out_dir``, for
    a build that must not replace the checkout's, such as the sanitizer one, loaded with
    ``TGE_C_MODULE_DIR=out_dir``); return its path."""
    dest_dir = _BACKENDS_DIR if out_dir is None else os.path.abspath(out_dir)
    os.makedirs(dest_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="tge_build_")
    try:
        built = make_ffibuilder(relative_paths=False).compile(tmpdir=tmp, verbose=verbose)
        dest = os.path.join(dest_dir, os.path.basename(built))
        stale = os.path.join(dest_dir, "_tge_c.abi3.so")  # from older builds
        if os.path.exists(stale):
            os.remove(stale)
        staging = os.path.join(dest_dir, f".{os.path.basename(built)}.{os.getpid()}.tmp")
        try:
            shutil.copyfile(built, staging)
            os.chmod(staging, 0o755)
            os.replace(staging, dest)  # atomic: a process that has the old file keeps it
        finally:
            if os.path.exists(staging):
                os.remove(staging)
        return dest
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    verbose = "-v" in args or "--verbose" in args
    out_dir = None
    if "--out" in args:  # --out DIR: build into DIR, leave the checkout's module alone
        at = args.index("--out")
        if at + 1 >= len(args):
            sys.stderr.write("tinygrad_edu: --out needs a folder\n")
            return 2
        out_dir = args[at + 1]
    try:
        path = build_in_place(verbose=verbose, out_dir=out_dir)
    except Exception as exc:  # report, do not dump a traceback at the user
        sys.stderr.write(f"tinygrad_edu: building the C kernels failed: {exc}\n")
        return 1
    sys.stdout.write(f"built {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
