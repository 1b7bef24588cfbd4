"""The kernel contract (tinygrad_edu/backends/contract.py): every kernel has its NumPy twin,
its C declaration, C file and C table entry, and its GPU table entry; the lists are derived
from csrc/ and the registry, and the three tables run the same checks."""
import ast
import inspect
import os

import numpy as np
import pytest

from tinygrad_edu import backends
from tinygrad_edu.backends import _build, contract, cupy_kernels
from tinygrad_edu.backends import c as ck
from tinygrad_edu.backends import numpy_ref

needs_csrc = pytest.mark.skipif(not os.path.isfile(contract.HEADER),
                                reason="no csrc/ (an installed copy)")
TABLES = [numpy_ref, ck, cupy_kernels]


def test_every_kernel_has_twin_c_entry_and_gpu_entry():
    assert contract.audit() == []


def test_audit_names_each_missing_piece():
    """A kernel missing each piece in turn is reported (the registry, header and tables
    passed in are the real ones with one thing taken away or added)."""
    kernels = dict(contract.KERNELS)
    declared = contract.header_kernels() if os.path.isfile(contract.HEADER) else sorted(kernels)
    c_impls, gpu_impls = ck.implementations(), cupy_kernels.implementations()

    without = {k: v for k, v in c_impls.items() if k != "relu_forward"}
    assert contract.audit(kernels, declared, without, gpu_impls) == [
        "relu_forward: no C table entry (a wrapper named relu_forward in "
        "backends/c/<family>.py, or elementwise=True)"]
    without = {k: v for k, v in gpu_impls.items() if k != "matmul"}
    assert contract.audit(kernels, declared, c_impls, without) == [
        "matmul: no GPU table entry (write the twin against xp, or add matmul to "
        "backends/cupy_kernels.py)"]
    problems = contract.audit(kernels, list(declared) + ["softplus_forward"], c_impls, gpu_impls)
    assert problems == ["tge_softplus_forward_f32/_f64 is declared in csrc/tge.h but has no "
                        "NumPy twin registered with @kernel"]
    if os.path.isfile(contract.HEADER):
        fewer = [d for d in declared if d != "gelu_backward"]
        assert contract.audit(kernels, fewer, c_impls, gpu_impls) == [
            "gelu_backward: no tge_gelu_backward_f32/_f64 declaration in csrc/tge.h"]


@needs_csrc
def test_sources_and_kernel_list_are_read_from_csrc():
    on_disk = sorted(f for f in os.listdir(contract.CSRC) if f.endswith(".c"))
    assert list(_build.SOURCES) == on_disk
    assert set(_build.DEPENDS) >= {"tge.h", "tge_internal.h"}
    assert set(contract.header_kernels()) == set(contract.KERNELS)
    assert contract.c_file_of("matmul") == "gemm.c"
    assert contract.c_file_of("conv2d_forward") == "conv.c"  # defined in conv_impl.inc
    assert contract.c_file_of("no_such_kernel") is None


def test_read_cdef_follows_a_family_header(tmp_path):
    """An #include "x.h" inside tge.h's cdef region is replaced by x.h's own region (how
    csrc/tge_rnn.h's declarations reach cffi); other preprocessor lines are dropped."""
    (tmp_path / "fam.h").write_text("#ifndef FAM_H\n/* cdef-begin */\nint tge_fam_f32(void);\n"
                                    "#define X 1\n/* cdef-end */\n#endif\n")
    (tmp_path / "top.h").write_text('#include <stdint.h>\n/* cdef-begin */\nint tge_top_f32(void);\n'
                                    '#include "fam.h"\nint tge_end_f32(void);\n/* cdef-end */\n')
    cdef = _build.read_cdef(str(tmp_path / "top.h"))
    assert cdef.split() == "int tge_top_f32(void); int tge_fam_f32(void); int tge_end_f32(void);".split()


@needs_csrc
def test_the_recurrent_family_header_reaches_the_cdef():
    cdef = _build.read_cdef()
    assert "typedef struct" in cdef and "tge_lstm_params;" in cdef
    for name in ("lstm_forward", "lstm_input_backward", "gru_forward"):
        assert f"tge_{name}_f32(" in cdef and f"tge_{name}_f64(" in cdef


@needs_csrc
def test_names_match_from_the_op_to_the_c_symbol():
    """`matmul` is the word everywhere: the twin, the C table, the GPU table, the symbol."""
    cdef = _build.read_cdef()
    for name in contract.KERNELS:
        assert f"tge_{name}_f32(" in cdef and f"tge_{name}_f64(" in cdef, name
        for table in TABLES:
            assert getattr(table, name).__name__ == name
    if ck.AVAILABLE:
        for name in ck._REQUIRED:
            assert hasattr(ck.lib, name), name


def test_tables_share_the_twin_signature_and_check():
    for name, spec in contract.KERNELS.items():
        for table in TABLES:
            entry = getattr(table, name)
            assert entry.kernel is spec, (table.__name__, name)
            assert inspect.signature(entry) == spec.signature, (table.__name__, name)


@pytest.mark.parametrize("table", TABLES, ids=["numpy", "c", "gpu-table-on-numpy"])
def test_every_table_refuses_with_the_same_message(table):
    if table is ck and not ck.AVAILABLE:
        pytest.skip("C kernels not built")
    a = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"matmul: \(2, 3\) @ \(2, 3\): inner sizes 3 and 2"):
        table.matmul(a, a)
    with pytest.raises(TypeError, match="relu_forward: x has dtype int64"):
        table.relu_forward(np.ones(3, np.int64))
    with pytest.raises(ValueError, match="relu_backward: shapes differ"):
        table.relu_backward(a, a.T.copy())
    with pytest.raises(TypeError, match="x must be an array, got list"):
        table.gelu_forward([1.0])


def test_kernels_for_is_the_one_dispatch(monkeypatch):
    x = np.ones(2, np.float32)
    monkeypatch.setattr(backends, "_active", "numpy")
    assert backends.kernels_for(x) is numpy_ref
    if ck.AVAILABLE:
        monkeypatch.setattr(backends, "_active", "c")
        assert backends.kernels_for(x) is ck


def _table_choices(path):
    """Where the code of ``path`` picks a kernel table other than through kernels_for:
    imports of backends' tables or of its backend choice, attribute uses of them."""
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read())
    tables = {"c", "numpy_ref", "cupy_kernels", "kernels", "backend", "_TABLES", "_active"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and "backends" in node.module:
            names = {a.name for a in node.names}
            if node.module.split(".")[-1] in tables or names & tables:
                found.append(f"line {node.lineno}: from {node.module} import {sorted(names)}")
        elif isinstance(node, ast.Import):
            found += [f"line {node.lineno}: import {a.name}" for a in node.names
                      if "backends." in a.name]
        elif isinstance(node, ast.Attribute) and node.attr in tables \
                and isinstance(node.value, ast.Name) and "backends" in node.value.id:
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_no_layer_chooses_a_table_itself():
    """ops, nn, optim, models and keras reach a kernel table only through
    backends.kernels_for (read from their code, not their docstrings)."""
    root = os.path.dirname(os.path.dirname(backends.__file__))
    offenders = []
    for sub in ("ops", "nn", "optim", "keras", "models"):
        for folder, _, files in os.walk(os.path.join(root, sub)):
            for f in sorted(files):
                if f.endswith(".py"):
                    path = os.path.join(folder, f)
                    offenders += [f"{os.path.relpath(path, root)} {where}"
                                  for where in _table_choices(path)]
    assert offenders == []


def test_table_choice_detector_finds_each_form(tmp_path):
    path = tmp_path / "layer.py"
    path.write_text("from .. import backends\nfrom ..backends import c\n"
                    "from ..backends import kernels_for\n"
                    "import tinygrad_edu.backends.numpy_ref\n"
                    "if backends.backend() == 'c':\n    pass\n")
    assert _table_choices(str(path)) == [
        "line 2: from backends import ['c']",
        "line 4: import tinygrad_edu.backends.numpy_ref",
        "line 5: backends.backend"]


def test_every_fused_kernel_has_a_twin():
    for name in ("lstm_forward", "lstm_backward", "cross_entropy_forward",
                 "cross_entropy_backward", "adam_step", "sgd_step", "gelu_forward",
                 "gelu_backward"):
        assert callable(contract.KERNELS[name].twin)


@pytest.mark.parametrize("name", ["numpy", "c"])
def test_every_backend_runs_the_same_graph(monkeypatch, name):
    """ReLU, GELU, the cross-entropy, nn.LSTM and the Adam / SGD steps call the same kernels
    of whichever table is active: no second formula hidden in an op for the NumPy backend."""
    import tinygrad_edu as tge
    import tinygrad_edu.nn.functional as F
    from tinygrad_edu import Tensor, nn, optim

    table = {"numpy": numpy_ref, "c": ck}[name]
    if table is ck and not ck.AVAILABLE:
        pytest.skip("C kernels not built")
    monkeypatch.setattr(backends, "_active", name)
    called = []
    for kernel in ("relu_forward", "relu_backward", "gelu_forward", "gelu_backward",
                   "cross_entropy_forward", "cross_entropy_backward", "lstm_forward",
                   "lstm_backward", "adam_step", "sgd_step"):
        real = getattr(table, kernel)
        monkeypatch.setattr(table, kernel,
                            lambda *a, _k=kernel, _real=real, **kw: (called.append(_k), _real(*a, **kw))[1])
    tge.manual_seed(0)
    lstm, head = nn.LSTM(3, 4, batch_first=True), nn.Linear(4, 5)
    x = Tensor(np.random.default_rng(0).standard_normal((2, 6, 3)).astype(np.float32))
    out, _ = lstm(x)
    logits = F.gelu(F.relu(head(out[:, -1])))
    loss = F.cross_entropy(logits, Tensor(np.array([1, 3])))
    loss.backward()
    optim.Adam(lstm.parameters()).step()
    optim.SGD(head.parameters(), lr=0.1, momentum=0.9).step()
    assert sorted(set(called)) == sorted(["relu_forward", "relu_backward", "gelu_forward",
                                          "gelu_backward", "cross_entropy_forward",
                                          "cross_entropy_backward", "lstm_forward",
                                          "lstm_backward", "adam_step", "sgd_step"])
