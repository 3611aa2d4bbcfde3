"""GridSearchCV over voting weights with feature extraction inside the members.

The user-facing case of issue 10: a 60-row multimodal table (AV digits:
a spoken digit and an MNIST image per row), two ``Modality`` members whose
pipelines start with the feature extractor (MFCC, HOG: no feature memo),
and 80 weight candidates searched with 3-fold CV:

(a) ``GridSearchCV(VotingFusionClassifier(members, memory=FittedMemberCache()),
    {"weights": grid})`` -- the cache is what makes each member fit once per
    fold; without member-output caching every candidate still re-extracts
    the test fold's features at predict time;
(b) ``FusionWeightSearchCV(VotingFusionClassifier(members), weights=grid)``
    -- no cache needed: one member fit per fold, outputs computed once;
(c) as (a) without a cache (``memory=None``): every candidate fits and
    predicts every member.

Members count their fits and the extractors count the samples they
transform. BLAS is limited to one thread. The script runs unchanged
against older mmlearn versions (for before/after figures)::

    python benchmarks/bench_fusion_predict.py --json out.json
"""

from __future__ import annotations

import argparse
import collections
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import mmlearn
from mmlearn.compose import make_modality_pipeline
from mmlearn.datasets import load_av_digits
from mmlearn.features import HOGFeatures, MFCCFeatures
from mmlearn.fusion import FittedMemberCache, FusionWeightSearchCV, VotingFusionClassifier

COUNTS: collections.Counter = collections.Counter()


class CountedLogisticRegression(LogisticRegression):
    """Counts its fits."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "CountedLogisticRegression":
        COUNTS["member_fits"] += 1
        return super().fit(X, y, sample_weight=sample_weight)


class CountedMFCC(MFCCFeatures):
    """Counts the clips it transforms."""

    def transform(self, X: Any) -> np.ndarray:
        COUNTS["clips_extracted"] += len(X)
        return super().transform(X)


class CountedHOG(HOGFeatures):
    """Counts the images it transforms."""

    def transform(self, X: Any) -> np.ndarray:
        COUNTS["images_extracted"] += len(X)
        return super().transform(X)


def _members() -> list:
    lr = dict(max_iter=1000, random_state=0)
    return [
        ("audio", make_modality_pipeline(
            "audio", CountedMFCC(sr=8000, n_fft=256, hop_length=80, n_mels=40, n_mfcc=20),
            StandardScaler(), CountedLogisticRegression(**lr))),
        ("image", make_modality_pipeline(
            "image", CountedHOG(pixels_per_cell=(7, 7), cells_per_block=(2, 2)),
            StandardScaler(), CountedLogisticRegression(**lr))),
    ]


def _data(n_rows: int):
    frame = load_av_digits().frame
    frame = frame[frame["split"] == "train"]
    frame = frame[frame["target"].isin([0, 1, 2])]  # 3 classes, 20 rows each
    frame = frame.groupby("target", group_keys=False).head(n_rows // 3).reset_index(drop=True)
    return frame[["audio", "image"]], frame["target"].to_numpy()


def run(n_rows: int = 60, cv: int = 3) -> dict:
    X, y = _data(n_rows)
    grid = [[float(a), float(b)] for a in range(1, 11) for b in range(1, 9)]  # 80 candidates
    runs = {
        "(a) GridSearchCV + VotingFusionClassifier(memory=FittedMemberCache())": lambda: GridSearchCV(
            VotingFusionClassifier(_members(), memory=FittedMemberCache()), {"weights": grid}, cv=cv
        ).fit(X, y),
        "(c) GridSearchCV + VotingFusionClassifier (no cache)": lambda: GridSearchCV(
            VotingFusionClassifier(_members()), {"weights": grid}, cv=cv
        ).fit(X, y),
        "(b) FusionWeightSearchCV": lambda: FusionWeightSearchCV(
            VotingFusionClassifier(_members()), weights=grid, cv=cv
        ).fit(X, y),
    }
    out: dict = {"mmlearn_file": mmlearn.__file__, "n_samples": len(y), "n_candidates": len(grid), "cv": cv, "runs": {}}
    with threadpool_limits(limits=1, user_api="blas"):
        for name, fn in runs.items():
            COUNTS.clear()
            start = time.perf_counter()
            search = fn()
            seconds = time.perf_counter() - start
            out["runs"][name] = {
                "seconds": round(seconds, 3),
                **{k: int(v) for k, v in COUNTS.items()},
                "best_weights": [float(w) for w in search.best_params_["weights"]],
                "best_score": float(search.best_score_),
            }
    a, _, b = out["runs"].values()
    out["ratio_a_over_b"] = round(a["seconds"] / b["seconds"], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=60)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    res = run(args.rows)
    print(json.dumps(res, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
