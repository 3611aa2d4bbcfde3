"""MFCCFeatures against a Python loop of librosa.feature.mfcc, and FSDD accuracy.

Speed: 200 one-second 16 kHz clips (tones plus noise, fixed seed), with
librosa's defaults and with speech settings (n_fft=512, hop_length=160,
n_mels=40). The reference is a loop of ``librosa.feature.mfcc`` plus the same
pooling (mean and std over time, numpy); it is timed both with the BLAS
threads as they are and with one BLAS thread, and the faster of the two is
the reference. Times are the best of ``--repeats`` runs (wall clock), both
sides measured in the same run. The GPU column is filled when CuPy finds a
GPU.

Accuracy: the Free Spoken Digit Dataset, official split (recordings 0-4 of
each digit and speaker are the test set): MFCCFeatures (with deltas) ->
StandardScaler -> SVC, C chosen by 5-fold cross-validation on the training
part only.

Run it with ``mmlearn bench --suite audio`` (``--quick``: 20 clips, one
timing each, no FSDD), or alone from a source checkout::

    python benchmarks/bench_audio.py            # speed + FSDD
    python benchmarks/bench_audio.py --quick    # tiny speed run only
    python benchmarks/bench_audio.py --json out.json
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

SETTINGS = {
    "librosa defaults": dict(n_mfcc=20, n_fft=2048, hop_length=512, n_mels=128),
    "speech": dict(n_mfcc=20, n_fft=512, hop_length=160, n_mels=40),
}
SR = 16000

# FSDD pipeline settings: 32 ms windows, 10 ms hop at 8 kHz.
FSDD_FEATURES = dict(
    sr=8000, n_mfcc=20, n_fft=256, hop_length=80, n_mels=40, deltas=2,
    stats=("mean", "std", "min", "max"),
)


def make_clips(n_clips: int = 200, sr: int = SR, seconds: float = 1.0, seed: int = 0) -> list:
    """Synthetic clips: two or three tones with vibrato, plus noise."""
    rng = np.random.default_rng(seed)
    n = int(sr * seconds)
    t = np.arange(n) / sr
    clips = []
    for _ in range(n_clips):
        y = 0.02 * rng.standard_normal(n)
        for _ in range(rng.integers(2, 4)):
            f0 = rng.uniform(100, 3000)
            vib = 1 + 0.01 * np.sin(2 * np.pi * rng.uniform(2, 6) * t)
            y += rng.uniform(0.05, 0.5) * np.sin(2 * np.pi * f0 * t * vib)
        clips.append(y.astype(np.float32))
    return clips


def _librosa_loop(clips: list, params: dict) -> np.ndarray:
    import librosa

    rows = []
    for y in clips:
        m = librosa.feature.mfcc(y=y, sr=SR, **params)
        rows.append(np.concatenate([m.mean(axis=1), m.std(axis=1)]))
    return np.asarray(rows, dtype=np.float32)


def speed(quick: bool = False, repeats: int | None = None) -> list[dict]:
    """Clips per second of both implementations, per setting."""
    from threadpoolctl import threadpool_limits

    from ..backend import gpu_available
    from ..features import MFCCFeatures

    n_clips = 20 if quick else 200
    repeats = repeats or (1 if quick else 5)
    clips = make_clips(n_clips)
    rows = []
    for name, params in SETTINGS.items():
        _librosa_loop(clips[:2], params)  # imports, caches
        t_ref_default, ref = _best_time(lambda: _librosa_loop(clips, params), repeats)
        with threadpool_limits(1, user_api="blas"):
            t_ref_one, _ = _best_time(lambda: _librosa_loop(clips, params), repeats)
        t_ref = min(t_ref_default, t_ref_one)
        est = MFCCFeatures(sr=SR, **params, device="cpu")
        est.transform(clips[:2])  # filter bank cache
        t_cpu, ours = _best_time(lambda: est.transform(clips), repeats)
        scale = np.abs(ref).max(axis=1, keepdims=True)
        row = {
            "setting": name,
            **params,
            "n_clips": n_clips,
            "librosa_clips_per_s": n_clips / t_ref,
            "librosa_clips_per_s_default_blas": n_clips / t_ref_default,
            "librosa_clips_per_s_one_blas_thread": n_clips / t_ref_one,
            "mmlearn_cpu_clips_per_s": n_clips / t_cpu,
            "ratio_cpu": t_ref / t_cpu,
            "max_abs_diff": float(np.abs(ours - ref).max()),
            "max_rel_diff": float((np.abs(ours - ref) / scale).max()),
            "gpu_clips_per_s": None,
            "gpu_max_rel_diff": None,
        }
        if gpu_available():
            gpu = MFCCFeatures(sr=SR, **params, device="cuda")
            gpu.transform(clips[:2])  # CUDA context, FFT plans, filter bank
            t_gpu, ours_gpu = _best_time(lambda: gpu.transform(clips), repeats)
            row["gpu_clips_per_s"] = n_clips / t_gpu
            row["ratio_gpu"] = t_ref / t_gpu
            row["gpu_max_rel_diff"] = float((np.abs(ours_gpu - ref) / scale).max())
            row["gpu_vs_cpu_max_rel_diff"] = float((np.abs(ours_gpu - ours) / scale).max())
        rows.append(row)
    return rows


def fsdd_accuracy(data_dir: str | os.PathLike | None = None, *, n_jobs: int | None = None) -> dict:
    """Test accuracy on FSDD's official split; None figures when the data is absent.

    Returns a dict with ``accuracy`` (fraction of the 300 test recordings),
    the chosen ``C``, feature and fit times, and the settings.
    """
    import pandas as pd
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from ..features import MFCCFeatures

    fsdd = resolve_data_dir(data_dir) / "fsdd"
    if not (fsdd / "metadata.csv").is_file():
        return data_absent("FSDD", fsdd.parent)
    meta = pd.read_csv(fsdd / "metadata.csv")
    paths = [str(fsdd / p) for p in meta["path"]]
    y = meta["label"].to_numpy()
    test = (meta["official_split"] == "test").to_numpy()
    t0 = time.perf_counter()
    X = MFCCFeatures(**FSDD_FEATURES, n_jobs=n_jobs).transform(paths)
    t_features = time.perf_counter() - t0
    t0 = time.perf_counter()
    search = GridSearchCV(
        make_pipeline(StandardScaler(), SVC()), {"svc__C": [1.0, 10.0, 100.0]}, cv=5
    ).fit(X[~test], y[~test])
    t_fit = time.perf_counter() - t0
    accuracy = float((search.predict(X[test]) == y[test]).mean())
    return {
        "accuracy": accuracy,
        "n_train": int((~test).sum()),
        "n_test": int(test.sum()),
        "C": search.best_params_["svc__C"],
        "cv_accuracy": float(search.best_score_),
        "feature_seconds": t_features,
        "fit_seconds": t_fit,
        "features": {k: list(v) if isinstance(v, tuple) else v for k, v in FSDD_FEATURES.items()},
        "model": "StandardScaler -> SVC(rbf), C by 5-fold CV on train",
    }


PLOTS = {
    "speedups": {
        "title": "MFCC features: MFCCFeatures vs a librosa.feature.mfcc loop",
        "label": "speed-up: librosa loop time / MFCCFeatures time (x, higher is better)",
        "reference": "librosa loop",
    },
}


def run(quick: bool = False, data_dir: str | None = None) -> dict:
    """Speed rows for both settings; FSDD accuracy unless ``quick``."""
    result = {"speed": speed(quick=quick)}
    if not quick:
        result["fsdd"] = fsdd_accuracy(data_dir)
    result["speedups"] = {f"{r['setting']}, CPU": r["ratio_cpu"] for r in result["speed"]}
    result["speedups"].update(
        {f"{r['setting']}, GPU": r["ratio_gpu"] for r in result["speed"] if r.get("ratio_gpu")}
    )
    result["markdown"] = markdown(result)
    return result


def markdown(result: dict) -> str:
    lines = [] if not result["speed"] else [
        "| setting | librosa loop clips/s | MFCCFeatures CPU clips/s | CPU ratio "
        "| GPU clips/s | GPU ratio | max abs diff | max rel diff |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in result["speed"]:
        lines.append(
            f"| {r['setting']} (n_fft={r['n_fft']}, hop={r['hop_length']}, "
            f"n_mels={r['n_mels']}) | {r['librosa_clips_per_s']:,.0f} "
            f"| {r['mmlearn_cpu_clips_per_s']:,.0f} | {r['ratio_cpu']:.1f}x "
            f"| {_fmt(r['gpu_clips_per_s'], ',.0f')} | {_fmt(r.get('ratio_gpu'), '.1f')} "
            f"| {r['max_abs_diff']:.2g} | {r['max_rel_diff']:.2g} |"
        )
    if result["speed"]:
        lines.append("")
        lines.append(
            "librosa loop = best of default BLAS threads "
            + ", ".join(f"{r['librosa_clips_per_s_default_blas']:,.0f}" for r in result["speed"])
            + " and one BLAS thread "
            + ", ".join(f"{r['librosa_clips_per_s_one_blas_thread']:,.0f}" for r in result["speed"])
            + " clips/s; rel diff = |diff| / max |librosa feature| of the clip."
        )
    fsdd = result.get("fsdd")
    if fsdd:
        lines.append("")
        if fsdd["accuracy"] is None:
            lines.append(f"FSDD: {fsdd['note']}")
        else:
            lines.append(
                f"FSDD official split: test accuracy {fsdd['accuracy']:.2%} "
                f"({fsdd['n_test']} test / {fsdd['n_train']} train recordings; "
                f"{fsdd['model']}, C={fsdd['C']}; features {fsdd['feature_seconds']:.1f} s)"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None, *, default_data_dir: str | os.PathLike | None = None) -> int:
    """Command line of ``benchmarks/bench_audio.py``."""
    parser = suite_parser(__doc__, quick="20 clips, no FSDD", data="fsdd/", default_data_dir=default_data_dir)
    parser.add_argument("--fsdd-only", action="store_true", help="only the FSDD accuracy")
    args = parser.parse_args(argv)
    if args.fsdd_only:
        result = {"speed": [], "fsdd": fsdd_accuracy(args.data_dir)}
    else:
        result = run(quick=args.quick, data_dir=args.data_dir)
    print(markdown(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0
