import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from mmlearn.compose import Modality, make_early_fusion, make_modality_pipeline

# Modality's allow_nan tag is False (its predict raises on a missing
# modality), so sklearn runs check_estimators_nan_inf: that check wants fit
# to raise on NaN, but for Modality NaN in its column means "missing" and fit
# skips those rows by design. Strict: the check must keep failing.
_EXPECTED = {
    "check_estimators_nan_inf": "NaN in the modality column means 'missing': fit skips those rows instead of raising",
}


@parametrize_with_checks(
    [Modality(slice(None), LogisticRegression()), Modality(slice(None), Ridge())],
    expected_failed_checks=lambda est: _EXPECTED,
    xfail_strict=True,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _stack(series):
    return np.stack(list(series))


def _frame(rng, n=60, missing=()):
    y = np.arange(n) % 3
    vecs = [rng.normal(size=4) + 2 * label for label in y]
    X = pd.DataFrame({"vec": pd.Series(vecs, dtype=object), "other": np.arange(n)})
    for i in missing:
        X.at[i, "vec"] = None
    return X, y


def _model(column="vec"):
    return Modality(column, make_pipeline(FunctionTransformer(_stack), LogisticRegression()))


def test_fits_only_present_rows_and_reports_mask():
    rng = np.random.default_rng(0)
    X, y = _frame(rng, missing=(1, 5, 7))
    m = _model().fit(X, y)
    assert m.n_present_fit_ == 57
    mask = m.presence_mask(X)
    assert mask.dtype == bool and list(np.flatnonzero(~mask)) == [1, 5, 7]
    proba = m.predict_proba(X)
    assert proba.shape == (60, 3)
    assert np.isnan(proba[[1, 5, 7]]).all()
    np.testing.assert_allclose(proba[mask].sum(axis=1), 1.0)
    # same as the inner pipeline fitted on the present rows only
    inner = clone(m.estimator).fit(X["vec"][mask], y[mask])
    np.testing.assert_allclose(proba[mask], inner.predict_proba(X["vec"][mask]))


def test_missing_values_none_nan_and_na_all_count():
    rng = np.random.default_rng(1)
    X, y = _frame(rng)
    X.at[0, "vec"] = None
    X.at[1, "vec"] = np.nan
    X.at[2, "vec"] = pd.NA
    m = _model().fit(X, y)
    assert list(np.flatnonzero(~m.presence_mask(X))) == [0, 1, 2]


def test_predict_names_missing_rows():
    rng = np.random.default_rng(0)
    X, y = _frame(rng, missing=(3, 11))
    m = _model().fit(X, y)
    with pytest.raises(ValueError, match=r"'vec' is missing \(None/NaN/NA\) in 2 of 60 rows \(positions \[3, 11\], index labels \[3, 11\]\)"):
        m.predict(X)
    present = m.presence_mask(X)
    assert m.predict(X[present]).shape == (58,)


def test_proba_columns_follow_all_classes_even_when_one_is_absent():
    rng = np.random.default_rng(0)
    X, y = _frame(rng)
    X.loc[y == 2, "vec"] = None  # class 2 never has this modality
    m = _model().fit(X, y)
    np.testing.assert_array_equal(m.classes_, [0, 1, 2])
    np.testing.assert_array_equal(m.estimator_.classes_, [0, 1])
    proba = m.predict_proba(X)
    present = m.presence_mask(X)
    assert proba.shape == (60, 3)
    np.testing.assert_array_equal(proba[present, 2], 0.0)
    np.testing.assert_allclose(proba[present, :2], m.estimator_.predict_proba(X["vec"][present]))
    dec = m.decision_function(X)
    assert dec.shape == (60, 3)
    assert np.isneginf(dec[present, 2]).all()
    np.testing.assert_allclose(dec[present, 1], m.estimator_.decision_function(X["vec"][present]))


def test_all_missing_fit_and_wrong_column_raise():
    rng = np.random.default_rng(0)
    X, y = _frame(rng, n=6, missing=range(6))
    with pytest.raises(ValueError, match=r"missing \(None/NaN/NA\) in every one of the 6 training rows"):
        _model().fit(X, y)
    with pytest.raises(ValueError, match=r"column\(s\) \['audio'\] not found in X; its columns are \['vec', 'other'\]"):
        _model("audio").fit(X, y)


def test_length_mismatch_raises():
    rng = np.random.default_rng(0)
    X, y = _frame(rng, n=9)
    with pytest.raises(ValueError, match="X has 9 rows but y has 8"):
        _model().fit(X, y[:8])


def test_sample_weight_restricted_to_present_rows():
    rng = np.random.default_rng(0)
    X, y = _frame(rng, missing=(0, 4))
    w = rng.uniform(0.1, 2, size=60)
    m = Modality("vec", make_pipeline(FunctionTransformer(_stack), LogisticRegression()))
    m.fit(X, y, logisticregression__sample_weight=w)
    mask = m.presence_mask(X)
    ref = make_pipeline(FunctionTransformer(_stack), LogisticRegression()).fit(
        X["vec"][mask], y[mask], logisticregression__sample_weight=w[mask]
    )
    np.testing.assert_allclose(m.predict_proba(X)[mask], ref.predict_proba(X["vec"][mask]))


def test_pickle_and_clone_round_trip():
    rng = np.random.default_rng(0)
    X, y = _frame(rng, missing=(2,))
    m = _model().fit(X, y)
    m = Modality("vec", make_pipeline(FunctionTransformer(np.vstack), LogisticRegression())).fit(X, y)
    m2 = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(m.predict_proba(X), m2.predict_proba(X))
    c = clone(m)
    assert not hasattr(c, "estimator_") and c.get_params()["column"] == "vec"


def test_regressor_and_transformer_paths():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=20), "b": rng.normal(size=20)})
    X.loc[[3, 4], "a"] = np.nan
    y = X["b"].to_numpy() * 2
    reg = Modality(["a", "b"], Ridge()).fit(X, y)
    assert reg.n_present_fit_ == 18
    assert reg.score(X, y) > 0.98
    tr = Modality(["a", "b"], StandardScaler())
    Xt = tr.fit_transform(X)
    assert Xt.shape == (20, 2)
    assert np.isnan(Xt[[3, 4]]).all() and not np.isnan(np.delete(Xt, [3, 4], axis=0)).any()


def test_tfidf_inside_modality_with_missing_texts():
    texts = ["the cat sat", "dogs bark loudly", None, "a cat purrs", "dogs chase cats", np.nan]
    y = np.array([0, 1, 1, 0, 1, 0])
    X = pd.DataFrame({"text": texts})
    m = make_modality_pipeline("text", TfidfVectorizer(), LogisticRegression())
    m.fit(X, y)
    assert m.n_present_fit_ == 4
    assert np.isnan(m.predict_proba(X)[[2, 5]]).all()
    vec = Modality("text", TfidfVectorizer()).fit(X)
    Xt = vec.transform(X)
    assert Xt.shape[0] == 6 and Xt[2].nnz == 0 and Xt[0].nnz == 3
    assert "cat" in vec.get_feature_names_out()


def test_object_array_input_by_position():
    rng = np.random.default_rng(0)
    X, y = _frame(rng, missing=(0,))
    arr = X.to_numpy(dtype=object)
    m = _model(0).fit(arr, y)
    assert np.isnan(m.predict_proba(arr)[0]).all()
    with pytest.raises(ValueError, match="cannot select from an array with 2 columns"):
        _model("vec").fit(arr, y)


def test_early_fusion_helper():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=30), "b": rng.normal(size=30)})
    y = (X["a"] + X["b"] > 0).astype(int)
    model = make_early_fusion((StandardScaler(), ["a"]), (StandardScaler(), ["b"]), final_estimator=LogisticRegression())
    assert model.fit(X, y).score(X, y) > 0.9
