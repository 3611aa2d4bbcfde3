"""HOGFeatures against a Python loop of skimage.feature.hog; ConvEmbedding speed; MNIST accuracy.

Speed (same run, same images, both sides timed as best of ``--repeats``):

- HOG: 1,000 28x28 images (7x7 cells, 2x2 blocks) and 500 64x64 images (8x8
  cells, 3x3 blocks), 9 orientations, L2-Hys. The images are synthetic uint8
  (smooth blobs plus noise, fixed seed). The reference is
  ``[skimage.feature.hog(im, ...) for im in images]``; ours is
  ``HOGFeatures(...).transform(images)`` end to end (validation, batching,
  the kernel), on the CPU, and with CuPy when a GPU is present. The table
  gives images/s, the ratio and the largest absolute difference of any
  feature.
- ConvEmbedding: images/s of ``transform`` on 1,000 28x28 images with 256
  filters of 6x6 (stride 1, quadrant pooling: 1,024 features), CPU and GPU,
  and the largest relative difference between the two.

Accuracy (``mnist_accuracy``): the 10,000-image MNIST test set in
``<data-dir>/mnist`` (the training images are not available), split once
into 8,000 training and 2,000 test images, stratified, ``random_state=0``.
Features -> StandardScaler -> a linear classifier (RidgeClassifier by
default; ``--classifier svm`` uses LinearSVC(C=0.01, dual=False), slower).
The ConvEmbedding filters are learned on the 8,000 training images only.

Run it with ``mmlearn bench --suite image`` (``--quick``: 50 images per HOG
setting, 100 for ConvEmbedding, one timing each, no MNIST), or alone from a
source checkout::

    python benchmarks/bench_image.py              # speed + MNIST
    python benchmarks/bench_image.py --quick      # tiny speed run only
    python benchmarks/bench_image.py --mnist-only --classifier svm
    python benchmarks/bench_image.py --json out.json
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from . import data_absent, resolve_data_dir, suite_parser
from ._timing import best_time as _best_time
from ._timing import fmt as _fmt

HOG_SETTINGS = {
    "28x28, 7x7 cells, 2x2 blocks": dict(
        n=1000, size=28, pixels_per_cell=(7, 7), cells_per_block=(2, 2)),
    "64x64, 8x8 cells, 3x3 blocks": dict(
        n=500, size=64, pixels_per_cell=(8, 8), cells_per_block=(3, 3)),
}
CONV_PARAMS = dict(n_filters=256, patch_size=6, stride=1, pooling="quadrant", random_state=0)
MNIST_HOG = {
    "HOG 7x7 cells, 2x2 blocks": dict(pixels_per_cell=(7, 7), cells_per_block=(2, 2)),
    "HOG 4x4 cells, 3x3 blocks": dict(pixels_per_cell=(4, 4), cells_per_block=(3, 3)),
}


def make_images(n: int, size: int, seed: int = 0) -> np.ndarray:
    """Synthetic uint8 images: a few Gaussian blobs and bars plus noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    out = np.empty((n, size, size), dtype=np.uint8)
    for i in range(n):
        img = rng.normal(0, 8, (size, size)).astype(np.float32)
        for _ in range(3):
            cy, cx = rng.uniform(0, size, 2)
            s = rng.uniform(size / 10, size / 4)
            img += rng.uniform(60, 200) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
        theta = rng.uniform(0, np.pi)
        img += 60 * (np.abs(np.cos(theta) * (xx - size / 2) + np.sin(theta) * (yy - size / 2)) < 2)
        out[i] = np.clip(img, 0, 255)
    return out


def hog_speed(quick: bool = False, repeats: int | None = None) -> list[dict]:
    """images/s of the skimage loop and of HOGFeatures (CPU, and GPU if present)."""
    from skimage.feature import hog

    from ..backend import gpu_available
    from ..features import HOGFeatures

    repeats = repeats or (1 if quick else 5)
    rows = []
    for name, s in HOG_SETTINGS.items():
        n = 50 if quick else s["n"]
        params = dict(orientations=9, pixels_per_cell=s["pixels_per_cell"],
                      cells_per_block=s["cells_per_block"], block_norm="L2-Hys")
        images = make_images(n, s["size"], seed=s["size"])
        t_ref, ref = _best_time(lambda: np.stack([hog(im, **params) for im in images]), repeats)
        est = HOGFeatures(**params, device="cpu")
        est.transform(images[:2])
        t_cpu, ours = _best_time(lambda: est.transform(images), repeats)
        row = {
            "setting": name,
            "n_images": n,
            "n_features": int(ref.shape[1]),
            "skimage_images_per_s": n / t_ref,
            "mmlearn_cpu_images_per_s": n / t_cpu,
            "ratio_cpu": t_ref / t_cpu,
            "max_abs_diff": float(np.abs(ours - ref).max()),
            "gpu_images_per_s": None,
            "ratio_gpu": None,
            "gpu_max_abs_diff": None,
        }
        if gpu_available():
            gpu = HOGFeatures(**params, device="cuda")
            gpu.transform(images[:2])  # CUDA context, kernels
            t_gpu, ours_gpu = _best_time(lambda: gpu.transform(images), repeats)
            row["gpu_images_per_s"] = n / t_gpu
            row["ratio_gpu"] = t_ref / t_gpu
            row["gpu_max_abs_diff"] = float(np.abs(ours_gpu - ref).max())
        rows.append(row)
    return rows


def conv_speed(quick: bool = False, repeats: int | None = None) -> dict:
    """images/s of ConvEmbedding.transform (CPU, and GPU if present)."""
    from ..backend import gpu_available
    from ..features import ConvEmbedding

    repeats = repeats or (1 if quick else 3)
    n = 100 if quick else 1000
    params = dict(CONV_PARAMS, n_filters=32 if quick else CONV_PARAMS["n_filters"])
    images = make_images(n, 28, seed=1)
    t0 = time.perf_counter()
    emb = ConvEmbedding(**params, device="cpu").fit(images)
    t_fit = time.perf_counter() - t0
    t_cpu, cpu = _best_time(lambda: emb.transform(images), repeats)
    out = {
        "n_images": n,
        "image_size": 28,
        **{k: v for k, v in params.items() if k != "random_state"},
        "n_features": int(cpu.shape[1]),
        "fit_seconds": t_fit,
        "cpu_images_per_s": n / t_cpu,
        "gpu_images_per_s": None,
        "gpu_vs_cpu_max_rel_diff": None,
    }
    if gpu_available():
        gpu = ConvEmbedding(**params, device="cuda").fit(images)
        gpu.transform(images[:2])
        t_gpu, feats = _best_time(lambda: gpu.transform(images), repeats)
        out["gpu_images_per_s"] = n / t_gpu
        out["gpu_vs_cpu_max_rel_diff"] = float(
            (np.abs(feats - cpu) / np.abs(cpu).max(axis=1, keepdims=True)).max()
        )
    return out


def mnist_accuracy(data_dir: str | os.PathLike | None = None, *, classifier: str = "ridge",
                   n_filters: int = CONV_PARAMS["n_filters"]) -> dict:
    """Test accuracy of HOG and ConvEmbedding features on a fixed MNIST split.

    Returns a dict with one entry per feature set (``accuracy``, feature and
    fit seconds, number of features) and the split and model description;
    ``accuracy`` is None with a note when the data is absent.
    """
    from sklearn.linear_model import RidgeClassifier
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    from ..datasets import load_mnist
    from ..features import ConvEmbedding, HOGFeatures

    data_dir = resolve_data_dir(data_dir)
    try:
        X, y = load_mnist(data_dir, return_X_y=True)
    except FileNotFoundError:  # images or labels absent
        return data_absent("MNIST", data_dir)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, train_size=8000, test_size=2000, stratify=y, random_state=0
    )
    models = {
        "ridge": ("RidgeClassifier(alpha=1.0)", lambda: RidgeClassifier(alpha=1.0)),
        "svm": ("LinearSVC(C=0.01, dual=False)", lambda: LinearSVC(C=0.01, dual=False)),
    }
    if classifier not in models:
        raise ValueError(f"classifier must be one of {sorted(models)}, got {classifier!r}.")
    model_name, make_model = models[classifier]
    extractors = {name: HOGFeatures(**p) for name, p in MNIST_HOG.items()}
    extractors[f"ConvEmbedding {n_filters} filters 6x6"] = ConvEmbedding(
        **dict(CONV_PARAMS, n_filters=n_filters)
    )
    results = {}
    for name, ext in extractors.items():
        t0 = time.perf_counter()
        F_tr = ext.fit_transform(X_tr)
        F_te = ext.transform(X_te)
        t_feat = time.perf_counter() - t0
        t0 = time.perf_counter()
        clf = make_pipeline(StandardScaler(), make_model()).fit(F_tr, y_tr)
        t_fit = time.perf_counter() - t0
        results[name] = {
            "accuracy": float(clf.score(F_te, y_te)),
            "n_features": int(F_tr.shape[1]),
            "feature_seconds": t_feat,
            "fit_seconds": t_fit,
        }
    return {
        "split": "MNIST t10k, stratified 8,000 train / 2,000 test, random_state=0",
        "model": f"features -> StandardScaler -> {model_name}",
        "results": results,
    }


PLOTS = {
    "speedups": {
        "title": "HOG features: HOGFeatures vs a skimage.feature.hog loop",
        "label": "speed-up: skimage loop time / HOGFeatures time (x, higher is better)",
        "reference": "skimage loop",
    },
    "accuracy": {
        "title": "MNIST test accuracy (8,000 train / 2,000 test), features -> linear classifier",
        "label": "test accuracy (higher is better)",
    },
}


def speedups(result: dict) -> dict:
    """HOG speed-up over the skimage loop per image size, CPU and (where measured) GPU."""
    out = {}
    for device in ("cpu", "gpu"):
        for r in result.get("hog", []):
            if r.get(f"ratio_{device}"):
                out[f"HOG {r['setting'].split(',')[0]}, {device.upper()}"] = r[f"ratio_{device}"]
    return out


def run(quick: bool = False, data_dir: str | None = None, *, classifier: str = "ridge") -> dict:
    """HOG and ConvEmbedding speed; MNIST accuracy unless ``quick``."""
    result = {"hog": hog_speed(quick=quick), "conv": conv_speed(quick=quick)}
    if not quick:
        result["mnist"] = mnist_accuracy(data_dir, classifier=classifier)
    result["speedups"] = speedups(result)
    if not quick and result["mnist"].get("results"):
        result["accuracy"] = {k: v["accuracy"] for k, v in result["mnist"]["results"].items()}
    result["markdown"] = markdown(result)
    return result


def markdown(result: dict) -> str:
    lines = []
    if result.get("hog"):
        lines += [
            "| HOG setting | images | skimage loop img/s | HOGFeatures CPU img/s | CPU ratio "
            "| GPU img/s | GPU ratio | max abs diff (CPU / GPU) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in result["hog"]:
            lines.append(
                f"| {r['setting']} | {r['n_images']} | {r['skimage_images_per_s']:,.0f} "
                f"| {r['mmlearn_cpu_images_per_s']:,.0f} | {r['ratio_cpu']:.1f}x "
                f"| {_fmt(r['gpu_images_per_s'], ',.0f')} | {_fmt(r['ratio_gpu'], '.1f')} "
                f"| {r['max_abs_diff']:.1g} / {_fmt(r['gpu_max_abs_diff'], '.1g')} |"
            )
    c = result.get("conv")
    if c:
        lines += [
            "",
            f"ConvEmbedding transform, {c['n_images']} {c['image_size']}x{c['image_size']} images, "
            f"{c['n_filters']} filters {c['patch_size']}x{c['patch_size']} ({c['n_features']} "
            f"features): CPU {c['cpu_images_per_s']:,.0f} img/s, GPU "
            f"{_fmt(c['gpu_images_per_s'], ',.0f')} img/s (max rel diff GPU vs CPU "
            f"{_fmt(c['gpu_vs_cpu_max_rel_diff'], '.1g')}); fit {c['fit_seconds']:.1f} s.",
        ]
    m = result.get("mnist")
    if m:
        lines.append("")
        if not m.get("results"):
            lines.append(f"MNIST: {m['note']}")
        else:
            lines += [
                f"MNIST ({m['split']}; {m['model']}):",
                "",
                "| features | n features | test accuracy | feature s | fit s |",
                "| --- | ---: | ---: | ---: | ---: |",
            ]
            for name, r in m["results"].items():
                lines.append(
                    f"| {name} | {r['n_features']} | {r['accuracy']:.2%} "
                    f"| {r['feature_seconds']:.1f} | {r['fit_seconds']:.1f} |"
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None, *, default_data_dir: str | os.PathLike | None = None) -> int:
    """Command line of ``benchmarks/bench_image.py``."""
    parser = suite_parser(
        __doc__, quick="50 images per HOG setting, no MNIST", data="mnist/", default_data_dir=default_data_dir
    )
    parser.add_argument("--mnist-only", action="store_true", help="only the MNIST accuracy")
    parser.add_argument("--classifier", choices=["ridge", "svm"], default="ridge",
                        help="linear classifier for MNIST (default ridge)")
    args = parser.parse_args(argv)
    if args.mnist_only:
        result = {"mnist": mnist_accuracy(args.data_dir, classifier=args.classifier)}
        result["markdown"] = markdown(result)
    else:
        result = run(quick=args.quick, data_dir=args.data_dir, classifier=args.classifier)
    print(markdown(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0
