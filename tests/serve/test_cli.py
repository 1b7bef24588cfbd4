"""The command line: train --save, predict, and serve as a real process that shuts down gracefully."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import tinygrad_edu as tge
from tinygrad_edu.cli import main
from tinygrad_edu.models import load
from tinygrad_edu.serve.png import encode_png
from tinygrad_edu.serve.servable import softmax_rows
from tinygrad_edu.tensor import Tensor

from .conftest import digit_images, free_port

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _probabilities(path, x):
    with tge.no_grad():
        return softmax_rows(load(path)(Tensor(x)).numpy())


def test_predict_png_and_npy_print_the_in_process_answer(saved, tmp_path, capsys):
    images = digit_images(3)
    png = tmp_path / "digit.png"
    png.write_bytes(encode_png((images[0] * 255).round().astype(np.uint8)))
    npy = tmp_path / "two.npy"
    np.save(npy, images[1:])
    assert main(["predict", saved["cnn"], str(png), str(npy), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [d["input"] for d in lines] == [str(png), f"{npy}[0]", f"{npy}[1]"]
    x = np.concatenate([np.round(images[:1] * 255) / 255, images[1:]])[:, None].astype(np.float32)
    expected = _probabilities(saved["cnn"], x)
    got = np.array([[d["probabilities"][str(k)] for k in range(10)] for d in lines])
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
    assert [d["prediction"] for d in lines] == [str(k) for k in expected.argmax(axis=1)]


def test_predict_texts_from_arguments_and_a_file(saved, tmp_path, capsys):
    reviews = tmp_path / "reviews.txt"
    reviews.write_text("a superb film\n\nboring and dull\n", encoding="utf-8")
    assert main(["predict", saved["lstm"], "not good", "--file", str(reviews), "--top", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out] == ["not good", "a superb film", "boring and dull"]
    model = load(saved["lstm"])
    probs = _probabilities(saved["lstm"], model.tge_metadata.tokenizer.encode(["not good"]))[0]
    assert out[0].startswith(f"not good: {['negative', 'positive'][probs.argmax()]}  (")
    assert f"{probs.max():.3f}" in out[0]


@pytest.mark.parametrize("args, message", [
    (["predict", "missing.safetensors", "x.png"], "No such file"),
    (["predict", "{cnn}", "picture.gif"], "expected a .png or .npy"),
    (["predict", "{cnn}"], "give one or more PNG"),
    (["predict", "{cnn}", "{bad_npy}"], "shape (5,)"),
    (["predict", "{lstm}", "qqq zzz"], "no word of the model's vocabulary"),
    (["predict", "{lstm}"], "give the texts"),
])
def test_predict_errors_exit_1_with_a_message(saved, tmp_path, capsys, args, message):
    np.save(tmp_path / "bad.npy", np.zeros(5))
    names = {"cnn": saved["cnn"], "lstm": saved["lstm"], "bad_npy": str(tmp_path / "bad.npy")}
    assert main([a.format(**names) for a in args]) == 1
    assert message in capsys.readouterr().err


def test_serve_finishes_the_request_in_flight_on_sigterm_and_exits_0(saved):
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("uvicorn")
    port = free_port()
    # a long batching wait makes the request "slow": it sits in the batcher for 1.5 s
    proc = subprocess.Popen([sys.executable, "-m", "tinygrad_edu", "serve", saved["cnn"], "--port", str(port),
                             "--max-wait-ms", "1500", "--log-level", "warning"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        result = {}

        def slow_request():
            start = time.monotonic()
            r = httpx.post(url + "/v1/predict", json={"inputs": [digit_images(1)[0].tolist()]}, timeout=30)
            result.update(status=r.status_code, body=r.json(), seconds=time.monotonic() - start)

        thread = threading.Thread(target=slow_request)
        thread.start()
        time.sleep(0.5)                       # the request is now waiting in the batcher
        proc.send_signal(signal.SIGTERM)
        thread.join(30)
        assert proc.wait(30) == 0
        assert result["status"] == 200 and len(result["body"]["predictions"]) == 1
        assert result["seconds"] >= 1.0       # it really was in flight when SIGTERM came
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_train_save_writes_a_model_that_predict_and_load_accept(tmp_path, capsys):
    path = tmp_path / "mlp.safetensors"
    assert main(["train", "--model", "mlp", "--epochs", "1", "--limit", "200", "--verbose", "0",
                 "--save", str(path)]) == 0
    model = load(path)
    assert model.tge_metadata.classes == [str(d) for d in range(10)]
    assert 0.0 <= model.tge_metadata.extra["test_accuracy"] <= 1.0
    text = tmp_path / "text.safetensors"
    assert main(["train", "--model", "lstm", "--epochs", "1", "--limit", "100", "--verbose", "0",
                 "--save", str(text)]) == 0
    assert load(text).tge_metadata.tokenizer is not None
    capsys.readouterr()
    assert main(["predict", str(text), "a good and warm film"]) == 0
    assert capsys.readouterr().out.startswith("a good and warm film: ")
