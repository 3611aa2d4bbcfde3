"""SpectralFeatures: speed against librosa, and whether it adds to MFCC on real audio.

Speed: 100 one-second 22.05 kHz clips (tones plus noise, fixed seed), all
eight descriptors pooled by mean and std, against a Python loop of the eight
librosa functions plus the same pooling; both sides in the same run, best
of ``--repeats``.

Accuracy, on the only real audio available offline here, the Free Spoken
Digit Dataset (3,000 clips, 6 speakers, 8 kHz), with predefined folds:

- speaker identification (6 classes), 5 folds that each hold out two digits
  (words 0-1, 2-3, ...): the model must recognise a voice on words it never
  heard from it, which leans on timbre rather than on phonetic content;
- digit recognition on the official split (recordings 0-4 are the test set).

Feature sets: MFCCFeatures alone (20 coefficients, mean/std), SpectralFeatures
alone, and both (FeatureUnion), each followed by StandardScaler and
LogisticRegression. Features are extracted once (stateless extractors), then
the folds are fitted on the matrix.

Not shown: an environmental-sound task (ESC-50, UrbanSound8K). No such data
set is on this machine, none can be downloaded at run time, and no registry
package ships one (see docs/guide/sound.rst).

Run (``--help`` for the options; ``--quick``: 20 clips, one timing, every
fifth FSDD clip)::

    python benchmarks/bench_sound.py [--data-dir ../shared/data] [--quick] [--json PATH]

The results go to ``--json`` (default ``benchmarks/results/cpu-sound.json``),
with the markdown (``.md``) and plots (``_speedups.png``, ``_accuracy.png``)
beside it.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import numpy as np

from mmlearn._bench import suite_parser, write_result
from mmlearn._bench._timing import best_time

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = ROOT / ".." / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
FEATURE_SETS = ("MFCC", "Spectral", "MFCC + Spectral")

FSDD = dict(sr=8000, n_fft=256, hop_length=80)
MFCC_PARAMS = dict(**FSDD, n_mfcc=20, n_mels=40)
SPECTRAL_PARAMS = dict(**FSDD, n_mels=40, n_bands=4, contrast_fmin=200.0)


def _librosa_loop(clips, sr):
    import librosa

    rows = []
    for y in clips:
        kw = dict(y=y, n_fft=2048, hop_length=512)
        feats = [
            librosa.power_to_db(librosa.feature.melspectrogram(sr=sr, **kw)),
            librosa.feature.spectral_contrast(sr=sr, **kw),
            librosa.feature.spectral_centroid(sr=sr, **kw),
            librosa.feature.spectral_bandwidth(sr=sr, **kw),
            librosa.feature.spectral_rolloff(sr=sr, **kw),
            librosa.feature.spectral_flatness(**kw),
            librosa.feature.zero_crossing_rate(y),
            librosa.feature.chroma_stft(sr=sr, tuning=0.0, **kw),
        ]
        rows.append(np.concatenate([np.r_[f.mean(1), f.std(1)] for f in feats]))
    return np.asarray(rows, dtype=np.float32)


def bench_speed(n_clips, repeats):
    from mmlearn.features import SpectralFeatures

    rng = np.random.default_rng(0)
    sr = 22050
    t = np.arange(sr) / sr
    clips = [
        (0.5 * np.sin(2 * np.pi * rng.uniform(100, 3000) * t)
         + 0.1 * rng.standard_normal(sr)).astype(np.float32)
        for _ in range(n_clips)
    ]
    est = SpectralFeatures(sr=sr)
    est.fit_transform(clips[:2])  # warm-up: filter banks, FFT plans
    _librosa_loop(clips[:2], sr)
    t_ours, ours = best_time(lambda: est.fit_transform(clips), repeats)
    t_ref, ref = best_time(lambda: _librosa_loop(clips, sr), repeats)
    # same column order? both are descriptor -> stat -> value
    rel = float(np.max(np.abs(ours - ref) / np.maximum(np.abs(ref).max(axis=0), 1e-6)))
    return {
        "n_clips": n_clips, "sr": sr, "seconds": 1.0,
        "librosa_clips_per_s": n_clips / t_ref, "mmlearn_clips_per_s": n_clips / t_ours,
        "speedup": t_ref / t_ours, "max_rel_diff_per_column": rel,
    }


def _cv_accuracy(X, y, folds):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    scores = []
    for train, test in folds:
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=3000))
        model.fit(X[train], y[train])
        scores.append(float((model.predict(X[test]) == y[test]).mean()))
    return scores


def bench_fsdd(data_dir, quick):
    from mmlearn.datasets import load_fsdd
    from mmlearn.features import MFCCFeatures, SpectralFeatures

    data = load_fsdd(data_dir)
    frame = data.frame
    if quick:
        frame = frame.iloc[::5].reset_index(drop=True)
    audio = list(frame["audio"])
    t0 = time.perf_counter()
    X_mfcc = MFCCFeatures(**MFCC_PARAMS).fit_transform(audio)
    X_spec = SpectralFeatures(**SPECTRAL_PARAMS).fit_transform(audio)
    extract_s = time.perf_counter() - t0
    sets = dict(zip(FEATURE_SETS, (X_mfcc, X_spec, np.hstack([X_mfcc, X_spec]))))

    digit = frame["target"].to_numpy()
    speaker = frame["speaker"].to_numpy()
    word_group = digit // 2
    speaker_folds = [(np.flatnonzero(word_group != g), np.flatnonzero(word_group == g))
                     for g in range(5)]
    test = (frame["split"] == "test").to_numpy()
    digit_folds = [(np.flatnonzero(~test), np.flatnonzero(test))]

    tasks = {}
    for task, y, folds in [("speaker id, held-out words (5 folds)", speaker, speaker_folds),
                           ("digit, official split", digit, digit_folds)]:
        tasks[task] = {}
        for name, X in sets.items():
            s = _cv_accuracy(X, y, folds)
            tasks[task][name] = {"mean": float(np.mean(s)), "folds": s, "n_features": X.shape[1]}
    return {"n_clips": len(audio), "extract_s": extract_s, "tasks": tasks}


PLOTS = {
    "speedups": {
        "title": "Spectral descriptors (all 8, mean + std): SpectralFeatures vs a loop of the librosa functions",
        "label": "speed-up: librosa loop time / SpectralFeatures time (x, higher is better)",
        "reference": "librosa loop",
    },
    "accuracy": {
        "title": "FSDD: MFCC vs spectral descriptors, StandardScaler + LogisticRegression",
        "label": "test accuracy, mean over the folds (higher is better)",
    },
}


def markdown(results):
    """The results as markdown: speed, then accuracy per task and feature set."""
    lines = ["# SpectralFeatures benchmark", "", f"Command: `{results['command']}`", ""]
    sp = results["speed"]
    lines += [
        f"## Speed (all 8 descriptors, mean+std, {sp['n_clips']} x 1 s @ 22.05 kHz)", "",
        "| librosa loop | mmlearn (NumPy) | speed-up | max diff / column scale |",
        "| --- | --- | --- | --- |",
        f"| {sp['librosa_clips_per_s']:.0f} clips/s | {sp['mmlearn_clips_per_s']:.0f} clips/s "
        f"| {sp['speedup']:.1f}x | {sp['max_rel_diff_per_column']:.1e} |", "",
    ]
    fs = results["fsdd"]
    lines += [f"## FSDD ({fs['n_clips']} clips), LogisticRegression on standardised features", "",
              "| task | " + " | ".join(FEATURE_SETS) + " |", "| --- | --- | --- | --- |"]
    for task, r in fs["tasks"].items():
        cells = " | ".join(f"{r[k]['mean']:.3f} ({r[k]['n_features']} f.)" for k in FEATURE_SETS)
        lines.append(f"| {task} | {cells} |")
    lines += ["", "Per-fold accuracies are in the JSON file. No environmental-sound task "
              "(ESC-50, UrbanSound8K) could be run: no such data is available offline."]
    return "\n".join(lines)


def main(argv=None):
    p = suite_parser(__doc__, quick="20 clips, one timing, every fifth FSDD clip", data="fsdd/",
                     default_data_dir=DEFAULT_DATA_DIR, default_json=RESULTS / "cpu-sound.json")
    p.add_argument("--repeats", type=int, default=3, help="timing repeats, best kept (default 3)")
    args = p.parse_args(argv)
    results = {
        "command": "python benchmarks/bench_sound.py" + (" --quick" if args.quick else ""),
        "machine": platform.processor() or platform.machine(),
        "quick": args.quick,
        "speed": bench_speed(20 if args.quick else 100, 1 if args.quick else args.repeats),
        "fsdd": bench_fsdd(args.data_dir, args.quick),
    }
    results["speedups"] = {"SpectralFeatures, CPU": results["speed"]["speedup"]}
    results["accuracy"] = {
        f"{task}: {name}": r[name]["mean"] for task, r in results["fsdd"]["tasks"].items() for name in FEATURE_SETS
    }
    results["markdown"] = markdown(results)
    write_result(results, args.json, labels=PLOTS, quick=args.quick)
    print(results["markdown"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
