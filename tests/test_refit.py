"""Every ``fit`` starts from scratch: refitting on new data equals a fresh fit on it.

sklearn's ``check_fit_idempotent`` refits on the *same* data. Here each
public estimator is fitted on one data set and then on another; its
outputs on a third must equal those of a clone fitted only on the second
(bitwise), so no vocabulary, filter bank, image shape, member, weight or
cache survives a refit. The cases reuse the estimators of
``tests/test_common.py`` on the data each one takes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mmlearn.augment import AugmentedEstimator, ImageAugmenter
from mmlearn.compose import Modality
from mmlearn.crossmodal import CrossModalMap
from mmlearn.features import (
    ConvEmbedding,
    HOGFeatures,
    MFCCFeatures,
    SpectralFeatures,
    Word2VecEmbedding,
)
from mmlearn.fusion import (
    EnsembleSelectionClassifier,
    FittedMemberCache,
    FusionWeightSearchCV,
    StackingFusionClassifier,
    StackingFusionRegressor,
    VotingFusionClassifier,
    VotingFusionRegressor,
)

RNG = np.random.default_rng(0)


def _clips(n, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(int(rng.integers(600, 1600))).astype(np.float32) for _ in range(n)]


def _images(n, seed, shape=(16, 16)):
    return list(np.random.default_rng(seed).random((n,) + shape))


def _texts(n, seed):
    rng = np.random.default_rng(seed)
    words = np.array(["cat", "dog", "car", "bus", "red", "blue", "sun", "rain", f"w{seed}a", f"w{seed}b"])
    return [" ".join(rng.choice(words, 6)) for _ in range(n)]


def _table(n, seed, classes=3):
    """A table of 4 numeric columns (``a`` missing in some rows); 3 classes, or a regression target."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = pd.DataFrame({c: y + rng.normal(0, 1.0 + seed % 3, n) for c in "abcd"})
    X.loc[rng.random(n) < 0.2, "a"] = np.nan  # a modality missing in some rows
    X.loc[[0, 1, 2], "a"] = [0.0, 1.0, 2.0]
    return X, (y if classes else X["b"].to_numpy() * 2.0 + rng.normal(0, 0.1, n))


def _members(cls=LogisticRegression):
    return [("a", Modality(["a"], cls())), ("bc", Modality(["b", "c"], cls())), ("d", Modality(["d"], cls()))]


def _transform(est, X):
    return est.transform(X)


def _proba(est, X):
    return est.predict_proba(X)


def _predict(est, X):
    return est.predict(X)


# (id, estimator, data(seed) -> (X, y), output)
CASES = [
    ("mfcc", MFCCFeatures(sr=8000, n_fft=256, hop_length=80, n_mels=20, deltas=1),
     lambda s: (_clips(6, s), None), _transform),
    ("spectral", SpectralFeatures(sr=8000, n_fft=256, hop_length=80, n_mels=20, n_bands=3),
     lambda s: (_clips(6, s), None), _transform),
    ("hog", HOGFeatures(pixels_per_cell=(4, 4), cells_per_block=(2, 2)),
     lambda s: (_images(6, s, (16 + 4 * (s % 2), 16)), None),
     lambda est, X: est.get_feature_names_out()),  # from the image shape the last fit saw
    ("conv", ConvEmbedding(n_filters=8, patch_size=4, input_size=(16, 16), random_state=0),
     lambda s: (_images(12, s), None), _transform),
    ("word2vec", Word2VecEmbedding(vector_size=8, min_count=1, epochs=3, random_state=0, workers=1),
     lambda s: (_texts(30, s), None), _transform),
    ("modality", Modality(["a", "b"], make_pipeline(StandardScaler(), LogisticRegression())),
     lambda s: _table(60, s), _proba),
    ("crossmodal", CrossModalMap(source=(["a", "b"], None), target=(["c", "d"], None), n_components=2),
     lambda s: (_table(60, s)[0], None), _transform),
    ("voting", VotingFusionClassifier(_members(), voting="soft", weights=[1, 2, 1]),
     lambda s: _table(60, s), _proba),
    ("voting-regressor", VotingFusionRegressor(_members(Ridge)), lambda s: _table(60, s, classes=0), _predict),
    ("stacking", StackingFusionClassifier(_members(), cv=3), lambda s: _table(60, s), _proba),
    ("stacking-regressor", StackingFusionRegressor(_members(Ridge), cv=3),
     lambda s: _table(60, s, classes=0), _predict),
    ("selection", EnsembleSelectionClassifier(_members(), cv=3, n_iter=8, random_state=0),
     lambda s: _table(60, s), _proba),
    ("search", FusionWeightSearchCV(VotingFusionClassifier(_members(), voting="soft"), step=0.5, cv=3),
     lambda s: _table(60, s), _proba),
    ("search-cached", FusionWeightSearchCV(
        VotingFusionClassifier(_members(), voting="soft", memory=FittedMemberCache()), step=0.5, cv=3),
     lambda s: _table(60, s), _proba),
    ("augmented", AugmentedEstimator(make_pipeline(HOGFeatures(pixels_per_cell=(4, 4)), LogisticRegression()),
                                     ImageAugmenter(), n_augment=1, random_state=0),
     lambda s: (_images(20, s), np.arange(20) % 2), _proba),
]


@pytest.mark.parametrize("estimator, data, output", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_refit_on_new_data_equals_a_fresh_fit_on_it(estimator, data, output):
    (X1, y1), (X2, y2), (X3, _) = data(1), data(2), data(3)
    est = clone(estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence and similar advice on tiny data
        est.fit(X1, y1) if y1 is not None else est.fit(X1)
        est.fit(X2, y2) if y2 is not None else est.fit(X2)
        fresh = clone(estimator)
        fresh.fit(X2, y2) if y2 is not None else fresh.fit(X2)
        got, want = output(est, X3), output(fresh, X3)
    if isinstance(want, np.ndarray) and want.dtype.kind == "f":
        assert np.array_equal(got, want, equal_nan=True)
    else:
        assert np.array_equal(np.asarray(got), np.asarray(want))
