"""Property-based tests (hypothesis): what must hold for every input, not a few.

- Finite input gives finite features or a ValueError that names the sample
  (``sample i ...``), never NaN or inf in silence: audio of any length and
  loudness in float32 / float64 / int16, images of any float magnitude.
- A sample's features do not depend on its batch: bitwise equal alone, in a
  batch, in another order.
- Soft voting with missing modalities is the weighted mean of the members
  present in the row, renormalised over them (a hand-written oracle); a
  row whose present members all weigh 0 gets their plain mean.
- Modality gives the inner estimator's outputs on the present rows and NaN
  elsewhere; stacking and ensemble selection give a probability
  distribution on every row that has a modality.

The examples are derandomised (a fixed set each run), so CI is stable; the
drawing still covers magnitudes from subnormal to the largest finite values.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.linear_model import LogisticRegression

from mmlearn.compose import Modality
from mmlearn.features import ConvEmbedding, HOGFeatures, MFCCFeatures, SpectralFeatures
from mmlearn.fusion import VotingFusionClassifier

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
_NAMED = re.compile(r"^sample \d+")


def _finite_or_named(compute):
    """``compute()`` is all finite, or raises a ValueError that starts by naming the sample."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # librosa's empty-filter and other advice
            out = np.asarray(compute())
    except ValueError as exc:
        assert _NAMED.match(str(exc)), f"an error that does not name the sample: {exc}"
        return None
    assert np.isfinite(out).all(), "finite input gave non-finite features"
    return out


# ------------------------------------------------------------------ audio
@st.composite
def clips(draw, max_len=2400):
    """A clip: noise, a tone, an impulse, silence or a constant, at any loudness, in any dtype."""
    n = draw(st.integers(1, max_len))
    kind = draw(st.sampled_from(["noise", "tone", "impulse", "silence", "constant", "raw"]))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int16]))
    if kind == "raw":  # values drawn one by one over the dtype's whole finite range
        width = {np.float32: 32, np.float64: 64}.get(dtype)
        elements = (st.floats(allow_nan=False, allow_infinity=False, width=width) if width
                    else st.integers(-32768, 32767))
        return draw(arrays(dtype, min(n, 64), elements=elements))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    base = {
        "noise": rng.standard_normal(n),
        "tone": np.sin(2 * np.pi * draw(st.floats(0.001, 0.5)) * t),
        "impulse": (t == rng.integers(n)).astype(float),
        "silence": np.zeros(n),
        "constant": np.ones(n),
    }[kind]
    if dtype == np.int16:
        return np.clip(base * draw(st.integers(0, 32767)), -32768, 32767).astype(np.int16)
    top = 38 if dtype == np.float32 else 300
    scale = 10.0 ** draw(st.integers(-40, top))
    with np.errstate(over="ignore"):
        return (base * scale).astype(dtype)


@SETTINGS
@given(batch=st.lists(clips(), min_size=1, max_size=3))
def test_mfcc_of_finite_audio_is_finite_or_names_the_sample(batch):
    mfcc = MFCCFeatures(sr=8000, n_fft=256, hop_length=80, n_mels=32, n_mfcc=13, deltas=1)
    _finite_or_named(lambda: mfcc.fit_transform(batch))


@SETTINGS
@given(batch=st.lists(clips(), min_size=1, max_size=3))
def test_spectral_features_of_finite_audio_are_finite_or_name_the_sample(batch):
    spec = SpectralFeatures(sr=8000, n_fft=256, hop_length=80, n_mels=32, n_bands=3)
    _finite_or_named(lambda: spec.fit_transform(batch))


@SETTINGS
@given(batch=st.lists(clips(max_len=1600), min_size=2, max_size=5), order=st.randoms())
@pytest.mark.parametrize("make", [
    lambda: MFCCFeatures(sr=8000, n_fft=256, hop_length=80, n_mels=32, n_mfcc=13, deltas=2),
    lambda: SpectralFeatures(sr=8000, n_fft=256, hop_length=80, n_mels=32, n_bands=3),
], ids=["mfcc", "spectral"])
def test_audio_rows_do_not_depend_on_the_batch(make, batch, order):
    alone = [_finite_or_named(lambda: make().fit_transform([c])) for c in batch]
    batch = [c for c, a in zip(batch, alone) if a is not None]  # the clips it accepts
    alone = [a[0] for a in alone if a is not None]
    if not batch:
        return
    together = make().fit_transform(batch)
    perm = list(range(len(batch)))
    order.shuffle(perm)
    shuffled = make().fit_transform([batch[i] for i in perm])
    for j, i in enumerate(perm):
        assert np.array_equal(together[i], alone[i])
        assert np.array_equal(shuffled[j], alone[i])


# ----------------------------------------------------------------- images
@st.composite
def images(draw, shape=None):
    """An image, gray or colour: noise, a gradient, an edge, a constant, at any float magnitude, or uint8."""
    h, w = shape or (draw(st.integers(8, 24)), draw(st.integers(8, 24)))
    full = (h, w) if draw(st.booleans()) else (h, w, 3)  # gray or colour
    kind = draw(st.sampled_from(["noise", "gradient", "edge", "constant", "raw"]))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.uint8]))
    if kind == "raw":
        width = {np.float32: 32, np.float64: 64}.get(dtype)
        elements = (st.floats(allow_nan=False, allow_infinity=False, width=width) if width
                    else st.integers(0, 255))
        return draw(arrays(dtype, full, elements=elements))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    base = {
        "noise": rng.random(full),
        "gradient": np.add.outer(np.arange(h), np.arange(w)) / (h + w),
        "edge": (np.arange(w)[None, :] >= w // 2) * np.ones((h, 1)),
        "constant": np.full((h, w), 0.5),
    }[kind]
    if base.shape != full:
        base = np.repeat(base[..., None], 3, axis=2) * np.array([1.0, 0.5, 0.25])
    if dtype == np.uint8:
        return (base * 255).astype(np.uint8)
    top = 38 if dtype == np.float32 else 307
    sign = draw(st.sampled_from([1.0, -1.0]))
    with np.errstate(over="ignore"):
        return (sign * base * 10.0 ** draw(st.integers(-40, top))).astype(dtype)


@SETTINGS
@given(batch=st.lists(images(shape=(16, 16)), min_size=1, max_size=3), sqrt=st.booleans())
def test_hog_of_finite_images_is_finite_or_names_the_sample(batch, sqrt):
    hog = HOGFeatures(orientations=9, pixels_per_cell=(4, 4), cells_per_block=(2, 2), transform_sqrt=sqrt)
    _finite_or_named(lambda: hog.fit_transform(batch))


@SETTINGS
@given(batch=st.lists(images(shape=(12, 12)), min_size=2, max_size=5), order=st.randoms())
def test_hog_rows_do_not_depend_on_the_batch(batch, order):
    hog = HOGFeatures(pixels_per_cell=(4, 4), cells_per_block=(2, 2))
    together = _finite_or_named(lambda: hog.fit_transform(batch))
    if together is None:
        return
    perm = list(range(len(batch)))
    order.shuffle(perm)
    shuffled = hog.fit_transform([batch[i] for i in perm])
    for j, i in enumerate(perm):
        alone = hog.fit_transform([batch[i]])[0]
        assert np.array_equal(together[i], alone)
        assert np.array_equal(shuffled[j], alone)


@pytest.fixture(scope="module")
def conv():
    rng = np.random.default_rng(0)
    return ConvEmbedding(n_filters=16, patch_size=4, input_size=(16, 16), random_state=0).fit(
        list(rng.random((20, 16, 16)))
    )


@SETTINGS
@given(batch=st.lists(images(), min_size=1, max_size=3))
def test_conv_embedding_of_finite_images_is_finite_or_names_the_sample(conv, batch):
    _finite_or_named(lambda: conv.transform(batch))


# ----------------------------------------------------------------- fusion
def _table_with_holes(seed, missing, n=60):
    """Three numeric modalities of a 3-class problem, each missing in a random fraction of rows."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = pd.DataFrame({c: y + rng.normal(0, 1.0, n) for c in "abc"})
    for c, frac in zip("abc", missing):
        X.loc[rng.random(n) < frac, c] = np.nan
    for c in "abc":  # every modality keeps rows of every class to fit on
        X.loc[[0, 1, 2], c] = [0.0, 1.0, 2.0]
    return X, y


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    weights=st.lists(st.floats(0.0, 5.0), min_size=3, max_size=3).filter(lambda w: sum(w) > 0.01),
    missing=st.lists(st.floats(0.0, 0.6), min_size=3, max_size=3),
)
def test_soft_voting_is_the_renormalised_weighted_mean_of_the_members_present(seed, weights, missing):
    X, y = _table_with_holes(seed, missing)
    members = [(c, Modality([c], LogisticRegression())) for c in "abc"]
    fusion = VotingFusionClassifier(members, voting="soft", weights=weights).fit(X, y)
    outs = np.stack([m.predict_proba(X) for m in fusion.estimators_])  # NaN rows where missing
    present = ~np.isnan(outs[:, :, 0])
    if not present.any(axis=0).all():  # a row with no modality at all: an error naming it
        with pytest.raises(ValueError, match="(has|have) every modality missing"):
            fusion.predict_proba(X)
        return
    w = np.asarray(weights)[:, None] * present
    # a row whose present members all weigh 0 falls back to their plain mean
    w = np.where(w.sum(axis=0) > 0, w, present.astype(float))
    w = w / w.max(axis=0)  # each row's weights scaled up first: a subnormal one must not underflow
    expected = np.einsum("mn,mnk->nk", w, np.nan_to_num(outs)) / w.sum(axis=0)[:, None]
    proba = fusion.predict_proba(X)
    np.testing.assert_allclose(proba, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)


# ----------------------------------------------------- Modality, stacking
@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), frac=st.floats(0.0, 0.9))
def test_modality_outputs_are_the_inner_estimators_on_the_present_rows_and_nan_elsewhere(seed, frac):
    from sklearn.preprocessing import StandardScaler

    X, y = _table_with_holes(seed, [frac, 0.0, 0.0])
    present = X["a"].notna().to_numpy()
    m = Modality(["a"], LogisticRegression()).fit(X, y)
    ref = LogisticRegression().fit(X.loc[present, ["a"]], y[present])
    proba = m.predict_proba(X)
    np.testing.assert_array_equal(m.presence_mask(X), present)
    np.testing.assert_allclose(proba[present], ref.predict_proba(X.loc[present, ["a"]]), rtol=1e-12)
    assert np.isnan(proba[~present]).all()
    t = Modality(["a", "b"], StandardScaler())
    Xt = t.fit_transform(X)
    np.testing.assert_array_equal(Xt, t.transform(X))
    np.testing.assert_allclose(Xt[present], StandardScaler().fit_transform(X.loc[present, ["a", "b"]]), rtol=1e-12)
    assert np.isnan(Xt[~present]).all()


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), missing=st.lists(st.floats(0.0, 0.6), min_size=3, max_size=3),
       method=st.sampled_from(["stacking", "selection"]))
def test_stacked_and_selected_probabilities_are_distributions_on_every_covered_row(seed, missing, method):
    from mmlearn.fusion import EnsembleSelectionClassifier, StackingFusionClassifier

    X, y = _table_with_holes(seed, missing)
    covered = X.notna().any(axis=1).to_numpy()
    X, y = X[covered], y[covered]
    members = [(c, Modality([c], LogisticRegression())) for c in "abc"]
    model = (StackingFusionClassifier(members, cv=3) if method == "stacking"
             else EnsembleSelectionClassifier(members, cv=3, n_iter=10, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a training part may lack a class: warned, handled
        proba = model.fit(X, y).predict_proba(X)
    assert proba.shape == (len(X), 3) and np.isfinite(proba).all() and (proba >= 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)
    np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])
