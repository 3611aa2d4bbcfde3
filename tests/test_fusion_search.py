"""FusionWeightSearchCV: same answers as GridSearchCV over sklearn voting, one fit per fold."""

import collections
import math
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_digits
from sklearn.ensemble import VotingClassifier, VotingRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, log_loss
from sklearn.utils.fixes import parse_version
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold, StratifiedKFold, cross_val_predict
from sklearn.naive_bayes import GaussianNB
from sklearn.preprocessing import FunctionTransformer
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from mmlearn.backend import gpu_available
from mmlearn.compose import make_modality_pipeline
from mmlearn.fusion import FittedMemberCache, FusionWeightSearchCV, StackingFusionClassifier, VotingFusionClassifier, VotingFusionRegressor, simplex_grid

FITS: collections.Counter = collections.Counter()


class CountingLR(LogisticRegression):
    def fit(self, X, y, sample_weight=None):
        FITS[type(self).__name__] += 1
        return super().fit(X, y, sample_weight=sample_weight)


class CountingNB(GaussianNB):
    def fit(self, X, y, sample_weight=None):
        FITS[type(self).__name__] += 1
        return super().fit(X, y, sample_weight=sample_weight)


def _members():
    return [
        ("lr", CountingLR(max_iter=2000, C=0.01)),
        ("nb", CountingNB()),
        ("tree", DecisionTreeClassifier(max_depth=4, random_state=0)),
    ]


def _data():
    X, y = load_digits(return_X_y=True)
    return X[::3], y[::3]


GRID = [list(w) for w in simplex_grid(3, 0.5)] + [[0.2, 0.3, 0.5]]


@pytest.mark.parametrize("scoring", [None, "neg_log_loss", "f1_macro"])
def test_same_results_as_grid_search_over_sklearn_voting(scoring):
    X, y = _data()
    ref = GridSearchCV(VotingClassifier(_members(), voting="soft"), {"weights": GRID}, cv=3, scoring=scoring).fit(X, y)
    FITS.clear()
    ours = FusionWeightSearchCV(VotingFusionClassifier(_members(), memory=FittedMemberCache()), GRID, cv=3, scoring=scoring).fit(X, y)
    # 2 counted members x (3 folds + the refit)
    assert FITS == {"CountingLR": 4, "CountingNB": 4}
    assert ours.n_member_fits_ == 3 * 3
    for key in ["mean_test_score", "std_test_score"] + [f"split{i}_test_score" for i in range(3)]:
        assert_allclose(ours.cv_results_[key], ref.cv_results_[key], rtol=1e-12, atol=1e-14)
    assert_array_equal(ours.cv_results_["rank_test_score"], ref.cv_results_["rank_test_score"])
    assert ours.best_params_ == {"weights": list(ref.best_params_["weights"])}
    assert ours.best_index_ == ref.best_index_
    assert ours.best_score_ == pytest.approx(ref.best_score_, rel=1e-12)
    assert set(ref.cv_results_) - set(ours.cv_results_) == set()
    assert_allclose(ours.predict_proba(X), ref.best_estimator_.predict_proba(X), atol=1e-15)
    assert ours.score(X, y) == pytest.approx(ref.score(X, y))


def test_hard_voting_and_group_splitter():
    X, y = _data()
    groups = np.arange(len(y)) % 7
    grid = [[1, 1, 1], [2, 1, 0], [0, 1, 2], [1, 0, 3]]
    cv = GroupKFold(3)
    ref = GridSearchCV(VotingClassifier(_members(), voting="hard"), {"weights": grid}, cv=cv).fit(X, y, groups=groups)
    ours = FusionWeightSearchCV(VotingFusionClassifier(_members(), voting="hard"), grid, cv=cv).fit(X, y, groups=groups)
    assert_allclose(ours.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"])
    assert ours.best_params_["weights"] == list(ref.best_params_["weights"])
    with pytest.raises(ValueError, match="neg_log_loss.*voting='soft'"):
        FusionWeightSearchCV(VotingFusionClassifier(_members(), voting="hard"), grid, scoring="neg_log_loss").fit(X, y)


@pytest.mark.parametrize("scoring", [None, "neg_mean_squared_error", "neg_median_absolute_error"])
def test_regressor_same_as_grid_search(scoring):
    X, y = load_diabetes(return_X_y=True)
    members = [("lin", LinearRegression()), ("tree", DecisionTreeRegressor(max_depth=3, random_state=0)), ("ridge", Ridge(alpha=10))]
    grid = [list(w) for w in simplex_grid(3, 0.2)]
    ref = GridSearchCV(VotingRegressor(members), {"weights": grid}, cv=5, scoring=scoring).fit(X, y)
    ours = FusionWeightSearchCV(VotingFusionRegressor(members), "simplex", step=0.2, cv=5, scoring=scoring).fit(X, y)
    assert_allclose(ours.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"], rtol=1e-10)
    assert ours.best_params_["weights"] == pytest.approx(list(ref.best_params_["weights"]))
    assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-12)


def test_simplex_grid():
    grid = simplex_grid(3, 0.1)
    assert grid.shape == (math.comb(12, 2), 3) == (66, 3)
    assert_allclose(grid.sum(axis=1), 1.0)
    assert len({tuple(r) for r in grid}) == 66
    assert_allclose(grid[0], [0, 0, 1]) and assert_allclose(grid[-1], [1, 0, 0])
    with pytest.raises(ValueError, match="whole number"):
        simplex_grid(3, 0.3)
    with pytest.raises(ValueError, match="larger step"):
        simplex_grid(12, 0.01)


def test_simplex_skips_dropped_members():
    X, y = _data()
    members = _members()
    members[1] = ("nb", "drop")
    search = FusionWeightSearchCV(VotingFusionClassifier(members), step=0.5, cv=3).fit(X, y)
    assert [p["weights"] for p in search.cv_results_["params"]] == [[0.0, 0.0, 1.0], [0.5, 0.0, 0.5], [1.0, 0.0, 0.0]]


def test_optimize_beats_every_grid_point_on_log_loss():
    X, y = _data()
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    fusion = VotingFusionClassifier(_members())
    opt = FusionWeightSearchCV(fusion, "optimize", cv=cv, scoring="neg_log_loss").fit(X, y)
    assert opt.optimize_result_.success
    assert opt.best_weights_.sum() == pytest.approx(1.0) and (opt.best_weights_ >= 0).all()
    oof = np.stack([cross_val_predict(clone(m), X, y, cv=cv, method="predict_proba") for _, m in _members()])
    pooled = lambda w: log_loss(y, np.tensordot(w, oof, axes=1) / np.sum(w))  # noqa: E731
    best_grid = min(pooled(w) for w in simplex_grid(3, 0.1))
    assert pooled(opt.best_weights_) <= best_grid + 1e-6
    assert opt.optimize_result_.fun == pytest.approx(pooled(opt.best_weights_), rel=1e-9)
    assert len(opt.cv_results_["params"]) == 1


def _stack(values):
    return np.vstack(list(values))


def test_missing_modalities_and_uncovered_candidates():
    X, y = _data()
    table = pd.DataFrame({"a": pd.Series(list(X[:, :32]), dtype=object), "b": pd.Series(list(X[:, 32:]), dtype=object)})
    table.loc[[1, 50, 200], "a"] = None
    members = [
        ("a", make_modality_pipeline("a", FunctionTransformer(_stack), LogisticRegression(max_iter=2000, C=0.01))),
        ("b", make_modality_pipeline("b", FunctionTransformer(_stack), GaussianNB())),
    ]
    grid = [[1, 0], [1, 1], [1, 3], [0, 1]]
    cv = KFold(3, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        search = FusionWeightSearchCV(VotingFusionClassifier(members), grid, cv=cv).fit(table, y)
    # [1, 0] leaves the rows without "a" to the equal-weight fallback, as the voting predicts them
    ref = GridSearchCV(VotingFusionClassifier(members), {"weights": grid}, cv=cv).fit(table, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert_allclose(search.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"], rtol=1e-12)


def test_bad_input():
    X, y = _data()
    with pytest.raises(TypeError, match="VotingFusionClassifier or VotingFusionRegressor"):
        FusionWeightSearchCV(StackingFusionClassifier(_members())).fit(X, y)
    with pytest.raises(ValueError, match=r"weight candidate 1: .*got 2 weights for 3 members"):
        FusionWeightSearchCV(VotingFusionClassifier(_members()), [[1, 1, 1], [1, 2]]).fit(X, y)
    with pytest.raises(ValueError, match=r"weight candidate 0: .*all zero"):
        FusionWeightSearchCV(VotingFusionClassifier(_members()), [[0, 0, 0]]).fit(X, y)
    with pytest.raises(ValueError, match="weights must be 'simplex', 'optimize'"):
        FusionWeightSearchCV(VotingFusionClassifier(_members()), "grid").fit(X, y)
    with pytest.raises(ValueError, match="got 1 class"):
        FusionWeightSearchCV(VotingFusionClassifier(_members())).fit(X[y == 1], y[y == 1])
    with pytest.raises(ValueError, match="X has 599 samples but y has 598"):
        FusionWeightSearchCV(VotingFusionClassifier(_members())).fit(X, y[1:])


def test_refit_false_and_pickle():
    X, y = _data()
    search = FusionWeightSearchCV(VotingFusionClassifier(_members()), step=0.5, cv=3, refit=False).fit(X, y)
    assert not hasattr(search, "best_estimator_") and not hasattr(search, "predict")
    search = FusionWeightSearchCV(VotingFusionClassifier(_members()), step=0.5, cv=3).fit(X, y)
    again = pickle.loads(pickle.dumps(search))
    assert_array_equal(again.predict(X), search.predict(X))
    assert_array_equal(again.classes_, np.arange(10))


def test_sample_weight_reaches_the_fold_fits():
    X, y = _data()
    sw = np.random.default_rng(0).uniform(0.2, 3.0, len(y))
    members = [("lr", LogisticRegression(max_iter=2000, C=0.01)), ("nb", GaussianNB())]
    grid = [[1, 1], [1, 3], [3, 1]]
    ours = FusionWeightSearchCV(VotingFusionClassifier(members), grid, cv=3).fit(X, y, sample_weight=sw)
    # oracle: members fitted with the fold's weights, test accuracy weighted too
    expected = []
    for w in grid:
        scores = []
        for train, test in StratifiedKFold(3).split(X, y):
            m = VotingFusionClassifier(members, weights=w).fit(X[train], y[train], sample_weight=sw[train])
            scores.append(accuracy_score(y[test], m.predict(X[test]), sample_weight=sw[test]))
        expected.append(np.mean(scores))
    assert_allclose(ours.cv_results_["mean_test_score"], expected)
    best = VotingFusionClassifier(members, weights=ours.best_weights_.tolist()).fit(X, y, sample_weight=sw)
    assert_allclose(ours.best_estimator_.predict_proba(X), best.predict_proba(X), atol=1e-12)
    if parse_version(sklearn.__version__) >= parse_version("1.7"):
        # GridSearchCV forwards sample_weight to the scorer since sklearn 1.7 (PR 30743)
        ref = GridSearchCV(VotingFusionClassifier(members), {"weights": grid}, cv=3)
        ref.fit(X, y, sample_weight=sw)
        assert_allclose(ours.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"])


@pytest.mark.skipif(not gpu_available(), reason="needs a CUDA GPU and cupy")
def test_xgboost_members_on_device_arrays():
    import warnings

    import cupy
    import xgboost

    X, y = _data()
    members = [("a", xgboost.XGBClassifier(n_estimators=10, max_depth=3)), ("b", xgboost.XGBClassifier(n_estimators=5, max_depth=2))]
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*mismatched devices.*")
        search = FusionWeightSearchCV(VotingFusionClassifier(members), step=0.25, cv=3).fit(cupy.asarray(X, dtype=cupy.float32), y)
        host = FusionWeightSearchCV(VotingFusionClassifier(members), step=0.25, cv=3).fit(X.astype(np.float32), y)
    assert search.best_estimator_.named_estimators_["a"].get_params()["device"] == "cuda"
    assert_allclose(search.cv_results_["mean_test_score"], host.cv_results_["mean_test_score"], atol=0.02)


@pytest.mark.parametrize("scoring", ["accuracy", "neg_log_loss", "balanced_accuracy"])
def test_weighted_scores_match_sklearn_scorers(scoring):
    from sklearn.metrics import get_scorer

    from mmlearn.fusion._scoring import PrecomputedClassifier
    from mmlearn.fusion._scoring import CandidateScorer

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 60)
    proba = rng.dirichlet(np.ones(4), size=(5, 60))
    sw = rng.uniform(0.1, 2.0, 60)
    ours = CandidateScorer(scoring, classifier=True, soft=True)(y, proba, np.arange(4), sw)
    idx = np.arange(60)[:, None]
    ref = [get_scorer(scoring)(PrecomputedClassifier(np.arange(4), p).fit(None), idx, y, sample_weight=sw) for p in proba]
    assert_allclose(ours, ref, rtol=1e-12)


@pytest.mark.parametrize("scoring", ["r2", "neg_mean_squared_error", "neg_mean_absolute_error"])
def test_weighted_regression_scores_match_sklearn(scoring):
    from sklearn.metrics import get_scorer

    from mmlearn.fusion._scoring import PrecomputedRegressor
    from mmlearn.fusion._scoring import CandidateScorer

    rng = np.random.default_rng(1)
    y = rng.normal(size=40)
    pred = y + rng.normal(size=(3, 40))
    for sw in (None, rng.uniform(0.1, 2.0, 40)):
        ours = CandidateScorer(scoring, classifier=False, soft=False)(y, pred, None, sw)
        kw = {} if sw is None else {"sample_weight": sw}
        ref = [get_scorer(scoring)(PrecomputedRegressor(p).fit(None), np.arange(40)[:, None], y, **kw) for p in pred]
        assert_allclose(ours, ref, rtol=1e-12)


def test_optimize_with_missing_modalities_penalises_uncovered_rows():
    # issue 10 item 3: "a" is the only modality on 15 rows, where it is wrong; scoring those
    # rows as a uniform guess made the optimiser drop "a": best_score_ was NaN and the
    # refitted model raised on rows of its own training table
    from sklearn.datasets import load_iris
    from sklearn.model_selection import cross_val_score

    X, y = load_iris(return_X_y=True)
    miss = np.random.default_rng(0).choice(150, 15, replace=False)
    a = pd.Series(list(np.c_[X[:, 2:3] * 3, np.zeros(150)]), dtype=object)
    b = pd.Series(list(X[:, 2:]), dtype=object)
    for i in miss:
        a[i] = np.array([20 - 3 * X[i, 2], 0.0])
        b[i] = None
    table = pd.DataFrame({"a": a, "b": b})
    members = [
        ("a", make_modality_pipeline("a", FunctionTransformer(_stack), LogisticRegression(C=0.01, max_iter=500))),
        ("b", make_modality_pipeline("b", FunctionTransformer(_stack), GaussianNB())),
    ]
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    search = FusionWeightSearchCV(VotingFusionClassifier(members), weights="optimize", cv=cv).fit(table, y)
    assert np.isfinite(search.best_score_)
    assert search.predict(table).shape == (150,)  # every training row gets a prediction
    # the reported score is the voting's real cross-validated score with those weights
    ref = cross_val_score(VotingFusionClassifier(members, weights=search.best_weights_.tolist()), table, y, cv=cv)
    assert search.best_score_ == pytest.approx(ref.mean(), abs=1e-12)


def test_best_weights_by_name():
    X, y = _data()
    members = _members()
    members[1] = ("nb", "drop")
    search = FusionWeightSearchCV(VotingFusionClassifier(members), weights=GRID[:2] + [[0.2, 0.0, 0.8]], cv=3).fit(X, y)
    assert isinstance(search.best_weights_, np.ndarray) and search.best_weights_.shape == (3,)
    assert list(search.best_weights_by_name_) == ["lr", "nb", "tree"]
    assert search.best_weights_by_name_["nb"] == 0.0
    assert_allclose(list(search.best_weights_by_name_.values()), search.best_weights_)
    assert_allclose(search.best_weights_, search.cv_results_["params"][search.best_index_]["weights"])


def test_progress_lines_follow_the_global_setting(capsys, monkeypatch):
    import mmlearn

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    X, y = _data()
    quiet = FusionWeightSearchCV(VotingFusionClassifier(_members()), step=0.5, cv=4, progress=False).fit(X, y)
    assert capsys.readouterr().err == ""
    shown = FusionWeightSearchCV(VotingFusionClassifier(_members()), step=0.5, cv=4, progress=True).fit(X, y)
    lines = capsys.readouterr().err.splitlines()  # captured stderr is not a terminal: whole lines
    # one step per member fit: 3 members x 4 folds, then 3 for the refit
    assert lines[0].startswith("FusionWeightSearchCV: 2/15") and lines[0].endswith("[member fits on 4 folds]")
    assert lines[-1].startswith("FusionWeightSearchCV: 15/15") and "[refit]" in lines[-1]
    counts = [int(line.split(": ")[1].split("/")[0]) for line in lines]
    assert counts == sorted(counts) and len(lines) >= 5
    assert not any("\r" in line for line in lines)
    # showing the bar changes nothing
    assert_allclose(shown.cv_results_["mean_test_score"], quiet.cv_results_["mean_test_score"])
    assert shown.n_member_fits_ == quiet.n_member_fits_ == 12
    with mmlearn.config_context(progress=True):
        FusionWeightSearchCV(VotingFusionClassifier(_members()), step=0.5, cv=3, refit=False).fit(X, y)
        assert capsys.readouterr().err.splitlines()[-1].startswith("FusionWeightSearchCV: 9/9")
    with mmlearn.config_context(progress=False):
        FusionWeightSearchCV(VotingFusionClassifier(_members()), step=0.5, cv=3).fit(X, y)
        assert capsys.readouterr().err == ""
    with pytest.raises(ValueError, match="progress must be True, False, 'auto' or None"):
        FusionWeightSearchCV(VotingFusionClassifier(_members()), progress="yes").fit(X, y)
