"""The command line: ``python -m tinygrad_edu {train,predict,serve,info,bench}``.

    python -m tinygrad_edu train                      # the CNN on MNIST, or on built-in digits
    python -m tinygrad_edu train --model lstm --epochs 2 --plot history.png
    python -m tinygrad_edu train --save cnn.safetensors
    python -m tinygrad_edu predict cnn.safetensors digit.png
    python -m tinygrad_edu serve cnn.safetensors --port 8000
    python -m tinygrad_edu info                       # version, backend, threads, CPU features
    python -m tinygrad_edu bench                      # the side-by-side benchmark

``main(argv)`` returns the exit status: 0 on success, 1 when the work failed (data missing,
benchmark script missing, ...), 2 for a usage error (argparse's convention).
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    from tinygrad_edu import __version__
    from tinygrad_edu.cli.train import DEFAULTS, MODELS

    parser = argparse.ArgumentParser(prog="python -m tinygrad_edu",
                                     description="tinygrad_edu: train the articles' models, inspect the build, "
                                                 "serve them, run the benchmarks.")
    parser.add_argument("--version", action="version", version=f"tinygrad_edu {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{train,predict,serve,info,bench}")
    sub.required = True

    defaults = ", ".join(f"{m} {d['epochs']}" for m, d in DEFAULTS.items())
    train = sub.add_parser(
        "train", help="train a model and report its test accuracy",
        description="Train one of the articles' models (tinygrad_edu.models) with Adam and report the "
                    "accuracy on held-out data. mlp/cnn use MNIST when found (--data, $TGE_DATA, the cache) "
                    "and otherwise the built-in synthetic digits; lstm/transformer use rt-polarity when found "
                    "and otherwise built-in synthetic sentences; gpt trains a character-level GPT "
                    "on generated sentences and prints samples (--limit: its number of steps).")
    train.add_argument("--model", choices=MODELS, default="cnn", help="which model (default: cnn)")
    train.add_argument("--data", metavar="DIR", default=None,
                       help="folder with the data: MNIST's four IDX files (mlp, cnn) or rt-polarity.pos/.neg "
                            "(lstm, transformer); a missing file there is an error")
    train.add_argument("--download", action="store_true", help="download MNIST into the cache if it is not found")
    train.add_argument("--epochs", type=_positive_int, metavar="N", default=None,
                       help=f"passes over the training data (defaults: {defaults})")
    train.add_argument("--batch-size", type=_positive_int, metavar="N", default=None, help="mini-batch size (64)")
    train.add_argument("--lr", type=_positive_float, metavar="LR", default=None,
                       help="Adam learning rate (1e-3; lstm 2e-3)")
    train.add_argument("--plot", metavar="PNG", default=None,
                       help="write the loss and accuracy curves to this PNG file (needs matplotlib)")
    train.add_argument("--seed", type=_seed, default=0, help="random seed for data, weights and shuffling (0)")
    train.add_argument("--threads", type=_positive_int, metavar="N", default=None,
                       help="threads of the C kernels (default: TGE_NUM_THREADS or all cores)")
    train.add_argument("--limit", type=_positive_int, metavar="N", default=None,
                       help="use at most N training and N held-out samples (quick runs)")
    train.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                       help="0: results only, 1: progress bar (default), 2: one line per epoch")
    train.add_argument("--save", metavar="PATH", default=None,
                       help="write the trained model to this .safetensors file (for predict, serve and "
                            "tinygrad_edu.models.load)")

    from tinygrad_edu.cli import predict, serve

    predict.add_parser(sub)
    serve.add_parser(sub)

    info = sub.add_parser("info", help="show the version, backend, threads, CPU features and data found",
                          description="Show what this installation runs on.")
    info.add_argument("--json", action="store_true", help="print the facts as JSON")

    bench = sub.add_parser("bench", help="run the side-by-side benchmark (benches/compare.py)",
                           description="Run the side-by-side benchmark (tinygrad_edu.bench, also "
                                       "benches/compare.py); every argument after 'bench' is passed on to it "
                                       "('bench -- --help' shows its options).")
    bench.add_argument("args", nargs="*", metavar="ARG", help="arguments passed on to the benchmark")
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed >= 0, got {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"expected an integer seed in [0, 2**63), got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"] and argv[1:2] not in (["-h"], ["--help"]):
        # everything after "bench" belongs to the benchmark script, options included
        from tinygrad_edu.cli.bench import run_bench

        rest = argv[1:]
        return run_bench(rest[1:] if rest[:1] == ["--"] else rest)
    args = build_parser().parse_args(argv)
    if args.command == "info":
        from tinygrad_edu.cli.info import run_info

        return run_info(as_json=args.json)
    if args.command == "bench":
        from tinygrad_edu.cli.bench import run_bench

        return run_bench(args.args)
    if args.command == "predict":
        from tinygrad_edu.cli.predict import run_predict

        return run_predict(args)
    if args.command == "serve":
        from tinygrad_edu.cli.serve import run_serve

        return run_serve(args)
    from tinygrad_edu.cli.train import DataUnavailable, train

    try:
        train(model=args.model, data=args.data, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
              seed=args.seed, threads=args.threads, limit=args.limit, plot=args.plot, download=args.download,
              verbose=args.verbose, log=lambda line: print(line, flush=True), save=args.save)
    except DataUnavailable as exc:
        return _error(str(exc))
    except RuntimeError as exc:
        if "matplotlib" in str(exc):
            return _error(str(exc))
        raise
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    return 0
