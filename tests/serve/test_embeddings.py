"""POST /v1/embeddings for a BERT folder: a tiny random BERT always, all-MiniLM-L6-v2 in test_server.py
when its package is installed."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

import tinygrad_edu as tge  # noqa: E402
from tinygrad_edu.models.bert import BertConfig, BertModel, BertTokenizer, encode_sentences  # noqa: E402
from tinygrad_edu.serve import create_app  # noqa: E402

from .conftest import running_server  # noqa: E402

TINY = dict(vocab_size=40, hidden_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=32,
            max_position_embeddings=32, type_vocab_size=2)
WORDS = "a man is eating food the cat sits on mat serving models over http fast".split()
TEXTS = ["A man is eating food.", "The cat sits on the mat", "serving models over HTTP", "fast fast fast"]


@pytest.fixture(scope="module")
def bert_folder(tmp_path_factory):
    """A Hugging Face-format folder (config.json, model.safetensors, vocab.txt) of a tiny random BERT."""
    folder = tmp_path_factory.mktemp("tiny_bert")
    tge.manual_seed(7)
    model = BertModel(BertConfig(**TINY))
    (folder / "config.json").write_text(json.dumps({**TINY, "model_type": "bert"}))
    tge.save(model.state_dict(), str(folder / "model.safetensors"))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", *WORDS]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return str(folder)


def test_embeddings_equal_the_in_process_encoder_and_requests_share_passes(bert_folder):
    expected = encode_sentences(BertModel.from_pretrained(bert_folder), BertTokenizer.from_pretrained(bert_folder),
                                TEXTS)
    app = create_app(bert_folder, max_batch=4, max_wait_ms=1000)   # waits for the four (at most 1 s)
    with running_server(app) as url:
        with ThreadPoolExecutor(4) as pool:       # four concurrent one-text requests
            outs = list(pool.map(lambda t: httpx.post(url + "/v1/embeddings", json={"texts": [t]}, timeout=30),
                                 TEXTS))
        both = httpx.post(url + "/v1/embeddings", json={"texts": TEXTS[:2]}).json()
        info = httpx.get(url + "/v1/model").json()
    assert all(o.status_code == 200 for o in outs)
    got = np.array([o.json()["embeddings"][0] for o in outs])
    # padding to a longer batch changes float32 rounding only
    np.testing.assert_allclose(got, expected, atol=2e-6)
    np.testing.assert_allclose(both["embeddings"], expected[:2], atol=2e-6)
    assert both["dim"] == 16 and info["kind"] == "embedding" and info["dim"] == 16
    assert app.state.batcher.batches < app.state.batcher.items    # some requests were batched together


def test_bad_embedding_requests_get_4xx_and_the_server_keeps_serving(bert_folder):
    cases = [({"texts": "one"}, 422, "must be an array"), ({"texts": []}, 422, "empty"),
             ({"texts": [None]}, 422, "must be a string"), ({"texts": [""]}, 422, "texts[0] is empty"),
             ({"texts": ["ok"], "normalize": True}, 422, "unknown field"), ({"inputs": [[0.5]]}, 422, "unknown field"),
             ({"texts": ["x"] * 9}, 413, "at most 8"), ({"texts": ["x" * 10_001]}, 413, "at most 10000")]
    with running_server(create_app(bert_folder, max_items=8)) as url:
        for body, status, message in cases:
            r = httpx.post(url + "/v1/embeddings", json=body)
            assert r.status_code == status and message in r.json()["error"], (body, r.text)
        assert httpx.post(url + "/v1/predict", json={"inputs": [[0.5]]}).status_code == 404
        r = httpx.post(url + "/v1/embeddings", json={"texts": ["the cat"]})
        assert r.status_code == 200 and len(r.json()["embeddings"][0]) == 16
