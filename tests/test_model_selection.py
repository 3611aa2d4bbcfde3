import re
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, make_regression
from sklearn.ensemble import VotingClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GroupKFold, KFold, LeaveOneOut, StratifiedKFold, cross_val_predict, cross_val_score
from sklearn.pipeline import make_pipeline

from mmlearn.compose import Modality
from mmlearn.features._base import _BatchFeatureExtractor
from mmlearn.fusion import VotingFusionClassifier
from mmlearn.features import FeatureMemo
from mmlearn.model_selection import evaluate


def _iris_frame():
    X, y = load_iris(return_X_y=True)
    return pd.DataFrame(X, columns=list("abcd")), y


def _voting():
    return VotingClassifier(
        [("ab", Modality(["a", "b"], LogisticRegression())), ("cd", Modality(["c", "d"], LogisticRegression()))],
        voting="soft",
    )


def test_fused_scores_equal_cross_val_score():
    X, y = _iris_frame()
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    res = evaluate(_voting(), X, y, cv=cv, progress=False)
    fused = res.scores.query("model == 'VotingClassifier'")["value"].to_numpy()
    np.testing.assert_allclose(fused, cross_val_score(_voting(), X, y, cv=cv))
    assert set(res.scores["model"]) == {"VotingClassifier", "ab", "cd"}
    assert len(res.timings) == 5 and (res.timings["fit_time"] > 0).all()


def test_member_scores_come_from_the_members_fitted_in_each_fold():
    X, y = _iris_frame()
    X.loc[::4, "c"] = np.nan  # modality cd missing on a quarter of the rows
    cv = StratifiedKFold(5, shuffle=True, random_state=1)
    members_only = Modality(["c", "d"], LogisticRegression())
    res = evaluate(
        VotingFusionClassifier([("ab", Modality(["a", "b"], LogisticRegression())), ("cd", members_only)]),
        X, y, cv=cv, progress=False,
    )
    got = res.scores.query("model == 'cd'")["value"].to_numpy()
    expected = []
    for train, test in cv.split(X, y):
        m = clone(members_only).fit(X.iloc[train], y[train])
        mask = m.presence_mask(X.iloc[test])
        expected.append(np.mean(m.predict(X.iloc[test][mask]) == y[test][mask]))
    np.testing.assert_allclose(got, expected)


def test_loo_scores_pooled_predictions():
    X, y = _iris_frame()
    X, y = X.iloc[::3], y[::3]
    est = LogisticRegression(max_iter=500)
    res = evaluate(est, X, y, cv="loo", progress=False)
    assert res.pooled and list(res.scores["fold"]) == ["pooled"]
    pred = cross_val_predict(est, X, y, cv=LeaveOneOut())
    assert res.scores["value"].iloc[0] == pytest.approx(np.mean(pred == y))
    assert "pooled" in res.to_markdown() and "leave-one-out" in res.notes[0]
    np.testing.assert_array_equal(res.predictions["pred_LogisticRegression"].astype(int), pred)


def test_regression_grouped_and_multiple_metrics():
    X, y = make_regression(60, 4, noise=1.0, random_state=0)
    groups = np.repeat(np.arange(6), 10)
    res = evaluate(Ridge(), X, y, cv=GroupKFold(3), groups=groups, scoring=["r2", "neg_mean_absolute_error"], progress=False)
    r2 = res.scores.query("metric == 'r2'")["value"].to_numpy()
    np.testing.assert_allclose(r2, cross_val_score(Ridge(), X, y, cv=GroupKFold(3), groups=groups))
    assert list(res.summary().index.get_level_values("metric")) == ["r2", "neg_mean_absolute_error"]


class _CountingExtractor(_BatchFeatureExtractor):
    """Stateless toy extractor: mean and std of a 1-D sample."""

    calls: list = []

    def __init__(self, *, batch_size=64, n_jobs=None, memory=None, device=None):
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.memory = memory
        self.device = device

    def _load(self, sample, index):
        return np.asarray(sample, dtype=np.float32)

    def _check_params(self):
        pass

    def _extract_batch(self, batch, xp):
        type(self).calls.append(len(batch))
        return xp.stack([xp.stack([b.mean(), b.std()]) for b in batch])

    def get_feature_names_out(self, input_features=None):
        return np.array(["mean", "std"], dtype=object)


@pytest.mark.parametrize("cv", [5, "loo"])
def test_stateless_features_computed_once_across_folds(cv):
    rng = np.random.default_rng(0)
    n = 40
    y = np.arange(n) % 2
    X = pd.DataFrame({"sig": pd.Series([rng.normal(loc=label, size=50) for label in y], dtype=object)})
    from sklearn.pipeline import make_pipeline

    model = Modality("sig", make_pipeline(_CountingExtractor(), LogisticRegression()))
    _CountingExtractor.calls.clear()
    evaluate(model, X, y, cv=cv, progress=False)
    assert sum(_CountingExtractor.calls) > n  # no memo unless asked for one
    _CountingExtractor.calls.clear()
    memo = FeatureMemo()
    evaluate(model, X, y, cv=cv, progress=False, memory=memo)
    assert sum(_CountingExtractor.calls) == n  # each sample's features once
    assert model.estimator.steps[0][1].memory is None  # the user's estimator untouched
    assert memo.misses == n and memo.hits > 0


def test_bad_input_errors():
    X, y = _iris_frame()
    y_small = y.copy()
    y_small[:47] = 1  # class 0 keeps 3 members
    with pytest.raises(ValueError, match=r"class 0 has only 3 rows, fewer than the 5 stratified folds. Use cv <= 3"):
        evaluate(LogisticRegression(), X, y_small, cv=5, progress=False)
    y_one = y.copy()
    y_one[:49] = 1  # class 0 keeps one row, row 49: no "cv <= 1" advice
    with pytest.raises(ValueError, match=r"class 0 has a single row \(row 49\), so no fold can both train on it") as info:
        evaluate(LogisticRegression(), X, y_one, cv=5, progress=False)
    assert "cv <=" not in str(info.value)
    with pytest.raises(ValueError, match="Leave-one-out needs at least 2 samples, got 1"):
        evaluate(Ridge(), X.iloc[:1], y[:1].astype(float), cv="loo", progress=False)
    with pytest.raises(ValueError, match=r"Unknown scoring 'acuracy'.*get_scorer_names"):
        evaluate(LogisticRegression(), X, y, scoring="acuracy", progress=False)
    with pytest.raises(ValueError, match="groups has 10 entries but X has 150 rows"):
        evaluate(LogisticRegression(), X, y, cv=GroupKFold(3), groups=np.arange(10), progress=False)
    with pytest.raises(ValueError, match="X has 150 rows but y has 149"):
        evaluate(LogisticRegression(), X, y[:-1], progress=False)
    with pytest.raises(ValueError, match=r"fold 0: its training part has no sample of class\(es\) \[0\]"):
        evaluate(LogisticRegression(), X, y, cv=KFold(3), progress=False)


def test_plot_scores_and_confusion(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    X, y = _iris_frame()
    res = evaluate(_voting(), X, y, cv=3, return_predictions=True, progress=False)
    ax = res.plot()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["VotingClassifier", "ab", "cd"]
    ax = res.plot("confusion")
    ax.figure.savefig(tmp_path / "cm.png")
    assert (tmp_path / "cm.png").stat().st_size > 1000


def test_dask_backend_gives_the_same_scores():
    distributed = pytest.importorskip("distributed", reason="the 'distributed' extra is part of make test")
    import joblib

    X, y = _iris_frame()
    cv = StratifiedKFold(4, shuffle=True, random_state=0)
    ref = evaluate(_voting(), X, y, cv=cv, progress=False)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        with joblib.parallel_config(backend="dask"), distributed.get_task_stream(client) as ts:
            got = evaluate(_voting(), X, y, cv=cv, n_jobs=-1, progress=False)
    assert len(ts.data) >= 4  # the folds really ran on the cluster's workers
    pd.testing.assert_frame_equal(ref.scores, got.scores)


def test_dask_backend_weight_search_gives_the_same_result():
    distributed = pytest.importorskip("distributed", reason="the 'distributed' extra is part of make test")
    import joblib

    from mmlearn.fusion import FusionWeightSearchCV

    X, y = _iris_frame()
    members = [("ab", Modality(["a", "b"], LogisticRegression())), ("cd", Modality(["c", "d"], LogisticRegression()))]
    ref = FusionWeightSearchCV(VotingFusionClassifier(members), step=0.25, cv=4).fit(X, y)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        with joblib.parallel_config(backend="dask"), distributed.get_task_stream(client) as ts:
            got = FusionWeightSearchCV(VotingFusionClassifier(members), step=0.25, cv=4, n_jobs=-1).fit(X, y)
    assert len(ts.data) >= 4  # member fits ran on the cluster's workers
    np.testing.assert_allclose(got.best_weights_, ref.best_weights_)
    np.testing.assert_allclose(got.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"])


@pytest.mark.parametrize("cv", [5, "loo"])
def test_mfcc_and_hog_kernels_run_once_per_sample_across_folds(monkeypatch, cv):
    """evaluate() shares one per-sample memo: each clip / image reaches its kernel once."""
    import mmlearn.features.audio as audio_mod
    import mmlearn.features.image as image_mod
    from mmlearn.datasets import load_av_digits
    from mmlearn.features import HOGFeatures, MFCCFeatures
    from sklearn.preprocessing import StandardScaler

    seen = {"mfcc": 0, "hog": 0}

    def counting(name, kernel):
        def wrapped(*args, **kwargs):
            batch = kwargs["signals"] if name == "mfcc" else args[0]
            seen[name] += len(batch)
            return kernel(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(audio_mod, "mfcc_batch", counting("mfcc", audio_mod.mfcc_batch))
    monkeypatch.setattr(image_mod, "hog_batch", counting("hog", image_mod.hog_batch))
    frame = load_av_digits().frame
    frame = frame.groupby("target").head(4 if cv == "loo" else 6).reset_index(drop=True)
    X, y = frame[["audio", "image"]], frame["target"].to_numpy()
    from sklearn.pipeline import make_pipeline

    members = [
        ("audio", Modality("audio", make_pipeline(MFCCFeatures(sr=8000, n_fft=256, hop_length=80, n_mels=20),
                                                  StandardScaler(), LogisticRegression(max_iter=300)))),
        ("image", Modality("image", make_pipeline(HOGFeatures(pixels_per_cell=(7, 7), cells_per_block=(2, 2)),
                                                  LogisticRegression(max_iter=300)))),
    ]
    res = evaluate(VotingFusionClassifier(members), X, y, cv=cv, progress=False, memory=FeatureMemo())
    assert seen == {"mfcc": len(X), "hog": len(X)}
    n_folds = len(X) if cv == "loo" else 5
    assert len(res.timings) == n_folds


def test_errors_name_the_users_row_not_the_fold_position():
    # issue 10 item 8: row 30 of the user's table was reported as "sample 18" of a fold
    from sklearn.preprocessing import FunctionTransformer

    from mmlearn.compose import make_modality_pipeline

    X, y = load_iris(return_X_y=True)
    a = pd.Series(list(X[:, :2]), dtype=object)
    b = pd.Series(list(X[:, 2:]), dtype=object)
    a[30] = b[30] = None
    table = pd.DataFrame({"a": a, "b": b}).set_axis([f"clip-{i}" for i in range(150)])

    def stack(values):
        return np.vstack(list(values))

    members = [
        ("a", make_modality_pipeline("a", FunctionTransformer(stack), LogisticRegression(max_iter=300))),
        ("b", make_modality_pipeline("b", FunctionTransformer(stack), LogisticRegression(max_iter=300))),
    ]
    # the fusion saw the row at its position in a fold; evaluate restates it with the user's
    with pytest.raises(ValueError, match=r"row 'clip-30' \(position 30\) has every modality missing") as info:
        evaluate(VotingFusionClassifier(members), table, y, cv=5, progress=False)
    assert info.value.row_label == "clip-30" and info.value.row_position == 30
    assert "is at position" not in str(info.value)  # no second statement of it


@pytest.mark.parametrize("as_array", [False, True])
@pytest.mark.parametrize("kind", ["voting", "stacking", "search"])
def test_a_bad_sample_is_named_by_its_row_in_the_users_table_through_nested_folds(kind, as_array):
    # a fusion fits its members on cv folds (stacking, the weight search) and evaluate fits
    # the fusion on folds: the error names the row of the table the user gave, not its
    # position in a fold, also for an array (which has no index labels to go by)
    from sklearn.preprocessing import FunctionTransformer

    from mmlearn.fusion import FusionWeightSearchCV, StackingFusionClassifier, VotingFusionClassifier

    def check(values):
        for i, v in enumerate(values):
            if np.isnan(np.asarray(v, dtype=float)).any():
                exc = ValueError(f"sample {i}: the clip is corrupt")
                exc.sample_index = i
                raise exc
        return np.vstack(list(values))

    rng = np.random.default_rng(0)
    n = 45
    a = pd.Series([rng.standard_normal(2) for _ in range(n)], dtype=object)
    a[38] = np.array([np.nan, 0.0])
    X = pd.DataFrame({"a": a, "b": rng.standard_normal(n)})
    y = np.arange(n) % 3
    col_a, col_b = (0, [1]) if as_array else ("a", ["b"])
    members = [("a", Modality(col_a, make_pipeline(FunctionTransformer(check), LogisticRegression()))),
               ("b", Modality(col_b, LogisticRegression()))]
    model = {
        "voting": VotingFusionClassifier(members, voting="soft"),
        "stacking": StackingFusionClassifier(members, cv=3),
        "search": FusionWeightSearchCV(VotingFusionClassifier(members, voting="soft"), step=0.5, cv=3),
    }[kind]
    table = X.to_numpy(dtype=object) if as_array else X
    where = "row 38 of column 0" if as_array else "row 38 (index label 38) of column 'a'"
    for run in (lambda: model.fit(table, y),
                lambda: evaluate(model, table, y, cv=KFold(3, shuffle=True, random_state=0), progress=False)):
        with pytest.raises(ValueError, match=rf"^{re.escape(where)}: the clip is corrupt") as info:
            run()
        assert info.value.row_position == 38 and info.value.row_table_size == n


def test_restating_a_row_touches_only_the_row_named():
    from mmlearn._tables import mark_row, restate_row

    exc = ValueError("row 0 of column 'a': audio has 3 non-finite value(s), the first at position 0.")
    mark_row(exc, 0, 4)
    restate_row(exc, np.array([9, 11, 12, 14]), 20)
    assert str(exc) == "row 9 of column 'a': audio has 3 non-finite value(s), the first at position 0."
    exc = ValueError("Fusion: row 'x' (position 2) has every modality missing: row 2 ...")
    mark_row(exc, 2, 3, "x")
    restate_row(exc, np.array([4, 5, 7]), 8)
    assert str(exc) == "Fusion: row 'x' (position 7) has every modality missing: row 2 ..."
    assert (exc.row_position, exc.row_table_size, exc.row_label) == (7, 8, "x")
    restate_row(exc, np.array([1, 2]), 3)  # a subset of another size: not the table it names
    assert exc.row_position == 7
    plain = ValueError("row 1 is bad")
    restate_row(plain, np.array([5, 6]), 9)  # not marked: left alone
    assert str(plain) == "row 1 is bad"


class _BadRowClassifier(LogisticRegression):
    """Fails on the row labelled 'clip-7', the way Modality reports a bad clip."""

    def predict(self, X):
        if "clip-7" in X.index:
            exc = ValueError("could not decode the audio of row 'clip-7'")
            exc.row_label = "clip-7"
            raise exc
        return super().predict(X)


def test_row_label_errors_get_the_position_in_the_users_table():
    X, y = _iris_frame()
    X = X.set_axis([f"clip-{i}" for i in range(len(X))])
    with pytest.raises(ValueError, match=r"row 'clip-7'.*\[row 'clip-7' is at position 7 of the table given to evaluate\]"):
        evaluate(_BadRowClassifier(max_iter=300), X, y, cv=3, progress=False)


# ------------------------------------------------- several models at once (issue 12.2)
class _CountingSplitter(KFold):
    """KFold that counts its split() calls and reshuffles on each one (random_state=None)."""

    calls = 0

    def split(self, X, y=None, groups=None):
        type(self).calls += 1
        return super().split(X, y, groups)


def _search(cv=3):
    from mmlearn.fusion import FusionWeightSearchCV

    members = [("ab", Modality(["a", "b"], LogisticRegression())), ("cd", Modality(["c", "d"], LogisticRegression()))]
    return FusionWeightSearchCV(VotingFusionClassifier(members), step=0.25, cv=cv)


def test_several_models_scored_on_one_set_of_splits_like_cross_val_score():
    from sklearn.naive_bayes import GaussianNB

    X, y = _iris_frame()
    models = {"logreg": LogisticRegression(max_iter=500), "nb": GaussianNB(), "vote": _voting()}
    _CountingSplitter.calls = 0
    splitter = _CountingSplitter(5, shuffle=True)  # a fresh shuffle on every split() call
    res = evaluate(models, X, y, cv=splitter, progress=False)
    assert _CountingSplitter.calls == 1  # split once: every model saw the same folds
    assert list(dict.fromkeys(res.scores["model"])) == ["logreg", "nb", "vote", "vote/ab", "vote/cd"]
    assert res.roles == {"logreg": "model", "nb": "model", "vote": "fusion", "vote/ab": "member", "vote/cd": "member"}
    # sklearn as the oracle, on fixed splits
    cv = StratifiedKFold(5, shuffle=True, random_state=3)
    res = evaluate(models, X, y, cv=cv, scoring=["accuracy", "neg_log_loss"], progress=False)
    for name, est in models.items():
        for metric in ("accuracy", "neg_log_loss"):
            got = res.scores.query("model == @name and metric == @metric")["value"].to_numpy()
            np.testing.assert_allclose(got, cross_val_score(est, X, y, cv=cv, scoring=metric), rtol=1e-10)
    member = Modality(["c", "d"], LogisticRegression())
    expected = [np.mean(clone(member).fit(X.iloc[tr], y[tr]).predict(X.iloc[te]) == y[te]) for tr, te in cv.split(X, y)]
    got = res.scores.query("model == 'vote/cd' and metric == 'accuracy'")["value"].to_numpy()
    np.testing.assert_allclose(got, expected)
    summary = res.summary()
    assert summary.index.get_level_values("model").unique().tolist() == ["logreg", "nb", "vote", "vote/ab", "vote/cd"]
    md = res.to_markdown()
    assert "| nb |" in md and "| vote/ab |" in md and "nb: fit" in md and "vote: fit" in md
    assert res.timings["model"].tolist() == ["logreg"] * 5 + ["nb"] * 5 + ["vote"] * 5


def test_several_models_bad_input():
    X, y = _iris_frame()
    with pytest.raises(ValueError, match="empty dict of models"):
        evaluate({}, X, y, progress=False)
    with pytest.raises(ValueError, match=r"classifiers \['lr'\] and non-classifiers \['ridge'\]"):
        evaluate({"lr": LogisticRegression(), "ridge": Ridge()}, X, y, progress=False)
    with pytest.raises(TypeError, match="model 'x' is not an estimator"):
        evaluate({"x": 3}, X, y, progress=False)


def test_weight_search_keeps_its_members_rows():
    from sklearn.metrics import accuracy_score

    X, y = _iris_frame()
    X.loc[::4, "c"] = np.nan
    cv = StratifiedKFold(4, shuffle=True, random_state=0)
    search = _search()
    res = evaluate(search, X, y, cv=cv, progress=False)
    assert list(dict.fromkeys(res.scores["model"])) == ["FusionWeightSearchCV", "ab", "cd"]
    assert res.roles["FusionWeightSearchCV"] == "fusion"
    np.testing.assert_allclose(res.scores.query("model == 'FusionWeightSearchCV'")["value"],
                               cross_val_score(search, X, y, cv=cv))
    expected = []
    for train, test in cv.split(X, y):
        cd = clone(search).fit(X.iloc[train], y[train]).best_estimator_.named_estimators_["cd"]
        mask = cd.presence_mask(X.iloc[test])
        expected.append(accuracy_score(y[test][mask], cd.predict(X.iloc[test][mask])))
    np.testing.assert_allclose(res.scores.query("model == 'cd'")["value"], expected)


def test_member_order_is_the_same_for_kfold_and_loo():
    X, y = _iris_frame()
    X, y = X.iloc[::5].reset_index(drop=True), y[::5]
    X.loc[0, "a"] = np.nan  # the first LOO test row lacks the first member's modality
    for model, fused in ((_voting(), "VotingClassifier"), (_search(), "FusionWeightSearchCV")):
        kfold = evaluate(model, X, y, cv=3, progress=False)
        loo = evaluate(model, X, y, cv="loo", progress=False)
        for res in (kfold, loo):
            assert list(dict.fromkeys(res.scores["model"])) == [fused, "ab", "cd"]
        assert [c for c in loo.predictions if c.startswith("pred_")] == [f"pred_{fused}", "pred_ab", "pred_cd"]


@pytest.mark.parametrize("cv", [StratifiedKFold(5, shuffle=True, random_state=0), LeaveOneOut()])
def test_predictions_include_out_of_fold_probabilities(cv):
    X, y = _iris_frame()
    if isinstance(cv, LeaveOneOut):
        X, y = X.iloc[::3], y[::3]
    models = {"lr": LogisticRegression(max_iter=500), "vote": _voting(), "ridge": _no_proba_classifier()}
    res = evaluate(models, X, y, cv=cv, return_predictions=True, progress=False)
    for name in ("lr", "vote"):
        expected = cross_val_predict(models[name], X, y, cv=cv, method="predict_proba")
        got = res.predictions[[f"proba_{name}_{c}" for c in (0, 1, 2)]].to_numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-10)
        np.testing.assert_array_equal(res.predictions[f"pred_{name}"].astype(int),
                                      cross_val_predict(models[name], X, y, cv=cv))
    ab = Modality(["a", "b"], LogisticRegression())
    np.testing.assert_allclose(res.predictions[["proba_vote/ab_0", "proba_vote/ab_1", "proba_vote/ab_2"]],
                               cross_val_predict(ab, X, y, cv=cv, method="predict_proba"), rtol=1e-10)
    assert not any(c.startswith("proba_ridge") for c in res.predictions)  # no predict_proba, no column
    assert "pred_ridge" in res.predictions


def _no_proba_classifier():
    from sklearn.linear_model import RidgeClassifier

    return RidgeClassifier()


def test_probabilities_of_members_missing_a_modality_are_nan():
    X, y = _iris_frame()
    X.loc[::4, "c"] = np.nan
    res = evaluate(VotingFusionClassifier([("ab", Modality(["a", "b"], LogisticRegression())),
                                           ("cd", Modality(["c", "d"], LogisticRegression()))]),
                   X, y, cv=3, return_predictions=True, progress=False)
    proba = res.predictions[["proba_cd_0", "proba_cd_1", "proba_cd_2"]].to_numpy()
    missing = X["c"].isna().to_numpy()
    assert np.isnan(proba[missing]).all() and not np.isnan(proba[~missing]).any()
    np.testing.assert_allclose(proba[~missing].sum(axis=1), 1.0)
    assert not res.predictions["proba_VotingFusionClassifier_0"].isna().any()


# ---------------------------------------------------------- progress (issue 12.1)
def test_progress_follows_the_global_setting_and_prints_lines_off_a_terminal(capsys, monkeypatch):
    import mmlearn

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    X, y = _iris_frame()
    models = {"lr": LogisticRegression(max_iter=300), "vote": _voting()}
    evaluate(models, X, y, cv=3, progress=True)
    err = capsys.readouterr().err
    assert "\r" not in err and err.splitlines()[-1].startswith("evaluate 2 models: 6/6")
    evaluate(models, X, y, cv=3, progress=False)
    assert capsys.readouterr().err == ""
    with mmlearn.config_context(progress=True):
        evaluate(LogisticRegression(max_iter=300), X, y, cv=3)
        assert capsys.readouterr().err.splitlines()[-1].startswith("CV LogisticRegression: 3/3")
        evaluate(LogisticRegression(max_iter=300), X, y, cv=3, progress=False)  # the argument wins
        assert capsys.readouterr().err == ""
        # the models' own bars (here the weight search's) stay quiet inside the folds
        evaluate(_search(), X, y, cv=3)
        err = capsys.readouterr().err
        assert not [line for line in err.splitlines() if line.startswith("FusionWeightSearchCV")]
        assert err.splitlines()[-1].startswith("CV FusionWeightSearchCV: 3/3")
    with mmlearn.config_context(progress=False):
        evaluate(LogisticRegression(max_iter=300), X, y, cv=3)
        assert capsys.readouterr().err == ""
    with mmlearn.config_context(progress="auto"):  # stderr captured: not a terminal
        evaluate(LogisticRegression(max_iter=300), X, y, cv=3)
        assert capsys.readouterr().err == ""


def test_parallel_run_of_tiny_work_warns_and_threads_do_not():
    import joblib
    from sklearn.dummy import DummyClassifier

    X, y = _iris_frame()
    # a dummy's fits take microseconds: no process pool can run them faster than they run
    with pytest.warns(UserWarning, match=r"n_jobs=2\) took .* s for 0\.\d\d s of work in the folds"):
        par = evaluate(DummyClassifier(), X, y, cv=3, n_jobs=2, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        seq = evaluate(DummyClassifier(), X, y, cv=3, progress=False)
        with joblib.parallel_config(backend="threading"):
            evaluate(DummyClassifier(), X, y, cv=3, n_jobs=2, progress=False)
    pd.testing.assert_frame_equal(par.scores, seq.scores)


# ---------------------------------------------------------------- plots (issue 12.3)
def test_score_plot_bars_from_zero_fold_dots_negated_neg_metrics_and_fusions_highlighted():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, y = _iris_frame()
    cv = StratifiedKFold(4, shuffle=True, random_state=0)
    res = evaluate({"lr": LogisticRegression(max_iter=500), "vote": _voting()}, X, y, cv=cv,
                   scoring=["accuracy", "neg_log_loss"], progress=False)
    summ = res.summary()
    for metric, sign in (("accuracy", 1), ("neg_log_loss", -1)):
        ax = res.plot(metric=metric)
        bars = ax.patches
        assert [t.get_text() for t in ax.get_xticklabels()] == ["lr", "vote", "vote/ab", "vote/cd"]
        assert all(b.get_y() == 0 for b in bars) and ax.get_ylim()[0] == 0  # bars start at 0
        heights = [b.get_height() for b in bars]
        expected = [sign * summ.loc[(m, metric), "mean"] for m in ("lr", "vote", "vote/ab", "vote/cd")]
        np.testing.assert_allclose(heights, expected)
        assert min(heights) > 0  # log loss stands above 0 too
        dots = np.concatenate([c.get_offsets()[:, 1] for c in ax.collections if len(c.get_offsets()) == 4])
        np.testing.assert_allclose(np.sort(dots), np.sort(sign * res.scores.query("metric == @metric")["value"]))
        hatches = [b.get_hatch() for b in bars]
        assert hatches[1] and not hatches[0] and not hatches[2]  # the fusion stands out
        assert bars[1].get_facecolor() != bars[0].get_facecolor() != bars[2].get_facecolor()
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels == ["fusion", "fusion member (one modality)", "single model", "one fold"]
        plt.close(ax.figure)
    assert res.plot(metric="neg_log_loss").get_ylabel() == "log_loss (lower is better)"
    with pytest.raises(ValueError, match=r"No scores for metric 'f1'; have \['accuracy', 'neg_log_loss'\]"):
        res.plot(metric="f1")
    plt.close("all")


def test_score_plot_of_negative_values_goes_below_zero():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.dummy import DummyRegressor

    X, y = make_regression(40, 3, noise=30.0, random_state=0)
    res = evaluate({"ridge": Ridge(), "mean": DummyRegressor()}, X, y, cv=4, progress=False)
    assert res.summary().loc[("mean", "r2"), "mean"] < 0
    ax = res.plot()
    assert ax.patches[1].get_height() < 0 and ax.get_ylim()[0] < min(res.scores["value"])
    assert ax.get_ylabel() == "r2"
    plt.close(ax.figure)


def test_parallel_warning_compares_wall_time_with_the_work_done():
    import joblib

    from mmlearn.model_selection import _warn_parallel_slower

    results = [{"work_time": 0.5}] * 4  # 2 s of work
    with joblib.parallel_config(backend="loky"):  # no worker is started by asking
        with pytest.warns(UserWarning, match=r"took 2.50 s for 2.00 s of work in the folds"):
            _warn_parallel_slower(2, results, wall=2.5)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            _warn_parallel_slower(2, results, wall=1.2)  # the workers paid for themselves
    with joblib.parallel_config(backend="threading"), warnings.catch_warnings():
        warnings.simplefilter("error")
        _warn_parallel_slower(2, results, wall=9.0)


def test_a_target_with_nan_names_its_rows_and_a_bad_scorer_name_is_short():
    from mmlearn.fusion import FusionWeightSearchCV, VotingFusionClassifier

    X, y = _iris_frame()
    y = y.astype(float)
    y[[4, 9]] = np.nan
    with pytest.raises(ValueError, match=r"^evaluate: y is NaN or infinite at rows \[4, 9\]; every row needs a finite target"):
        evaluate(LogisticRegression(), X, y, cv=3, progress=False)
    # the weight search names a bad scorer as evaluate does, not with sklearn's list of all of them
    fusion = VotingFusionClassifier(list(_voting().estimators), voting="soft")
    with pytest.raises(ValueError, match=r"^Unknown scoring 'f1_mac'\. Did you mean one of \['f1', 'f1_macro'\]\? Valid"):
        FusionWeightSearchCV(fusion, scoring="f1_mac", cv=3).fit(X, np.nan_to_num(y).astype(int))


def test_a_folds_work_time_counts_scoring_too():
    # the parallel warning weighs the workers' whole work, scoring included, not
    # only fit and predict (which undercounted it)
    from mmlearn.model_selection import _fold

    X, y = _iris_frame()

    def slow_accuracy(est, X_, y_):
        time.sleep(0.05)
        return float(np.mean(est.predict(X_) == y_))

    train, test = np.arange(0, 150, 2), np.arange(1, 150, 2)
    res = _fold(LogisticRegression(max_iter=300), X, y, train, test, {"acc": slow_accuracy},
                np.unique(y), False, True, {}, None, None)
    assert res["work_time"] >= res["fit_time"] + res["predict_time"] + 0.05


def test_loo_with_a_class_absent_from_a_training_part():
    # a class with one row is absent from that row's training part: its
    # probability there is 0 (the pooled table keeps one column per class)
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.standard_normal((21, 3))
    y = np.array([0] * 10 + [1] * 10 + [2])
    result = evaluate(LogisticRegression(), X, y, cv="loo", progress=False)
    row = result.predictions.iloc[20]
    assert row["proba_LogisticRegression_2"] == 0.0
    assert row["proba_LogisticRegression_0"] + row["proba_LogisticRegression_1"] == pytest.approx(1.0)
    fit_without = LogisticRegression().fit(X[:20], y[:20])
    np.testing.assert_allclose(
        [row["proba_LogisticRegression_0"], row["proba_LogisticRegression_1"]],
        fit_without.predict_proba(X[20:])[0],
    )


def test_loo_decision_scores_keep_one_column_per_class():
    # in the fold whose training part lacks class 2 the model is binary (one
    # score s): [-s, s] go under classes 0 and 1 and class 2 gets the row's
    # lowest score, as for fusion members (before, s filled all three columns)
    from sklearn.svm import LinearSVC

    rng = np.random.default_rng(0)
    X = rng.standard_normal((21, 3))
    y = np.array([0] * 10 + [1] * 10 + [2])
    seen = []

    def pooled_scores(est, X_, y_):
        seen.append(est.decision_function(X_))
        return 0.0

    result = evaluate(LinearSVC(), X, y, cv="loo", scoring={"capture": pooled_scores}, progress=False)
    assert result.pooled
    oracle = []
    for i in range(21):
        keep = np.arange(21) != i
        est = LinearSVC().fit(X[keep], y[keep])
        d = est.decision_function(X[i:i + 1])
        d = np.column_stack([-d, d]) if d.ndim == 1 else d
        full = np.full(3, np.nan)
        full[np.searchsorted([0, 1, 2], est.classes_)] = d[0]
        full[np.isnan(full)] = np.nanmin(full)
        oracle.append(full)
    np.testing.assert_allclose(seen[0], np.array(oracle), rtol=1e-12)
