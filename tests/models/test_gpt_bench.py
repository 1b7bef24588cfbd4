"""The GPT benchmark (tinygrad_edu/bench/gpt.py, benches/bench_gpt.py) runs end to end on
tiny sizes, and every library generates the same greedy tokens from the same weights."""
import json

import pytest


def test_gpt_bench_smoke(tmp_path, capsys):
    pytest.importorskip("torch")
    from tinygrad_edu.bench.gpt import main

    out = tmp_path / "gpt.json"
    report = main(["--layers", "1", "--dim", "32", "--heads", "2", "--seq", "16", "--batch", "2",
                   "--vocab", "40", "--repeats", "1", "--rounds", "1", "--gen-tokens", "6", "--no-cache",
                   "--json", str(out)])
    assert set(report["train_step_s"]) == {"tge", "torch"}
    assert all(report["same_tokens_as_tge"].values()), report["same_tokens_as_tge"]
    assert {"tge", "torch", "tge-no-cache"} <= set(report["generation"])
    assert json.loads(out.read_text())["config"]["layers"] == 1
    assert "ratio tge/torch" in capsys.readouterr().out
