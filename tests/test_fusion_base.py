"""fusion/_base.py: the fit preamble every fusion estimator shares, and predict-time tables."""

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.naive_bayes import GaussianNB
from sklearn.preprocessing import FunctionTransformer

from mmlearn.compose import make_modality_pipeline
from mmlearn.fusion import (
    EnsembleSelectionClassifier,
    FusionWeightSearchCV,
    StackingFusionClassifier,
    StackingFusionRegressor,
    VotingFusionClassifier,
    VotingFusionRegressor,
)


def _stack(values):
    return np.vstack(list(values))


def _table(X, missing_a=(), missing_b=()):
    a = pd.Series(list(X[:, :2]), dtype=object)
    b = pd.Series(list(X[:, 2:]), dtype=object)
    a[list(missing_a)] = None
    b[list(missing_b)] = None
    return pd.DataFrame({"a": a, "b": b})


def _members():
    return [
        ("a", make_modality_pipeline("a", FunctionTransformer(_stack), LogisticRegression(max_iter=500))),
        ("b", make_modality_pipeline("b", FunctionTransformer(_stack), GaussianNB())),
    ]


def _fusions():
    return [
        VotingFusionClassifier(_members()),
        VotingFusionClassifier(_members(), voting="hard"),
        StackingFusionClassifier(_members(), cv=3),
        EnsembleSelectionClassifier(_members(), n_iter=4, cv=3),
        FusionWeightSearchCV(VotingFusionClassifier(_members()), step=0.5, cv=3),
    ]


# ------------------------------------------------- item 6: tables at predict
@pytest.mark.parametrize("fusion", _fusions(), ids=lambda e: type(e).__name__)
def test_predict_selects_columns_by_name_and_absent_column_means_missing(fusion):
    X, y = load_iris(return_X_y=True)
    table = _table(X)
    fusion.fit(table, y)
    expected = fusion.predict_proba(table) if hasattr(fusion, "predict_proba") else fusion.predict(table)
    method = "predict_proba" if hasattr(fusion, "predict_proba") else "predict"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        swapped = getattr(fusion, method)(table[["b", "a"]])
        assert_allclose(swapped, expected)
        # no column "b": that modality is missing on every row, as if it were None there
        only_a = getattr(fusion, method)(table[["a"]])
    assert_allclose(only_a, getattr(fusion, method)(_table(X, missing_b=range(150))))


def test_fit_time_columns_stay_strict():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match=r"column\(s\) \['b'\] not found"):
        VotingFusionClassifier(_members()).fit(_table(X)[["a"]], y)


# ------------------------------------------------------- item 9: clear errors
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_target_with_nan_or_inf_is_named(bad):
    X, y = load_iris(return_X_y=True)
    yc = y.astype(float)
    yc[7] = bad
    with pytest.raises(ValueError, match=r"y is NaN or infinite at row 7"):
        VotingFusionClassifier(_members()).fit(_table(X), yc)
    yr = X[:, 0].copy()
    yr[[3, 9]] = bad
    with pytest.raises(ValueError, match=r"y is NaN or infinite at rows \[3, 9\]"):
        VotingFusionRegressor([("lin", LinearRegression())]).fit(X, yr)
    labelled = _table(X).set_axis([f"r{i}" for i in range(150)])
    with pytest.raises(ValueError, match=r"row 'r7' \(position 7\)"):
        VotingFusionClassifier(_members()).fit(labelled, yc)


def test_string_target_for_a_regressor():
    X, _ = load_iris(return_X_y=True)
    y = np.array(["low", "high"] * 75, dtype=object)
    for est in (VotingFusionRegressor([("lin", LinearRegression())]), StackingFusionRegressor([("r", Ridge())], cv=3)):
        with pytest.raises(ValueError, match=r"is a regressor: y must be numeric, but it holds 'low'"):
            est.fit(X, y)
    # numbers written as strings are numbers
    VotingFusionRegressor([("lin", LinearRegression())]).fit(X, X[:, 0].astype(str))


def test_class_with_a_single_row_gives_no_cv_advice():
    X, y = load_iris(return_X_y=True)
    y = y.copy()
    y[:49] = 1  # class 0 keeps row 49 only
    for est in (StackingFusionClassifier(_members(), cv=3), EnsembleSelectionClassifier(_members(), cv=3),
                FusionWeightSearchCV(VotingFusionClassifier(_members()), cv=3)):
        with pytest.raises(ValueError, match=r"class 0 has a single row \(row 49\), so no fold can both") as info:
            est.fit(_table(X), y)
        assert "cv <=" not in str(info.value)
    # voting needs no folds: a one-row class is fine
    VotingFusionClassifier(_members()).fit(_table(X), y)


@pytest.mark.parametrize(
    "estimators",
    [[LinearRegression()], [("lin", LinearRegression(), 2)], ("lin", LinearRegression()), [(1, LinearRegression())]],
)
def test_malformed_estimators(estimators):
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match=r"estimators must be a (non-empty )?list of \(name, estimator\) pairs"):
        VotingFusionRegressor(estimators).fit(X, X[:, 0])
    # repr, get_params and tags do not trip over it before fit says so
    est = VotingFusionRegressor(estimators)
    repr(est)
    est.get_params()
    est.__sklearn_tags__()
    est.get_metadata_routing()


def test_duplicate_column_names():
    X, y = load_iris(return_X_y=True)
    table = _table(X)
    dup = pd.concat([table, table[["a"]]], axis=1)
    with pytest.raises(ValueError, match=r"X has duplicate column names \['a'\]"):
        VotingFusionClassifier(_members()).fit(dup, y)
    clf = VotingFusionClassifier(_members()).fit(table, y)
    with pytest.raises(ValueError, match=r"X has duplicate column names \['a'\]"):
        clf.predict(dup)


def test_parameter_constraints_checked_in_fit_only():
    X, y = load_iris(return_X_y=True)
    est = VotingFusionClassifier(_members(), voting="mean", n_jobs="two")  # __init__ stores only
    with pytest.raises(ValueError, match=r"voting must be one of 'soft', 'hard'; got 'mean'"):
        est.fit(_table(X), y)
    with pytest.raises(ValueError, match=r"n_jobs must be None or an int; got 'two'"):
        StackingFusionClassifier(_members(), n_jobs="two").fit(_table(X), y)
    with pytest.raises(ValueError, match=r"bagging_fraction must be a float in \(0, 1\]"):
        EnsembleSelectionClassifier(_members(), bagging_fraction=2.0).fit(_table(X), y)


def test_named_estimators_and_drop():
    X, y = load_iris(return_X_y=True)
    members = _members() + [("c", "drop")]
    for est in (VotingFusionClassifier(members), StackingFusionClassifier(members, cv=3),
                EnsembleSelectionClassifier(members, n_iter=3, cv=3)):
        est.fit(_table(X), y)
        assert list(est.named_estimators_) == ["a", "b", "c"] and est.named_estimators_["c"] == "drop"
        assert_array_equal([e is est.named_estimators_[n] for n, e in zip("ab", est.estimators_)], [True, True])
