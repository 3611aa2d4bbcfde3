"""fusion/_outputs.py: member outputs, one class-alignment convention (with Modality), combining."""

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import cross_val_score
from sklearn.naive_bayes import GaussianNB
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import LinearSVC

from mmlearn.compose import make_modality_pipeline
from mmlearn.fusion import StackingFusionClassifier, VotingFusionClassifier
from mmlearn.fusion._outputs import align_classes, fuse, member_output


class Float32LR(LogisticRegression):
    """Probabilities in float32, as XGBoost returns them."""

    def predict_proba(self, X):
        return super().predict_proba(X).astype(np.float32)


def _stack(values):
    return np.vstack(list(values))


def test_float32_probabilities_are_renormalised_for_log_loss():
    # issue 10 item 7: sklearn's log-loss scorer warned "do not sum to one"
    X, y = load_iris(return_X_y=True)
    raw = Float32LR(max_iter=500).fit(X, y).predict_proba(X)
    assert np.abs(raw.astype(np.float64).sum(axis=1) - 1).max() > 1e-8  # the problem
    fusion = VotingFusionClassifier([("lr", Float32LR(max_iter=500))])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = cross_val_score(fusion, X, y, cv=3, scoring="neg_log_loss")
        proba = fusion.fit(X, y).predict_proba(X)
        log_loss(y, proba)
    assert proba.dtype == np.float64
    assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=4 * np.finfo(float).eps)
    assert_allclose(proba, raw, atol=1e-6)
    assert np.isfinite(scores).all()


def test_alignment_convention_for_unseen_classes():
    classes = np.array([0, 1, 2])
    proba = np.array([[0.2, 0.8], [0.6, 0.4]])
    assert_array_equal(align_classes(proba, [0, 2], classes, "predict_proba"), [[0.2, 0, 0.8], [0.6, 0, 0.4]])
    scores = np.array([[1.0, -2.0], [0.5, 3.0]])
    # an unseen class gets the row's lowest score (finite, usable by a final estimator)
    assert_array_equal(align_classes(scores, [0, 2], classes, "decision_function"), [[1, -2, -2], [0.5, 0.5, 3]])
    binary = np.array([0.3, -1.0])
    assert_array_equal(align_classes(binary, [0, 1], classes, "decision_function"), [[-0.3, 0.3, -0.3], [1, -1, -1]])
    with pytest.raises(ValueError, match="not all among"):
        align_classes(proba, [0, 7], classes, "predict_proba")


@pytest.mark.parametrize("method", ["predict_proba", "decision_function"])
def test_modality_and_fusion_share_the_alignment(method):
    # class 2 never has modality "a": the Modality's columns and the fusion's meta features agree
    X, y = load_iris(return_X_y=True)
    a = pd.Series(list(X[:, :2]), dtype=object)
    a[y == 2] = None
    table = pd.DataFrame({"a": a, "b": pd.Series(list(X[:, 2:]), dtype=object)})
    inner = LogisticRegression(max_iter=500) if method == "predict_proba" else LinearSVC()
    modality = make_modality_pipeline("a", FunctionTransformer(_stack), inner).fit(table, y)
    out, present = member_output(modality, table, method, np.array([0, 1, 2]))
    direct = getattr(modality, method)(table)
    assert_array_equal(present, y != 2)
    assert_allclose(out[present], direct[present])
    assert np.isnan(direct[~present]).all() and np.isnan(out[~present]).all()
    if method == "decision_function":
        assert_array_equal(direct[present, 2], direct[present, :2].min(axis=1))
        members = [("a", modality), ("b", make_modality_pipeline("b", FunctionTransformer(_stack), GaussianNB()))]
        stack = StackingFusionClassifier(members, stack_method="decision_function", cv=3)
        stack.set_params(b__estimator__gaussiannb=LinearSVC()).fit(table, y)
        meta = stack.oof_predictions_[:, :3]
        assert np.isfinite(meta).all()


def test_fuse_falls_back_to_equal_weights_over_present_members():
    outputs = np.array([[[1.0, 0.0], [0.2, 0.8], [0.5, 0.5]], [[0.0, 1.0], [0.6, 0.4], [np.nan, np.nan]]])
    present = np.array([[True, True, True], [True, True, False]])
    fused = fuse(outputs, present, np.array([[0.0, 1.0]]))[0]
    assert_allclose(fused[:2], outputs[1, :2])  # weight 0 counts as 0 where a weighted member is present
    assert_allclose(fused[2], outputs[0, 2])  # only the zero-weighted member: it alone, not NaN
    nobody = fuse(outputs, np.zeros_like(present), np.array([[1.0, 1.0]]))
    assert np.isnan(nobody).all()


def test_subnormal_weights_do_not_underflow_the_fused_probabilities():
    # weight 5e-324 times a probability underflows to 0: the row still gets its member's output
    from mmlearn.fusion._outputs import fuse

    outputs = np.array([[[0.2, 0.8], [0.6, 0.4]], [[0.3, 0.7], [0.9, 0.1]], [[0.5, 0.5], [0.5, 0.5]]])
    present = np.array([[True, True], [True, True], [False, True]])
    W = np.array([[0.0, 5e-324, 0.0], [1e-300, 3e-300, 0.0], [0.0, 5e-324, 1.0]])
    fused = fuse(outputs, present, W)
    np.testing.assert_array_equal(fused[0], outputs[1])  # b alone carries weight
    np.testing.assert_allclose(fused[1], 0.25 * outputs[0] + 0.75 * outputs[1], rtol=1e-12)
    np.testing.assert_array_equal(fused[2, 0], outputs[1, 0])  # row 0: c absent, b alone
    np.testing.assert_allclose(fused[2, 1], outputs[2, 1])  # row 1: c's weight 1 dominates
    np.testing.assert_allclose(fused.sum(axis=2), 1.0)
