"""Tests of mmlearn.augment: augmenters against skimage / librosa / numpy, training-only use.

Oracles: skimage.transform.rotate and rescale-free warps for the image
augmenter, numpy (roll, gain) and librosa.effects.time_stretch for the audio
augmenter; a recording estimator shows which rows reach fit and predict.
"""

from __future__ import annotations

import librosa
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from skimage.transform import rotate

from mmlearn.augment import AudioAugmenter, AugmentedEstimator, ImageAugmenter
from mmlearn.compose import Modality
from mmlearn.features import HOGFeatures


def _blob(h=21, w=21):
    img = np.zeros((h, w))
    img[3:8, 9:12] = 1.0
    img[12:15, 4:6] = 0.5
    return img


# ------------------------------------------------------------------ images
@pytest.mark.parametrize("angle", [30.0, -75.0])
def test_rotation_is_skimage_rotate(angle):
    img = _blob()
    out = ImageAugmenter(rotation=(angle, angle), scale=None, shift=None).augment([img])[0]
    np.testing.assert_allclose(out, rotate(img, angle, order=1, preserve_range=True), atol=1e-12)


def test_integer_shift_moves_pixels_right_and_down():
    img = _blob()
    out = ImageAugmenter(rotation=None, scale=None, shift=(2, 2)).augment([img])[0]
    want = np.zeros_like(img)
    want[2:, 2:] = img[:-2, :-2]
    np.testing.assert_allclose(out, want, atol=1e-12)


def test_scale_zooms_about_the_centre():
    img = np.zeros((21, 21))
    img[10, 14] = 1.0  # 4 px right of the centre (10, 10)
    out = ImageAugmenter(rotation=None, scale=(2.0, 2.0), shift=None).augment([img])[0]
    # the point moves to 8 px right of the centre
    assert np.unravel_index(np.argmax(out), out.shape) == (10, 18)


def test_colour_images_are_warped_channel_by_channel():
    img = np.zeros((20, 20, 3), dtype=np.uint8)
    img[5:10, 5:10, 0] = 255
    out = ImageAugmenter(rotation=None, scale=None, shift=(2, 2)).augment([img])[0]
    want = np.zeros_like(img)
    want[7:12, 7:12, 0] = 255
    np.testing.assert_array_equal(out, want)


def test_image_dtype_and_range_are_kept_and_draws_are_seeded():
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (28, 28)).astype(np.uint8) for _ in range(3)]
    aug = ImageAugmenter(rotation=20, scale=(0.8, 1.2), shift=3)
    a = aug.augment(imgs, random_state=1)
    b = aug.augment(imgs, random_state=1)
    assert all(x.dtype == np.uint8 and x.shape == (28, 28) for x in a)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], imgs[0])


# ------------------------------------------------------------------- audio
def test_gain_and_shift_are_exact():
    y = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    out = AudioAugmenter(sr=8000, time_shift=(0.25, 0.25), gain_db=(6.0, 6.0)).augment([y])[0]
    np.testing.assert_allclose(out, np.roll(y, 250) * 10 ** (6 / 20), rtol=1e-6)


def test_files_come_out_as_pairs_at_the_augmenters_rate(tmp_path):
    # a file loaded at the augmenter's rate must not reach an extractor of
    # another rate as a bare array (it would be read at the wrong rate)
    import soundfile as sf

    from mmlearn.features import MFCCFeatures

    t = np.arange(8000) / 8000
    y = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    sf.write(tmp_path / "a.wav", y, 8000)
    aug = AudioAugmenter(time_shift=None, gain_db=None, base_dir=tmp_path)  # sr=22050
    clip, rate = aug.augment(["a.wav"])[0]
    assert rate == 22050 and len(clip) == 22050
    np.testing.assert_allclose(clip, librosa.resample(y, orig_sr=8000, target_sr=22050, res_type="soxr_hq"),
                               atol=1e-4)
    mfcc = MFCCFeatures(sr=8000, n_fft=512, hop_length=128, n_mels=40)
    np.testing.assert_allclose(mfcc.transform([(clip, rate)]), mfcc.transform([str(tmp_path / "a.wav")]),
                               atol=1.0)  # back to 8 kHz: equal up to resampling twice
    # arrays keep their rate and stay arrays
    assert isinstance(aug.augment([y])[0], np.ndarray)


def test_noise_reaches_the_requested_snr():
    y = np.sin(np.arange(16000) * 0.05).astype(np.float32)
    aug = AudioAugmenter(sr=16000, time_shift=None, gain_db=None, snr_db=5.0)
    noisy = aug.augment([y] * 4, random_state=0)
    snr = [10 * np.log10(np.mean(y**2) / np.mean((n - y) ** 2)) for n in noisy]
    np.testing.assert_allclose(snr, 5.0, atol=0.2)
    # silent clips stay silent
    assert not aug.augment([np.zeros(100, np.float32)])[0].any()


def test_time_stretch_is_librosa():
    y = np.random.default_rng(1).standard_normal(8000).astype(np.float32)
    out = AudioAugmenter(sr=8000, time_shift=None, gain_db=None,
                         time_stretch=(1.25, 1.25)).augment([y])[0]
    ref = librosa.effects.time_stretch(y, rate=1.25)
    np.testing.assert_allclose(out, ref, atol=1e-6)
    assert len(out) == 6400


@pytest.mark.parametrize(
    "aug, match",
    [
        (ImageAugmenter(rotation=-5), "rotation must be >= 0"),
        (ImageAugmenter(scale=(1.2, 0.8)), "low <= high"),
        (ImageAugmenter(scale=0.0), "scale must be > 0"),
        (ImageAugmenter(shift="2"), "shift must be a number or a"),
        (AudioAugmenter(time_stretch=(0.0, 1.1)), "time_stretch must be > 0"),
        (AudioAugmenter(sr=-1), "sr must be a positive number"),
    ],
)
def test_bad_augmenter_parameters(aug, match):
    with pytest.raises(ValueError, match=match):
        aug.check_params()


def test_bad_sample_is_named():
    with pytest.raises(ValueError, match="sample 1: expected an HxW"):
        ImageAugmenter().augment([np.zeros((5, 5)), np.zeros(5)])
    with pytest.raises(ValueError, match="sample 0"):
        AudioAugmenter().augment([np.array([0.0, np.nan])])


# ------------------------------------------------------- training rows only
class _Recorder(ClassifierMixin, BaseEstimator):
    """Remembers the samples it was fitted on and asked about."""

    def fit(self, X, y):
        self.fit_X_ = list(X)
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        self.predict_X_ = list(X)
        return np.full(len(self.predict_X_), self.classes_[0])


def test_only_fit_rows_are_augmented():
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (6, 12, 12)).astype(np.uint8)
    y = np.array([0, 1] * 3)
    model = AugmentedEstimator(_Recorder(), ImageAugmenter(shift=1), n_augment=2, random_state=0)
    model.fit(imgs, y)
    fitted = model.estimator_.fit_X_
    assert model.n_samples_fit_ == len(fitted) == 18
    assert all(np.array_equal(a, b) for a, b in zip(fitted[:6], imgs))  # originals first
    assert sum(np.array_equal(a, b) for a, b in zip(fitted[6:], np.tile(imgs, (2, 1, 1)))) < 12
    model.predict(imgs)
    asked = model.estimator_.predict_X_
    assert len(asked) == 6 and all(np.array_equal(a, b) for a, b in zip(asked, imgs))


def test_keep_original_false_and_sample_weight_repeat():
    class _W(_Recorder):
        def fit(self, X, y, sample_weight=None):
            self.sw_ = sample_weight
            return super().fit(X, y)

    imgs = np.zeros((4, 8, 8))
    model = AugmentedEstimator(_W(), ImageAugmenter(), n_augment=2, keep_original=False)
    model.fit(imgs, [0, 1, 0, 1], sample_weight=[1.0, 2.0, 3.0, 4.0])
    assert model.n_samples_fit_ == 8
    np.testing.assert_array_equal(model.estimator_.sw_, [1, 2, 3, 4] * 2)


def test_per_sample_fit_params_of_a_pipeline_step_repeat():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    rng = np.random.default_rng(3)
    imgs = rng.random((12, 8, 8))
    y = np.arange(12) % 2
    w = rng.random(12) + 0.5
    flat = FunctionTransformer(lambda X: np.asarray(X).reshape(len(X), -1))
    aug = ImageAugmenter(rotation=10.0, shift=0.0, scale=None)
    model = AugmentedEstimator(make_pipeline(flat, LogisticRegression()), aug, n_augment=1, random_state=0)
    model.fit(imgs, y, logisticregression__sample_weight=w)
    copies = aug.augment(list(imgs), random_state=np.random.RandomState(0))
    oracle = LogisticRegression().fit(
        np.concatenate([imgs, np.stack(copies)]).reshape(24, -1), np.tile(y, 2),
        sample_weight=np.tile(w, 2),
    )
    np.testing.assert_allclose(model.estimator_[-1].coef_, oracle.coef_, rtol=1e-6)


class _OriginalsOnlyAtPredict(_Recorder):
    """Fails if predict sees a sample that is not one of the user's originals."""

    def __init__(self, originals=()):
        self.originals = originals

    def predict(self, X):
        keys = set(self.originals)
        assert all(np.asarray(x).tobytes() in keys for x in X), "an augmented row reached predict"
        return super().predict(X)


def test_cross_validation_never_augments_test_folds():
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (30, 12, 12)).astype(np.uint8)
    y = np.arange(30) % 2
    originals = tuple(im.tobytes() for im in imgs)
    model = AugmentedEstimator(_OriginalsOnlyAtPredict(originals), ImageAugmenter(shift=2),
                               n_augment=3, random_state=0)
    scores = cross_val_score(model, imgs, y, cv=3, error_score="raise")
    assert len(scores) == 3
    # while the training rows of a fold were enlarged four-fold, with new images
    fitted = model.fit(imgs[10:], y[10:]).estimator_.fit_X_
    assert len(fitted) == 80
    assert sum(f.tobytes() not in set(originals) for f in fitted) > 40


def test_augmented_pipeline_inside_a_modality_learns():
    rng = np.random.default_rng(0)
    imgs = np.zeros((40, 28, 28), dtype=np.uint8)
    y = np.arange(40) % 2
    for i in range(40):  # class 0: a vertical bar, class 1: a horizontal bar
        c = rng.integers(10, 18)
        if y[i]:
            imgs[i, c - 2 : c + 2, 6:22] = 255
        else:
            imgs[i, 6:22, c - 2 : c + 2] = 255
    X = pd.DataFrame({"image": pd.Series(list(imgs), dtype=object)})
    X.loc[[0, 5], "image"] = None
    member = Modality("image", AugmentedEstimator(
        make_pipeline(HOGFeatures(pixels_per_cell=(7, 7), cells_per_block=(2, 2)),
                      LogisticRegression()),
        ImageAugmenter(rotation=10, shift=2), n_augment=1, random_state=0))
    member.fit(X.iloc[:30], y[:30])
    assert member.estimator_.n_samples_fit_ == 2 * 28
    assert member.score(X.iloc[30:], y[30:]) == 1.0


@pytest.mark.parametrize(
    "params, err, match",
    [
        (dict(n_augment=-1), ValueError, "n_augment must be an integer >= 0"),
        (dict(n_augment=0, keep_original=False), ValueError, "needs n_augment >= 1"),
        (dict(augmenter=LogisticRegression()), TypeError, "augmenter must have an augment"),
    ],
)
def test_bad_wrapper_parameters(params, err, match):
    kw = dict(estimator=_Recorder(), augmenter=ImageAugmenter()) | params
    with pytest.raises(err, match=match):
        AugmentedEstimator(**kw).fit(np.zeros((2, 8, 8)), [0, 1])


@pytest.mark.parametrize("augmenter", [ImageAugmenter(), AudioAugmenter(sr=8000)])
@pytest.mark.parametrize("missing", [None, np.nan])
def test_a_missing_sample_is_named(augmenter, missing):
    good = np.zeros((8, 8)) if isinstance(augmenter, ImageAugmenter) else np.zeros(800, np.float32)
    with pytest.raises(ValueError, match=rf"^sample 1 is missing \({missing!r}\); {type(augmenter).__name__} needs every sample"):
        augmenter.augment([good, missing], random_state=0)
