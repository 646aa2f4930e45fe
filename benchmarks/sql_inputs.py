"""SQL analyzer on pathological long inputs: does the cost grow linearly with the input?

    python benchmarks/sql_inputs.py [--runs 3]

Each input of ``tests/unit/test_sql_robustness.PATHOLOGICAL`` (unbalanced parentheses,
unterminated quotes, thousands of statements, …) is analysed at sizes k=1 and k=2, in both
dialects, cold (a fresh analyzer each time), median of ``--runs``. Baseline in the same run: a
benign statement of the same length (``SELECT * FROM big WHERE id IN (0, 1, …)``). Printed per
input: seconds at k=1, the growth factor t(k=2)/t(k=1) (≈2 is linear, ≈4 quadratic) and the ratio
to the benign statement of the same length, and which path each took (a full parse, or the
keyword fallback that statements over the analyzer's length limit take): a growth factor or ratio
across two paths compares unlike work.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from detectors.sql import SqlAnalyzer  # noqa: E402
from tests.unit.test_sql_robustness import PATHOLOGICAL  # noqa: E402


def benign(length: int) -> str:
    """A well-formed statement of about ``length`` characters."""
    head, ids, n = "SELECT * FROM big WHERE id IN (", [], 0
    size = len(head) + 1
    while size < length:
        ids.append(str(n))
        size += len(ids[-1]) + 2
        n += 1
    return head + ", ".join(ids) + ")"


def path(sql: str) -> str:
    """Which path the analyzer takes: a full parse, or the keyword fallback for long input."""
    flags = SqlAnalyzer().analyze(sql, "postgresql").flags
    return "keywords" if "too_long" in flags else "parse"


def timed(sql: str, runs: int) -> float:
    """Median seconds to analyse ``sql`` cold in PostgreSQL and MySQL dialects."""
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        for dialect in ("postgresql", "mysql"):
            SqlAnalyzer().analyze(sql, dialect)
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    timed(benign(300_000), 1)  # warm up sqlglot's imports and tokenizer tables
    print(f"{'input':<14} {'chars':>9} {'path k1/k2':>17} {'s (k=1)':>8} {'growth k2/k1':>13} "
          f"{'benign path':>12} {'benign s':>9} {'vs benign':>10}")
    for name, make in sorted(PATHOLOGICAL.items()):
        one, two = make(1), make(2)
        t1, t2 = timed(one, args.runs), timed(two, args.runs)
        base = benign(len(one))
        tb = timed(base, args.runs)
        paths = f"{path(one)}/{path(two)}"
        print(f"{name:<14} {len(one):>9,} {paths:>17} {t1:>8.3f} {t2 / t1:>13.2f} "
              f"{path(base):>12} {tb:>9.3f} {t1 / tb:>10.2f}")


if __name__ == "__main__":
    main()
