"""The long fuzz run of the C kernels: many random cases per entry point, in parallel.

The short run is part of the test suite (tests/fuzz/test_fuzz_kernels.py, a few hundred
cases); this runs the same targets (tests/fuzz/harness/) for as long as you like, drawing
cases from NumPy generators, which is much faster than hypothesis.  Run from the repository
root:

    python tools/fuzz.py --cases 100000              # ~100k cases over every target
    python tools/fuzz.py --cases 5000 --targets raw_conv,invalid --seed 7
    python tools/fuzz.py --replay failure.json       # run one recorded case, verbosely

Under the sanitizers (see docs/reliability.md), with the module .ci/sanitizers builds:

    TGE_C_MODULE_DIR=/tmp/tge_asan LD_PRELOAD=$(gcc -print-file-name=libasan.so) \\
        ASAN_OPTIONS=detect_leaks=0 python tools/fuzz.py --cases 20000 --jobs 2

Case ``i`` of target ``t`` is drawn from ``numpy.random.default_rng([seed, t, i])``, so a run
is reproducible.  Each worker process (spawned, never forked: the kernels use OpenMP) runs
batches of cases per call and writes the case it is on to a breadcrumb file, so a case that
crashes the process is still named.  Failures are written as JSON (``--failures``) that
``--replay`` takes back.  Exit status: 0 when every case passed, 1 otherwise.
"""
from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import multiprocessing
import os
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

BATCH = 250  # cases per call into a worker


def _plan(total: int, names: list) -> dict:
    """Share ``total`` cases among targets by weight."""
    from tests.fuzz import harness

    weights = {n: harness.TARGETS[n].weight for n in names}
    scale = total / sum(weights.values())
    counts = {n: int(w * scale) for n, w in weights.items()}
    for n in names[: total - sum(counts.values())]:
        counts[n] += 1
    return counts


def _run_batch(name: str, target_index: int, seed: int, start: int, count: int,
               breadcrumb: str, keep: int):
    """Worker: cases start .. start+count-1 of one target -> (tags, failures, seconds)."""
    import numpy as np

    from tests.fuzz import harness

    target = harness.TARGETS[name]
    tags = collections.Counter()
    failures = []
    began = time.perf_counter()
    for i in range(start, start + count):
        rng = np.random.default_rng([seed, target_index, i])
        case = target.generate(harness.RandomSource(rng))
        with open(breadcrumb, "w", encoding="utf-8") as f:
            json.dump({"target": name, "index": i, "case": case}, f)
        try:
            tags[harness.run_case(name, case)] += 1
        except Exception as exc:  # a discrepancy (AssertionError) or anything escaping
            tags["FAILED"] += 1
            if len(failures) < keep:
                failures.append({"target": name, "index": i, "case": case,
                                 "error": f"{type(exc).__name__}: {exc}"[:4000],
                                 "traceback": traceback.format_exc()[-4000:]})
    return dict(tags), failures, time.perf_counter() - began


def run(cases: int, seed: int, jobs: int, names: list, keep: int, time_limit: float):
    from tests.fuzz import harness
    from tinygrad_edu.backends import c

    if not c.AVAILABLE:
        raise SystemExit(f"the C kernels are not available: {c.LOAD_ERROR}")
    index = {n: i for i, n in enumerate(sorted(harness.TARGETS))}
    counts = _plan(cases, names)
    crumbs = tempfile.mkdtemp(prefix="tge_fuzz_")
    work = [(n, start, min(BATCH, counts[n] - start))
            for n in names for start in range(0, counts[n], BATCH)]
    work.sort(key=lambda w: (w[1], w[0]))  # interleave the targets
    tags = {n: collections.Counter() for n in names}
    seconds = collections.Counter()
    failures = []
    crashed = []
    began = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
        pending = {}
        queue = list(work)
        slot = 0
        while queue or pending:
            while queue and len(pending) < 2 * jobs:
                if time.perf_counter() - began > time_limit:
                    queue.clear()
                    break
                name, start, count = queue.pop(0)
                crumb = os.path.join(crumbs, f"{name}-{start}.json")
                fut = pool.submit(_run_batch, name, index[name], seed, start, count, crumb, keep)
                pending[fut] = (name, crumb)
                slot += 1
            done, _ = concurrent.futures.wait(pending, return_when="FIRST_COMPLETED")
            for fut in done:
                name, crumb = pending.pop(fut)
                try:
                    batch_tags, batch_failures, secs = fut.result()
                except concurrent.futures.process.BrokenProcessPool:
                    with open(crumb, encoding="utf-8") as f:
                        crashed.append(json.load(f))
                    raise SystemExit(_crash_report(crashed[-1]))
                tags[name].update(batch_tags)
                seconds[name] += secs
                failures.extend(batch_failures)
    return tags, seconds, failures, time.perf_counter() - began


def _crash_report(crumb) -> str:
    return ("a worker process died (a crash in C?) while running this case; replay it with "
            f"`python tools/fuzz.py --replay FILE` on this JSON:\n{json.dumps(crumb)}")


def replay(path: str) -> int:
    from tests.fuzz import harness

    with open(path, encoding="utf-8") as f:
        records = json.load(f)
    records = records if isinstance(records, list) else [records]
    status = 0
    for record in records:
        print(f"{record['target']} case {record.get('index')}: {record['case']}")
        try:
            print("  ->", harness.run_case(record["target"], record["case"]))
        except Exception:
            traceback.print_exc()
            status = 1
    return status


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int,
                        default=int(os.environ.get("TGE_FUZZ_EXAMPLES", "10000")),
                        help="cases in all, shared among the targets by weight "
                             "(default: $TGE_FUZZ_EXAMPLES or 10000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--targets", default="", help="comma-separated (default: all)")
    parser.add_argument("--keep", type=int, default=20, help="failures kept per batch")
    parser.add_argument("--failures", default="fuzz_failures.json",
                        help="where failing cases are written (only when there are some)")
    parser.add_argument("--time-limit", type=float, default=float("inf"),
                        help="stop handing out new batches after this many seconds")
    parser.add_argument("--replay", metavar="FILE", help="run the cases recorded in FILE")
    args = parser.parse_args(argv)
    if args.replay:
        return replay(args.replay)

    from tests.fuzz import harness
    from tinygrad_edu.backends import c

    names = sorted(harness.TARGETS) if not args.targets else args.targets.split(",")
    unknown = set(names) - set(harness.TARGETS)
    if unknown:
        parser.error(f"unknown targets {sorted(unknown)}; known: {sorted(harness.TARGETS)}")
    print(f"fuzzing {args.cases} cases over {len(names)} targets, seed {args.seed}, "
          f"{args.jobs} processes; C module {c.MODULE_PATH}")
    tags, seconds, failures, elapsed = run(args.cases, args.seed, args.jobs, names, args.keep,
                                           args.time_limit)
    total = sum(sum(t.values()) for t in tags.values())
    print(f"\n{'target':<18}{'cases':>9}{'failed':>8}{'cpu s':>8}  outcomes")
    for name in names:
        t = tags[name]
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(t.items()) if k != "FAILED")
        print(f"{name:<18}{sum(t.values()):>9}{t['FAILED']:>8}{seconds[name]:>8.1f}  {outcomes}")
    failed = sum(t["FAILED"] for t in tags.values())
    print(f"{'total':<18}{total:>9}{failed:>8}   wall {elapsed:.1f} s "
          f"({total / max(elapsed, 1e-9):.0f} cases/s)")
    if failures:
        with open(args.failures, "w", encoding="utf-8") as f:
            json.dump(failures, f, indent=1, default=str)
        print(f"\n{failed} failing cases; the first {len(failures)} are in {args.failures} "
              f"(replay: python tools/fuzz.py --replay {args.failures})")
        for record in failures[:5]:
            print(f"- {record['target']} #{record['index']}: {record['error'][:300]}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
