"""Accuracy on real data: AV digits (clean and degraded), FSDD, MNIST, 20 Newsgroups.

AV digits pairs every Free Spoken Digit recording with an MNIST image of the
same digit (``mmlearn.datasets.load_av_digits``, deterministic) and follows
FSDD's official split: 2,700 train / 300 test with the full local copies
(``--data-dir``), 2,100 / 300 with the embedded subset.

The degraded variant follows AV-MNIST (Vielzeuf et al., 2018), with two
documented deviations:

* images: the principal components (fitted on the training images) that
  carry 75 % of the pixel variance are projected out of every image, so each
  image keeps only its low-energy detail (AV-MNIST removes 75 % of the
  energy by PCA as well);
* audio: white Gaussian noise is mixed into each clip at an SNR of -6 dB
  (AV-MNIST mixes in ESC-50 environmental noise, which is not available
  here); the noise is seeded per clip.

Every model is fitted on the train rows and scored (accuracy) on the test
rows. Run it with ``mmlearn bench --suite accuracy`` (``--quick``: 12
embedded rows per digit and split, no other data set), or alone from a
source checkout::

    python benchmarks/bench_accuracy.py --data-dir ../shared/data
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ..datasets import load_av_digits
from ..features import FeatureMemo
from . import resolve_data_dir, suite_parser
from ._av_models import av_digits_models

SNR_DB = -6.0
IMAGE_ENERGY_REMOVED = 0.75


def degrade(X: pd.DataFrame, train: np.ndarray, *, seed: int = 0) -> tuple[pd.DataFrame, int]:
    """A copy of X with AV-MNIST-style degraded images and noisy audio, and the number of image components removed."""
    images = np.stack(X["image"].to_list()).astype(np.float64)
    flat = images.reshape(len(images), -1)
    mean = flat[train].mean(axis=0)
    _, s, vt = np.linalg.svd(flat[train] - mean, full_matrices=False)
    share = np.cumsum(s**2) / np.sum(s**2)
    k = int(np.searchsorted(share, IMAGE_ENERGY_REMOVED) + 1)
    top = vt[:k]
    centred = flat - mean
    kept = centred - (centred @ top.T) @ top + mean
    kept = (kept - kept.min()) / (kept.max() - kept.min()) * 255.0
    audio = []
    for i, clip in enumerate(X["audio"]):
        rng = np.random.default_rng([seed, i])
        power = float(np.mean(clip.astype(np.float64) ** 2)) + 1e-12
        noise = rng.standard_normal(len(clip)) * np.sqrt(power / 10 ** (SNR_DB / 10))
        audio.append((clip + noise).astype(np.float32))
    return pd.DataFrame(
        {"audio": pd.Series(audio, dtype=object), "image": pd.Series(list(kept.reshape(images.shape)), dtype=object)},
        index=X.index,
    ), k


def av_digits(data_dir: Path | None, *, degraded: bool, quick: bool = False) -> dict:
    """Fit each model on the train rows; test accuracy per model."""
    use_full = data_dir is not None and (Path(data_dir) / "fsdd").is_dir()
    data = load_av_digits(data_dir=data_dir if use_full else None)
    frame = data.frame
    if quick:
        frame = frame.groupby(["target", "split"], group_keys=False).head(12).reset_index(drop=True)
    X, y = frame[["audio", "image"]], frame["target"].to_numpy()
    train = (frame["split"] == "train").to_numpy()
    info = {"rows": len(frame), "train": int(train.sum()), "test": int((~train).sum()),
            "source": "local copies (3,000 pairs)" if use_full else "embedded subset (2,400 pairs)"}
    if degraded:
        X, k = degrade(X, train)
        info["image_components_removed"] = k
        info["snr_db"] = SNR_DB
    memo = FeatureMemo()
    acc = {}
    for name, model in av_digits_models(memo, mfcc_stats=("mean", "std", "min", "max")).items():
        t0 = time.perf_counter()
        model.fit(X[train], y[train])
        acc[name] = float(np.mean(model.predict(X[~train]) == y[~train]))
        info[f"{name} fit_s"] = round(time.perf_counter() - t0, 2)
    singles = max(acc["audio only (MFCC)"], acc["image only (HOG)"])
    fusions = {k: v for k, v in acc.items() if "only" not in k}
    info["best single"] = singles
    info["best fusion"] = max(fusions.values())
    info["fusion beats best single"] = bool(max(fusions.values()) > singles)
    return {"accuracy": acc, "info": info}


PLOTS = {
    "accuracy": {
        "title": "AV digits test accuracy (official split): single modalities and fusions",
        "label": "test accuracy (higher is better)",
        "groups": {
            "clean": "clean",
            "degraded": "degraded (75 % of image variance removed, audio noise at -6 dB SNR)",
        },
    },
}


def run(quick: bool = False, data_dir: str | None = None) -> dict:
    """Run every accuracy figure; returns JSON-ready results and a markdown table.

    ``quick`` uses a few embedded AV-digits rows and reads no real data.
    Otherwise a data set absent from ``data_dir`` gets a note instead of
    figures (AV digits: the embedded subset).
    """
    data = None if quick else resolve_data_dir(data_dir).resolve()
    results: dict = {}
    with threadpool_limits(limits=1, user_api="blas"):
        results["av_clean"] = av_digits(data, degraded=False, quick=quick)
        results["av_degraded"] = av_digits(data, degraded=True, quick=quick)
        if data is not None:
            from . import audio, image, text

            results["fsdd"] = audio.fsdd_accuracy(str(data))
            results["mnist"] = image.mnist_accuracy(str(data))
            results["newsgroups"] = text.newsgroups_accuracy(str(data))
    results["accuracy"] = {
        f"{v[3:]}: {m}": a for v in ("av_clean", "av_degraded") for m, a in results[v]["accuracy"].items()
    }
    results["markdown"] = markdown(results)
    return results


def markdown(results: dict) -> str:
    """The results as a markdown table, each figure beside its reference."""
    rows = ["| task | model | test accuracy | published reference |", "| --- | --- | --- | --- |"]
    for variant in ("av_clean", "av_degraded"):
        for model, acc in results[variant]["accuracy"].items():
            rows.append(f"| AV digits ({variant[3:]}) | {model} | {acc:.4f} | — |")
    notes = [f"- {v}: {json.dumps(results[v]['info'])}" for v in ("av_clean", "av_degraded")]
    for task in ("fsdd", "mnist", "newsgroups"):
        res = results.get(task)
        if isinstance(res, dict) and res.get("note"):  # data set absent
            notes.append(f"- {task}: {res['note']}")
        elif res is not None:
            for model, acc in _flatten_acc(res).items():
                rows.append(f"| {task} | {model} | {acc:.4f} | {_reference(task, model)} |")
    return "\n".join(rows) + "\n\n" + "\n".join(notes)


def _reference(task: str, model: str) -> str:
    """The published figure (or the project's target) to read a result against."""
    if task == "fsdd":
        return "target ≥ 0.95 (issue 4)"
    if task == "mnist":
        if "HOG" in model:
            return "HOG + SVM ≈ 0.994, trained on the full 60k set (here 8k)"
        return "Coates et al. 2011: this network, 0.796 on CIFAR-10 (no MNIST figure)"
    if "tfidf_linear" in model:
        return "target ≥ 0.82 (TF-IDF + linear model)"
    return "no published figure for this pipeline; below TF-IDF, as usual for averaged word vectors"


def _flatten_acc(res) -> dict:
    """The accuracy figures of a helper's result (a dict or a float)."""
    if isinstance(res, (int, float)):
        return {"model": float(res)}
    if isinstance(res.get("results"), dict):  # {"results": {name: {"accuracy": ...}}}
        return {k: float(v["accuracy"]) for k, v in res["results"].items()}
    acc = res.get("accuracy", res)
    if isinstance(acc, (int, float)):
        return {res.get("model", "model"): float(acc)}
    return {k: float(v) for k, v in acc.items() if isinstance(v, (int, float))}


def main(argv: list[str] | None = None, *, default_data_dir: str | os.PathLike | None = None) -> int:
    """Command line of ``benchmarks/bench_accuracy.py``."""
    parser = suite_parser(
        __doc__, quick="a tiny run that checks everything works (embedded rows only)",
        data="fsdd/, mnist/ and 20news-bydate/", default_data_dir=default_data_dir,
    )
    args = parser.parse_args(argv)
    res = run(quick=args.quick, data_dir=args.data_dir)
    print(res["markdown"])
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2, default=str))
    return 0
