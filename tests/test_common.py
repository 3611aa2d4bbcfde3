"""scikit-learn's common estimator checks for mmlearn's feature extractors.

Every estimator is listed with the checks it fails by design, each with its
reason; those are strict expected failures (``xfail_strict=True``), so a
check that starts passing fails the run until it is taken off the list.
"""

from __future__ import annotations

import warnings

import pytest
from sklearn.utils import estimator_checks as ec
from sklearn.utils.estimator_checks import parametrize_with_checks

from mmlearn.features import MFCCFeatures, Word2VecEmbedding

# MFCCFeatures takes a sequence of clips (a list, a Series, or a 2-D numeric
# array with one clip per row: input tag two_d_array=True). Being stateless,
# its fit checks the parameters and the container, never the clips
# themselves (that would decode every file twice in a pipeline); transform
# checks each clip and names the bad one.
_STATELESS_FIT = (
    "stateless: fit checks the parameters and the container, not the clips (files are "
    "decoded once, in transform); transform raises naming the sample"
)
_MFCC_EXPECTED_FAILED = {
    "check_n_features_in": (
        "clips have any length, so there is no fixed number of input features and no "
        "n_features_in_"
    ),
    "check_n_features_in_after_fitting": "clips have any length: no n_features_in_",
    "check_estimators_nan_inf": _STATELESS_FIT + " (test_nan_samples_are_an_error_naming_the_sample)",
    "check_complex_data": _STATELESS_FIT + " (test_non_numeric_clip_is_an_error_naming_the_sample)",
    "check_estimators_empty_data_messages": (
        "a (n, 0) array is n empty clips; " + _STATELESS_FIT
        + " (test_empty_clip_is_an_error_naming_the_sample)"
    ),
    "check_dtype_object": (
        "an object array must hold one clip per entry (1-D, or one column), not a 2-D "
        "table of numbers"
    ),
}

# Word2VecEmbedding takes a 1-D sequence of strings (input tags string=True,
# two_d_array=False). sklearn's common checks generate 2-D numeric X, so for
# such an estimator parametrize_with_checks yields only the checks that need
# no data; the data-dependent invariants are tested on texts in test_text.py
# (test_sklearn_invariants_on_texts) and the data-free API checks below.
_EXPECTED_FAILED = {"MFCCFeatures": _MFCC_EXPECTED_FAILED, "Word2VecEmbedding": {}}


def _expected_failed(estimator):
    return _EXPECTED_FAILED[type(estimator).__name__]


@parametrize_with_checks(
    [MFCCFeatures(), Word2VecEmbedding(vector_size=8, epochs=2, random_state=0)],
    expected_failed_checks=_expected_failed,
    xfail_strict=True,
)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        # librosa's warning for the mel bands of sklearn's tiny 2-D "clips"
        warnings.filterwarnings("ignore", message="Empty filters detected")
        check(estimator)


@pytest.mark.parametrize(
    "check",
    [
        ec.check_estimator_tags_renamed,
        ec.check_valid_tag_types,
        ec.check_estimator_repr,
        ec.check_no_attributes_set_in_init,
        ec.check_do_not_raise_errors_in_init_or_set_params,
        ec.check_mixin_order,
        ec.check_get_params_invariance,
        ec.check_set_params,
        ec.check_parameters_default_constructible,
    ],
    ids=lambda c: c.__name__,
)
def test_word2vec_data_free_api_checks(check):
    check("Word2VecEmbedding", Word2VecEmbedding(vector_size=8, epochs=2, random_state=0))


def test_input_tags():
    mfcc = MFCCFeatures().__sklearn_tags__()
    assert mfcc.input_tags.two_d_array and not mfcc.input_tags.one_d_array
    assert not mfcc.input_tags.allow_nan and not mfcc.input_tags.string
    assert mfcc.requires_fit is False
    w2v = Word2VecEmbedding().__sklearn_tags__()
    assert w2v.input_tags.string and w2v.input_tags.one_d_array
    assert not w2v.input_tags.two_d_array and not w2v.input_tags.allow_nan
