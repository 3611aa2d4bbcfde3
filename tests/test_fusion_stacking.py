"""StackingFusionClassifier / Regressor: oracle sklearn stacking, folds, missing modalities."""

import pickle

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import StackingClassifier, StackingRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import KFold, LeaveOneOut, ShuffleSplit, StratifiedKFold, cross_val_predict
from sklearn.naive_bayes import GaussianNB
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from threadpoolctl import threadpool_limits

import mmlearn
from mmlearn.compose import make_modality_pipeline
from mmlearn.fusion import StackingFusionClassifier, StackingFusionRegressor


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(1):
        yield


def _members():
    return [
        ("lr", LogisticRegression(max_iter=1000)),
        ("tree", DecisionTreeClassifier(max_depth=2, random_state=0)),
        ("svc", LinearSVC()),
    ]


def _stack(values):
    return np.vstack(list(values))


def _two_modalities(X, missing_a=(), missing_b=()):
    a = pd.Series(list(X[:, :2]), dtype=object)
    b = pd.Series(list(X[:, 2:]), dtype=object)
    a[list(missing_a)] = None
    b[list(missing_b)] = None
    return pd.DataFrame({"a": a, "b": b})


def _modality_members():
    return [
        ("a", make_modality_pipeline("a", FunctionTransformer(_stack), LogisticRegression(max_iter=500))),
        ("b", make_modality_pipeline("b", FunctionTransformer(_stack), GaussianNB())),
    ]


# ---------------------------------------------------------------- oracles
@pytest.mark.parametrize("cv", [3, KFold(4, shuffle=True, random_state=0)])
@pytest.mark.parametrize("stack_method", ["auto", "predict"])
@pytest.mark.parametrize("passthrough", [False, True])
def test_classifier_equals_sklearn_stacking(cv, stack_method, passthrough):
    X, y = load_iris(return_X_y=True)
    kw = dict(cv=cv, stack_method=stack_method, passthrough=passthrough)
    ours = StackingFusionClassifier(_members(), LogisticRegression(max_iter=1000), **kw).fit(X, y)
    ref = StackingClassifier(_members(), LogisticRegression(max_iter=1000), **kw).fit(X, y)
    assert ours.stack_method_ == ref.stack_method_
    assert_array_equal(ours.predict(X), ref.predict(X))
    assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-12)
    assert_allclose(ours.decision_function(X), ref.decision_function(X), atol=1e-10)


def test_binary_keeps_one_probability_column_as_sklearn():
    X, y = load_iris(return_X_y=True)
    X, y = X[50:], y[50:]
    ours = StackingFusionClassifier(_members()[:2], cv=5).fit(X, y)
    ref = StackingClassifier(_members()[:2], cv=5).fit(X, y)
    assert ours.oof_predictions_.shape == (100, 2)
    assert list(ours.meta_feature_names_) == ["lr__predict_proba_2", "tree__predict_proba_2"]
    assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-12)


def test_regressor_equals_sklearn_stacking():
    X, y = load_diabetes(return_X_y=True)
    members = [("lin", LinearRegression()), ("tree", DecisionTreeRegressor(max_depth=3, random_state=0))]
    ours = StackingFusionRegressor(members, cv=5).fit(X, y)
    ref = StackingRegressor(members, cv=5).fit(X, y)
    assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-10)
    assert_allclose(ours.oof_predictions_, np.column_stack(
        [cross_val_predict(m, X, y, cv=5) for _, m in members]), rtol=1e-12)


def test_leave_one_out_equals_sklearn():
    X, y = load_iris(return_X_y=True)
    rows = np.r_[0:10, 50:60, 100:110]
    X, y = X[rows], y[rows]
    members = [("lr", LogisticRegression(max_iter=1000)), ("nb", GaussianNB())]
    ours = StackingFusionClassifier(members, cv="loo").fit(X, y)
    ref = StackingClassifier(members, cv=LeaveOneOut()).fit(X, y)
    assert ours.oof_predictions_.shape == (30, 6)
    assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-12)


# --------------------------------------------------------- folds, classes
def _fold_without_class_2(y):
    """3 folds; the training part of fold 0 has no sample of class 2."""
    idx = np.arange(len(y))
    test0 = np.r_[np.flatnonzero(y == 2), np.flatnonzero(y == 0)[:10]]
    rest = np.setdiff1d(idx, test0)
    return [(np.setdiff1d(idx, test0), test0), (np.setdiff1d(idx, rest[::2]), rest[::2]), (np.setdiff1d(idx, rest[1::2]), rest[1::2])]


def test_fold_whose_training_part_lacks_a_class_gives_aligned_columns():
    X, y = load_iris(return_X_y=True)
    splits = _fold_without_class_2(y)
    with pytest.warns(RuntimeWarning, match=r"fold 0 lacks 2"):
        clf = StackingFusionClassifier([("lr", LogisticRegression(max_iter=1000)), ("svc", LinearSVC())], cv=splits).fit(X, y)
    lr_cols = clf.oof_predictions_[:, :3]
    with pytest.warns(RuntimeWarning, match="Number of classes in training fold"):
        expected = cross_val_predict(LogisticRegression(max_iter=1000), X, y, cv=splits, method="predict_proba")
    assert_allclose(lr_cols, expected, atol=1e-12)
    test0 = splits[0][1]
    assert np.all(lr_cols[test0, 2] == 0)  # never saw class 2: probability 0
    svc_cols = clf.oof_predictions_[:, 3:]
    assert np.isfinite(svc_cols).all()
    # the unseen class scores the row's lowest score (sklearn: the most negative float)
    assert_allclose(svc_cols[test0, 2], svc_cols[test0, :2].min(axis=1))
    assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)


def test_fold_with_single_class_training_part_is_named():
    X, y = load_iris(return_X_y=True)
    X, y = X[:100], y[:100]
    idx = np.arange(100)
    splits = [(idx[:50], idx[50:]), (idx[50:], idx[:50])]
    with pytest.raises(ValueError, match=r"training part of cv fold 0 holds a single class \(0\)"):
        StackingFusionClassifier(_members()[:2], cv=splits).fit(X, y)


def test_non_partitioning_cv_is_refused():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="cv must partition the samples"):
        StackingFusionClassifier(_members()[:2], cv=ShuffleSplit(3, random_state=0)).fit(X, y)


def test_bad_stack_method_and_single_class():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="stack_method must be one of"):
        StackingFusionClassifier(_members(), stack_method="proba").fit(X, y)
    with pytest.raises(ValueError, match="does not implement"):
        StackingFusionClassifier([("svc", LinearSVC())], stack_method="predict_proba").fit(X, y)
    with pytest.raises(ValueError, match="got 1 class"):
        StackingFusionClassifier(_members()).fit(X[:50], y[:50])
    with pytest.raises(ValueError, match="X has 150 samples but y has 10"):
        StackingFusionClassifier(_members()).fit(X, y[:10])


# ---------------------------------------------------- missing modalities
def test_missing_modalities_reach_the_final_estimator_as_indicators():
    X, y = load_iris(return_X_y=True)
    rng = np.random.default_rng(0)
    miss_a = rng.choice(150, 20, replace=False)
    miss_b = rng.choice(np.setdiff1d(np.arange(150), miss_a), 10, replace=False)
    table = _two_modalities(X, miss_a, miss_b)
    clf = StackingFusionClassifier(_modality_members(), cv=StratifiedKFold(5, shuffle=True, random_state=0)).fit(table, y)
    names = list(clf.meta_feature_names_)
    assert names[-2:] == ["a__present", "b__present"]
    meta = clf.oof_predictions_
    assert meta.shape == (150, 3 + 3 + 2) and np.isfinite(meta).all()
    assert_array_equal(meta[:, -2], ~np.isin(np.arange(150), miss_a))
    # absent rows hold the mean of the member's out-of-fold outputs where present
    present_a = np.setdiff1d(np.arange(150), miss_a)
    assert_allclose(meta[miss_a, :3], np.tile(meta[present_a, :3].mean(axis=0), (20, 1)))
    proba = clf.predict_proba(_two_modalities(X[:6], missing_a=[1], missing_b=[2]))
    assert_allclose(proba.sum(axis=1), 1.0)
    assert clf.score(table, y) > 0.85
    with pytest.raises(ValueError, match="row 3 has every modality missing"):
        clf.predict(_two_modalities(X[:5], [3], [3]))
    with pytest.raises(ValueError, match="row 4 has every modality missing"):
        StackingFusionClassifier(_modality_members(), cv=3).fit(_two_modalities(X, [4], [4]), y)


# ------------------------------------------------- routing, XGBoost, misc
def test_sample_weight_reaches_members_and_final_estimator():
    X, y = load_iris(return_X_y=True)
    sw = np.random.default_rng(0).uniform(0.2, 3.0, 150)
    members = [("lr", LogisticRegression(max_iter=1000)), ("nb", GaussianNB())]
    clf = StackingFusionClassifier(members, cv=3).fit(X, y, sample_weight=sw)
    ref = StackingClassifier(members, cv=3).fit(X, y, sample_weight=sw)
    assert_allclose(clf.predict_proba(X), ref.predict_proba(X), atol=1e-10)
    unweighted = StackingFusionClassifier(members, cv=3).fit(X, y)
    assert not np.allclose(unweighted.predict_proba(X), clf.predict_proba(X))


def test_class_weight_dict_with_string_labels():
    X, y = load_iris(return_X_y=True)
    labels = np.array(["a", "b", "c"])[y]
    cw = {"a": 1.0, "b": 4.0, "c": 1.0}
    members = [("lr", LogisticRegression(max_iter=1000, class_weight=cw)), ("nb", GaussianNB())]
    clf = StackingFusionClassifier(members, LogisticRegression(class_weight=cw), cv=3).fit(X, labels)
    assert set(clf.predict(X)) <= {"a", "b", "c"}
    assert_allclose(clf.named_estimators_["lr"].coef_, LogisticRegression(max_iter=1000, class_weight=cw).fit(X, labels).coef_)


def test_xgboost_final_estimator_and_member_follow_device():
    import xgboost as xgb
    X, y = load_iris(return_X_y=True)
    with mmlearn.config_context(device="cpu"):
        clf = StackingFusionClassifier(
            [("xgb", xgb.XGBClassifier(n_estimators=5, max_depth=2)), ("nb", GaussianNB())],
            xgb.XGBClassifier(n_estimators=5, max_depth=2), cv=3,
        ).fit(X, y)
    assert clf.final_estimator_.get_params()["device"] == "cpu"
    assert clf.named_estimators_["xgb"].get_params()["device"] == "cpu"
    assert clf.score(X, y) > 0.9
    reg = StackingFusionRegressor([("xgb", xgb.XGBRegressor(n_estimators=5)), ("ridge", Ridge())], xgb.XGBRegressor(n_estimators=5), cv=3).fit(X[:, 1:], X[:, 0])
    assert reg.predict(X[:, 1:]).shape == (150,)


def test_clone_and_pickle_round_trip():
    X, y = load_iris(return_X_y=True)
    table = _two_modalities(X, [3], [4])
    clf = clone(StackingFusionClassifier(_modality_members(), cv=3)).fit(table, y)
    again = pickle.loads(pickle.dumps(clf))
    assert_allclose(again.predict_proba(table), clf.predict_proba(table))
    assert clone(clf).get_params()["cv"] == 3
