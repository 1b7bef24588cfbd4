"""The README's four serving lines (install, train --save, serve, curl) work as written."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from tinygrad_edu.cli import build_parser, main

REPO = Path(__file__).resolve().parents[2]


def serving_lines():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Serving a model\n", 1)[1].split("\n## ", 1)[0]
    return [line.strip() for line in section.splitlines() if line.startswith("    ") and line.strip()]


def test_the_readme_shows_install_train_save_serve_curl_in_four_lines():
    install, train, serve, curl = serving_lines()
    assert install == 'pip install -e ".[serve]"'
    train_args = build_parser().parse_args(shlex.split(train)[3:])
    serve_args = build_parser().parse_args(shlex.split(serve.rstrip("&"))[3:])
    assert train_args.command == "train" and train_args.save
    assert serve_args.command == "serve" and serve_args.path == train_args.save
    assert re.search(rf"localhost:{serve_args.port}/v1/predict", curl)


def test_the_readme_commands_run(tmp_path, capsys):
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("uvicorn")
    from tinygrad_edu.serve import create_app

    from .conftest import running_server

    _, train, serve, curl = serving_lines()
    train_argv = shlex.split(train)[3:]
    saved = tmp_path / train_argv[train_argv.index("--save") + 1]
    train_argv[train_argv.index("--save") + 1] = str(saved)
    # the README's command, shortened to one small epoch
    assert main(train_argv + ["--epochs", "1", "--limit", "200", "--verbose", "0"]) == 0
    capsys.readouterr()
    body = shlex.split(curl)[shlex.split(curl).index("-d") + 1]
    with running_server(create_app(str(saved))) as url:
        r = httpx.post(url + "/v1/predict", content=body.encode())
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["predictions"][0] in ("negative", "positive") and len(out["probabilities"][0]) == 2
    assert json.loads(body)["texts"] == ["a charming and moving film"]
