#!/usr/bin/env python3
"""Render the benchmark templates with Python Jinja2 and print ns/op.

Counterpart of BenchmarkRender in render/jinja: same templates
(testdata/bench/*.jinja), same variables (testdata/bench/data.json), same
environment settings (default Undefined, keep_trailing_newline=True),
templates compiled once and rendered many times.

    taskset -c 0 python3 render/jinja/testdata/bench_jinja2.py
    taskset -c 0 go test -run '^$' -bench BenchmarkRender -benchtime 2s ./render/jinja/

--write-expected stores each rendered output as testdata/bench/<shape>.expected,
which TestBenchOutputsMatchJinja2 compares byte for byte with the Go output.
"""

import argparse
import json
import os
import sys
import timeit

import jinja2

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.join(HERE, "bench")
SHAPES = ["short", "loop", "system"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="target time per shape")
    parser.add_argument("--write-expected", action="store_true")
    args = parser.parse_args()

    env = jinja2.Environment(keep_trailing_newline=True, autoescape=False)
    with open(os.path.join(BENCH, "data.json"), encoding="utf-8") as f:
        data = json.load(f)

    print(f"jinja2 {jinja2.__version__}, python {sys.version.split()[0]}")
    for shape in SHAPES:
        with open(os.path.join(BENCH, shape + ".jinja"), encoding="utf-8") as f:
            template = env.from_string(f.read())
        out = template.render(**data)
        if args.write_expected:
            with open(os.path.join(BENCH, shape + ".expected"), "w", encoding="utf-8", newline="") as f:
                f.write(out)
        timer = timeit.Timer(lambda: template.render(**data))
        n, elapsed = timer.autorange()
        n = max(1, int(n * args.seconds / max(elapsed, 1e-9)))
        best = min(timer.repeat(repeat=3, number=n)) / n
        print(f"BenchmarkRender/{shape}\t{n}\t{best * 1e9:.0f} ns/op\t{len(out)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
