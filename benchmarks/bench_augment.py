"""Training-only augmentation: accuracy with and without, on MNIST and on noisy FSDD.

MNIST 8k/2k: the 10,000 MNIST test images (the training images are not on
this machine), first 8,000 for training and last 2,000 for testing. HOG
(7x7-pixel cells, 2x2 blocks) -> StandardScaler -> LogisticRegression,
against the same pipeline wrapped in AugmentedEstimator(ImageAugmenter(
rotation=10, scale=(0.9, 1.1), shift=2), n_augment=N); the same with an RBF
SVC(C=10) in place of the logistic regression.

FSDD with noise: official split (2,700 train / 300 test). The test clips get
white Gaussian noise at SNR 20, 10, 5 and 0 dB (fixed seed; "clean" is
without). MFCC (20 coefficients with deltas, mean/std) -> StandardScaler ->
LogisticRegression trained on clean clips, against the same pipeline wrapped
in AugmentedEstimator(AudioAugmenter(snr_db=(0, 20), gain_db=6,
time_shift=0.1), n_augment=N). The test rows are never augmented; noise is
added to them once, the same for both models.

Run::

    python benchmarks/bench_augment.py [--data-dir ../shared/data] [--n-augment 2]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = ROOT / ".." / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
SNRS = (None, 20.0, 10.0, 5.0, 0.0)


def _lr():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=0.1, max_iter=3000)


def bench_mnist(data_dir, n_augment):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from mmlearn.augment import AugmentedEstimator, ImageAugmenter
    from mmlearn.datasets import load_mnist
    from mmlearn.features import HOGFeatures

    data = load_mnist(data_dir)
    X, y = data.images, data.target
    Xtr, ytr, Xte, yte = X[:8000], y[:8000], X[8000:], y[8000:]

    from sklearn.svm import SVC

    def pipe(clf):
        return make_pipeline(HOGFeatures(pixels_per_cell=(7, 7), cells_per_block=(2, 2)),
                             StandardScaler(), clf)

    def augmented(clf):
        return AugmentedEstimator(pipe(clf), ImageAugmenter(rotation=10, scale=(0.9, 1.1), shift=2),
                                  n_augment=n_augment, random_state=0)

    out = {}
    for name, model in [
        ("HOG + LR, no augmentation", pipe(_lr())),
        (f"HOG + LR, + {n_augment} augmented copies", augmented(_lr())),
        ("HOG + SVC(rbf, C=10), no augmentation", pipe(SVC(C=10))),
        (f"HOG + SVC(rbf, C=10), + {n_augment} augmented copies", augmented(SVC(C=10))),
    ]:
        t0 = time.perf_counter()
        model.fit(Xtr, ytr)
        out[name] = {"accuracy": float(model.score(Xte, yte)),
                     "fit_s": time.perf_counter() - t0}
    return out


def _add_noise(clips, snr_db, seed):
    rng = np.random.default_rng(seed)
    out = []
    for y in clips:
        p = float(np.mean(np.asarray(y, dtype=np.float64) ** 2))
        sigma = np.sqrt(p / 10 ** (snr_db / 10))
        out.append((y + rng.normal(0, sigma, len(y))).astype(np.float32))
    return out


def bench_fsdd(data_dir, n_augment):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from mmlearn.augment import AudioAugmenter, AugmentedEstimator
    from mmlearn.datasets import load_fsdd
    from mmlearn.features import MFCCFeatures

    frame = load_fsdd(data_dir).frame
    test = (frame["split"] == "test").to_numpy()
    audio = list(frame["audio"])
    tr = [a for a, t in zip(audio, test) if not t]
    te = [a for a, t in zip(audio, test) if t]
    ytr, yte = frame["target"].to_numpy()[~test], frame["target"].to_numpy()[test]

    def pipe():
        return make_pipeline(
            MFCCFeatures(sr=8000, n_mfcc=20, n_fft=256, hop_length=80, n_mels=40, deltas=1),
            StandardScaler(), _lr())

    models = {
        "MFCC, no augmentation": pipe(),
        f"MFCC, + {n_augment} augmented copies": AugmentedEstimator(
            pipe(), AudioAugmenter(sr=8000, snr_db=(0.0, 20.0), gain_db=6.0, time_shift=0.1),
            n_augment=n_augment, random_state=0),
    }
    tests = {("clean" if s is None else f"SNR {s:g} dB"): (te if s is None else _add_noise(te, s, 1))
             for s in SNRS}
    out = {}
    for name, model in models.items():
        t0 = time.perf_counter()
        model.fit(tr, ytr)
        fit_s = time.perf_counter() - t0
        out[name] = {cond: float(model.score(Xc, yte)) for cond, Xc in tests.items()}
        out[name]["fit_s"] = fit_s
    return out


def _write(res, stem):
    stem.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{stem}.json").write_text(json.dumps(res, indent=2) + "\n")
    lines = ["# Training-only augmentation", "", f"Command: `{res['command']}`", "",
             "## MNIST 8k/2k (HOG features)", "",
             "| model | test accuracy | fit time |", "| --- | --- | --- |"]
    for name, r in res["mnist"].items():
        lines.append(f"| {name} | {r['accuracy']:.4f} | {r['fit_s']:.0f} s |")
    conds = [c for c in next(iter(res["fsdd"].values())) if c != "fit_s"]
    lines += ["", "## FSDD official split, noisy test clips (MFCC + LogisticRegression)", "",
              "| model | " + " | ".join(conds) + " |", "|" + " --- |" * (len(conds) + 1)]
    for name, r in res["fsdd"].items():
        lines.append(f"| {name} | " + " | ".join(f"{r[c]:.3f}" for c in conds) + " |")
    Path(f"{stem}.md").write_text("\n".join(lines) + "\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    names = list(res["mnist"])
    bars = ax1.barh(range(len(names)), [res["mnist"][n]["accuracy"] for n in names],
                    color=["tab:gray", "tab:blue"] * (len(names) // 2))
    ax1.bar_label(bars, fmt="%.4f", fontsize=7)
    ax1.set_yticks(range(len(names)), names, fontsize=6)
    lo = min(res["mnist"][n]["accuracy"] for n in names)
    ax1.set_xlim(lo - 0.03, 1.0)
    ax1.set_title("MNIST 8k/2k, HOG", fontsize=9)
    for name, r in res["fsdd"].items():
        ax2.plot(conds, [r[c] for c in conds], marker="o", label=name)
    ax2.set_ylabel("test accuracy")
    ax2.set_title("FSDD, noise added to test clips", fontsize=9)
    ax2.legend(fontsize=7)
    ax2.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    fig.savefig(f"{stem}.png", dpi=110)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR))
    p.add_argument("--n-augment", type=int, default=2)
    p.add_argument("--out", default=str(RESULTS / "cpu-augment"))
    args = p.parse_args(argv)
    res = {"command": "python benchmarks/bench_augment.py"
           + (f" --n-augment {args.n_augment}" if args.n_augment != 2 else ""),
           "fsdd": bench_fsdd(args.data_dir, args.n_augment),
           "mnist": bench_mnist(args.data_dir, args.n_augment)}
    _write(res, Path(args.out))
    print(Path(f"{args.out}.md").read_text())


if __name__ == "__main__":
    main()
