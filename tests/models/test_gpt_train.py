"""The character-level GPT job (``python -m tinygrad_edu train --model gpt``): the generated
text, the loss falling, the sample, and --save / models.load round trips."""
import numpy as np
import pytest

from tinygrad_edu.cli import main
from tinygrad_edu.models import load
from tinygrad_edu.models.gpt import GPT2LMHeadModel
from tinygrad_edu.models.gpt.charlm import CharTokenizer, grammar_text, train_char_gpt


def test_grammar_text_is_reproducible_and_small():
    a, b = grammar_text(50, seed=3), grammar_text(50, seed=3)
    assert a == b and a != grammar_text(50, seed=4)
    lines = a.splitlines()
    assert len(lines) == 50 and all(line.startswith(("the ", "did the ")) for line in lines)
    assert len(set(grammar_text(2000))) < 40   # a small alphabet


def test_char_tokenizer_round_trip_and_errors():
    tok = CharTokenizer.from_text("hello world")
    assert tok.decode(tok.encode("hello")) == "hello"
    assert CharTokenizer.from_dict(tok.to_dict()) == tok
    with pytest.raises(KeyError, match="'z'"):
        tok.encode("z")
    with pytest.raises(ValueError, match="distinct"):
        CharTokenizer("aa")


def test_training_lowers_the_loss_and_saves(tmp_path):
    lines = []
    path = tmp_path / "gpt.safetensors"
    r = train_char_gpt(steps=40, batch_size=8, seq_len=32, n_layer=1, n_embd=32, log=lines.append, save=str(path))
    assert np.mean(r.losses[-5:]) < 0.75 * np.mean(r.losses[:5])
    assert r.val_loss < r.val_loss_start
    assert any(line.startswith("step") for line in lines) and any("samples:" in line for line in lines)
    model = load(path)
    assert isinstance(model, GPT2LMHeadModel) and model.tge_metadata.kind == "generator"
    tok = model.tge_metadata.tokenizer
    assert tok == r.tokenizer
    prompt = [tok.encode("the ")]
    np.testing.assert_array_equal(model.generate(prompt, max_new_tokens=10), r.model.generate(prompt, max_new_tokens=10))


def test_cli_train_gpt(tmp_path, capsys):
    path = tmp_path / "cli.safetensors"
    assert main(["train", "--model", "gpt", "--limit", "20", "--batch-size", "4", "--save", str(path)]) == 0
    out = capsys.readouterr().out
    assert "training gpt" in out and "held-out loss after training" in out and "samples:" in out
    assert load(path).tge_metadata.class_name == "GPT2LMHeadModel"
