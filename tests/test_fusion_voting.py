"""VotingFusionClassifier / VotingFusionRegressor: oracle sklearn voting, missing modalities."""

import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import VotingClassifier, VotingRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from threadpoolctl import threadpool_limits

import mmlearn
from mmlearn.backend import gpu_available, resolve_device
from mmlearn.compose import make_modality_pipeline
from mmlearn.fusion import VotingFusionClassifier, VotingFusionRegressor


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(1):
        yield


def _stack(values):
    return np.vstack(list(values))


def _iris_members():
    return [
        ("lr", LogisticRegression(max_iter=500)),
        ("tree", DecisionTreeClassifier(max_depth=2, random_state=0)),
        ("nb", GaussianNB()),
    ]


def _two_modalities(X, missing_a=(), missing_b=()):
    """Iris as a table of two modalities: features 0-1 ("a") and 2-3 ("b")."""
    a = pd.Series([row for row in X[:, :2]], dtype=object)
    b = pd.Series([row for row in X[:, 2:]], dtype=object)
    a[list(missing_a)] = None
    b[list(missing_b)] = None
    return pd.DataFrame({"a": a, "b": b})


def _modality_members():
    return [
        ("a", make_modality_pipeline("a", FunctionTransformer(_stack), LogisticRegression(max_iter=500))),
        ("b", make_modality_pipeline("b", FunctionTransformer(_stack), GaussianNB())),
    ]


# ------------------------------------------------------------------ oracles
@pytest.mark.parametrize("voting", ["soft", "hard"])
@pytest.mark.parametrize("weights", [None, [1, 2, 3], [0.1, 0.2, 0.7], [0, 1, 1]])
def test_classifier_equals_sklearn_voting(voting, weights):
    X, y = load_iris(return_X_y=True)
    ours = VotingFusionClassifier(_iris_members(), voting=voting, weights=weights).fit(X, y)
    ref = VotingClassifier(_iris_members(), voting=voting, weights=weights).fit(X, y)
    assert_array_equal(ours.predict(X), ref.predict(X))
    assert_array_equal(ours.classes_, ref.classes_)
    if voting == "soft":
        assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=0, atol=1e-15)


def test_classifier_with_drop_equals_sklearn():
    X, y = load_iris(return_X_y=True)
    members = _iris_members()
    members[1] = ("tree", "drop")
    ours = VotingFusionClassifier(members, weights=[2, 5, 1]).fit(X, y)
    ref = VotingClassifier(members, voting="soft", weights=[2, 5, 1]).fit(X, y)
    assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-15)
    assert ours.named_estimators_["tree"] == "drop"
    assert len(ours.estimators_) == 2


def test_regressor_equals_sklearn_voting():
    X, y = load_diabetes(return_X_y=True)
    members = [("lin", LinearRegression()), ("tree", DecisionTreeRegressor(max_depth=3, random_state=0)), ("ridge", Ridge())]
    for weights in (None, [0.3, 0.2, 0.5]):
        ours = VotingFusionRegressor(members, weights=weights).fit(X, y)
        ref = VotingRegressor(members, weights=weights).fit(X, y)
        assert_allclose(ours.predict(X), ref.predict(X), rtol=0, atol=1e-12)


def test_modality_members_on_complete_table_equal_sklearn():
    X, y = load_iris(return_X_y=True)
    table = _two_modalities(X)
    ours = VotingFusionClassifier(_modality_members(), weights=[1, 3]).fit(table, y)
    ref = VotingClassifier(_modality_members(), voting="soft", weights=[1, 3]).fit(table, y)
    assert_allclose(ours.predict_proba(table), ref.predict_proba(table), atol=1e-15)
    assert ours.n_features_in_ == 2
    assert_array_equal(ours.feature_names_in_, ["a", "b"])


# ------------------------------------------------------ missing modalities
def test_missing_modality_renormalises_weights_per_row():
    X, y = load_iris(return_X_y=True)
    miss_a, miss_b = [3, 60, 120], [10, 70]
    table = _two_modalities(X, miss_a, miss_b)
    clf = VotingFusionClassifier(_modality_members(), weights=[1, 3]).fit(table, y)
    # oracle: each member fitted by hand on the rows that have its modality
    keep_a = np.setdiff1d(np.arange(len(y)), miss_a)
    keep_b = np.setdiff1d(np.arange(len(y)), miss_b)
    lr = LogisticRegression(max_iter=500).fit(X[keep_a, :2], y[keep_a])
    nb = GaussianNB().fit(X[keep_b, 2:], y[keep_b])
    pa, pb = lr.predict_proba(X[:, :2]), nb.predict_proba(X[:, 2:])
    expected = (1 * pa + 3 * pb) / 4
    expected[miss_a] = pb[miss_a]
    expected[miss_b] = pa[miss_b]
    proba = clf.predict_proba(table)
    assert_allclose(proba, expected, rtol=1e-12, atol=1e-14)
    assert_array_equal(clf.predict(table), clf.classes_[np.argmax(expected, axis=1)])

    hard = VotingFusionClassifier(_modality_members(), voting="hard", weights=[1, 3]).fit(table, y)
    votes = np.zeros((len(y), 3))
    votes[np.arange(len(y)), lr.predict(X[:, :2])] += 1
    votes[np.arange(len(y)), nb.predict(X[:, 2:])] += 3
    votes[miss_a, lr.predict(X[miss_a, :2])] -= 1
    votes[miss_b, nb.predict(X[miss_b, 2:])] -= 3
    assert_array_equal(hard.predict(table), np.argmax(votes, axis=1))


def test_regressor_missing_modality():
    X, y = load_diabetes(return_X_y=True)
    table = pd.DataFrame({"a": pd.Series(list(X[:, :5]), dtype=object), "b": pd.Series(list(X[:, 5:]), dtype=object)})
    table.loc[[0, 7], "a"] = None
    members = [
        ("a", make_modality_pipeline("a", FunctionTransformer(_stack), Ridge())),
        ("b", make_modality_pipeline("b", FunctionTransformer(_stack), LinearRegression())),
    ]
    reg = VotingFusionRegressor(members, weights=[2, 1]).fit(table, y)
    keep = np.setdiff1d(np.arange(len(y)), [0, 7])
    pa = Ridge().fit(X[keep, :5], y[keep]).predict(X[:, :5])
    pb = LinearRegression().fit(X[:, 5:], y).predict(X[:, 5:])
    expected = (2 * pa + pb) / 3
    expected[[0, 7]] = pb[[0, 7]]
    assert_allclose(reg.predict(table), expected, rtol=1e-12)


def test_row_with_every_modality_missing_is_named():
    X, y = load_iris(return_X_y=True)
    clf = VotingFusionClassifier(_modality_members()).fit(_two_modalities(X, [5], [9]), y)
    bad = _two_modalities(X[:6], [4], [4])
    with pytest.raises(ValueError, match=r"row 4 has every modality missing"):
        clf.predict(bad)
    with pytest.raises(ValueError, match=r"rows \[1, 4\] have every modality missing"):
        clf.predict_proba(_two_modalities(X[:6], [1, 4], [1, 4]))


def test_row_whose_present_members_weigh_zero_falls_back_to_equal_weights():
    # issue 10 item 4: a zero weight must not make a row unpredictable
    X, y = load_iris(return_X_y=True)
    table = _two_modalities(X[:4], missing_b=[2])
    clf = VotingFusionClassifier(_modality_members(), weights=[0, 1]).fit(_two_modalities(X), y)
    proba = clf.predict_proba(table)
    only_a = clf.named_estimators_["a"].predict_proba(table.iloc[[2]])
    assert_allclose(proba[2], only_a[0])  # member "a" alone, weight renormalised
    full_b = clf.named_estimators_["b"].predict_proba(table.iloc[[0, 1, 3]])
    assert_allclose(proba[[0, 1, 3]], full_b)  # other rows: weight 0 still means 0
    assert_array_equal(clf.predict(table), clf.classes_[proba.argmax(axis=1)])


# ------------------------------------------------------------- bad input
def test_soft_voting_member_without_predict_proba():
    X, y = load_iris(return_X_y=True)
    members = [("svc", LinearSVC()), ("nb", GaussianNB())]
    with pytest.raises(ValueError, match=r"voting='soft' needs predict_proba, which members \['svc'\]"):
        VotingFusionClassifier(members).fit(X, y)
    hard = VotingFusionClassifier(members, voting="hard").fit(X, y)
    assert not hasattr(hard, "predict_proba")
    assert hard.score(X, y) > 0.9


@pytest.mark.parametrize(
    "weights, message",
    [
        ([1, 2], r"got 2 weights for 3 members"),
        ([0, 0, 0], r"all zero"),
        ([1, -1, 1], r"non-negative"),
        ([1, np.nan, 1], r"finite"),
    ],
)
def test_bad_weights(weights, message):
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match=message):
        VotingFusionClassifier(_iris_members(), weights=weights).fit(X, y)


def test_weights_of_remaining_members_all_zero():
    X, y = load_iris(return_X_y=True)
    members = _iris_members()
    members[0] = ("lr", "drop")
    with pytest.raises(ValueError, match="all zero"):
        VotingFusionClassifier(members, weights=[5, 0, 0]).fit(X, y)


def test_single_class_y():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match=r"at least 2 classes in y; got 1 class \(0\)"):
        VotingFusionClassifier(_iris_members()).fit(X[:40], y[:40])


def test_mismatched_lengths():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="X has 150 samples but y has 149"):
        VotingFusionClassifier(_iris_members()).fit(X, y[:-1])
    with pytest.raises(ValueError, match="sample_weight has shape"):
        VotingFusionClassifier(_iris_members()).fit(X, y, sample_weight=np.ones(3))


def test_bad_members():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="unique"):
        VotingFusionClassifier([("a", GaussianNB()), ("a", GaussianNB())]).fit(X, y)
    with pytest.raises(ValueError, match="all members are 'drop'"):
        VotingFusionClassifier([("a", "drop")]).fit(X, y)
    with pytest.raises(ValueError, match="should be a classifier"):
        VotingFusionClassifier([("a", Ridge())]).fit(X, y)
    with pytest.raises(ValueError, match="voting must be"):
        VotingFusionClassifier(_iris_members(), voting="mean").fit(X, y)


# ----------------------------------------------- labels, weights, routing
def test_class_weight_dict_with_string_labels_reaches_members():
    X, y = load_iris(return_X_y=True)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    cw = {"setosa": 1.0, "versicolor": 5.0, "virginica": 0.2}
    members = [("lr", LogisticRegression(max_iter=500, class_weight=cw)), ("nb", GaussianNB())]
    clf = VotingFusionClassifier(members).fit(X, labels)
    lr = LogisticRegression(max_iter=500, class_weight=cw).fit(X, labels)
    nb = GaussianNB().fit(X, labels)
    assert_allclose(clf.predict_proba(X), (lr.predict_proba(X) + nb.predict_proba(X)) / 2, rtol=1e-12)
    # sklearn's VotingClassifier label-encodes y first, which breaks the dict (issue 18550)
    with pytest.raises(ValueError):
        VotingClassifier(members, voting="soft").fit(X, labels)


def test_sample_weight_reaches_members_that_accept_it():
    X, y = load_iris(return_X_y=True)
    sw = np.random.default_rng(0).uniform(0.1, 3, len(y))
    members = [
        ("lr", LogisticRegression(max_iter=500)),
        ("pipe", make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=500))),
        ("knn", KNeighborsClassifier()),
    ]
    with pytest.warns(UserWarning, match=r"not passed to members \['knn'\]"):
        clf = VotingFusionClassifier(members).fit(X, y, sample_weight=sw)
    lr = LogisticRegression(max_iter=500).fit(X, y, sample_weight=sw)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=500)).fit(
        X, y, logisticregression__sample_weight=sw
    )
    assert_allclose(clf.named_estimators_["lr"].coef_, lr.coef_)
    assert_allclose(clf.named_estimators_["pipe"][-1].coef_, pipe[-1].coef_)
    unweighted = LogisticRegression(max_iter=500).fit(X, y)
    assert not np.allclose(clf.named_estimators_["lr"].coef_, unweighted.coef_)


def test_sample_weight_through_modality_restricted_to_present_rows():
    X, y = load_iris(return_X_y=True)
    table = _two_modalities(X, missing_a=[0, 1])
    sw = np.linspace(0.5, 2.0, len(y))
    clf = VotingFusionClassifier(_modality_members()).fit(table, y, sample_weight=sw)
    keep = np.arange(2, len(y))
    lr = LogisticRegression(max_iter=500).fit(X[keep, :2], y[keep], sample_weight=sw[keep])
    assert_allclose(clf.named_estimators_["a"].estimator_[-1].coef_, lr.coef_)


def test_sample_weight_with_metadata_routing():
    X, y = load_iris(return_X_y=True)
    sw = np.random.default_rng(1).uniform(0.1, 3, len(y))
    with sklearn.config_context(enable_metadata_routing=True):
        members = [
            ("lr", LogisticRegression(max_iter=500).set_fit_request(sample_weight=True)),
            ("nb", GaussianNB().set_fit_request(sample_weight=False)),
        ]
        clf = VotingFusionClassifier(members).fit(X, y, sample_weight=sw)
        assert_allclose(clf.named_estimators_["lr"].coef_, LogisticRegression(max_iter=500).fit(X, y, sample_weight=sw).coef_)
        assert_allclose(clf.named_estimators_["nb"].theta_, GaussianNB().fit(X, y).theta_)
    with pytest.raises(ValueError, match="only sample_weight is accepted"):
        VotingFusionClassifier(_iris_members()).fit(X, y, groups=y)


# ------------------------------------------------- params, clone, pickle
def test_nested_params_and_grid_search_keys():
    X, y = load_iris(return_X_y=True)
    clf = VotingFusionClassifier(_iris_members())
    params = clf.get_params()
    assert params["lr__C"] == 1.0 and "tree__max_depth" in params
    clf.set_params(lr__C=0.5, nb="drop")
    assert clf.get_params()["lr__C"] == 0.5
    assert dict(clf.estimators)["nb"] == "drop"
    search = GridSearchCV(VotingFusionClassifier(_iris_members()), {"lr__C": [0.1, 1.0], "weights": [[1, 1, 1], [3, 1, 1]]}, cv=3)
    search.fit(X, y)
    assert set(search.best_params_) == {"lr__C", "weights"}


def test_clone_and_pickle_round_trip():
    X, y = load_iris(return_X_y=True)
    table = _two_modalities(X, [3], [4])
    for est in (
        VotingFusionClassifier(_modality_members(), weights=[1, 2]),
        VotingFusionClassifier(_modality_members(), voting="hard"),
    ):
        fitted = clone(est).fit(table, y)
        again = pickle.loads(pickle.dumps(fitted))
        assert_array_equal(again.predict(table), fitted.predict(table))
        assert clone(est).get_params()["weights"] == est.get_params()["weights"]
    reg = VotingFusionRegressor([("lin", LinearRegression()), ("ridge", Ridge())]).fit(X, y.astype(float))
    assert_allclose(pickle.loads(pickle.dumps(reg)).predict(X), reg.predict(X))


def test_n_jobs_goes_through_joblib():
    X, y = load_iris(return_X_y=True)
    one = VotingFusionClassifier(_iris_members(), n_jobs=1).fit(X, y)
    # threads keep the test fast; the backend is joblib's choice, as with Dask
    with joblib.parallel_config(backend="threading"):
        two = VotingFusionClassifier(_iris_members(), n_jobs=2).fit(X, y)
    assert_allclose(one.predict_proba(X), two.predict_proba(X))


# ------------------------------------------------------------- XGBoost
def test_xgboost_member_device_follows_mmlearn_config():
    import xgboost as xgb
    X, y = load_iris(return_X_y=True)
    members = [("xgb", xgb.XGBClassifier(n_estimators=5, max_depth=2)), ("nb", GaussianNB())]
    with mmlearn.config_context(device="cpu"):
        clf = VotingFusionClassifier(members).fit(X, y)
    assert clf.named_estimators_["xgb"].get_params()["device"] == "cpu"
    assert members[0][1].get_params()["device"] is None  # the given member is left alone
    clf = VotingFusionClassifier(members).fit(X, y)
    assert clf.named_estimators_["xgb"].get_params()["device"] == resolve_device("auto")
    # a device set by the user is kept; nested XGBoost models get it too
    pinned = [("xgb", xgb.XGBClassifier(n_estimators=5, device="cpu")), ("pipe", make_pipeline(StandardScaler(), xgb.XGBClassifier(n_estimators=5)))]
    with mmlearn.config_context(device="cpu"):
        clf = VotingFusionClassifier(pinned).fit(X, y)
    assert clf.named_estimators_["xgb"].get_params()["device"] == "cpu"
    assert clf.named_estimators_["pipe"][-1].get_params()["device"] == "cpu"
    assert clf.score(X, y) > 0.9


@pytest.mark.parametrize(
    "namespace",
    ["numpy", pytest.param("cupy", marks=pytest.mark.skipif(not gpu_available(), reason="needs a CUDA GPU and cupy"))],
)
def test_xgboost_member_takes_device_arrays_without_fallback(namespace):
    import xgboost as xgb
    X, y = load_iris(return_X_y=True)
    X = X.astype(np.float32)
    if namespace == "cupy":
        import cupy

        X = cupy.asarray(X)
    members = [("xgb", xgb.XGBClassifier(n_estimators=10, max_depth=2)), ("xgb2", xgb.XGBClassifier(n_estimators=5))]
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*mismatched devices.*")
        clf = VotingFusionClassifier(members).fit(X, y)
        proba = clf.predict_proba(X)
    expected = "cuda" if namespace == "cupy" else resolve_device(None)
    assert clf.named_estimators_["xgb"].get_params()["device"] == expected
    assert proba.shape == (150, 3) and isinstance(proba, np.ndarray)
    assert (clf.predict(X) == y).mean() > 0.9
