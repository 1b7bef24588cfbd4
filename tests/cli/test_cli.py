"""python -m tinygrad_edu: info, train (on built-in and on real data), --plot, bench."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_edu import cli

REPO = Path(__file__).resolve().parents[2]
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No dataset anywhere: an empty cache, no TGE_DATA, and a working folder of its own."""
    monkeypatch.setenv("TGE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TGE_DATA", raising=False)
    monkeypatch.setenv("TGE_PROGBAR", "plain")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_cli(*args, env=None, cwd=None):
    """``python -m tinygrad_edu ARGS`` in a subprocess (what a user types)."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(REPO) + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "tinygrad_edu", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=300)


def test_info(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    import tinygrad_edu as tge

    assert out.startswith(f"tinygrad_edu {tge.__version__}\n")
    for field in ("Python:", "NumPy:", "backend:", "C kernels:", "threads:", "CPU:", "CPU features:", "MNIST:"):
        assert f"\n{field}" in out
    assert f"backend:      {tge.backend()}" in out
    assert "avx2 " in out and "avx512f " in out and "fma " in out
    assert cli.main(["info", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["threads"] == tge.get_num_threads()
    assert facts["c_kernels_built"] == tge.backends.c_available()
    assert set(facts["cpu"]["features"]) == {"avx2", "avx512f", "fma"}


def test_train_cnn_on_builtin_digits_as_a_user_runs_it(offline):
    proc = run_cli("train", "--model", "cnn", "--epochs", "1", "--limit", "256", cwd=offline)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "MNIST not found" in out and "built-in synthetic digits" in out and "256 train / 256 held-out" in out
    assert "Epoch 1/1" in out and "4/4 [==============================]" in out and "val_accuracy:" in out
    assert "test accuracy: " in out


def test_train_plot_writes_a_png(offline):
    pytest.importorskip("matplotlib")
    png = offline / "history.png"
    assert cli.main(["train", "--model", "mlp", "--epochs", "2", "--limit", "200", "--plot", str(png)]) == 0
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_plot_without_matplotlib_fails_before_training(offline, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    assert cli.main(["train", "--model", "mlp", "--limit", "50", "--plot", "h.png"]) == 1
    captured = capsys.readouterr()
    assert "--plot needs matplotlib" in captured.err and "Epoch" not in captured.out


def test_train_on_real_mnist(offline, capsys):
    if not (SHARED_MNIST / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST is not in {SHARED_MNIST}")
    assert cli.main(["train", "--data", str(SHARED_MNIST), "--epochs", "1", "--limit", "192", "--verbose", "2"]) == 0
    out = capsys.readouterr().out
    assert "data: MNIST: 192 train / 192 test images" in out
    assert "3/3 - " in out and "samples of MNIST" in out


def test_train_with_a_data_folder_that_lacks_the_files(offline, capsys):
    empty = offline / "empty"
    empty.mkdir()
    assert cli.main(["train", "--data", str(empty), "--epochs", "1"]) == 1
    err = capsys.readouterr().err
    assert "MNIST files are not there" in err and "train-images-idx3-ubyte.gz" in err


@pytest.mark.parametrize("model", ["lstm", "transformer"])
def test_train_text_models_on_builtin_sentences(offline, capsys, model):
    assert cli.main(["train", "--model", model, "--epochs", "1", "--limit", "128", "--verbose", "0"]) == 0
    out = capsys.readouterr().out
    assert "synthetic sentiment sentences" in out and "test accuracy: " in out and "Epoch" not in out


def test_usage_errors():
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "--model", "resnet"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "--epochs", "0"])
    assert exc.value.code == 2


def test_bench_without_the_script(offline, monkeypatch, capsys):
    monkeypatch.setenv("TGE_BENCH_SCRIPT", str(offline / "benches" / "compare.py"))
    assert cli.main(["bench"]) == 1
    err = capsys.readouterr().err
    assert "benches/compare.py was not found" in err and str(offline / "benches" / "compare.py") in err


def test_bench_runs_the_script_and_passes_arguments(offline, monkeypatch):
    script = offline / "benches" / "compare.py"
    script.parent.mkdir()
    script.write_text("import sys\nopen('ran.txt', 'w').write(' '.join(sys.argv[1:]))\nsys.exit(3)\n")
    monkeypatch.setenv("TGE_BENCH_SCRIPT", str(script))
    assert cli.main(["bench", "--quick", "x"]) == 3
    assert (offline / "ran.txt").read_text() == "--quick x"


def test_module_entry_point_help():
    proc = run_cli("--help")
    assert proc.returncode == 0 and "{train,predict,serve,info,bench}" in proc.stdout
