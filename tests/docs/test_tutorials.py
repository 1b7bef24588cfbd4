"""Every tutorial in docs/tutorials/ runs: its ```python blocks, in order, in one namespace.

Each Markdown file is one test.  Its code blocks run one after the other in a fresh
namespace (as if pasted into one Python session), with a temporary folder as the working
directory, the global seed set to 0, and the kernel backend and thread count restored
afterwards.  A failure names the file and the line of the Markdown file where the failing
statement is (the code is compiled with its real line numbers).  A tutorial must finish
within ``BUDGET_S`` seconds: they are meant to run in a few.

Only blocks opened with exactly ```python run; ```text, ```c, ```bash and the like are
for reading.  A block opened as ```c excerpt=csrc/activation.c (any language) quotes a file
of the repository: each of its pieces between "..." lines must appear in that file,
verbatim and in order, so a quoted excerpt cannot drift from the code.  The other checks:
the learning path (docs/tutorials/README.md) links every tutorial, and every relative link
and image in the tutorials points at a file that exists.
"""
import os
import re
import time
from pathlib import Path

import pytest

import tinygrad_edu as tge

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
TUTORIALS = DOCS / "tutorials"
FILES = sorted(p for p in TUTORIALS.glob("[0-9][0-9]_*.md"))
BUDGET_S = float(os.environ.get("TGE_TUTORIAL_BUDGET_S", 60))

_ELISION = re.compile(r"^\s*(\.\.\.|/\* \.\.\. \*/|# \.\.\.)\s*$")


def fenced_blocks(path: Path):
    """[(first line number, language, {attribute: value}, code)] of every fenced block.

    The info string after the opening fence is the language, then optional
    ``key=value`` words (GitHub shows the block in the language and ignores the rest)."""
    blocks, current = [], None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        if current is None:
            if stripped.startswith("```"):
                words = stripped[3:].split()
                lang = words[0] if words else ""
                attrs = dict(w.split("=", 1) for w in words[1:] if "=" in w)
                current = (number + 1, lang, attrs, [])
        elif stripped == "```":
            blocks.append((current[0], current[1], current[2], "\n".join(current[3])))
            current = None
        else:
            current[3].append(line)
    assert current is None, f"{path.name}: a code block opened at line {current[0] - 1} is never closed"
    return blocks


def code_blocks(path: Path):
    """[(first line number, code)] of the blocks that run: exactly ```python, no attributes."""
    return [(start, code) for start, lang, attrs, code in fenced_blocks(path)
            if lang == "python" and not attrs]


def run_tutorial(path: Path) -> dict:
    """Run the ```python blocks of `path` in order in one fresh namespace; return it."""
    namespace = {"__name__": f"tutorial_{path.stem}"}
    for start, code in code_blocks(path):
        # pad with blank lines so that tracebacks show the line numbers of the .md file
        exec(compile("\n" * (start - 1) + code, str(path), "exec"), namespace)
    return namespace


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A temporary working directory, a non-interactive matplotlib, and the kernel
    backend and thread count as they were."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    backend, threads = tge.backend(), tge.get_num_threads()
    tge.manual_seed(0)
    yield tmp_path
    tge.set_backend(backend)
    tge.set_num_threads(threads)


def test_there_are_tutorials():
    assert len(FILES) >= 9, [p.name for p in FILES]
    for path in FILES:
        assert code_blocks(path), f"{path.name} has no ```python block"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_tutorial_runs(path, sandbox):
    start = time.perf_counter()
    run_tutorial(path)
    elapsed = time.perf_counter() - start
    assert elapsed < BUDGET_S, f"{path.name} took {elapsed:.1f} s (budget {BUDGET_S:.0f} s)"


def test_learning_path_lists_every_tutorial():
    index = (TUTORIALS / "README.md").read_text(encoding="utf-8")
    for path in FILES:
        assert f"({path.name})" in index, f"docs/tutorials/README.md does not link {path.name}"


_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


@pytest.mark.parametrize("path", FILES + [TUTORIALS / "README.md"],
                         ids=[p.stem for p in FILES] + ["README"])
def test_relative_links_resolve(path):
    text = path.read_text(encoding="utf-8")
    # links inside code blocks are code, not links
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    for target in _LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        file = (path.parent / target.split("#")[0]).resolve()
        assert file.exists(), f"{path.name}: the link {target} points at nothing"


def excerpts():
    for path in FILES:
        for start, lang, attrs, code in fenced_blocks(path):
            if "excerpt" in attrs:
                yield pytest.param(path, start, attrs["excerpt"], code, id=f"{path.stem}:{start}")


@pytest.mark.parametrize("path,line,source,code", list(excerpts()))
def test_quoted_excerpts_match_the_code(path, line, source, code):
    file = REPO / source
    assert file.is_file(), f"{path.name} line {line}: {source} does not exist"
    text = file.read_text(encoding="utf-8")
    pieces, piece = [], []
    for code_line in code.splitlines() + ["..."]:
        if _ELISION.match(code_line):
            if piece:
                pieces.append("\n".join(piece))
            piece = []
        else:
            piece.append(code_line)
    at = 0
    for piece in pieces:
        found = text.find(piece, at)
        assert found >= 0, (f"{path.name} line {line}: this excerpt is not (or no longer) in "
                            f"{source}, after what came before it:\n{piece}")
        at = found + len(piece)


def test_the_mlp_graph_picture_is_in_the_docs_and_its_script_runs(tmp_path):
    """docs/images/mlp_graph.svg is shown by a tutorial, and tools/draw_mlp_graph.py, which
    draws it, still runs (the .dot text always; .svg/.png when Graphviz is installed)."""
    import shutil
    import subprocess
    import sys

    shown = [p.name for p in FILES if "../images/mlp_graph.svg" in p.read_text(encoding="utf-8")]
    assert shown, "no tutorial shows docs/images/mlp_graph.svg"
    assert (DOCS / "images" / "mlp_graph.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
    result = subprocess.run([sys.executable, str(REPO / "tools" / "draw_mlp_graph.py"), "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    dot = (tmp_path / "mlp_graph.dot").read_text(encoding="utf-8")
    for piece in ("0.weight", "2.bias", "CrossEntropy", "ReLU", "loss"):
        assert piece in dot
    if shutil.which("dot"):
        assert (tmp_path / "mlp_graph.png").stat().st_size > 1000
