"""The fitted-member cache: one member fit per fold under GridSearchCV, keys, stores."""

import collections
import copy
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from mmlearn.backend import gpu_available
from mmlearn.compose import make_modality_pipeline
from mmlearn.features import FeatureMemo
from mmlearn.fusion import (
    FittedMemberCache,
    StackingFusionClassifier,
    VotingFusionClassifier,
    default_member_cache,
)
from mmlearn.fusion._cache import device_digest, fingerprint, member_key

FITS: collections.Counter = collections.Counter()


class CountingLR(LogisticRegression):
    def fit(self, X, y, sample_weight=None):
        FITS["lr"] += 1
        return super().fit(X, y, sample_weight=sample_weight)


class CountingNB(GaussianNB):
    def fit(self, X, y, sample_weight=None):
        FITS["nb"] += 1
        return super().fit(X, y, sample_weight=sample_weight)


def _members():
    return [("lr", CountingLR(max_iter=300)), ("nb", CountingNB()), ("scaled", make_pipeline(StandardScaler(), CountingLR(C=0.5, max_iter=300)))]


GRID = [[1, 1, 1], [2, 1, 1], [1, 2, 1], [1, 1, 2], [0, 1, 3], [3, 0, 1]]


def test_grid_search_over_weights_fits_each_member_once_per_fold():
    X, y = load_iris(return_X_y=True)
    cache = FittedMemberCache()
    FITS.clear()
    search = GridSearchCV(VotingFusionClassifier(_members(), memory=cache), {"weights": GRID}, cv=5).fit(X, y)
    # 3 members x 5 folds + 3 for the refit, whatever the grid size
    assert FITS == {"lr": 2 * 6, "nb": 6}
    assert cache.misses == 18 and cache.hits == 3 * 5 * (len(GRID) - 1)
    FITS.clear()
    plain = GridSearchCV(VotingFusionClassifier(_members(), memory=False), {"weights": GRID}, cv=5).fit(X, y)
    assert sum(FITS.values()) == 3 * 5 * len(GRID) + 3
    assert_allclose(search.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"])
    assert search.best_params_ == plain.best_params_


def test_default_cache_is_process_wide_and_shared_by_clones():
    X, y = load_iris(return_X_y=True)
    default_member_cache().clear()
    FITS.clear()
    est = VotingFusionClassifier(_members())
    clone(est).fit(X, y)
    clone(est).set_params(weights=[1, 2, 3]).fit(X, y)
    assert sum(FITS.values()) == 3
    assert default_member_cache().hits == 3
    default_member_cache().clear()
    assert len(default_member_cache()) == 0


def test_key_changes_with_params_data_and_metadata():
    X, y = load_iris(return_X_y=True)
    cache = FittedMemberCache()
    FITS.clear()
    VotingFusionClassifier(_members(), memory=cache).fit(X, y)
    VotingFusionClassifier(_members(), memory=cache).set_params(lr__C=0.1).fit(X, y)  # only lr refits
    assert FITS == {"lr": 3, "nb": 1}
    X2 = X.copy()
    X2[0, 0] += 1e-9
    VotingFusionClassifier(_members(), memory=cache).fit(X2, y)  # one value changed
    assert FITS == {"lr": 5, "nb": 2}
    VotingFusionClassifier(_members(), memory=cache).fit(X, y, sample_weight=np.ones(len(y)))
    assert FITS == {"lr": 7, "nb": 3}


def test_clone_deepcopy_share_the_cache_and_pickle_drops_entries():
    cache = FittedMemberCache(max_entries=2)
    est = VotingFusionClassifier(_members(), memory=cache)
    assert clone(est).memory is cache and copy.deepcopy(cache) is cache
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("c", 3)  # evicts the least recently used
    assert cache.get("a") is None and cache.get("c") == 3 and len(cache) == 2
    restored = pickle.loads(pickle.dumps(cache))
    assert len(restored) == 0 and restored.max_entries == 2


def test_joblib_memory_shares_fits_between_caches(tmp_path):
    X, y = load_iris(return_X_y=True)
    FITS.clear()
    VotingFusionClassifier(_members(), memory=joblib.Memory(str(tmp_path), verbose=0)).fit(X, y)
    assert sum(FITS.values()) == 3
    again = VotingFusionClassifier(_members(), memory=str(tmp_path)).fit(X, y)  # a path works too
    assert sum(FITS.values()) == 3
    assert again.score(X, y) > 0.9
    with pytest.raises(ValueError, match="memory must be"):
        VotingFusionClassifier(_members(), memory=3).fit(X, y)


def test_stacking_grid_search_reuses_member_fits():
    X, y = load_iris(return_X_y=True)
    cache = FittedMemberCache()
    FITS.clear()
    est = StackingFusionClassifier(_members()[:2], LogisticRegression(), cv=3, memory=cache)
    GridSearchCV(est, {"final_estimator__C": [0.1, 1.0, 10.0]}, cv=2).fit(X, y)
    # per outer fold: 2 members x (3 inner folds + 1 full); plus the refit's 2 x 4
    assert sum(FITS.values()) == 2 * 2 * 4 + 2 * 4


def _stack(values):
    return np.vstack(list(values))


def test_feature_memo_inside_members_does_not_break_keys():
    memo = FeatureMemo()
    member = make_modality_pipeline("a", FunctionTransformer(_stack), StandardScaler(), LogisticRegression())
    member.estimator.steps[0][1].set_params(kw_args=None)
    key = member_key(member)
    memo.hits += 7
    assert member_key(member) == key
    assert member_key(clone(member).set_params(estimator__logisticregression__C=3.0)) != key
    # unhashable parameters: no key, so never cached (but still fitted)
    assert member_key(FunctionTransformer(lambda v: v)) is None


def test_fingerprint_ignores_index_not_values():
    frame = pd.DataFrame({"a": pd.Series([np.arange(3.0), None, np.ones(2)], dtype=object), "b": [1, 2, 3]})
    moved = frame.set_axis([10, 11, 12])
    assert fingerprint(frame) == fingerprint(moved)
    changed = frame.copy()
    changed.at[2, "a"] = np.array([1.0, 1.5])
    assert fingerprint(frame) != fingerprint(changed)
    assert fingerprint(frame) != fingerprint(frame.rename(columns={"b": "c"}))


def test_device_digest_on_numpy():
    a = np.random.default_rng(0).standard_normal((50, 7)).astype(np.float32)
    assert device_digest(a, np) == device_digest(a.copy(), np)
    b = a.copy()
    b.view(np.uint32)[13, 2] ^= 1  # one bit
    assert device_digest(a, np) != device_digest(b, np)
    assert device_digest(a, np) != device_digest(a.reshape(7, 50), np)
    odd = np.arange(5, dtype=np.uint8)  # not a whole number of words
    assert device_digest(odd, np) != device_digest(np.arange(1, 6, dtype=np.uint8), np)


@pytest.mark.skipif(not gpu_available(), reason="needs a CUDA GPU and cupy")
def test_device_digest_of_cupy_matches_numpy_without_copy():
    import cupy

    a = np.random.default_rng(0).standard_normal((300, 11))
    host = device_digest(a, np).split(":", 1)[1]
    dev = device_digest(cupy.asarray(a), cupy).split(":", 1)[1]
    assert host == dev
    assert fingerprint(cupy.asarray(a)).startswith("") and fingerprint(cupy.asarray(a)) == fingerprint(cupy.asarray(a))


def test_object_column_digest_tells_columns_apart():
    clips = [np.arange(4, dtype=np.float32), np.arange(3, dtype=np.float32)]
    base = pd.DataFrame({"a": pd.Series(clips, dtype=object)})
    # the same bytes split differently between rows, or another dtype, differ
    moved = pd.DataFrame({"a": pd.Series([np.arange(3, dtype=np.float32), np.r_[3, 0, 1, 2].astype(np.float32)], dtype=object)})
    as_int = pd.DataFrame({"a": pd.Series([c.view(np.int32) for c in clips], dtype=object)})
    texts = pd.DataFrame({"a": ["ab", "c"]})
    texts2 = pd.DataFrame({"a": ["a", "bc"]})
    digests = {fingerprint(f) for f in (base, moved, as_int, texts, texts2)}
    assert len(digests) == 5
    with_none = base.copy()
    with_none.at[1, "a"] = None
    assert fingerprint(with_none) != fingerprint(base)
    assert fingerprint(base) == fingerprint(base.copy(deep=True))
