"""The training script of docs/distributed.md runs under ``mpirun -np 2`` as the page says."""
import re
from pathlib import Path

from tests.distributed.mpi_helpers import run_mpi

DOC = Path(__file__).resolve().parents[2] / "docs" / "distributed.md"


def _script() -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Your own training loop", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_docs_training_script_runs_on_two_ranks(tmp_path):
    script = tmp_path / "train_ddp.py"
    script.write_text(_script(), encoding="utf-8")
    proc = run_mpi([str(script)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith("epoch ")]
    assert len(lines) == 2, proc.stdout                     # printed once, by rank 0
    assert lines[1].endswith("over 512 samples")            # the two shares cover the 512 images
    first, second = (float(re.search(r"mean loss ([\d.]+)", line).group(1)) for line in lines)
    assert second < first                                   # it learns
    assert (tmp_path / "cnn.safetensors").is_file()

    import tinygrad_edu as tge
    from tinygrad_edu.models import CNN

    CNN().load_state_dict(tge.load(str(tmp_path / "cnn.safetensors")))   # the bare model's keys
