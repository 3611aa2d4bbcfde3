"""Tests of mmlearn.crossmodal (CrossModalMap).

Oracles: sklearn's CCA / PLSCanonical fitted on the paired rows by hand,
and sklearn's NearestNeighbors (cosine) for retrieval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.cross_decomposition import CCA, PLSCanonical
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from mmlearn.crossmodal import CrossModalMap


def _stack(s):
    return np.stack(list(s))


STACK = FunctionTransformer(_stack)


def _table(n=120, seed=0, latent=3, missing_b=(), missing_a=()):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, latent))
    a = z @ rng.standard_normal((latent, 6)) + 0.2 * rng.standard_normal((n, 6))
    b = z @ rng.standard_normal((latent, 5)) + 0.2 * rng.standard_normal((n, 5))
    y = (z[:, 0] > 0).astype(int)
    X = pd.DataFrame({"a": pd.Series(list(a), dtype=object), "b": pd.Series(list(b), dtype=object)})
    X.loc[list(missing_b), "b"] = None
    X.loc[list(missing_a), "a"] = None
    return X, a, b, y


def _map(**kw):
    return CrossModalMap(source=("a", STACK), target=("b", STACK), **kw)


@pytest.mark.parametrize("method, oracle", [("cca", CCA), ("pls", PLSCanonical)])
def test_shared_space_is_the_decomposition_of_the_paired_rows(method, oracle):
    X, a, b, _ = _table(missing_b=range(100, 120), missing_a=range(0, 10))
    cm = _map(method=method, n_components=3).fit(X)
    paired = np.arange(10, 100)
    assert cm.n_paired_fit_ == 90
    ref = oracle(n_components=3).fit(a[paired], b[paired])
    xs, ys = ref.transform(a[paired], b[paired])
    got_s = cm.transform_modality(X.iloc[paired], "source")
    got_t = cm.transform_modality(X.iloc[paired], "target")
    np.testing.assert_allclose(got_s, (xs - xs.mean(0)) / xs.std(0), atol=1e-8)
    np.testing.assert_allclose(got_t, (ys - ys.mean(0)) / ys.std(0), atol=1e-8)
    # rows without the modality are NaN
    assert np.isnan(cm.transform_modality(X.iloc[:10], "source")).all()
    assert np.isnan(cm.transform_modality(X.iloc[100:], "target")).all()


def test_shared_transform_averages_present_modalities():
    X, *_ = _table(missing_b=[0, 1], missing_a=[2])
    X.loc[3, "a"] = None
    X.loc[3, "b"] = None
    cm = _map(n_components=2).fit(X)
    s = cm.transform_modality(X, "source")
    t = cm.transform_modality(X, "target")
    out = cm.transform(X)
    np.testing.assert_allclose(out[:2], s[:2])
    np.testing.assert_allclose(out[2], t[2])
    assert np.isnan(out[3]).all()
    np.testing.assert_allclose(out[4:], (s[4:] + t[4:]) / 2)
    assert cm.get_feature_names_out().tolist() == ["shared0", "shared1"]


def test_features_output_fills_the_missing_modality_by_regression():
    X, a, b, _ = _table(missing_b=range(100, 120), missing_a=[0, 1])
    cm = _map(n_components=3, transform_output="features").fit(X)
    F = cm.transform(X)
    assert F.shape == (120, 11)
    # present values are untouched
    np.testing.assert_allclose(F[2:, :6], a[2:])
    np.testing.assert_allclose(F[:100, 6:], b[:100])
    # missing target from the source, missing source from the target: the oracles' predict
    paired = np.arange(2, 100)
    fwd = CCA(n_components=3).fit(a[paired], b[paired])
    rev = CCA(n_components=3).fit(b[paired], a[paired])
    np.testing.assert_allclose(F[100:, 6:], fwd.predict(a[100:]), atol=1e-8)
    np.testing.assert_allclose(F[:2, :6], rev.predict(b[:2]), atol=1e-8)
    # and the imputation is informative: closer to the truth than the mean
    err = np.mean((F[100:, 6:] - b[100:]) ** 2)
    assert err < 0.6 * np.mean((b[paired].mean(0) - b[100:]) ** 2)
    names = cm.get_feature_names_out()
    assert len(names) == 11 and names[0].startswith("source__") and names[6].startswith("target__")


def test_features_output_names_rows_with_neither_modality():
    X, *_ = _table()
    cm = _map(transform_output="features").fit(X)
    X2 = X.copy()
    X2.loc[[4, 7], ["a", "b"]] = None
    with pytest.raises(ValueError, match=r"row\(s\) 4, 7: they have neither"):
        cm.transform(X2)


def test_kneighbors_is_cosine_nearest_neighbours_in_the_shared_space():
    X, *_ = _table(n=150, latent=4)
    cm = _map(n_components=4).fit(X.iloc[:100])
    Q, G = X.iloc[100:], X.iloc[:100]
    dist, idx = cm.kneighbors(Q, G, n_neighbors=5)
    nn = NearestNeighbors(metric="cosine", algorithm="brute").fit(
        cm.transform_modality(G, "target"))
    ref_d, ref_i = nn.kneighbors(cm.transform_modality(Q, "source"), n_neighbors=5)
    np.testing.assert_allclose(dist, ref_d, atol=1e-10)
    np.testing.assert_array_equal(idx, ref_i)
    # target -> source queries go the other way
    _, idx_t = cm.kneighbors(X.iloc[100:], X.iloc[100:], query="target", n_neighbors=1)
    # retrieval finds the paired row far more often than chance (1/50)
    assert np.mean(idx_t[:, 0] == np.arange(50)) > 0.5


def test_kneighbors_errors_name_rows_and_sizes():
    X, *_ = _table(missing_b=[3])
    cm = _map().fit(X)
    with pytest.raises(ValueError, match=r"X_gallery row\(s\) \[3\] lack the target"):
        cm.kneighbors(X.iloc[:5], X.iloc[:5])
    with pytest.raises(ValueError, match=r"n_neighbors must be an integer in \[1, 3\]"):
        cm.kneighbors(X.iloc[:5], X.iloc[5:8], n_neighbors=4)
    with pytest.raises(ValueError, match="query must be 'source' or 'target'"):
        cm.kneighbors(X.iloc[:5], X.iloc[5:8], query="image")


def test_imputing_pipeline_predicts_rows_missing_a_modality():
    X, a, b, y = _table(n=200, missing_b=range(0, 200, 2))
    model = make_pipeline(_map(n_components=3, transform_output="features"), StandardScaler(),
                          LogisticRegression())
    model.fit(X.iloc[:150], y[:150])
    assert model.score(X.iloc[150:], y[150:]) > 0.8
    # usable in a search, parameters addressed as usual
    gs = GridSearchCV(model, {"crossmodalmap__n_components": [1, 3]}, cv=3).fit(X, y)
    assert gs.best_params_["crossmodalmap__n_components"] in (1, 3)


def test_clone_and_no_input_mutation():
    X, *_ = _table(missing_b=[1])
    before = X.copy()
    cm = _map()
    cm.fit(X)
    cm.transform(X)
    pd.testing.assert_frame_equal(X, before)
    assert "decomposition_" not in clone(cm).__dict__


@pytest.mark.parametrize(
    "params, match, X_kw",
    [
        (dict(method="svd"), r"method must be one of \['cca', 'pls'\]", {}),
        (dict(n_components=0), "n_components must be an integer >= 1", {}),
        (dict(n_components=6), r"n_components=6 exceeds .* target \(5\)", {}),
        (dict(n_components=3), "more than n_components=3 rows with both modalities to fit; got 3",
         dict(missing_b=range(3, 120))),
        (dict(transform_output="both"), "transform_output must be one of", {}),
    ],
)
def test_bad_parameters_are_rejected(params, match, X_kw):
    X, *_ = _table(**X_kw)
    with pytest.raises(ValueError, match=match):
        _map(**params).fit(X)


def test_bad_modality_specs_are_rejected():
    X, *_ = _table()
    with pytest.raises(ValueError, match=r"source must be a \(column, transformer\) tuple"):
        CrossModalMap(source="a", target=("b", STACK)).fit(X)
    with pytest.raises(TypeError, match="target transformer must implement fit and transform"):
        CrossModalMap(source=("a", STACK), target=("b", LogisticRegression)).fit(X)


def test_each_modality_pipeline_runs_once_per_transform():
    # presence (all-NaN feature rows count as absent) and features come from one
    # pass of each pipeline, not a presence_mask pass and then a transform pass
    calls = []

    def stack(s):
        calls.append(len(s))
        return np.stack(list(s))

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": list(rng.standard_normal((30, 4))), "b": list(rng.standard_normal((30, 3)))})
    X.loc[25:, "b"] = None
    step = make_pipeline(FunctionTransformer(stack), StandardScaler())
    cm = CrossModalMap(source=("a", step), target=("b", step), n_components=2).fit(X)
    assert calls == [30, 25]  # fit: each pipeline fitted and applied in one pass
    calls.clear()
    cm.transform(X)
    assert calls == [30, 25]


def test_passthrough_takes_one_numeric_column_a_column_of_vectors_or_several_columns():
    X, a, b, _ = _table(missing_b=[7])
    X["a0"] = a[:, 0]
    ref = CCA(n_components=1).fit(a[:, :1][np.arange(120) != 7], b[np.arange(120) != 7])
    for source in [("a0", None), ("a0", "passthrough"), (["a0"], None)]:
        cm = CrossModalMap(source=source, target=("b", None), n_components=1).fit(X)
        assert cm.n_source_features_ == 1 and cm.n_target_features_ == 5 and cm.n_paired_fit_ == 119
        np.testing.assert_allclose(np.abs(cm.decomposition_.x_weights_), np.abs(ref.x_weights_), rtol=1e-6)
    # a column of vectors equals the same numbers passed through STACK
    got = CrossModalMap(source=("a", None), target=("b", None), n_components=2).fit(X).transform(X)
    np.testing.assert_allclose(got, _map(n_components=2).fit(X).transform(X))
    X.loc[3, "a"] = np.ones(2)  # a ragged row
    with pytest.raises(ValueError, match="passthrough modality must hold numbers, or equal-length numeric vectors"):
        CrossModalMap(source=("a", None), target=("b", None)).fit(X)


def test_a_table_that_is_not_2d_is_refused():
    with pytest.raises(ValueError, match=r"Expected a 2D table .* got an array of shape \(5,\)"):
        _map().fit(np.arange(5.0))
