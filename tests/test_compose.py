import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from mmlearn.compose import Modality, make_early_fusion, make_modality_pipeline


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
    with pytest.raises(ValueError, match=r"'vec' is missing \(None/NaN/NA\) in 2 of 60 rows \(rows \[3, 11\]\)"):
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
    # one convention with fusion: an unseen class gets the row's lowest score
    np.testing.assert_array_equal(dec[present, 2], dec[present, :2].min(axis=1))
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


# ------------------------------------------------ metadata routing (10.5)
def _two_modalities(rng, n=60):
    y = np.arange(n) % 2
    X = pd.DataFrame({"a": rng.normal(size=n) + y, "b": rng.normal(size=n) + 0.5 * y})
    X.loc[[3, 8, 20, n - 5], "a"] = np.nan
    return X, y


def test_routing_sample_weight_through_fusion_in_cross_validate():
    import sklearn
    from sklearn.model_selection import KFold, cross_validate

    from mmlearn.fusion import VotingFusionClassifier

    rng = np.random.default_rng(0)
    X, y = _two_modalities(rng)
    w = rng.uniform(0.05, 3.0, size=len(y))

    def fusion(request):
        lr = LogisticRegression
        return VotingFusionClassifier([
            ("a", Modality(["a"], lr().set_fit_request(sample_weight=True) if request else lr())),
            ("b", Modality(["b"], lr().set_fit_request(sample_weight=True) if request else lr())),
        ])

    cv = KFold(3)
    with sklearn.config_context(enable_metadata_routing=True):
        res = cross_validate(
            fusion(True), X, y, cv=cv,
            params={"sample_weight": w}, return_estimator=True, error_score="raise",
        )
    for k, (train, test) in enumerate(cv.split(X)):
        got = res["estimator"][k]
        # oracle 1: each member is a LogisticRegression fitted with the
        # weights of the training rows where its column is present
        for col in ("a", "b"):
            Xt = X.iloc[train][[col]]
            keep = Xt[col].notna().to_numpy()
            ref = LogisticRegression().fit(Xt[keep], y[train][keep], sample_weight=w[train][keep])
            inner = got.named_estimators_[col].estimator_
            np.testing.assert_allclose(inner.coef_, ref.coef_, rtol=1e-6)
            np.testing.assert_allclose(inner.intercept_, ref.intercept_, rtol=1e-6)
        # oracle 2: the fusion fitted by hand with the weights, without routing
        hand = fusion(False).fit(X.iloc[train], y[train], sample_weight=w[train])
        np.testing.assert_allclose(got.predict_proba(X.iloc[test]), hand.predict_proba(X.iloc[test]))
        # and the weights matter
        plain = fusion(False).fit(X.iloc[train], y[train])
        assert not np.allclose(plain.named_estimators_["a"].estimator_.coef_, got.named_estimators_["a"].estimator_.coef_)


def test_routing_unrequested_weight_raises_sklearn_error():
    import sklearn
    from sklearn.exceptions import UnsetMetadataPassedError
    from sklearn.model_selection import cross_validate

    from mmlearn.fusion import VotingFusionClassifier

    rng = np.random.default_rng(1)
    X, y = _two_modalities(rng, n=30)
    w = np.ones(len(y))
    fusion = VotingFusionClassifier([("a", Modality(["a"], LogisticRegression())), ("b", Modality(["b"], LogisticRegression()))])
    with sklearn.config_context(enable_metadata_routing=True):
        with pytest.raises(UnsetMetadataPassedError, match=r"LogisticRegression.fit, which is used within Modality.fit"):
            Modality(["a"], LogisticRegression()).fit(X, y, sample_weight=w)
        with pytest.raises(UnsetMetadataPassedError, match=r"\[sample_weight\] are passed but are not explicitly set"):
            cross_validate(fusion, X, y, cv=3, params={"sample_weight": w}, error_score="raise")


def test_routing_through_a_pipeline_matches_unrouted_step_keys():
    import sklearn

    rng = np.random.default_rng(0)
    X, y = _frame(rng, missing=(0, 4, 9))
    w = rng.uniform(0.1, 2, size=60)
    unrouted = _model().fit(X, y, logisticregression__sample_weight=w)
    with sklearn.config_context(enable_metadata_routing=True):
        routed_model = Modality("vec", make_pipeline(
            FunctionTransformer(_stack), LogisticRegression().set_fit_request(sample_weight=True)))
        routed_model.fit(X, y, sample_weight=w)
        routing = routed_model.get_metadata_routing()
    assert routing.consumes("fit", ["sample_weight"]) == {"sample_weight"}
    np.testing.assert_allclose(routed_model.predict_proba(X), unrouted.predict_proba(X))
    unweighted = _model().fit(X, y)
    assert not np.allclose(unweighted.predict_proba(X)[1], unrouted.predict_proba(X)[1])


# ------------------------------------------------------ set_output (10.5)
def test_set_output_pandas_keeps_index_and_names():
    import sklearn

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=8), "b": rng.normal(size=8), "c": list("abcdefgh")},
                     index=[f"r{i}" for i in range(8)])
    X.loc[["r2", "r5"], "a"] = np.nan
    before = X.copy()
    scaler = StandardScaler()
    m = Modality(["a", "b"], scaler).set_output(transform="pandas")
    out = m.fit_transform(X)
    assert isinstance(out, pd.DataFrame)
    assert list(out.index) == list(X.index) and list(out.columns) == ["a", "b"]
    present = X[["a", "b"]].notna().all(axis=1).to_numpy()
    assert out.loc[["r2", "r5"]].isna().all().all()
    ref = StandardScaler().fit_transform(X.loc[present, ["a", "b"]])
    np.testing.assert_allclose(out[present].to_numpy(), ref)
    np.testing.assert_allclose(m.transform(X).to_numpy(), out.to_numpy())
    pd.testing.assert_frame_equal(X, before)  # input untouched
    assert not hasattr(scaler, "_sklearn_output_config")  # user's estimator untouched
    assert isinstance(clone(m).fit(X).transform(X), pd.DataFrame)  # clone keeps the config
    # back to default after fit: arrays again, same numbers
    arr = m.set_output(transform="default").transform(X)
    assert isinstance(arr, np.ndarray)
    np.testing.assert_allclose(arr, out.to_numpy())
    # sklearn's global setting gives the same frame
    with sklearn.config_context(transform_output="pandas"):
        glob = Modality(["a", "b"], StandardScaler()).fit(X).transform(X)
    pd.testing.assert_frame_equal(glob, out)
    # array input: a RangeIndex
    arr_out = Modality([0, 1], StandardScaler()).set_output(transform="pandas").fit_transform(X[["a", "b"]].to_numpy())
    assert list(arr_out.index) == list(range(8)) and np.isnan(arr_out.iloc[2]).all()


def test_set_output_only_for_transformers_and_known_containers():
    assert not hasattr(Modality("a", LogisticRegression()), "set_output")
    with pytest.raises(ValueError, match="supports transform='default' or 'pandas', got 'polars'"):
        Modality("a", StandardScaler()).set_output(transform="polars")
    m = Modality("a", StandardScaler())
    assert m.set_output(transform=None) is m and not hasattr(m, "_sklearn_output_config")


# --------------------------------------------- column rules at predict (10.6)
def test_predict_selects_by_name_reordered_and_extra_columns():
    import warnings

    rng = np.random.default_rng(0)
    X, y = _frame(rng, missing=(2,))
    m = _model().fit(X, y)
    ref = m.predict_proba(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no feature-name warning either
        np.testing.assert_array_equal(m.predict_proba(X[["other", "vec"]]), ref)
        np.testing.assert_array_equal(m.predict_proba(X.assign(extra=1.0, more="x")), ref)
        np.testing.assert_array_equal(m.presence_mask(X[["other", "vec"]]), m.presence_mask(X))
    # a position given at fit means the column that was at that position
    by_pos = _model(0).fit(X, y)
    np.testing.assert_array_equal(by_pos.predict_proba(X[["other", "vec"]]), ref)
    # an array is read by position, as fitted (sklearn warns about the names)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        np.testing.assert_array_equal(m.predict_proba(X.to_numpy(dtype=object)), ref)


def test_predict_absent_column_means_missing_everywhere():
    rng = np.random.default_rng(0)
    X, y = _frame(rng, n=12)
    X.index = [f"s{i}" for i in range(12)]
    m = _model().fit(X, y)
    no_vec = X.drop(columns="vec")
    assert not m.presence_mask(no_vec).any()
    proba = m.predict_proba(no_vec)
    assert proba.shape == (12, 3) and np.isnan(proba).all()
    assert np.isnan(m.decision_function(no_vec)).all()
    with pytest.raises(ValueError, match=r"column\(s\) \['vec'\] not in X, so the modality is missing in all 12 rows"):
        m.predict(no_vec)
    # a table with only some rows still works the same way
    np.testing.assert_array_equal(m.predict_proba(X.iloc[:3]), m.predict_proba(X)[:3])
    # fit stays strict
    with pytest.raises(ValueError, match=r"column\(s\) \['vec'\] not found in X"):
        _model().fit(no_vec, y)


def test_duplicate_column_names_raise_at_fit_and_predict():
    rng = np.random.default_rng(0)
    X, y = _frame(rng, n=12)
    dup = pd.concat([X, X[["vec"]]], axis=1)
    with pytest.raises(ValueError, match=r"duplicate column name\(s\) \['vec'\]"):
        _model().fit(dup, y)
    with pytest.raises(ValueError, match=r"duplicate column name\(s\) \['vec'\]"):
        _model(slice(0, 3)).fit(dup, y)
    m = _model().fit(X, y)
    with pytest.raises(ValueError, match=r"duplicate column name\(s\) \['vec'\]"):
        m.predict_proba(dup)
    # any repeated name, as sklearn's own fit-time check has it
    other_dup = pd.concat([X, X[["other"]]], axis=1)
    with pytest.raises(ValueError, match=r"duplicate column name\(s\) \['other'\]"):
        m.predict_proba(other_dup)
    with pytest.raises(ValueError, match=r"duplicate column name\(s\) \['other'\]"):
        _model().fit(other_dup, y)


# ------------------------------------------ errors name the user's row (10.8)
def _wav_table(tmp_path, n=12, missing=(2, 5), bad=9):
    import soundfile as sf

    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        path = tmp_path / f"clip_{i:03d}.wav"
        if i == bad:
            path.write_bytes(b"RIFF\x00\x00junk that is not audio")
        else:
            freq = 300 if i % 2 else 900
            t = np.arange(2000) / 8000
            sf.write(path, (0.5 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.normal(size=t.size)).astype(np.float32), 8000)
        paths.append(None if i in missing else str(path))
    X = pd.DataFrame({"audio": paths, "x": rng.normal(size=n)}, index=[f"clip_{i:03d}" for i in range(n)])
    return X, np.arange(n) % 2


def _audio_model():
    from mmlearn.features import MFCCFeatures

    return make_modality_pipeline("audio", MFCCFeatures(sr=8000, n_fft=256, hop_length=128, n_mels=20), LogisticRegression())


def test_corrupt_wav_names_the_users_row_in_fit(tmp_path):
    X, y = _wav_table(tmp_path)
    with pytest.raises(ValueError, match=r"^row 9 \(index label 'clip_009'\) of column 'audio' \('.*clip_009.wav'\): could not be decoded as audio") as info:
        _audio_model().fit(X, y)
    err = info.value
    assert err.row_label == "clip_009" and err.row_position == 9
    assert "sample 7" not in str(err)
    # the original (7th of the present rows) is the cause
    assert err.__cause__ is not None and err.__cause__.sample_index == 7


def test_corrupt_wav_names_the_users_row_in_predict(tmp_path):
    X, y = _wav_table(tmp_path)
    good = X.drop(index="clip_009")
    m = _audio_model().fit(good, np.delete(y, 9))
    for method in ("predict_proba", "decision_function"):
        with pytest.raises(ValueError, match=r"^row 9 \(index label 'clip_009'\) of column 'audio'") as info:
            getattr(m, method)(X)
        assert info.value.row_label == "clip_009" and info.value.row_position == 9
    # presence_mask runs the pipeline's transformer steps (to find rows whose
    # features are all NaN), so it too names the corrupt file's row
    with pytest.raises(ValueError, match=r"^row 9 \(index label 'clip_009'\) of column 'audio'"):
        m.presence_mask(X)
    present = X["audio"].notna().to_numpy()
    with pytest.raises(ValueError, match=r"^row 7 \(index label 'clip_009'\)") as info:
        m.predict(X[present])  # row 7 of the table given to predict
    assert info.value.row_position == 7 and info.value.row_label == "clip_009"


def test_corrupt_wav_names_the_users_row_through_fusion(tmp_path):
    from mmlearn.fusion import VotingFusionClassifier

    X, y = _wav_table(tmp_path)
    fusion = VotingFusionClassifier([("audio", _audio_model()), ("x", Modality(["x"], LogisticRegression()))])
    with pytest.raises(ValueError, match=r"row 9 \(index label 'clip_009'\) of column 'audio'") as info:
        fusion.fit(X, y)
    assert info.value.row_label == "clip_009"
    fitted = fusion.fit(X.drop(index="clip_009"), np.delete(y, 9))
    with pytest.raises(ValueError, match=r"index label 'clip_009'\) of column 'audio'") as info:
        fitted.predict_proba(X)
    assert info.value.row_label == "clip_009"


def test_bad_image_names_the_users_row(tmp_path):
    from mmlearn.features import HOGFeatures

    rng = np.random.default_rng(0)
    images = [rng.uniform(size=(16, 16)) for _ in range(8)]
    images[1] = None
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    images[6] = str(bad)
    X = pd.DataFrame({"image": pd.Series(images, dtype=object, index=list(range(100, 108)))})
    y = np.arange(8) % 2
    m = make_modality_pipeline("image", HOGFeatures(pixels_per_cell=(8, 8), cells_per_block=(1, 1)), LogisticRegression())
    with pytest.raises(ValueError, match=r"^row 6 \(index label 106\) of column 'image' \('.*bad.png'\): could not be decoded") as info:
        m.fit(X, y)
    assert info.value.row_label == 106 and info.value.row_position == 6


def test_own_missing_row_error_names_labels_and_positions():
    rng = np.random.default_rng(0)
    X, y = _frame(rng, n=20, missing=(4, 15))
    X.index = [f"id{i}" for i in range(20)]
    m = _model().fit(X, y)
    with pytest.raises(ValueError, match=r"missing \(None/NaN/NA\) in 2 of 20 rows \(rows \['id4' \(position 4\), 'id15' \(position 15\)\]\)"):
        m.predict(X)


def test_other_errors_pass_through_unchanged():
    rng = np.random.default_rng(0)
    X, y = _frame(rng, n=12)
    boom = ValueError("not a per-sample error")
    def fail(_):
        raise boom
    with pytest.raises(ValueError) as info:
        Modality("vec", make_pipeline(FunctionTransformer(fail), LogisticRegression())).fit(X, y)
    assert info.value is boom and not hasattr(boom, "row_label")


# ------------------------------------------------------- honest tags (11.5)
def test_allow_nan_tag_matches_predict():
    from sklearn.utils import get_tags

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=10), "b": rng.normal(size=10)})
    y = np.arange(10) % 2
    m = Modality(["a", "b"], LogisticRegression())
    assert get_tags(m).input_tags.allow_nan is False
    m.fit(X, y)
    Xn = X.copy()
    Xn.iloc[3, 0] = np.nan
    # the tag says NaN is not allowed, and predict does refuse it
    with pytest.raises(ValueError, match="NaN"):
        m.predict(Xn)
    # NaN is still how a missing modality is marked for the other methods
    assert np.isnan(m.predict_proba(Xn)[3]).all()


# --------------------------------------------------------- no mutation (F)
def test_fit_and_predict_leave_inputs_alone():
    rng = np.random.default_rng(0)
    X, y = _frame(rng, missing=(1, 2))
    X_before, y_before = X.copy(), y.copy()
    w = rng.uniform(size=60)
    w_before = w.copy()
    est = make_pipeline(FunctionTransformer(_stack), LogisticRegression())
    params_before = est.get_params()
    m = Modality("vec", est).fit(X, y, logisticregression__sample_weight=w)
    m.predict_proba(X)
    pd.testing.assert_frame_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)
    np.testing.assert_array_equal(w, w_before)
    assert not hasattr(est[-1], "coef_") and est.get_params() == params_before


def test_presence_mask_after_fit_checks_array_width():
    rng = np.random.default_rng(0)
    X, y = _frame(rng, n=12, missing=(3,))
    m = _model(1).fit(X[["other", "vec"]].to_numpy(dtype=object), y)
    with pytest.raises(ValueError, match="X has 1 features, but Modality is expecting 2"):
        m.presence_mask(X[["vec"]].to_numpy(dtype=object))
    assert list(np.flatnonzero(~m.presence_mask(X[["other", "vec"]].to_numpy(dtype=object)))) == [3]


# ------------------------------------------- rows without features are absent
# A transformer step that gives a row of all NaN (Word2VecEmbedding(oov=
# "missing") for a text without a known word) makes the modality absent in
# that row: the final step neither fits nor predicts on it, fusion skips it.

_CLASS_WORDS = (["cat", "dog", "mouse", "purr"], ["car", "bus", "train", "road"])


def _text_table(n=48, unknown=(3, 10, 17), missing=(5,), seed=0):
    """Texts of class words, a numeric column; some texts have no word seen twice."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    texts = [" ".join(rng.choice(_CLASS_WORDS[c], 4)) for c in y]
    for k, i in enumerate(unknown):
        texts[i] = f"unseen{k} word{k}"  # each token occurs once: below min_count=2
    for i in missing:
        texts[i] = None
    X = pd.DataFrame(
        {"text": texts, "x": y + rng.normal(0, 0.8, n)}, index=[f"r{i}" for i in range(n)]
    )
    return X, y


def _text_modality(**lr):
    from mmlearn.features import Word2VecEmbedding

    w2v = Word2VecEmbedding(vector_size=8, epochs=30, min_count=2, oov="missing", random_state=0)
    return Modality("text", make_pipeline(w2v, LogisticRegression(**lr)))


def test_all_nan_features_leave_rows_out_of_the_final_fit():
    X, y = _text_table()
    m = _text_modality().fit(X, y)
    emb = m.estimator_[0]
    assert emb.n_empty_docs_ == 3  # the transformer steps saw every present text
    kept = np.ones(len(X), dtype=bool)
    kept[[3, 10, 17, 5]] = False
    assert m.n_present_fit_ == kept.sum()
    # oracle: the final step fitted on the features of the rows that have them
    ref = LogisticRegression().fit(emb.transform(X["text"][kept]), y[kept])
    np.testing.assert_allclose(m.estimator_[-1].coef_, ref.coef_)
    np.testing.assert_array_equal(m.presence_mask(X), kept)
    proba = m.predict_proba(X)
    assert np.isnan(proba[~kept]).all() and not np.isnan(proba[kept]).any()
    np.testing.assert_allclose(proba[kept], ref.predict_proba(emb.transform(X["text"][kept])))
    assert np.isnan(m.decision_function(X)[~kept]).all()


def test_all_nan_feature_rows_restrict_sample_weight_and_score():
    X, y = _text_table()
    w = np.random.default_rng(1).uniform(0.2, 3.0, len(X))
    m = _text_modality().fit(X, y, logisticregression__sample_weight=w)
    kept = m.presence_mask(X)
    ref = LogisticRegression().fit(m.estimator_[0].transform(X["text"][kept]), y[kept], sample_weight=w[kept])
    np.testing.assert_allclose(m.estimator_[-1].coef_, ref.coef_)
    y_pred = ref.predict(m.estimator_[0].transform(X["text"][kept]))
    assert m.score(X, y) == pytest.approx(np.mean(y_pred == y[kept]))


def test_all_nan_feature_rows_with_metadata_routing():
    import sklearn

    X, y = _text_table()
    w = np.random.default_rng(2).uniform(0.2, 3.0, len(X))
    with sklearn.config_context(enable_metadata_routing=True):
        from mmlearn.features import Word2VecEmbedding

        w2v = Word2VecEmbedding(vector_size=8, epochs=30, min_count=2, oov="missing", random_state=0)
        lr = LogisticRegression().set_fit_request(sample_weight=True)
        m = Modality("text", make_pipeline(w2v, lr)).fit(X, y, sample_weight=w)
    kept = m.presence_mask(X)
    assert kept.sum() == len(X) - 4
    ref = LogisticRegression().fit(m.estimator_[0].transform(X["text"][kept]), y[kept], sample_weight=w[kept])
    np.testing.assert_allclose(m.estimator_[-1].coef_, ref.coef_)


def test_predict_names_rows_without_features():
    X, y = _text_table()
    m = _text_modality().fit(X, y)
    rows = X.drop(index="r5")  # no missing text left; r3, r10, r17 have no known word
    with pytest.raises(
        ValueError,
        match=r"^Modality 'text' has no features in 3 of 47 rows \(rows \['r3' \(position 3\), "
        r"'r10' \(position 9\), 'r17' \(position 16\)\]\): the transformer steps .* all-NaN .*"
        r"cannot be predicted from it alone",
    ):
        m.predict(rows)
    with pytest.raises(ValueError, match=r"is missing \(None/NaN/NA\) in 1 of 48 rows .*'r5'"):
        m.predict(X)
    keep = m.presence_mask(rows)
    np.testing.assert_array_equal(
        m.predict(rows[keep]), m.estimator_[-1].predict(m.estimator_[0].transform(rows["text"][keep]))
    )


@pytest.mark.parametrize("voting", ["soft", "hard"])
def test_fusion_predicts_featureless_rows_from_the_other_modality(voting):
    from mmlearn.fusion import VotingFusionClassifier

    X, y = _text_table()
    other = Modality(["x"], LogisticRegression())
    fusion = VotingFusionClassifier([("text", _text_modality()), ("x", other)], voting=voting).fit(X, y)
    alone = clone(other).fit(X, y)  # oracle: the other member on its own
    text = fusion.named_estimators_["text"]
    no_text = ~text.presence_mask(X)
    np.testing.assert_array_equal(np.flatnonzero(no_text), [3, 5, 10, 17])
    np.testing.assert_array_equal(fusion.predict(X)[no_text], alone.predict(X)[no_text])
    if voting == "soft":
        proba = fusion.predict_proba(X)
        np.testing.assert_allclose(proba[no_text], alone.predict_proba(X)[no_text])
        both = (text.predict_proba(X)[~no_text] + alone.predict_proba(X)[~no_text]) / 2
        np.testing.assert_allclose(proba[~no_text], both)


def test_stacking_skips_featureless_rows():
    from mmlearn.fusion import StackingFusionClassifier

    X, y = _text_table()
    stack = StackingFusionClassifier(
        [("text", _text_modality()), ("x", Modality(["x"], LogisticRegression()))], cv=4
    ).fit(X, y)
    proba = stack.predict_proba(X)
    assert np.isfinite(proba).all()
    # the text member's out-of-fold presence indicator
    names = list(stack.meta_feature_names_)
    indicator = stack.oof_predictions_[:, names.index("text__present")]
    np.testing.assert_array_equal(np.flatnonzero(indicator == 0), [3, 5, 10, 17])


def test_any_transformer_giving_all_nan_rows_makes_them_absent():
    def nan_for_negative(values):
        arr = np.asarray(values, dtype=float).reshape(-1, 1)
        return np.where(arr < 0, np.nan, arr)

    X = pd.DataFrame({"v": [1.0, -2.0, 3.0, 4.0, -5.0, 6.0, 7.0, 8.0]})
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    m = Modality("v", make_pipeline(FunctionTransformer(nan_for_negative), LogisticRegression())).fit(X, y)
    np.testing.assert_array_equal(m.presence_mask(X), X["v"] >= 0)
    ref = LogisticRegression().fit(X[["v"]][X["v"] >= 0].to_numpy(), y[X["v"] >= 0])
    np.testing.assert_allclose(m.estimator_[-1].coef_, ref.coef_)
    # a transformer as final step: its output has NaN rows there
    t = Modality("v", make_pipeline(FunctionTransformer(nan_for_negative), StandardScaler())).fit(X)
    out = t.transform(X)
    assert np.isnan(out[[1, 4]]).all() and not np.isnan(out[X["v"] >= 0]).any()
    np.testing.assert_allclose(out[X["v"] >= 0], StandardScaler().fit_transform(ref_in := X[["v"]][X["v"] >= 0]))
    assert ref_in.shape == (6, 1)
    with pytest.raises(ValueError, match="all-NaN features for every one of the 2 training rows"):
        Modality("v", make_pipeline(FunctionTransformer(nan_for_negative), LogisticRegression())).fit(
            X[X["v"] < 0], [0, 1]
        )


def test_pipeline_memory_keeps_the_fitted_steps(tmp_path):
    X, y = _text_table()
    from mmlearn.features import Word2VecEmbedding

    w2v = Word2VecEmbedding(vector_size=8, epochs=30, min_count=2, oov="missing", random_state=0)
    cached = make_modality_pipeline("text", w2v, LogisticRegression(), memory=str(tmp_path)).fit(X, y)
    plain = _text_modality().fit(X, y)
    np.testing.assert_allclose(cached.predict_proba(X), plain.predict_proba(X), equal_nan=True)


class _CountingScaler(StandardScaler):
    """Counts the rows each method is called on."""

    calls: list = []

    def fit(self, X, y=None, **kw):
        _CountingScaler.calls.append(("fit", len(X)))
        return super().fit(X, y, **kw)

    def transform(self, X, copy=None):
        _CountingScaler.calls.append(("transform", len(X)))
        return super().transform(X, copy=copy)


@pytest.mark.parametrize("output", ["default", "pandas"])
def test_fit_transform_runs_the_feature_steps_once_and_equals_fit_then_transform(output):
    def nan_for_negative(values):
        arr = np.asarray(values, dtype=float).reshape(-1, 1)
        return np.where(arr < 0, np.nan, arr)

    X = pd.DataFrame({"v": [1.0, -2.0, None, 4.0, -5.0, 6.0, 7.0, 8.0]}, index=list("abcdefgh"))
    steps = [FunctionTransformer(nan_for_negative, feature_names_out=lambda t, f: np.array(["v"])),
             _CountingScaler(), StandardScaler()]
    m = Modality("v", make_pipeline(*steps)).set_output(transform=output)
    _CountingScaler.calls = []
    out = m.fit_transform(X)
    # 7 present rows through the feature steps, once; the final step fitted on the 5 with features
    assert _CountingScaler.calls == [("fit", 7), ("transform", 7)]
    ref = Modality("v", make_pipeline(*steps)).set_output(transform=output).fit(X)
    expected = ref.transform(X)
    if output == "pandas":
        pd.testing.assert_frame_equal(out, expected)
        out, expected = out.to_numpy(), expected.to_numpy()
    np.testing.assert_allclose(out, expected)
    assert np.isnan(out[[1, 2, 4]]).all() and not np.isnan(np.delete(out, [1, 2, 4], axis=0)).any()
    assert m.n_present_fit_ == ref.n_present_fit_ == 5
    # a bare transformer: its own fit_transform, NaN rows where the column is missing
    bare = Modality(["v"], StandardScaler()).fit_transform(X)
    np.testing.assert_allclose(bare, Modality(["v"], StandardScaler()).fit(X).transform(X))
    assert np.isnan(bare[2]).all() and not np.isnan(np.delete(bare, 2, axis=0)).any()


def test_a_single_column_given_to_a_2d_estimator_says_how_to_select_it():
    X = pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10.0) % 3})
    y = np.arange(10) % 2
    with pytest.raises(ValueError, match="2-dimensional container") as info:
        Modality("a", LogisticRegression()).fit(X, y)
    assert "select the column as a list: Modality(['a'], ...)" in "".join(info.value.__notes__)
    assert Modality(["a"], LogisticRegression()).fit(X, y).predict(X).shape == (10,)


@pytest.mark.parametrize("est", [None, "passthrough"])
def test_an_estimator_without_fit_is_named(est):
    X = pd.DataFrame({"a": np.arange(10.0)})
    with pytest.raises(TypeError, match=r"Modality 'a': estimator must be an estimator with a fit method, got"):
        Modality("a", est).fit(X, np.arange(10) % 2)
