"""docs/ARCHITECTURE.md's table of ops and kernels is true: it is derived here from the code
(the Function classes of tinygrad_edu/ops, the kernels they call, the kernel contract, the C
files that define the kernels, the twins, and the tests that call them) and compared with
the table in the document, between its marker lines.

After adding an op or a kernel, regenerate the table with

    python tests/docs/test_architecture.py --write
"""
import ast
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run as a script
    sys.path.insert(0, str(REPO))

from tinygrad_edu.backends import contract  # noqa: E402

DOC = REPO / "docs" / "ARCHITECTURE.md"
BEGIN, END = "<!-- ops-table-begin -->", "<!-- ops-table-end -->"
PACKAGE = REPO / "tinygrad_edu"


def _kernel_names_used(node) -> list:
    """The kernels of the contract that the code under ``node`` calls (``table.<name>(``)
    or names (``"<name>"``, for the optimizers' dispatch), in order of appearance."""
    found = []
    for sub in ast.walk(node):
        name = None
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute):
            name = sub.func.attr
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            name = sub.value
        if name in contract.KERNELS and name not in found:
            found.append(name)
    return found


def _functions(path: Path):
    """(class name, [kernels]) of every autograd Function defined in ``path`` (a class whose
    base is Function or another Function of the same file)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions, out = {"Function"}, []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
            if bases & functions:
                functions.add(node.name)
                if not node.name.startswith("_"):
                    out.append((node.name, _kernel_names_used(node)))
    return out


_TEST_TEXTS = {}


def _tests_calling(name: str) -> list:
    """The test files that import a kernel table and call kernel ``name`` (``.name(``)."""
    if not _TEST_TEXTS:
        for p in sorted((REPO / "tests").rglob("test_*.py")):
            text = p.read_text(encoding="utf-8")
            if "tinygrad_edu.backends" in text:
                _TEST_TEXTS[p.relative_to(REPO).as_posix()] = text
    pattern = re.compile(rf"\.{name}\(")
    return [path for path, text in _TEST_TEXTS.items() if pattern.search(text)]


def _row(where: str, kernels: list) -> str:
    c_files = sorted({f"csrc/{contract.c_file_of(k)}" for k in kernels})
    twins = sorted({f"numpy_ref/{contract.KERNELS[k].family}.py" for k in kernels})
    tests = sorted({t for k in kernels for t in _tests_calling(k)})
    code = lambda items: ", ".join(f"`{i}`" for i in items)  # noqa: E731
    return f"| {where} | {code(kernels)} | {code(c_files)} | {code(twins)} | {code(tests)} |"


def expected_table() -> str:
    """The markdown between the markers: one row per op that runs a kernel, then every
    Function without one, by file."""
    rows = ["| op (Function, or caller) | kernels | C file | NumPy twin | tests |",
            "|---|---|---|---|---|"]
    plain = []
    for path in sorted((PACKAGE / "ops").glob("*.py")):
        names = []
        for cls, kernels in _functions(path):
            if kernels:
                rows.append(_row(f"`ops/{path.name}` `{cls}`", kernels))
            else:
                names.append(cls)
        if names:
            plain.append(f"| `ops/{path.name}` | {', '.join(names)} |")
    for path in sorted(PACKAGE.rglob("*.py")):  # callers in the layers above ops
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.split("/")[0] not in ("nn", "optim", "models", "keras"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                kernels = _kernel_names_used(node)
                if kernels:
                    rows.append(_row(f"`{rel}` `{node.name}`", kernels))
    return "\n".join(rows + ["", "Functions that run no kernel (NumPy / CuPy array code, "
                             "the same on every backend):", "",
                             "| file | Functions |", "|---|---|"] + plain)


def documented_table() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text[text.index(BEGIN) + len(BEGIN):text.index(END)].strip("\n")


def test_the_ops_table_matches_the_code():
    assert documented_table() == expected_table(), (
        "docs/ARCHITECTURE.md's ops table is out of date; regenerate it with "
        "`python tests/docs/test_architecture.py --write`")


def test_every_kernel_appears_in_the_table():
    table = documented_table()
    missing = [k for k in contract.KERNELS if f"`{k}`" not in table]
    assert not missing, f"kernels no op calls (or missing from the table): {missing}"


def test_the_layers_picture_names_every_package():
    text = DOC.read_text(encoding="utf-8")
    picture = text[text.index("```text"):text.index("```", text.index("```text") + 7)]
    for folder in ("ops", "backends", "nn", "optim", "keras", "models", "csrc"):
        assert folder in picture, folder


if __name__ == "__main__":
    if "--write" in sys.argv:
        text = DOC.read_text(encoding="utf-8")
        head, rest = text.split(BEGIN)
        _, tail = rest.split(END)
        DOC.write_text(f"{head}{BEGIN}\n{expected_table()}\n{END}{tail}", encoding="utf-8")
    else:
        print(expected_table())
