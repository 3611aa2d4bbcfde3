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

Run (``--help`` for the options; ``--quick``: MNIST 1,000 train / 500
test images, every fifth FSDD clip)::

    python benchmarks/bench_augment.py [--data-dir ../shared/data] [--n-augment 2] [--quick]

The results go to ``--json`` (default ``benchmarks/results/cpu-augment.json``),
with the markdown (``.md``) and the plot (``_accuracy.png``) beside it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from mmlearn._bench import suite_parser, write_result

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = ROOT / ".." / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
SNRS = (None, 20.0, 10.0, 5.0, 0.0)


def _lr():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=0.1, max_iter=3000)


def bench_mnist(data_dir, n_augment, quick=False):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from mmlearn.augment import AugmentedEstimator, ImageAugmenter
    from mmlearn.datasets import load_mnist
    from mmlearn.features import HOGFeatures

    data = load_mnist(data_dir)
    X, y = data.images, data.target
    n_train, n_test = (1000, 500) if quick else (8000, 2000)
    Xtr, ytr, Xte, yte = X[:n_train], y[:n_train], X[-n_test:], y[-n_test:]

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


def bench_fsdd(data_dir, n_augment, quick=False):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from mmlearn.augment import AudioAugmenter, AugmentedEstimator
    from mmlearn.datasets import load_fsdd
    from mmlearn.features import MFCCFeatures

    frame = load_fsdd(data_dir).frame
    if quick:
        frame = frame.iloc[::5].reset_index(drop=True)
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


PLOTS = {
    "accuracy": {
        "title": "Training-only augmentation: test accuracy without and with augmented copies",
        "label": "test accuracy (higher is better)",
        "groups": {"none": "no augmentation"},
    },
}


def markdown(res):
    """The results as markdown: MNIST, then FSDD per noise level."""
    lines = ["# Training-only augmentation", "", f"Command: `{res['command']}`", "",
             f"## MNIST {res['mnist_split']} (HOG features)", "",
             "| model | test accuracy | fit time |", "| --- | --- | --- |"]
    for name, r in res["mnist"].items():
        lines.append(f"| {name} | {r['accuracy']:.4f} | {r['fit_s']:.0f} s |")
    conds = _conditions(res)
    lines += ["", "## FSDD official split, noisy test clips (MFCC + LogisticRegression)", "",
              "| model | " + " | ".join(conds) + " |", "|" + " --- |" * (len(conds) + 1)]
    for name, r in res["fsdd"].items():
        lines.append(f"| {name} | " + " | ".join(f"{r[c]:.3f}" for c in conds) + " |")
    return "\n".join(lines)


def _conditions(res):
    return [c for c in next(iter(res["fsdd"].values())) if c != "fit_s"]


def accuracy(res, n_augment):
    """Every test accuracy by "none: task" / "augmented: task", the two side by side."""
    out = {}
    for name, r in res["mnist"].items():
        clf = name.rsplit(", ", 1)[0]
        group = "none" if "no augmentation" in name else f"+ {n_augment} augmented copies"
        out[f"{group}: MNIST, {clf}"] = r["accuracy"]
    for cond in _conditions(res):
        for name, r in res["fsdd"].items():
            group = "none" if "no augmentation" in name else f"+ {n_augment} augmented copies"
            out[f"{group}: FSDD {cond}, MFCC + LR"] = r[cond]
    return out


def main(argv=None):
    p = suite_parser(__doc__, quick="MNIST 1,000 / 500 images, every fifth FSDD clip", data="mnist/ and fsdd/",
                     default_data_dir=DEFAULT_DATA_DIR, default_json=RESULTS / "cpu-augment.json")
    p.add_argument("--n-augment", type=int, default=2, help="augmented copies per training row (default 2)")
    args = p.parse_args(argv)
    res = {"command": "python benchmarks/bench_augment.py"
           + (f" --n-augment {args.n_augment}" if args.n_augment != 2 else "") + (" --quick" if args.quick else ""),
           "quick": args.quick,
           "mnist_split": "1k/500" if args.quick else "8k/2k",
           "fsdd": bench_fsdd(args.data_dir, args.n_augment, args.quick),
           "mnist": bench_mnist(args.data_dir, args.n_augment, args.quick)}
    res["accuracy"] = accuracy(res, args.n_augment)
    res["markdown"] = markdown(res)
    write_result(res, args.json, labels=PLOTS, quick=args.quick)
    print(res["markdown"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
