"""scikit-learn's common estimator checks for every public estimator of mmlearn.

This is the one place where sklearn's checks run. ``CHECKED`` holds the
estimators (some classes in more than one configuration) and
``EXPECTED_FAILED`` the checks each class fails by design, with the reason.
Expected failures are strict (``xfail_strict=True``): a listed check that
passes fails the run until it is taken off the list.
``test_every_public_estimator_is_checked`` fails when a public estimator is
missing from ``CHECKED``.

sklearn feeds its checks 2-D numeric tables. Estimators whose input tags say
they take something else (images, texts) get only ``check_estimator_cloneable``
from ``parametrize_with_checks``, so ``test_sklearn_checks_without_data`` runs
on them the checks that need no data; their data invariants (fit returns
self, idempotence, sample order and subset, read-only input, pickling) are
tested on real samples in ``test_image.py``, ``test_pretrained.py`` and
``test_text.py``. The augmenters have no ``fit`` (they are parameter objects
of :class:`~mmlearn.augment.AugmentedEstimator`): they get the same data-free
checks.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils import get_tags
from sklearn.utils import estimator_checks as ec
from sklearn.utils.estimator_checks import estimator_checks_generator, parametrize_with_checks

import mmlearn
from mmlearn.augment import AudioAugmenter, AugmentedEstimator, ImageAugmenter
from mmlearn.compose import Modality
from mmlearn.crossmodal import CrossModalMap
from mmlearn.features import (
    ConvEmbedding,
    HOGFeatures,
    MFCCFeatures,
    PretrainedEmbedding,
    SpectralFeatures,
    Word2VecEmbedding,
)
from mmlearn.fusion import (
    EnsembleSelectionClassifier,
    FusionWeightSearchCV,
    StackingFusionClassifier,
    StackingFusionRegressor,
    VotingFusionClassifier,
    VotingFusionRegressor,
)


# ------------------------------------------------------------------ estimators
def _clf_members():
    return [("tree", DecisionTreeClassifier(max_depth=3, random_state=0)),
            ("lr", LogisticRegression())]


def _reg_members():
    return [("tree", DecisionTreeRegressor(max_depth=3, random_state=0)), ("lin", Ridge())]


class _RowJitter(BaseEstimator):
    """Adds tiny noise to numeric rows: lets sklearn's checks drive AugmentedEstimator
    on tables (the real augmenters take images and clips; test_augment.py)."""

    def check_params(self):
        pass

    def augment(self, samples, random_state=None):
        rng = np.random.default_rng(0)
        return [np.asarray(s, dtype=float) + 1e-6 * rng.standard_normal(np.shape(s))
                for s in samples]


CHECKED = [
    # features: clips (2-D numeric array = one clip per row)
    MFCCFeatures(),
    SpectralFeatures(sr=8000, n_fft=64, hop_length=16, n_mels=8, n_bands=2, contrast_fmin=400.0),
    # features: images and texts (data-free checks only)
    HOGFeatures(),
    HOGFeatures(transform_sqrt=True),
    ConvEmbedding(n_filters=4, patch_size=2, random_state=0),
    PretrainedEmbedding(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 2))),
    Word2VecEmbedding(vector_size=8, epochs=2, random_state=0),
    # compose, crossmodal
    Modality(slice(None), LogisticRegression()),
    Modality(slice(None), Ridge()),
    CrossModalMap(source=([0], None), target=([1], None), n_components=1),
    # fusion
    VotingFusionClassifier(_clf_members()),
    VotingFusionClassifier(_clf_members(), voting="hard", weights=[1, 2]),
    VotingFusionRegressor(_reg_members(), weights=[1, 3]),
    StackingFusionClassifier(_clf_members(), cv=3),
    StackingFusionRegressor(_reg_members(), cv=3),
    EnsembleSelectionClassifier(_clf_members(), n_iter=5, cv=3),
    FusionWeightSearchCV(VotingFusionClassifier(_clf_members()), step=0.5, cv=3),
    FusionWeightSearchCV(
        VotingFusionRegressor([("lin", LinearRegression()),
                               ("tree", DecisionTreeRegressor(max_depth=3, random_state=0))]),
        step=0.5, cv=3),
    # augmentation
    AugmentedEstimator(LogisticRegression(), _RowJitter(), random_state=0),
    AugmentedEstimator(Ridge(), _RowJitter(), random_state=0),
    # parameter objects of AugmentedEstimator, without fit: data-free checks only
    ImageAugmenter(),
    AudioAugmenter(),
]


# ------------------------------------------------------------ expected failures
# The clip extractors are stateless: fit checks the parameters and the
# container, never the clips themselves (that would decode every file twice
# in a pipeline); transform checks each clip and names the bad one
# (test_audio.py: test_nan_samples_are_an_error_naming_the_sample,
# test_non_numeric_clip_is_an_error_naming_the_sample,
# test_empty_clip_is_an_error_naming_the_sample; test_sound.py:
# test_bad_sample_error_names_it).
_STATELESS_FIT = (
    "stateless: fit checks the parameters and the container, not the clips (files are "
    "decoded once, in transform); transform raises naming the sample"
)
_CLIP_EXTRACTOR = {
    "check_n_features_in": (
        "clips have any length, so there is no fixed number of input features and no "
        "n_features_in_"
    ),
    "check_n_features_in_after_fitting": "clips have any length: no n_features_in_",
    "check_estimators_nan_inf": _STATELESS_FIT,
    "check_complex_data": _STATELESS_FIT + " (TypeError)",
    "check_estimators_empty_data_messages": "a (n, 0) array is n empty clips; " + _STATELESS_FIT,
    "check_dtype_object": (
        "an object array must hold one clip per entry (1-D, or one column), not a 2-D "
        "table of numbers"
    ),
}

EXPECTED_FAILED = {
    "MFCCFeatures": _CLIP_EXTRACTOR,
    "SpectralFeatures": _CLIP_EXTRACTOR,
    "Modality": {
        # Its allow_nan tag is False (predict raises on a missing modality),
        # so sklearn runs this check, which wants fit to raise on NaN.
        "check_estimators_nan_inf": (
            "NaN in the modality column means 'missing': fit skips those rows instead of "
            "raising"
        ),
    },
    "CrossModalMap": {
        "check_fit2d_1feature": "needs two modalities: one column cannot hold both",
        "check_fit2d_1sample": "fails on purpose: a shared space needs > n_components paired rows",
        "check_complex_data": (
            "the check's data has one column: selecting the target column fails before the "
            "complex values are seen"
        ),
    },
    "AugmentedEstimator": {
        "check_sample_weight_equivalence_on_dense_data": (
            "weights of 2 and a repeated row differ once the augmented copies (jittered) join in"
        ),
    },
}


def _expected_failed(estimator) -> dict:
    return EXPECTED_FAILED.get(type(estimator).__name__, {})


# ---------------------------------------------------------------------- checks
@pytest.mark.filterwarnings("ignore:Empty filters detected")  # librosa, on tiny "clips"
@parametrize_with_checks([e for e in CHECKED if hasattr(e, "fit")],
                         expected_failed_checks=_expected_failed, xfail_strict=True)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# The checks of sklearn's API group (and the legacy list) that need no data.
DATA_FREE_CHECKS = [
    ec.check_estimator_tags_renamed,
    ec.check_valid_tag_types,
    ec.check_estimator_repr,
    ec.check_no_attributes_set_in_init,
    ec.check_do_not_raise_errors_in_init_or_set_params,
    ec.check_mixin_order,
    ec.check_get_params_invariance,
    ec.check_set_params,
    ec.check_parameters_default_constructible,
]


def _data_free_only(estimator) -> bool:
    """No fit, or input that is not a table: sklearn's data checks cannot run."""
    return not hasattr(estimator, "fit") or not get_tags(estimator).input_tags.two_d_array


def _data_free_params():
    for est in filter(_data_free_only, CHECKED):
        # parametrize_with_checks already runs check_estimator_cloneable on those with fit
        cloneable = [] if hasattr(est, "fit") else [ec.check_estimator_cloneable]
        expected = _expected_failed(est)
        for check in DATA_FREE_CHECKS + cloneable:
            marks = ([pytest.mark.xfail(reason=expected[check.__name__], strict=True)]
                     if check.__name__ in expected else [])
            est_id = re.sub(r"\s", "", str(est))  # as parametrize_with_checks names them
            yield pytest.param(est, check, marks=marks, id=f"{est_id}-{check.__name__}")


@pytest.mark.parametrize("estimator, check", list(_data_free_params()))
def test_sklearn_checks_without_data(estimator, check):
    check(type(estimator).__name__, estimator)


def _checks_run(estimator) -> set:
    if _data_free_only(estimator):
        return {c.__name__ for c in DATA_FREE_CHECKS} | {"check_estimator_cloneable"}
    return {getattr(c, "func", c).__name__ for _, c in estimator_checks_generator(estimator)}


@pytest.mark.parametrize("name", sorted(EXPECTED_FAILED))
def test_expected_failures_name_checks_that_run(name):
    """A listed check that sklearn does not run would be a silent, stale entry."""
    runs = [_checks_run(e) for e in CHECKED if type(e).__name__ == name]
    assert runs, f"{name} is not in CHECKED"
    for names in runs:
        assert set(EXPECTED_FAILED[name]) <= names, set(EXPECTED_FAILED[name]) - names


def _public_estimators() -> set:
    """Every class in the ``__all__`` of a public mmlearn module that is an estimator."""
    found = set()
    for info in pkgutil.walk_packages(mmlearn.__path__, "mmlearn."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        module = importlib.import_module(info.name)
        # the convention: every public module lists its public names
        assert hasattr(module, "__all__"), f"{info.name} has no __all__"
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
                found.add(obj)
    return found


def test_every_public_estimator_is_checked():
    public = _public_estimators()
    checked = {type(e) for e in CHECKED}
    assert public - checked == set(), "public estimators without sklearn's checks"
    assert checked - public == set(), "checked classes that are not public"
    # sanity of the walk itself: it sees every subpackage
    assert {HOGFeatures, Modality, CrossModalMap, VotingFusionClassifier,
            AugmentedEstimator} <= public


def test_input_tags():
    """The tags that decide which of sklearn's checks run (see the module docstring)."""
    for est in [MFCCFeatures(), SpectralFeatures()]:
        tags = get_tags(est)
        assert tags.input_tags.two_d_array and not tags.input_tags.one_d_array
        assert not tags.input_tags.allow_nan and not tags.input_tags.string
        assert tags.requires_fit is False
    w2v = get_tags(Word2VecEmbedding()).input_tags
    assert w2v.string and w2v.one_d_array and not w2v.two_d_array and not w2v.allow_nan
    assert not get_tags(Modality(slice(None), LogisticRegression())).input_tags.allow_nan
