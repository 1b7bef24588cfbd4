"""``python -m tinygrad_edu predict PATH INPUT...``: run a saved model on a few inputs and print its answer.

    python -m tinygrad_edu predict cnn.safetensors digit.png more.npy
    python -m tinygrad_edu predict lstm.safetensors "a charming, moving film" "dull and flat"
    python -m tinygrad_edu predict lstm.safetensors --file reviews.txt --json

Image models (MLP, CNN) take PNG files (28x28, grey or colour, composited on black; ``--invert``
for dark digits on a light background, since MNIST digits are light on dark) and ``.npy`` files
holding one image (28, 28) / (1, 28, 28) or a stack (N, 28, 28) / (N, 1, 28, 28): uint8 values
are divided by 255, float values must already lie in [0, 1]. Text models take each argument as
one text, or each non-empty line of ``--file`` (``-`` reads standard input).
For each input one line: the predicted class, its probability, and the next best classes.
A generator (a GPT saved by ``train --model gpt --save``, or a GPT-2 folder) takes each text
as a prompt and prints its continuation (``--max-new-tokens``, ``--temperature``: 0, the
default, picks the likeliest token each time; ``--top-k``).
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

__all__ = ["add_parser", "run_predict", "load_images"]


def add_parser(sub) -> argparse.ArgumentParser:
    """Register the ``predict`` subcommand on an argparse subparsers object."""
    p = sub.add_parser("predict", help="run a saved model (train --save) on images or texts",
                       description="Load a model saved by 'train --save' and print the class and probabilities "
                                   "for each input: PNG/.npy files for mlp/cnn, texts for lstm/transformer.")
    p.add_argument("path", metavar="PATH", help="the saved model (.safetensors from train --save)")
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="PNG or .npy files (image models) or texts (text models)")
    p.add_argument("--file", metavar="FILE", default=None, help="text models: one text per line ('-': standard input)")
    p.add_argument("--invert", action="store_true", help="images: use 1 - pixel (dark digits on a light background)")
    p.add_argument("--top", type=int, default=3, metavar="K", help="how many classes to show per input (3)")
    p.add_argument("--json", action="store_true", help="print one JSON object per input instead")
    p.add_argument("--max-new-tokens", type=int, default=None, metavar="N",
                   help="generators: how many tokens to add to each prompt (40, or what the context has left)")
    p.add_argument("--temperature", type=float, default=0.0, metavar="T",
                   help="generators: 0 picks the likeliest token (default); higher samples more freely")
    p.add_argument("--top-k", type=int, default=None, metavar="K", help="generators: sample among the K likeliest")
    return p


def load_images(path: str, invert: bool = False) -> np.ndarray:
    """A PNG or .npy file -> float32 (N, 28, 28) in [0, 1]. Raises ValueError naming the problem."""
    from ..serve.png import decode_png, to_grey

    lower = path.lower()
    if lower.endswith(".png"):
        with open(path, "rb") as f:
            images = to_grey(decode_png(f.read()))[None]
    elif lower.endswith(".npy"):
        arr = np.load(path, allow_pickle=False)
        if arr.dtype.kind not in "iuf":
            raise ValueError(f"{path}: the array has dtype {arr.dtype}; expected numbers")
        if arr.ndim == 4 and arr.shape[1] == 1:
            arr = arr[:, 0]
        elif arr.ndim == 3 and arr.shape[0] == 1 and arr.shape[1:] == (28, 28):
            pass
        elif arr.ndim == 2:
            arr = arr[None]
        if arr.ndim != 3:
            raise ValueError(f"{path}: shape {arr.shape}; expected (28, 28), (1, 28, 28), (N, 28, 28) "
                             "or (N, 1, 28, 28)")
        images = arr.astype(np.float32) / (np.float32(255.0) if arr.dtype == np.uint8 else np.float32(1.0))
    else:
        raise ValueError(f"{path}: expected a .png or .npy file")
    if images.shape[1:] != (28, 28):
        raise ValueError(f"{path}: the image is {images.shape[2]}x{images.shape[1]} pixels; the models take 28x28")
    return 1.0 - images if invert else images


def _texts(args) -> list:
    texts = list(args.inputs)
    if args.file == "-":
        texts += [line.strip() for line in sys.stdin if line.strip()]
    elif args.file is not None:
        with open(args.file, encoding="utf-8") as f:
            texts += [line.strip() for line in f if line.strip()]
    return texts


def run_predict(args) -> int:
    """Run the predict command; returns the exit status (0 ok, 1 bad model or input)."""
    from ..serve.servable import InputError, ServedModel

    try:
        served = ServedModel.from_path(args.path)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if served.kind == "generator":
        return _continue_prompts(served, args)
    if served.kind != "classifier":
        print(f"error: {args.path} is a {served.kind} model; predict runs the classifiers and generators of "
              "train --save (serve it for /v1/embeddings)", file=sys.stderr)
        return 1
    try:
        if served.input_kind == "text":
            labels = _texts(args)
            if not labels:
                raise ValueError("give the texts as arguments or with --file")
            rows = served.parse_predict({"texts": labels})
        else:
            if not args.inputs:
                raise ValueError("give one or more PNG or .npy files")
            if args.file is not None:
                raise ValueError("--file is for text models; give image files as arguments")
            labels, rows = [], []
            for path in args.inputs:
                images = load_images(path, args.invert)
                for k, image in enumerate(images):
                    labels.append(path if len(images) == 1 else f"{path}[{k}]")
                    rows.append(served._image(image.reshape(served.input_shape).tolist(), len(rows)))
    except InputError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    results = served.predict_batch(rows)
    names = served.classes or [str(k) for k in range(len(results[0]["probabilities"]))]
    for label, result in zip(labels, results):
        probs = np.nan_to_num(np.asarray(result["probabilities"], dtype=np.float64), nan=0.0)
        if args.json:
            print(json.dumps({"input": label, "prediction": result["prediction"],
                              "probabilities": dict(zip(names, result["probabilities"]))}))
            continue
        order = np.argsort(-probs, kind="stable")[:max(1, args.top)]
        best = ", ".join(f"{names[k]} {probs[k]:.3f}" for k in order)
        print(f"{label}: {result['prediction']}  ({best})")
    return 0


def _continue_prompts(served, args) -> int:
    """predict for a generator: each text is a prompt; print prompt + continuation."""
    from ..serve.servable import InputError

    prompts = _texts(args)
    if not prompts:
        print("error: give the prompts as arguments or with --file", file=sys.stderr)
        return 1
    wanted = args.max_new_tokens
    served.max_new_tokens = max(1, 40 if wanted is None else wanted)
    body = {"temperature": args.temperature, "top_k": args.top_k}
    try:
        jobs = []
        for prompt in prompts:
            job = served.parse_generate({"prompt": prompt, "max_new_tokens": 1 if wanted is None else wanted, **body})
            if wanted is None:   # 40 new tokens, or as many as the model's context has room for
                room = (served.context_size() or 10**9) - len(job.prompt_ids)
                job.max_new_tokens = max(1, min(40, room))
            jobs.append(job)
    except InputError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    for prompt, job in zip(prompts, jobs):
        tokens = [token for token, _ in served.stream_tokens(job)]
        text = served.tokenizer.decode(tokens)
        if args.json:
            reason = "length" if len(tokens) >= job.max_new_tokens else "eos"
            print(json.dumps({"input": prompt, "text": text, "tokens": tokens, "finish_reason": reason}))
        else:
            print(f"{prompt}{text}")
    return 0
