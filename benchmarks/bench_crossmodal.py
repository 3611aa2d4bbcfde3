"""CrossModalMap on the embedded AV-digits data: retrieval, and fusion with a modality half missing.

Data: :func:`mmlearn.datasets.load_av_digits` (2,400 rows; each pairs an FSDD
recording with an MNIST image of the same digit), official split (2,100 train
/ 300 test rows). Image features: HOG (4x4 cells of 7x7 pixels) -> scaler ->
PCA(40); audio features: MFCC (20 coefficients, mean/std/min/max) -> scaler ->
PCA(40).

Retrieval: the map is fitted on the training rows; each test image queries
the 300 test recordings (and each recording the images). A retrieved item
counts if it has the query's digit (class-level match). recall@k is the
fraction of queries with at least one match in the top k, precision@k the
fraction of matches among the top k; the random baseline is the exact
expectation for a random ranking of the same gallery (hypergeometric).

Missing modality: 50 % of the rows (train and test, fixed seed) lose their
audio. Compared, all with LogisticRegression:

- image only (the audio column dropped altogether);
- drop: VotingFusionClassifier of an image and an audio Modality; a row
  without audio is decided by the image alone (mmlearn's default);
- mean imputation: early fusion of both feature sets, missing audio
  features replaced by their training mean;
- CCA imputation: early fusion after CrossModalMap(transform_output=
  "features"), missing audio features predicted from the image;
- complete audio (no row missing), early fusion: the ceiling.

Run (``--help`` for the options; ``--quick``: one missing-audio draw)::

    python benchmarks/bench_crossmodal.py [--seeds 3] [--quick]

The results go to ``--json`` (default ``benchmarks/results/cpu-crossmodal.json``),
with the markdown (``.md``) and plots (``_recall_at_1.png``, ``_accuracy.png``)
beside it.
"""

from __future__ import annotations

import sys
import time
from math import comb
from pathlib import Path

import numpy as np

from mmlearn._bench import suite_parser, write_result

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
KS = (1, 5, 10)


def _image_features():
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from mmlearn.features import HOGFeatures

    return make_pipeline(HOGFeatures(pixels_per_cell=(7, 7), cells_per_block=(2, 2)),
                         StandardScaler(), PCA(40, random_state=0))


def _audio_features():
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from mmlearn.features import MFCCFeatures

    return make_pipeline(
        MFCCFeatures(sr=8000, n_mfcc=20, n_fft=256, hop_length=80, n_mels=40,
                     stats=("mean", "std", "min", "max")),
        StandardScaler(), PCA(40, random_state=0))


def _crossmodal(**kw):
    from mmlearn.crossmodal import CrossModalMap

    return CrossModalMap(source=("image", _image_features()), target=("audio", _audio_features()),
                         **kw)


def _random_baseline(labels_gallery, labels_query, k):
    n = len(labels_gallery)
    rec, prec = [], []
    for c in labels_query:
        n_c = int(np.sum(labels_gallery == c))
        rec.append(1.0 - comb(n - n_c, k) / comb(n, k))
        prec.append(n_c / n)
    return float(np.mean(rec)), float(np.mean(prec))


def retrieval(X_train, X_test, y_test, method, n_components):
    cm = _crossmodal(method=method, n_components=n_components).fit(X_train)
    out = {}
    for query in ("source", "target"):
        name = "image->audio" if query == "source" else "audio->image"
        _, idx = cm.kneighbors(X_test, X_test, query=query, n_neighbors=max(KS))
        match = y_test[idx] == y_test[:, None]
        out[name] = {
            f"recall@{k}": float(match[:, :k].any(axis=1).mean()) for k in KS
        } | {f"precision@{k}": float(match[:, :k].mean()) for k in KS}
    return out


def _lr():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=0.1, max_iter=3000)


def _stack_features(pipe_img, pipe_aud):
    """Early fusion of the two feature pipelines, missing audio as NaN."""
    from sklearn.compose import ColumnTransformer

    from mmlearn.compose import Modality

    return ColumnTransformer([("image", Modality("image", pipe_img), ["image", "audio"]),
                              ("audio", Modality("audio", pipe_aud), ["image", "audio"])])


def missing_modality(X_train, y_train, X_test, y_test, seed, n_components):
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from mmlearn.compose import Modality
    from mmlearn.fusion import VotingFusionClassifier

    rng = np.random.default_rng(seed)
    Xtr, Xte = X_train.copy(), X_test.copy()
    Xtr.loc[rng.random(len(Xtr)) < 0.5, "audio"] = None
    Xte.loc[rng.random(len(Xte)) < 0.5, "audio"] = None

    models = {
        "image only": make_pipeline(
            _stack_features(_image_features(), _audio_features()).set_params(audio="drop"),
            StandardScaler(), _lr()),
        "drop (voting)": VotingFusionClassifier([
            ("image", Modality("image", make_pipeline(_image_features(), _lr()))),
            ("audio", Modality("audio", make_pipeline(_audio_features(), _lr()))),
        ]),
        "mean imputation": make_pipeline(_stack_features(_image_features(), _audio_features()),
                                         SimpleImputer(), StandardScaler(), _lr()),
        "CCA imputation": make_pipeline(
            _crossmodal(n_components=n_components, transform_output="features"),
            StandardScaler(), _lr()),
    }
    out = {}
    for name, model in models.items():
        model.fit(Xtr, y_train)
        out[name] = float(model.score(Xte, y_test))
    full = make_pipeline(_stack_features(_image_features(), _audio_features()),
                         StandardScaler(), _lr()).fit(X_train, y_train)
    out["complete audio (ceiling)"] = float(full.score(X_test, y_test))
    return out


PLOTS = {
    "recall_at_1": {
        "title": "AV digits retrieval, test images <-> test recordings: recall@1 (top item has the query's digit)",
        "label": "recall@1 (higher is better)",
    },
    "accuracy": {
        "title": "AV digits test accuracy with 50 % of the audio missing (train and test), mean of the draws",
        "label": "test accuracy (higher is better)",
    },
}


def main(argv=None):
    p = suite_parser(__doc__, quick="one missing-audio draw", data=None,
                     default_json=RESULTS / "cpu-crossmodal.json")
    p.add_argument("--seeds", type=int, default=3, help="missing-audio draws (default 3)")
    args = p.parse_args(argv)
    seeds = 1 if args.quick else args.seeds

    from mmlearn.datasets import load_av_digits

    data = load_av_digits()
    frame = data.frame
    X = frame[["image", "audio"]]
    train = (frame["split"] == "train").to_numpy()
    X_train, X_test = X[train].reset_index(drop=True), X[~train].reset_index(drop=True)
    y_train, y_test = data.target[train], data.target[~train]

    t0 = time.perf_counter()
    res = {"command": "python benchmarks/bench_crossmodal.py"
           + (" --quick" if args.quick else f" --seeds {seeds}" if seeds != 3 else ""),
           "quick": args.quick, "n_train": int(train.sum()), "n_test": int((~train).sum()), "retrieval": {}}
    for method, n_comp in (("cca", 9), ("cca", 20), ("pls", 9)):
        res["retrieval"][f"{method}, {n_comp} components"] = retrieval(
            X_train, X_test, y_test, method, n_comp)
    base = {}
    for k in KS:
        r, pr = _random_baseline(y_test, y_test, k)
        base[f"recall@{k}"], base[f"precision@{k}"] = r, pr
    res["retrieval"]["random ranking (expected)"] = {"image->audio": base, "audio->image": base}
    runs = [missing_modality(X_train, y_train, X_test, y_test, seed, 9)
            for seed in range(seeds)]
    res["missing_audio_50pct"] = {
        name: {"mean": float(np.mean([r[name] for r in runs])),
               "per_seed": [r[name] for r in runs]}
        for name in runs[0]
    }
    res["seconds"] = time.perf_counter() - t0
    res["accuracy"] = {name: r["mean"] for name, r in res["missing_audio_50pct"].items()}
    res["recall_at_1"] = {f"{d}: {name}": r[d]["recall@1"] for d in ("image->audio", "audio->image")
                          for name, r in res["retrieval"].items()}
    res["markdown"] = markdown(res)
    write_result(res, args.json, labels=PLOTS, quick=args.quick)
    print(res["markdown"])
    return 0


def markdown(res):
    """The results as markdown: retrieval per map and direction, then accuracy with audio missing."""
    lines = ["# CrossModalMap on AV digits (embedded, official split)", "",
             f"Command: `{res['command']}` ({res['n_train']} train / {res['n_test']} test rows)",
             "", "## Retrieval, test images <-> test recordings (class-level match)", "",
             "| map | direction | recall@1 | recall@5 | recall@10 | precision@10 |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, r in res["retrieval"].items():
        for direction, m in r.items():
            lines.append(f"| {name} | {direction} | {m['recall@1']:.3f} | {m['recall@5']:.3f} | "
                         f"{m['recall@10']:.3f} | {m['precision@10']:.3f} |")
    lines += ["", "## Test accuracy with 50 % of the audio missing (train and test), "
              f"mean of {len(next(iter(res['missing_audio_50pct'].values()))['per_seed'])} draws",
              "", "| model | accuracy | per draw |", "| --- | --- | --- |"]
    for name, r in res["missing_audio_50pct"].items():
        lines.append(f"| {name} | {r['mean']:.3f} | "
                     + ", ".join(f"{v:.3f}" for v in r["per_seed"]) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
