"""Redraw the plots of a recorded ``mmlearn bench`` suite result (a JSON file).

``mmlearn bench`` draws these plots itself; this redraws them for results
recorded earlier (``benchmarks/results/*.json``) with the same titles and
labels, next to the JSON as ``<stem>_speedups.png`` / ``<stem>_accuracy.png``::

    python benchmarks/plot_results.py image benchmarks/results/cpu-image.json \\
        --subtitle "recorded run, 2-core CPU"
"""

import argparse
import json
import sys
from pathlib import Path

from mmlearn._bench import SUITES, load_suite
from mmlearn._bench._plots import plot_suite


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", choices=list(SUITES), help="the suite that wrote the JSON")
    parser.add_argument("json", type=Path, help="a suite's result file")
    parser.add_argument("--subtitle", default=None, help="line under the title (default: the file name)")
    args = parser.parse_args(argv)
    result = json.loads(args.json.read_text())
    suite = load_suite(args.suite)
    if hasattr(suite, "speedups"):
        # derived again from the recorded rows: older files named the bars tersely
        result["speedups"] = suite.speedups(result)
    files = plot_suite(
        args.json.stem, result, args.json.parent, labels=suite.PLOTS,
        quick=bool(result.get("quick")), subtitle=args.subtitle or f"recorded run: {args.json.name}",
    )
    print("\n".join(str(args.json.parent / f) for f in files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
