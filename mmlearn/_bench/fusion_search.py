"""Voting-weight search: GridSearchCV vs the fitted-member cache vs FusionWeightSearchCV.

Data: the embedded AV-digits set (``mmlearn.datasets.load_av_digits()``,
FSDD spoken digits paired with MNIST images; its 2,100 official-train rows),
or the full local copies with ``--data-dir``. Three members:

* audio: MFCC statistics -> StandardScaler -> LogisticRegression, on the
  ``audio`` modality;
* image: HOG -> StandardScaler -> LogisticRegression, on ``image``;
* early fusion: both feature sets concatenated -> StandardScaler ->
  LogisticRegression.

A 64-point weight grid (every vector in {1, 2, 3, 4}^3) is searched with
5-fold stratified CV (accuracy) in three ways, side by side in one run:

(a) sklearn ``GridSearchCV`` over ``sklearn.ensemble.VotingClassifier``
    weights (soft voting) -- the reference;
(b) sklearn ``GridSearchCV`` over ``mmlearn.fusion.VotingFusionClassifier``
    weights, whose fitted-member cache turns repeated member fits into
    look-ups;
(c) ``mmlearn.fusion.FusionWeightSearchCV`` on the same grid: one member fit
    per fold, all 64 candidates scored at once on the cached out-of-fold
    probabilities;

plus (d) ``FusionWeightSearchCV(weights="optimize")`` for reference.

What is timed: by default the MFCC and HOG features are extracted ONCE,
before any search (their time is reported apart), and the members select
their columns of that numeric table (``Modality`` over a column slice), so
(a)-(d) time member fitting, prediction and scoring only. With
``--inline-features`` the extractors sit inside the member pipelines on the
raw DataFrame instead, with a shared per-sample ``FeatureMemo`` that is
warmed before timing (every path then pays memo look-ups, not extraction).
Member fits are counted by a LogisticRegression subclass that counts its
``fit`` calls; every path refits the best weights on all rows, and that
refit is included in the counts and the times. BLAS is limited to one
thread.

Run it with ``mmlearn bench --suite fusion_search`` (``--quick``: 300
embedded rows, an 8-point grid, 3-fold CV), or alone from a source
checkout::

    python benchmarks/bench_fusion_search.py            # embedded data
    python benchmarks/bench_fusion_search.py --quick    # tiny smoke run
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from ..compose import Modality, make_early_fusion, make_modality_pipeline
from ..datasets import load_av_digits
from ..features import FeatureMemo, HOGFeatures, MFCCFeatures
from ..fusion import FittedMemberCache, FusionWeightSearchCV, VotingFusionClassifier

FIT_COUNTS: collections.Counter = collections.Counter()


class CountedLogisticRegression(LogisticRegression):
    """LogisticRegression that counts its fits (by input width: which member)."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "CountedLogisticRegression":
        FIT_COUNTS[int(np.shape(X)[1])] += 1
        return super().fit(X, y, sample_weight=sample_weight)


def _mfcc(memo: Any = None) -> MFCCFeatures:
    return MFCCFeatures(sr=8000, n_fft=256, hop_length=80, n_mels=40, n_mfcc=20, memory=memo)


def _hog(memo: Any = None) -> HOGFeatures:
    return HOGFeatures(pixels_per_cell=(7, 7), cells_per_block=(2, 2), memory=memo)


def _head() -> Any:
    return make_pipeline(StandardScaler(), CountedLogisticRegression(max_iter=1000, random_state=0))


def _data(quick: bool, data_dir: str | None):
    # the embedded rows unless a data folder is named; --quick: embedded only
    data = load_av_digits(data_dir=None if quick else data_dir)
    frame = data.frame[data.frame["split"] == "train"].reset_index(drop=True)
    if quick:
        rng = np.random.default_rng(0)
        frame = frame.iloc[np.sort(rng.choice(len(frame), 300, replace=False))].reset_index(drop=True)
    return frame[["audio", "image"]], frame["target"].to_numpy()


def _members(X_raw: Any, inline: bool) -> tuple[Any, list, dict, dict]:
    """The features (timed apart) and the three members over them."""
    start = time.perf_counter()
    if inline:
        memo = FeatureMemo()
        n_audio = _mfcc(memo).fit_transform(X_raw["audio"]).shape[1]  # warms the memo
        n_image = _hog(memo).fit_transform(X_raw["image"]).shape[1]
        X = X_raw
        members = [
            ("audio", make_modality_pipeline("audio", _mfcc(memo), StandardScaler(), CountedLogisticRegression(max_iter=1000, random_state=0))),
            ("image", make_modality_pipeline("image", _hog(memo), StandardScaler(), CountedLogisticRegression(max_iter=1000, random_state=0))),
            ("early", make_early_fusion((_mfcc(memo), "audio"), (_hog(memo), "image"), final_estimator=_head())),
        ]
    else:
        audio = _mfcc().fit_transform(X_raw["audio"]).astype(np.float64)
        image = _hog().fit_transform(X_raw["image"]).astype(np.float64)
        n_audio, n_image = audio.shape[1], image.shape[1]
        X = np.hstack([audio, image])
        members = [
            ("audio", Modality(slice(0, n_audio), _head())),
            ("image", Modality(slice(n_audio, n_audio + n_image), _head())),
            ("early", _head()),
        ]
    feature_time = time.perf_counter() - start
    width_to_member = {n_audio: "audio", n_image: "image", n_audio + n_image: "early"}
    return X, members, width_to_member, {"feature_seconds": feature_time, "n_audio": n_audio, "n_image": n_image}


def _timed(fn) -> tuple[Any, float, dict]:
    FIT_COUNTS.clear()
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start, dict(FIT_COUNTS)


PLOTS = {
    "speedups": {
        "title": "Voting-weight search, same grid and CV: wall time vs (a) GridSearchCV + sklearn VotingClassifier",
        "label": "speed-up: time of (a) / time of the path (x, higher is better)",
        "reference": "(a) sklearn",
    },
}


def run(quick: bool = False, data_dir: str | None = None, inline: bool = False) -> dict:
    """Run the three searches side by side; returns JSON-ready results and a markdown table."""
    X_raw, y = _data(quick, data_dir)
    levels = (1.0, 2.0) if quick else (1.0, 2.0, 3.0, 4.0)
    grid = [list(w) for w in itertools.product(levels, repeat=3)]
    cv = 3 if quick else 5
    results: dict = {"n_samples": int(len(y)), "n_candidates": len(grid), "cv": cv, "inline_features": inline}
    with threadpool_limits(limits=1, user_api="blas"):
        X, members, widths, info = _members(X_raw, inline)
        results.update(info)
        runs = {
            "(a) GridSearchCV + sklearn VotingClassifier": lambda: GridSearchCV(
                VotingClassifier(members, voting="soft"), {"weights": grid}, cv=cv
            ).fit(X, y),
            "(b) GridSearchCV + VotingFusionClassifier": lambda: GridSearchCV(
                VotingFusionClassifier(members, voting="soft", memory=FittedMemberCache()), {"weights": grid}, cv=cv
            ).fit(X, y),
            "(c) FusionWeightSearchCV (same grid)": lambda: FusionWeightSearchCV(
                VotingFusionClassifier(members, voting="soft", memory=FittedMemberCache()), weights=grid, cv=cv
            ).fit(X, y),
            "(d) FusionWeightSearchCV (optimize)": lambda: FusionWeightSearchCV(
                VotingFusionClassifier(members, voting="soft", memory=FittedMemberCache()), weights="optimize", cv=cv
            ).fit(X, y),
        }
        rows = {}
        fitted = {}
        for name, fn in runs.items():
            search, seconds, counts = _timed(fn)
            fitted[name] = search
            per_member = {widths.get(k, str(k)): v for k, v in counts.items()}
            rows[name] = {
                "seconds": seconds,
                "member_fits": int(sum(counts.values())),
                "fits_per_member": per_member,
                "best_weights": [float(w) for w in search.best_params_["weights"]],
                "best_score": float(search.best_score_),
            }
    ref = rows["(a) GridSearchCV + sklearn VotingClassifier"]
    for r in rows.values():
        r["speedup_vs_a"] = ref["seconds"] / r["seconds"]
    a, c = (fitted["(a) GridSearchCV + sklearn VotingClassifier"], fitted["(c) FusionWeightSearchCV (same grid)"])
    b = fitted["(b) GridSearchCV + VotingFusionClassifier"]
    results["max_abs_mean_score_diff_a_c"] = float(
        np.max(np.abs(a.cv_results_["mean_test_score"] - c.cv_results_["mean_test_score"]))
    )
    results["max_abs_mean_score_diff_a_b"] = float(
        np.max(np.abs(a.cv_results_["mean_test_score"] - b.cv_results_["mean_test_score"]))
    )
    results["same_ranking_a_c"] = bool(np.array_equal(a.cv_results_["rank_test_score"], c.cv_results_["rank_test_score"]))
    best = a.cv_results_["mean_test_score"].max()
    results["n_tied_best_a"] = int(np.sum(a.cv_results_["mean_test_score"] == best))
    results["runs"] = rows
    results["markdown"] = _markdown(results)
    results["speedups"] = speedups(results)
    return results


def speedups(result: dict) -> dict:
    """Speed-up of each search path over (a), by its full name."""
    return {name: run["speedup_vs_a"] for name, run in result["runs"].items()}


def _markdown(res: dict) -> str:
    lines = [
        f"Weight search on AV digits: {res['n_samples']} rows, {res['cv']}-fold CV, "
        f"{res['n_candidates']}-point grid, 3 members; features "
        + ("inside the members (warm FeatureMemo)" if res["inline_features"] else "precomputed")
        + f" in {res['feature_seconds']:.2f} s (not in the times below).",
        "",
        "| path | member fits (audio/image/early) | wall s | speed-up vs (a) | best weights | best CV accuracy |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in res["runs"].items():
        per = r["fits_per_member"]
        split = "/".join(str(per.get(m, 0)) for m in ("audio", "image", "early"))
        w = "(" + ", ".join(f"{v:g}" if v == int(v) else f"{v:.3f}" for v in r["best_weights"]) + ")"
        lines.append(
            f"| {name} | {r['member_fits']} ({split}) | {r['seconds']:.2f} | {r['speedup_vs_a']:.1f}x | {w} | {r['best_score']:.4f} |"
        )
    lines += [
        "",
        f"- mean test scores, max |(a) - (c)| = {res['max_abs_mean_score_diff_a_c']:.2e}, "
        f"|(a) - (b)| = {res['max_abs_mean_score_diff_a_b']:.2e}; same ranking (a) vs (c): {res['same_ranking_a_c']}",
        f"- candidates tied at the best mean score in (a): {res['n_tied_best_a']} "
        "(GridSearchCV and FusionWeightSearchCV both take the first in grid order)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command line of ``benchmarks/bench_fusion_search.py``."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None, help="folder with fsdd/ and mnist/ for the full set (default: embedded)")
    parser.add_argument("--quick", action="store_true", help="a tiny run that checks everything works")
    parser.add_argument("--inline-features", action="store_true", help="extract features inside the members (warm memo)")
    parser.add_argument("--json", default=None, help="write the results to this JSON file")
    args = parser.parse_args(argv)
    res = run(quick=args.quick, data_dir=args.data_dir, inline=args.inline_features)
    print(res["markdown"])
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2, default=str))
