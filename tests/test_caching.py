"""mmlearn._caching: opt-in member cache (one fit per fold under GridSearchCV), keys, stores."""

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
from sklearn.tree import DecisionTreeClassifier

from mmlearn.backend import gpu_available
from mmlearn.compose import make_modality_pipeline
from mmlearn.features import FeatureMemo
from mmlearn._caching import device_digest, estimator_key, fingerprint
from mmlearn.fusion import FittedMemberCache, StackingFusionClassifier, VotingFusionClassifier

FITS: collections.Counter = collections.Counter()
CALLS: collections.Counter = collections.Counter()


class CountingLR(LogisticRegression):
    def fit(self, X, y, sample_weight=None):
        FITS["lr"] += 1
        return super().fit(X, y, sample_weight=sample_weight)

    def predict_proba(self, X):
        CALLS["predict_proba"] += 1
        return super().predict_proba(X)


class CountingNB(GaussianNB):
    def fit(self, X, y, sample_weight=None):
        FITS["nb"] += 1
        return super().fit(X, y, sample_weight=sample_weight)

    def predict_proba(self, X):
        CALLS["predict_proba"] += 1
        return super().predict_proba(X)


def _members(random_state=0):
    return [
        ("lr", CountingLR(max_iter=300, random_state=random_state)),
        ("nb", CountingNB()),
        ("scaled", make_pipeline(StandardScaler(), CountingLR(C=0.5, max_iter=300, random_state=random_state))),
    ]


GRID = [[1, 1, 1], [2, 1, 1], [1, 2, 1], [1, 1, 2], [0, 1, 3], [3, 0, 1]]


def test_grid_search_over_weights_fits_each_member_once_per_fold():
    X, y = load_iris(return_X_y=True)
    cache = FittedMemberCache()
    FITS.clear()
    CALLS.clear()
    search = GridSearchCV(VotingFusionClassifier(_members(), memory=cache), {"weights": GRID}, cv=5).fit(X, y)
    # 3 members x 5 folds + 3 for the refit, whatever the grid size
    assert FITS == {"lr": 2 * 6, "nb": 6}
    # and each member predicts each test fold once, not once per candidate
    assert CALLS["predict_proba"] == 3 * 5
    FITS.clear()
    CALLS.clear()
    plain = GridSearchCV(VotingFusionClassifier(_members()), {"weights": GRID}, cv=5).fit(X, y)
    assert sum(FITS.values()) == 3 * 5 * len(GRID) + 3
    assert CALLS["predict_proba"] == 3 * 5 * len(GRID)
    assert_allclose(search.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"], rtol=0, atol=0)
    assert search.best_params_ == plain.best_params_


def test_caching_is_opt_in_and_never_shares_fitted_members():
    # issue 10 item 2: memory=None is off, no process-wide store, no shared objects
    X, y = load_iris(return_X_y=True)
    FITS.clear()
    a = VotingFusionClassifier(_members()).fit(X, y)
    b = VotingFusionClassifier(_members()).fit(X, y)
    assert sum(FITS.values()) == 6  # nothing remembered between the two
    assert a.named_estimators_["lr"] is not b.named_estimators_["lr"]
    cache = FittedMemberCache()
    FITS.clear()
    c = VotingFusionClassifier(_members(), memory=cache).fit(X, y)
    d = VotingFusionClassifier(_members(), memory=cache).fit(X, y)
    assert sum(FITS.values()) == 3  # d's members come from the cache ...
    for name in ("lr", "nb", "scaled"):  # ... as copies of their own
        assert c.named_estimators_[name] is not d.named_estimators_[name]
    d.named_estimators_["lr"].coef_[:] = 0.0
    assert np.abs(c.named_estimators_["lr"].coef_).sum() > 0
    assert_allclose(c.predict_proba(X), VotingFusionClassifier(_members(), memory=cache).fit(X, y).predict_proba(X))


@pytest.mark.parametrize("random_state", [None, np.random.RandomState(0)])
def test_member_without_a_fixed_random_state_is_refitted(random_state):
    X, y = load_iris(return_X_y=True)
    cache = FittedMemberCache()
    FITS.clear()
    VotingFusionClassifier(_members(random_state), memory=cache).fit(X, y)
    VotingFusionClassifier(_members(random_state), memory=cache).fit(X, y)
    # the two LogisticRegressions are refitted; GaussianNB has no randomness and is reused
    assert FITS == {"lr": 4, "nb": 1}
    tree = DecisionTreeClassifier(max_features=1, random_state=random_state)
    assert estimator_key(tree) is None
    assert estimator_key(tree.set_params(random_state=3)) is not None


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
    stored = [1.0]
    cache.put("a", stored)
    cache.put("b", 2)
    got = cache.get("a")
    assert got == stored and got is not stored  # a copy
    cache.put("c", 3)  # evicts the least recently used ("b")
    assert cache.get("b") is None and cache.get("c") == 3 and len(cache) == 2
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
    member.set_params(estimator__logisticregression__random_state=0)
    key = estimator_key(member)
    memo.hits += 7
    assert estimator_key(member) == key
    assert estimator_key(clone(member).set_params(estimator__logisticregression__C=3.0)) != key
    # unhashable parameters: no key, so never cached (but still fitted)
    assert estimator_key(FunctionTransformer(lambda v: v)) is None


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
