"""GPT: one training step and generation speed, tinygrad_edu against PyTorch and transformers.

    python benches/bench_gpt.py [--threads 1] [--no-cache] [--json out.json]

The benchmark lives in tinygrad_edu/bench/gpt.py (also ``python -m tinygrad_edu.bench.gpt``);
see its docstring for what is measured and how.
"""
from tinygrad_edu.bench.gpt import main

if __name__ == "__main__":
    main()
