"""EnsembleSelectionClassifier: Caruana's greedy selection against a plain re-implementation."""

import pickle

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, log_loss, make_scorer
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier

from mmlearn.compose import make_modality_pipeline
from mmlearn.fusion import EnsembleSelectionClassifier


def _members():
    return [
        ("lr", LogisticRegression(max_iter=2000, C=0.05)),
        ("nb", GaussianNB()),
        ("tree", DecisionTreeClassifier(max_depth=4, random_state=0)),
        ("knn", KNeighborsClassifier(15)),
    ]


def _data():
    X, y = load_digits(return_X_y=True)
    return X[::3], y[::3]


def _caruana(probas, y, metric, n_iter, members=None):
    """Plain greedy forward selection with replacement (ties: first member)."""
    members = list(range(len(probas))) if members is None else list(members)
    counts = np.zeros(len(probas))
    history = []
    for _ in range(n_iter):
        best, best_score = None, -np.inf
        for j in members:
            trial = counts.copy()
            trial[j] += 1
            avg = sum(w * p for w, p in zip(trial, probas)) / trial.sum()
            score = metric(y, avg)
            if score > best_score:
                best, best_score = j, score
        counts[best] += 1
        history.append(best_score)
    return counts, np.array(history)


METRICS = {
    "accuracy": lambda y, p: accuracy_score(y, np.argmax(p, axis=1)),
    "neg_log_loss": lambda y, p: -log_loss(y, p, labels=np.arange(10)),
}


@pytest.mark.parametrize("scoring", ["accuracy", "neg_log_loss"])
def test_selection_matches_plain_caruana(scoring):
    X, y = _data()
    cv = StratifiedKFold(4, shuffle=True, random_state=0)
    sel = EnsembleSelectionClassifier(_members(), n_iter=12, cv=cv, scoring=scoring).fit(X, y)
    oof = [cross_val_predict(clone(m), X, y, cv=cv, method="predict_proba") for _, m in _members()]
    assert_allclose(sel.oof_predictions_, np.stack(oof), atol=1e-12)
    counts, history = _caruana(oof, y, METRICS[scoring], 12)
    assert_array_equal(sel.counts_, counts)
    assert_allclose(sel.weights_, counts / 12)
    assert_allclose(sel.scores_, history, rtol=1e-10)
    # prediction: selection-weighted mean of the members refitted on all rows
    full = [clone(m).fit(X, y).predict_proba(X) for _, m in _members()]
    assert_allclose(sel.predict_proba(X), sum(w * p for w, p in zip(sel.weights_, full)), atol=1e-12)


def test_any_sklearn_scorer_and_bagging():
    X, y = _data()
    scorer = make_scorer(f1_score, average="macro")
    cv = StratifiedKFold(3, shuffle=True, random_state=1)
    sel = EnsembleSelectionClassifier(_members(), n_iter=6, cv=cv, scoring=scorer, bagging=5, random_state=0).fit(X, y)
    assert sel.weights_.sum() == pytest.approx(1.0)
    # each bag draws half the members (2 of 4): every bag's weights come from its own pair
    rng = np.random.RandomState(0)
    expected = np.zeros(4)
    f1 = lambda t, p: f1_score(t, np.argmax(p, axis=1), average="macro")  # noqa: E731
    for _ in range(5):
        members = np.sort(rng.choice(4, size=2, replace=False))
        counts, _ = _caruana(list(sel.oof_predictions_), y, f1, 6, members)
        expected += counts / counts.sum()
    assert_allclose(sel.weights_, expected / 5)
    again = EnsembleSelectionClassifier(_members(), n_iter=6, cv=cv, scoring=scorer, bagging=5, random_state=0).fit(X, y)
    assert_array_equal(again.weights_, sel.weights_)


def _stack(values):
    return np.vstack(list(values))


def test_missing_modalities_and_binary_labels():
    X, y = load_breast_cancer(return_X_y=True)
    labels = np.array(["benign", "malignant"])[y]
    table = pd.DataFrame({"a": pd.Series(list(X[:, :10]), dtype=object), "b": pd.Series(list(X[:, 10:]), dtype=object)})
    table.loc[[0, 5, 9], "a"] = None
    members = [
        ("a", make_modality_pipeline("a", FunctionTransformer(_stack), GaussianNB())),
        ("b", make_modality_pipeline("b", FunctionTransformer(_stack), DecisionTreeClassifier(max_depth=3, random_state=0))),
    ]
    sel = EnsembleSelectionClassifier(members, n_iter=5, cv=3, scoring="neg_log_loss").fit(table, labels)
    assert np.isnan(sel.oof_predictions_[0, [0, 5, 9]]).all()
    proba = sel.predict_proba(table)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert set(sel.predict(table)) <= {"benign", "malignant"}
    both_missing = table.iloc[:3].copy()
    both_missing.loc[1, "b"] = None
    both_missing.loc[1, "a"] = None
    with pytest.raises(ValueError, match="row 1 has every modality missing"):
        sel.predict(both_missing)


def test_bad_input():
    X, y = _data()
    with pytest.raises(ValueError, match=r"members \['svc'\] have no predict_proba"):
        EnsembleSelectionClassifier([("svc", LinearSVC()), ("nb", GaussianNB())]).fit(X, y)
    with pytest.raises(ValueError, match="n_iter must be"):
        EnsembleSelectionClassifier(_members(), n_iter=0).fit(X, y)
    with pytest.raises(ValueError, match="bagging_fraction"):
        EnsembleSelectionClassifier(_members(), bagging=2, bagging_fraction=1.5).fit(X, y)
    with pytest.raises(ValueError, match="got 1 class"):
        EnsembleSelectionClassifier(_members()).fit(X[y == 3], y[y == 3])
    with pytest.raises(ValueError, match=r"X has 599 samples but y has 10"):
        EnsembleSelectionClassifier(_members()).fit(X, y[:10])


def test_clone_and_pickle_round_trip():
    X, y = _data()
    sel = clone(EnsembleSelectionClassifier(_members()[:2], n_iter=3, cv=3)).fit(X, y)
    again = pickle.loads(pickle.dumps(sel))
    assert_allclose(again.predict_proba(X), sel.predict_proba(X))
