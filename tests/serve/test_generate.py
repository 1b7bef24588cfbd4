"""POST /v1/generate: streaming as server-sent events, stopping rules, refusals, and a served GPT-2 folder."""
from __future__ import annotations

import json
import types

import numpy as np
import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

from tinygrad_edu.serve import create_app  # noqa: E402
from tinygrad_edu.serve.servable import ServedModel  # noqa: E402

from .conftest import CharTokenizer, CountingLM, running_server  # noqa: E402


def sse_events(url, body):
    """POST body to /v1/generate and read the event stream: (status, content type, [event, ...])."""
    events = []
    with httpx.stream("POST", url + "/v1/generate", json=body, timeout=30) as r:
        for line in r.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[len("data: "):]))
        return r.status_code, r.headers["content-type"], events


class ByteTokenizer:
    """Stand-in byte-level tokenizer (as GPT-2's): one token per UTF-8 byte."""

    def encode(self, text):
        return list(text.encode("utf-8"))

    def decode(self, ids):
        return bytes(ids).decode("utf-8", errors="replace")


class ScriptedLM:
    """Stand-in generator that emits a fixed token script, whatever the prompt; ``config``
    gives the end-of-text token and the context size, as a GPT-2's does."""

    def __init__(self, script, eos=None, n_positions=None):
        self.script = list(script)
        self.config = types.SimpleNamespace(eos_token_id=eos, n_positions=n_positions)

    def generate(self, input_ids, max_new_tokens=1, temperature=1.0, top_k=None):
        ids = np.asarray(input_ids, dtype=np.int64)
        for _ in range(max_new_tokens):
            k = ids.shape[1] - self.prompt_len
            ids = np.concatenate([ids, [[self.script[k % len(self.script)]]]], axis=1)
        return ids

    def start(self, prompt_len):
        self.prompt_len = prompt_len
        return self


def test_pieces_hold_back_half_characters_and_join_to_the_text():
    text = "é€x"                                   # 2 + 3 + 1 bytes
    model = ScriptedLM(list(text.encode("utf-8"))).start(2)
    with running_server(create_app(model, tokenizer=ByteTokenizer(), max_new_tokens=16)) as url:
        status, ctype, events = sse_events(url, {"prompt": "ab", "max_new_tokens": 6})
    assert status == 200 and ctype.startswith("text/event-stream")
    pieces = [e["text"] for e in events[:-1]]
    assert pieces == ["", "é", "", "", "€", "x"]            # never a U+FFFD sent
    assert "".join(pieces) == events[-1]["text"] == text
    assert events[-1]["tokens"] == list(text.encode("utf-8")) and events[-1]["finish_reason"] == "length"


def test_generation_stops_at_the_end_of_text_token():
    model = ScriptedLM([7, 8, 26, 9], eos=9).start(1)     # "hi " then end-of-text
    with running_server(create_app(model, tokenizer=CharTokenizer(), max_new_tokens=16)) as url:
        status, _, events = sse_events(url, {"prompt": "a", "max_new_tokens": 10})
        assert status == 200
        assert [e["token"] for e in events[:-1]] == [7, 8, 26]
        assert events[-1] == {"done": True, "text": "hi ", "tokens": [7, 8, 26], "finish_reason": "eos"}
        r = httpx.post(url + "/v1/generate", json={"prompt": "a", "max_new_tokens": 2, "stream": False})
        assert r.json() == {"text": "hi", "tokens": [7, 8], "finish_reason": "length"}


def test_prompt_plus_new_tokens_beyond_the_context_is_a_422():
    model = ScriptedLM([0], n_positions=8).start(1)
    with running_server(create_app(model, tokenizer=CharTokenizer(), max_new_tokens=16)) as url:
        r = httpx.post(url + "/v1/generate", json={"prompt": "abcdef", "max_new_tokens": 3})
        assert r.status_code == 422 and "8 positions" in r.json()["error"]
        status, _, events = sse_events(url, {"prompt": "abcdef", "max_new_tokens": 2})
        assert status == 200 and events[-1]["done"]


def test_bad_generate_bodies_get_4xx_and_the_server_keeps_serving():
    with running_server(create_app(CountingLM(), tokenizer=CharTokenizer(), max_new_tokens=8,
                                   max_body_bytes=1000)) as url:
        cases = [(b"{", 400, "not valid JSON"), (b'{"prompt": "ab", "temperature": NaN}', 400, "NaN"),
                 (b'{"prompt": "ab", "temperature": 1e999}', 422, "temperature"),
                 (b'{"prompt": "ab", "max_new_tokens": 2.5}', 422, "max_new_tokens"),
                 (b'{"prompt": "ab", "max_new_tokens": true}', 422, "max_new_tokens"),
                 (b'{"prompt": ["ab"]}', 422, "non-empty string"), (b'"ab"', 422, "JSON object"),
                 (b'{"prompt": "' + b"a" * 2000 + b'"}', 413, "limit is 1000")]
        for body, status, message in cases:
            r = httpx.post(url + "/v1/generate", content=body, headers={"content-type": "application/json"})
            assert r.status_code == status and message in r.json()["error"], (body[:40], r.text)
        status, _, events = sse_events(url, {"prompt": "ab", "max_new_tokens": 3})
        assert status == 200 and events[-1]["text"] == "cde"
        assert httpx.get(url + "/healthz").json() == {"status": "ok"}


def test_a_failing_model_reports_the_error_in_the_stream():
    class Broken(CountingLM):
        def generate(self, input_ids, **kwargs):
            if np.asarray(input_ids).shape[1] > 3:
                raise RuntimeError("the model broke")
            return super().generate(input_ids, **kwargs)

    with running_server(create_app(Broken(), tokenizer=CharTokenizer(), max_new_tokens=8)) as url:
        status, _, events = sse_events(url, {"prompt": "ab", "max_new_tokens": 5})
        assert status == 200 and [e.get("text") for e in events[:2]] == ["c", "d"]
        assert "the model broke" in events[-1]["error"]
        assert httpx.get(url + "/healthz").status_code == 200


def test_a_folder_must_name_a_servable_model_type(tmp_path):
    with pytest.raises(ValueError, match="without config.json"):
        ServedModel.from_path(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "t5"}))
    with pytest.raises(ValueError, match="'t5' cannot be served"):
        ServedModel.from_path(tmp_path)


# ---------------------------------------------------------------------------------------------
# A real (tiny, random) GPT-2 served from a Hugging Face-format folder
# ---------------------------------------------------------------------------------------------
GPT_SIZES = dict(vocab_size=259, n_positions=48, n_embd=16, n_layer=2, n_head=2, eos_token_id=256, bos_token_id=256)


@pytest.fixture(scope="module")
def gpt_folder(tmp_path_factory):
    """config.json, model.safetensors (Hugging Face names, Conv1D weights stored (in, out)),
    vocab.json (the 256 byte symbols, <|endoftext|>, two merges) and merges.txt."""
    gpt = pytest.importorskip("tinygrad_edu.models.gpt")
    from tinygrad_edu.models.gpt.bpe import bytes_to_unicode
    from tinygrad_edu.models.gpt.loading import CONV1D_WEIGHTS

    import tinygrad_edu as tge

    folder = tmp_path_factory.mktemp("tiny_gpt2")
    tge.manual_seed(3)
    model = gpt.GPT2LMHeadModel(gpt.GPT2Config(**GPT_SIZES))
    tensors = {name: (value.T.copy() if name.endswith(CONV1D_WEIGHTS) else value)
               for name, value in model.state_dict().items()}
    tge.save(tensors, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({**GPT_SIZES, "model_type": "gpt2"}))
    symbols = bytes_to_unicode()
    vocab = {symbols[b]: b for b in range(256)}
    vocab.update({"<|endoftext|>": 256, "he": 257, "ll": 258})
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\nh e\nl l\n", encoding="utf-8")
    return str(folder)


def test_a_gpt2_folder_streams_the_in_process_models_greedy_tokens(gpt_folder):
    from tinygrad_edu.models.gpt import GPT2LMHeadModel, GPT2Tokenizer

    tok = GPT2Tokenizer.from_pretrained(gpt_folder)
    prompt = "hello, wörld"
    ids = tok.encode(prompt)
    assert 257 in ids and 258 in ids                       # the merges were applied
    expected = GPT2LMHeadModel.from_pretrained(gpt_folder).generate([ids], max_new_tokens=12,
                                                                    do_sample=False)[0, len(ids):].tolist()
    if 256 in expected:                                    # the server stops at <|endoftext|>
        expected = expected[:expected.index(256)]
    with running_server(create_app(gpt_folder, max_new_tokens=30)) as url:
        info = httpx.get(url + "/v1/model").json()
        status, _, events = sse_events(url, {"prompt": prompt, "max_new_tokens": 12, "temperature": 0})
        r = httpx.post(url + "/v1/generate", json={"prompt": prompt, "max_new_tokens": 12, "temperature": 0,
                                                    "stream": False})
        too_long = httpx.post(url + "/v1/generate", json={"prompt": "x" * 40, "max_new_tokens": 9})
        sampled = httpx.post(url + "/v1/generate", json={"prompt": prompt, "max_new_tokens": 5, "top_k": 3,
                                                          "stream": False})
    assert info["kind"] == "generator" and info["name"] == "GPT2LMHeadModel" and info["context"] == 48
    assert status == 200 and events[-1]["done"] and events[-1]["tokens"] == expected
    assert [e["token"] for e in events[:-1]] == expected
    assert events[-1]["text"] == tok.decode(expected) and r.json()["tokens"] == expected
    assert too_long.status_code == 422 and "48 positions" in too_long.json()["error"]
    assert sampled.status_code == 200 and all(0 <= t < 259 for t in sampled.json()["tokens"])


def test_a_gpt_saved_with_save_model_is_served_with_its_char_tokenizer(tmp_path):
    from tinygrad_edu.models import load, saved

    if "GPT2LMHeadModel" not in saved.MODEL_CLASSES:
        pytest.skip("save_model does not take GPT2LMHeadModel in this version")
    from tinygrad_edu.models.gpt import GPT2Config, GPT2LMHeadModel
    from tinygrad_edu.models.gpt.charlm import CharTokenizer

    import tinygrad_edu as tge

    tge.manual_seed(5)
    tok = CharTokenizer("abcdefgh .")
    path = str(tmp_path / "chargpt.safetensors")
    saved.save_model(GPT2LMHeadModel(GPT2Config(vocab_size=10, n_positions=24, n_embd=16, n_layer=1, n_head=2)),
                     path, tokenizer=tok)
    ids = tok.encode("a bad cab")
    expected = load(path).generate([ids], max_new_tokens=6, do_sample=False)[0, len(ids):].tolist()
    with running_server(create_app(path)) as url:
        info = httpx.get(url + "/v1/model").json()
        status, _, events = sse_events(url, {"prompt": "a bad cab", "max_new_tokens": 6, "temperature": 0})
        bad = httpx.post(url + "/v1/generate", json={"prompt": "xyz"})
        wrong_endpoint = httpx.post(url + "/v1/predict", json={"texts": ["abc"]})
    assert info["kind"] == "generator" and info["context"] == 24
    assert status == 200 and events[-1]["tokens"] == expected and events[-1]["text"] == tok.decode(expected)
    assert bad.status_code == 422 and "cannot be tokenized" in bad.json()["error"]
    assert wrong_endpoint.status_code == 404 and "/v1/generate" in wrong_endpoint.json()["error"]


def test_predict_continues_prompts_with_a_saved_gpt(tmp_path, capsys):
    from tinygrad_edu.cli import main
    from tinygrad_edu.models import load, saved

    if "GPT2LMHeadModel" not in saved.MODEL_CLASSES:
        pytest.skip("save_model does not take GPT2LMHeadModel in this version")
    from tinygrad_edu.models.gpt import GPT2Config, GPT2LMHeadModel
    from tinygrad_edu.models.gpt.charlm import CharTokenizer

    import tinygrad_edu as tge

    tge.manual_seed(6)
    tok = CharTokenizer("abcdefgh .")
    path = str(tmp_path / "chargpt.safetensors")
    saved.save_model(GPT2LMHeadModel(GPT2Config(vocab_size=10, n_positions=24, n_embd=16, n_layer=1, n_head=2)),
                     path, tokenizer=tok)
    model = load(path)
    expected = [model.generate([tok.encode(p)], max_new_tokens=5, do_sample=False)[0, len(p):].tolist()
                for p in ("a bad", "cab ")]
    assert main(["predict", path, "a bad", "cab ", "--max-new-tokens", "5", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [d["tokens"] for d in lines] == expected and [d["input"] for d in lines] == ["a bad", "cab "]
    assert [d["text"] for d in lines] == [tok.decode(e) for e in expected]
    assert main(["predict", path, "a bad"]) == 0
    assert capsys.readouterr().out.startswith("a bad")
    assert main(["predict", path, "xyz"]) == 1 and "cannot be tokenized" in capsys.readouterr().err
    assert main(["predict", path, "a bad", "--max-new-tokens", "30"]) == 1
    assert "24 positions" in capsys.readouterr().err


def test_the_server_answers_while_the_model_works():
    import threading
    import time

    model = CountingLM(delay=0.05)                       # 20 tokens: about 1 s of model time
    with running_server(create_app(model, tokenizer=CharTokenizer(), max_new_tokens=20)) as url:
        done = {}
        worker = threading.Thread(target=lambda: done.update(events=sse_events(
            url, {"prompt": "a", "max_new_tokens": 20})[2], at=time.monotonic()))
        worker.start()
        while model.calls == 0:                          # generation has started
            time.sleep(0.01)
        start = time.monotonic()
        assert httpx.get(url + "/healthz", timeout=5).status_code == 200
        answered = time.monotonic()
        worker.join(30)
    assert answered - start < 0.5 and answered < done["at"]   # not stuck behind the model
    assert done["events"][-1]["text"] == "bcdefghijklmnopqrstu"
