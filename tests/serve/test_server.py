"""The HTTP server, for real: uvicorn on a free loopback port, httpx as the client."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

import tinygrad_edu as tge  # noqa: E402
from tinygrad_edu.models import load  # noqa: E402
from tinygrad_edu.serve import create_app  # noqa: E402
from tinygrad_edu.serve.servable import softmax_rows  # noqa: E402
from tinygrad_edu.tensor import Tensor  # noqa: E402

from .conftest import CharTokenizer, CountingLM, digit_images, running_server  # noqa: E402

TEXTS = ["a good film", "not good , boring and dull", "the plot is superb", "awful"]


def _in_process(path, x):
    model = load(path)
    with tge.no_grad():
        return softmax_rows(model(Tensor(x)).numpy())


@pytest.fixture(scope="module")
def cnn_server(saved):
    with running_server(create_app(saved["cnn"], max_batch=16, max_wait_ms=5, max_body_bytes=200_000,
                                   max_items=16)) as url:
        yield url


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_image_predictions_equal_the_in_process_model(saved, name):
    images = digit_images(6)
    expected = _in_process(saved[name], images[:, None])
    with running_server(create_app(saved[name])) as url:
        # both accepted shapes: (28, 28) and (1, 28, 28)
        body = {"inputs": [img.tolist() for img in images[:3]] + [img[None].tolist() for img in images[3:]]}
        r = httpx.post(url + "/v1/predict", json=body)
        assert r.status_code == 200
        out = r.json()
        np.testing.assert_allclose(out["probabilities"], expected, rtol=1e-6, atol=1e-9)
        assert out["predictions"] == [str(k) for k in expected.argmax(axis=1)]
        info = httpx.get(url + "/v1/model").json()
        assert info["name"] == name.upper() and info["input_shape"] == [1, 28, 28]
        assert info["classes"] == [str(d) for d in range(10)]


@pytest.mark.parametrize("name", ["lstm", "transformer"])
def test_text_predictions_equal_the_in_process_model(saved, name):
    model = load(saved[name])
    expected = _in_process(saved[name], model.tge_metadata.tokenizer.encode(TEXTS))
    with running_server(create_app(saved[name])) as url:
        out = httpx.post(url + "/v1/predict", json={"texts": TEXTS}).json()
    np.testing.assert_allclose(out["probabilities"], expected, rtol=1e-6, atol=1e-9)
    assert out["predictions"] == [["negative", "positive"][k] for k in expected.argmax(axis=1)]


def _image(value=0.5, shape=(28, 28)):
    return np.full(shape, value).tolist()


BAD_IMAGE_REQUESTS = [
    (b"{not json", 400, "not valid JSON"),
    (b"", 400, "empty"),
    (b"\xff\xfe\x00", 400, "not UTF-8"),
    (b'{"inputs": [NaN]}', 400, "NaN"),
    (b"[" * 5000 + b"]" * 5000, 400, "nested too deeply"),
    (b"[1, 2]", 422, "JSON object"),
    (b'{"inputs": "a picture"}', 422, "must be an array"),
    (b'{"inputs": []}', 422, "empty"),
    (b'{"input": []}', 422, "unknown field"),
    (b'{"texts": ["hello"]}', 422, "takes images"),
    (json.dumps({"inputs": [_image(shape=(27, 28))]}).encode(), 422, "shape [27, 28]"),
    (json.dumps({"inputs": [_image(shape=(3, 28, 28))]}).encode(), 422, "shape [3, 28, 28]"),
    (json.dumps({"inputs": [[[0.1] * 28] * 27 + [[0.1] * 27]]}).encode(), 422, "ragged"),
    (json.dumps({"inputs": [[["x"] * 28] * 28]}).encode(), 422, "strings"),
    (json.dumps({"inputs": [[[True] * 28] * 28]}).encode(), 422, "booleans"),
    (json.dumps({"inputs": [[[None] * 28] * 28]}).encode(), 422, "nulls"),
    (json.dumps({"inputs": [7]}).encode(), 422, "nested array"),
    (json.dumps({"inputs": [_image(255.0)]}).encode(), 422, "[0, 1]"),
    (json.dumps({"inputs": [_image()]}).encode().replace(b"0.5", b"1e999", 1), 422, "not finite"),
    (json.dumps({"inputs": [_image()]}).encode().replace(b"0.5", b"-Infinity", 1), 400, "Infinity"),
    (json.dumps({"inputs": [_image()]}).encode().replace(b"0.5", b"1" + b"0" * 400, 1), 422, "too large"),
    (json.dumps({"inputs": [[]]}).encode(), 422, "shape [0]"),
    (json.dumps({"inputs": [{"pixels": 1}]}).encode(), 422, "got a JSON object"),
    (json.dumps({"inputs": [_image()], "top_k": 3}).encode(), 422, "unknown field"),
    (json.dumps({"inputs": [_image()] * 17}).encode(), 413, "at most 16"),
    (json.dumps({"inputs": [_image()] * 60}).encode(), 413, "limit is 200000"),
]


@pytest.mark.parametrize("body, status, message", BAD_IMAGE_REQUESTS,
                         ids=[f"{s}-{m}" for _, s, m in BAD_IMAGE_REQUESTS])
def test_every_bad_input_gets_a_4xx_json_error_naming_it(cnn_server, body, status, message):
    r = httpx.post(cnn_server + "/v1/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    assert message in r.json()["error"]


def test_the_server_still_serves_after_the_bad_inputs(cnn_server):
    r = httpx.post(cnn_server + "/v1/predict", json={"inputs": [_image(0.25)]})
    assert r.status_code == 200 and len(r.json()["probabilities"][0]) == 10
    assert httpx.get(cnn_server + "/healthz").json() == {"status": "ok"}


def test_oversized_chunked_body_is_refused_while_reading(cnn_server):
    def chunks():
        for _ in range(100):
            yield b" " * 10_000
    r = httpx.post(cnn_server + "/v1/predict", content=chunks())   # no content-length: chunked
    assert r.status_code == 413 and "200000-byte limit" in r.json()["error"]


def test_unknown_routes_methods_and_endpoints_are_json_4xx(cnn_server):
    for r, status in ((httpx.get(cnn_server + "/nope"), 404), (httpx.get(cnn_server + "/v1/predict"), 405),
                      (httpx.post(cnn_server + "/v1/embeddings", json={"texts": ["x"]}), 404),
                      (httpx.post(cnn_server + "/v1/generate", json={"prompt": "x"}), 404)):
        assert r.status_code == status and "error" in r.json()


def test_text_model_bad_inputs(saved):
    cases = [({"texts": "one string"}, "must be an array"), ({"texts": [3]}, "must be a string"),
             ({"texts": ["  "]}, "texts[0] is empty"), ({"texts": ["zzz qqq"]}, "no word of the model's vocabulary"),
             ({"inputs": [[0.0]]}, "takes texts")]
    with running_server(create_app(saved["lstm"])) as url:
        for body, message in cases:
            r = httpx.post(url + "/v1/predict", json=body)
            assert r.status_code == 422 and message in r.json()["error"], (body, r.text)


def test_400_requests_from_8_concurrent_clients_all_succeed(saved):
    images = digit_images(8)
    expected = _in_process(saved["cnn"], images[:, None]).argmax(axis=1)
    app = create_app(saved["cnn"], max_batch=32, max_wait_ms=5)
    with running_server(app) as url:
        def client(k):
            answers = []
            with httpx.Client(base_url=url, timeout=30) as c:
                for j in range(50):
                    i = (k + j) % 8
                    r = c.post("/v1/predict", json={"inputs": [images[i].tolist()]})
                    answers.append((r.status_code, r.json()["predictions"][0], i))
            return answers
        with ThreadPoolExecutor(8) as pool:
            results = [a for answers in pool.map(client, range(8)) for a in answers]
        assert len(results) == 400
        assert all(status == 200 and pred == str(expected[i]) for status, pred, i in results)
        assert httpx.get(url + "/healthz").json() == {"status": "ok"}
        batcher = app.state.batcher
        assert batcher.items == 400 and batcher.batches < 400     # requests shared forward passes


def test_generate_streams_tokens_from_a_generic_model():
    model = CountingLM(delay=0.005)
    with running_server(create_app(model, tokenizer=CharTokenizer(), max_new_tokens=20)) as url:
        events = []
        with httpx.stream("POST", url + "/v1/generate", json={"prompt": "abc", "max_new_tokens": 5}) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            for line in r.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
        assert [e["text"] for e in events[:-1]] == list("defgh")
        assert events[-1] == {"done": True, "text": "defgh", "tokens": [3, 4, 5, 6, 7], "finish_reason": "length"}
        r = httpx.post(url + "/v1/generate", json={"prompt": "xy", "max_new_tokens": 3, "stream": False})
        assert r.json() == {"text": "z a", "tokens": [25, 26, 0], "finish_reason": "length"}
        info = httpx.get(url + "/v1/model").json()
        assert info["kind"] == "generator" and info["max_new_tokens"] == 20
        for body, message in [({"prompt": ""}, "non-empty string"), ({"prompt": "ab", "max_new_tokens": 21}, "[1, 20]"),
                              ({"prompt": "ab", "temperature": "hot"}, "temperature"),
                              ({"prompt": "ab", "top_k": 0}, "top_k"), ({"prompt": "ab", "stream": "yes"}, "stream"),
                              ({"prompt": "AB"}, "cannot be tokenized"), ({"text": "ab"}, "unknown field")]:
            r = httpx.post(url + "/v1/generate", json=body)
            assert r.status_code == 422 and message in r.json()["error"], (body, r.text)
        assert httpx.post(url + "/v1/predict", json={"inputs": [[0]]}).status_code == 404


def test_embeddings_from_a_bert_folder_equal_encode_sentences():
    from tinygrad_edu.models.bert import BertModel, BertTokenizer, encode_sentences, find_minilm_checkpoint

    folder = find_minilm_checkpoint()
    if folder is None:
        pytest.skip("the all-MiniLM-L6-v2 checkpoint is not installed")
    texts = ["A man is eating food.", "A cat sits on the mat.", "Serving models over HTTP."]
    expected = encode_sentences(BertModel.from_pretrained(folder), BertTokenizer.from_pretrained(folder), texts)
    with running_server(create_app(folder, max_wait_ms=20)) as url:
        with ThreadPoolExecutor(3) as pool:   # three concurrent requests, batched together
            outs = list(pool.map(lambda t: httpx.post(url + "/v1/embeddings", json={"texts": [t]}, timeout=60), texts))
        assert httpx.get(url + "/v1/model").json()["dim"] == expected.shape[1]
        r = httpx.post(url + "/v1/embeddings", json={"texts": [1]})
        assert r.status_code == 422
    got = np.array([o.json()["embeddings"][0] for o in outs])
    np.testing.assert_allclose(got, expected, atol=2e-5)
