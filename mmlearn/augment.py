"""Training-only data augmentation for images and audio.

:class:`AugmentedEstimator` wraps an estimator (usually a pipeline that
starts with a feature extractor) and, in ``fit`` only, adds ``n_augment``
randomly perturbed copies of every training sample, drawn by an augmenter:

- :class:`ImageAugmenter`: rotation, scaling and shifts
  (:class:`skimage.transform.AffineTransform` and
  :func:`skimage.transform.warp`);
- :class:`AudioAugmenter`: time shift, gain, additive white noise at a given
  signal-to-noise ratio, and time stretch (:func:`librosa.effects.time_stretch`).

``predict``, ``predict_proba``, ``transform`` and ``score`` pass their rows to
the fitted estimator untouched. Since cross-validation and grid search clone
and fit the wrapper once per fold, only the training rows of each fold are
enlarged; test rows never are. Inside a :class:`~mmlearn.compose.Modality`,
the wrapper sees the present rows of its column only.
"""

from __future__ import annotations

import numbers
import os
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._tables import is_per_sample
from .features._base import _as_sample_list, _check_present
from .io import load_audio, load_image

__all__ = ["AudioAugmenter", "AugmentedEstimator", "ImageAugmenter"]


def _range(name: str, value: Any, *, symmetric: bool, minimum: float | None = None) -> tuple:
    """A parameter given as one number (``±v`` if symmetric) or a (low, high) pair; None = off."""
    if value is None:
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        v = float(value)
        if symmetric:
            if v < 0:
                raise ValueError(f"{name} must be >= 0 (a symmetric range ±{name}), got {value!r}.")
            lo, hi = -v, v
        else:
            lo, hi = v, v
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value
    ):
        lo, hi = float(value[0]), float(value[1])
    else:
        raise ValueError(f"{name} must be a number or a (low, high) pair, got {value!r}.")
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
        raise ValueError(f"{name} must be a finite range with low <= high, got {value!r}.")
    if minimum is not None and lo <= minimum:
        raise ValueError(f"{name} must be > {minimum}, got {value!r}.")
    return lo, hi


class ImageAugmenter(BaseEstimator):
    """Random rotation, scaling and shift of images, for training-set augmentation.

    Each call of :meth:`augment` draws, per image, a rotation angle, a
    scale factor and a shift uniformly from the given ranges and applies them
    as one affine map about the image centre
    (:func:`skimage.transform.warp`, bilinear, pixels outside filled with
    ``cval``). Used through :class:`AugmentedEstimator`.

    Parameters
    ----------
    rotation : float or (float, float) or None, default=10.0
        Rotation in degrees, counter-clockwise as in
        :func:`skimage.transform.rotate`: ``r`` means uniform in ``[-r, r]``;
        None: none.
    scale : float or (float, float) or None, default=(0.9, 1.1)
        Zoom factor range (> 0); a single number is a fixed factor.
    shift : float or (float, float) or None, default=2.0
        Shift in pixels along each axis (positive: right and down), ``s``
        meaning uniform in ``[-s, s]``.
    cval : float, default=0.0
        Value of pixels that come from outside the image (0: black
        background, as in MNIST).

    See Also
    --------
    AugmentedEstimator : Enlarges the training rows with these copies.

    Examples
    --------
    >>> import numpy as np
    >>> from mmlearn.augment import ImageAugmenter
    >>> img = np.zeros((28, 28), dtype=np.uint8)
    >>> img[10:18, 12:16] = 255
    >>> out = ImageAugmenter(rotation=90, scale=None, shift=None).augment([img], random_state=0)
    >>> out[0].shape, out[0].dtype
    ((28, 28), dtype('uint8'))
    """

    def __init__(self, *, rotation: Any = 10.0, scale: Any = (0.9, 1.1), shift: Any = 2.0,
                 cval: float = 0.0):
        self.rotation = rotation
        self.scale = scale
        self.shift = shift
        self.cval = cval

    def _ranges(self) -> tuple:
        return (
            _range("rotation", self.rotation, symmetric=True),
            _range("scale", self.scale, symmetric=False, minimum=0.0),
            _range("shift", self.shift, symmetric=True),
        )

    def check_params(self) -> None:
        """Raise ValueError for an invalid range."""
        self._ranges()
        if not isinstance(self.cval, numbers.Real) or not np.isfinite(self.cval):
            raise ValueError(f"cval must be a finite number, got {self.cval!r}.")

    def augment(self, samples: list, random_state: Any = None) -> list:
        """One randomly transformed copy of each image.

        Parameters
        ----------
        samples : list of arrays or paths
            Images, HxW or HxWxC arrays or image files.
        random_state : int, RandomState or None, default=None
            Seed of the draws.

        Returns
        -------
        images : list of ndarray
            Same shapes and dtypes as the inputs (files are loaded first).
        """
        from skimage.transform import AffineTransform, warp

        self.check_params()
        _check_present(samples, type(self).__name__)
        rot, scale, shift = self._ranges()
        rng = check_random_state(random_state)
        out = []
        for i, sample in enumerate(samples):
            img = load_image(sample, index=i) if isinstance(sample, (str, bytes)) or hasattr(
                sample, "__fspath__") else np.asarray(sample)
            if img.ndim not in (2, 3):
                raise ValueError(f"sample {i}: expected an HxW or HxWxC image, got shape "
                                 f"{img.shape}.")
            h, w = img.shape[:2]
            # counter-clockwise, as skimage.transform.rotate (y points down)
            angle = -np.deg2rad(rng.uniform(*rot)) if rot else 0.0
            zoom = rng.uniform(*scale) if scale else 1.0
            dx, dy = (rng.uniform(*shift), rng.uniform(*shift)) if shift else (0.0, 0.0)
            centre = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
            # about the centre: move it to the origin, rotate and zoom, move back, shift
            tf = (AffineTransform(translation=-centre)
                  + AffineTransform(rotation=angle, scale=zoom)
                  + AffineTransform(translation=centre + [dx, dy]))
            warped = warp(img.astype(np.float64), tf.inverse, order=1, mode="constant",
                          cval=float(self.cval), preserve_range=True)
            if img.dtype.kind in "ui":
                info = np.iinfo(img.dtype)
                warped = np.clip(np.rint(warped), info.min, info.max)
            out.append(warped.astype(img.dtype, copy=False))
        return out


class AudioAugmenter(BaseEstimator):
    """Random time shift, gain, noise at a given SNR and time stretch of clips.

    Each call of :meth:`augment` draws, per clip, every enabled
    perturbation's parameter uniformly from its range and applies them in
    the order time stretch, time shift, gain, noise. Used through
    :class:`AugmentedEstimator`.

    Parameters
    ----------
    sr : float, default=22050
        Rate at which files (and ``(array, rate)`` pairs) are loaded. Their
        perturbed copies come out as ``(clip, sr)`` pairs, which
        :class:`~mmlearn.features.MFCCFeatures` and
        :class:`~mmlearn.features.SpectralFeatures` resample to their own
        rate. A bare array is perturbed at whatever rate it has and comes out
        as an array (no perturbation depends on the rate).
    base_dir : str or path-like, default=None
        Folder that relative file paths are resolved against (see
        :func:`mmlearn.io.load_audio`); give the extractor's ``base_dir``.
    time_shift : float or (float, float) or None, default=0.1
        Circular shift as a fraction of the clip's length, ``s`` meaning
        uniform in ``[-s, s]``.
    gain_db : float or (float, float) or None, default=6.0
        Gain in dB, ``g`` meaning uniform in ``[-g, g]``.
    snr_db : float or (float, float) or None, default=None
        Add white Gaussian noise at this signal-to-noise ratio in dB (a
        number is a fixed SNR); None: no noise.
    time_stretch : float or (float, float) or None, default=None
        Playback-rate range for :func:`librosa.effects.time_stretch` (> 0;
        1.2 is 20 % faster, shorter); None: none.

    See Also
    --------
    AugmentedEstimator : Enlarges the training rows with these copies.

    Notes
    -----
    The SNR is taken against the clip's mean power after the gain; a
    silent clip gets no noise. Time stretch changes a clip's length; it is
    :func:`librosa.effects.time_stretch` with ``n_fft=2048``, or for a clip
    shorter than that the largest power of two that fits (at least 16).

    Examples
    --------
    >>> import numpy as np
    >>> from mmlearn.augment import AudioAugmenter
    >>> clip = np.sin(np.arange(8000) * 0.2).astype(np.float32)
    >>> noisy = AudioAugmenter(sr=8000, time_shift=None, gain_db=None, snr_db=10.0)
    >>> out = noisy.augment([clip], random_state=0)[0]
    >>> snr = 10 * np.log10(np.mean(clip ** 2) / np.mean((out - clip) ** 2))
    >>> bool(abs(snr - 10.0) < 0.5), out.dtype
    (True, dtype('float32'))
    """

    def __init__(self, *, sr: float = 22050, time_shift: Any = 0.1, gain_db: Any = 6.0,
                 snr_db: Any = None, time_stretch: Any = None, base_dir: Any = None):
        self.sr = sr
        self.base_dir = base_dir
        self.time_shift = time_shift
        self.gain_db = gain_db
        self.snr_db = snr_db
        self.time_stretch = time_stretch

    def _ranges(self) -> tuple:
        return (
            _range("time_shift", self.time_shift, symmetric=True),
            _range("gain_db", self.gain_db, symmetric=True),
            _range("snr_db", self.snr_db, symmetric=False),
            _range("time_stretch", self.time_stretch, symmetric=False, minimum=0.0),
        )

    def check_params(self) -> None:
        """Raise ValueError for an invalid range or rate."""
        if not isinstance(self.sr, numbers.Real) or isinstance(self.sr, bool) or not self.sr > 0:
            raise ValueError(f"sr must be a positive number, got {self.sr!r}.")
        self._ranges()

    def augment(self, samples: list, random_state: Any = None) -> list:
        """One randomly perturbed copy of each clip.

        Parameters
        ----------
        samples : list of 1-D arrays, (array, rate) pairs or paths
            Clips, or audio files.
        random_state : int, RandomState or None, default=None
            Seed of the draws.

        Returns
        -------
        clips : list of 1-D float32 arrays or (array, sr) pairs
            An array for an array sample; a ``(clip, sr)`` pair for a file
            or a pair (loaded at ``sr``), so the extractor knows its rate.
        """
        self.check_params()
        _check_present(samples, type(self).__name__)
        shift, gain, snr, stretch = self._ranges()
        rng = check_random_state(random_state)
        out = []
        for i, sample in enumerate(samples):
            loaded = isinstance(sample, (str, os.PathLike, tuple))  # resampled to sr
            y = load_audio(sample, sr=self.sr, mono=True, index=i, base_dir=self.base_dir)
            if stretch:
                import librosa

                rate = rng.uniform(*stretch)
                n_fft = min(2048, 1 << max(4, int(np.log2(max(len(y), 16)))))
                y = librosa.effects.time_stretch(y, rate=rate, n_fft=n_fft).astype(np.float32)
            if shift:
                y = np.roll(y, int(round(rng.uniform(*shift) * len(y))))
            if gain:
                y = y * np.float32(10.0 ** (rng.uniform(*gain) / 20.0))
            if snr:
                power = float(np.mean(y.astype(np.float64) ** 2))
                if power > 0:
                    noise_power = power / 10.0 ** (rng.uniform(*snr) / 10.0)
                    y = y + rng.normal(0.0, np.sqrt(noise_power), y.shape).astype(np.float32)
            y = np.asarray(y, dtype=np.float32)
            out.append((y, self.sr) if loaded else y)
        return out


def _samples(X: Any) -> list:
    """The samples of ``X``: the rows of a table or a stacked array, else the entries."""
    if isinstance(X, pd.DataFrame) and X.shape[1] > 1:
        return list(X.to_numpy())
    if not isinstance(X, (list, tuple, pd.Series, pd.DataFrame, np.ndarray)) and hasattr(
        X, "__array__"
    ):
        X = np.asarray(X)
    if isinstance(X, np.ndarray) and X.ndim >= 2:
        return list(X)
    return _as_sample_list(X)


def _pack(samples: list) -> Any:
    """Samples as the estimators take them: one stacked array when they are equal-shape
    arrays or nested lists (rows of a table, an image stack, equal-length clips), else a
    1-D object array (clips of different lengths, file paths)."""
    first = samples[0] if samples else None
    if isinstance(first, np.ndarray) and all(
        isinstance(s, np.ndarray) and s.shape == first.shape for s in samples
    ):
        return np.stack(samples)
    if isinstance(first, (list, tuple)):
        try:
            arr = np.asarray(samples)
        except ValueError:  # ragged
            arr = None
        if arr is not None and arr.dtype.kind in "biufc" and arr.ndim >= 2:
            return arr
    out = np.empty(len(samples), dtype=object)
    out[:] = samples
    return out


def _estimator_has(attr: str):
    def check(self) -> bool:
        if hasattr(self, "estimator_"):
            return hasattr(self.estimator_, attr)
        return hasattr(self.estimator, attr)

    return check


class AugmentedEstimator(MetaEstimatorMixin, BaseEstimator):
    """Fit an estimator on its training rows plus augmented copies; predict on rows as given.

    Parameters
    ----------
    estimator : estimator object
        Usually a pipeline that starts with a feature extractor
        (:class:`~mmlearn.features.HOGFeatures`,
        :class:`~mmlearn.features.MFCCFeatures`, ...). Cloned before fitting.
    augmenter : ImageAugmenter or AudioAugmenter
        Draws the perturbed copies (its parameters are searchable as
        ``augmenter__rotation`` and so on).
    n_augment : int, default=1
        Perturbed copies per training sample (0 disables augmentation).
    keep_original : bool, default=True
        Also fit on the original samples.
    random_state : int, RandomState or None, default=None
        Seed of the augmentation draws (None: a new draw each fit).

    Attributes
    ----------
    estimator_ : estimator object
        The clone fitted on the enlarged training set.
    n_samples_fit_ : int
        Training samples after augmentation.
    classes_ : ndarray
        The fitted classifier's classes (classifiers only).

    See Also
    --------
    ImageAugmenter, AudioAugmenter : The augmenters.

    Notes
    -----
    ``sample_weight`` given to ``fit`` is repeated for every copy of a sample.
    Only ``fit`` augments; every other method passes ``X`` through, so
    cross-validation never augments a test fold.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from mmlearn.augment import AugmentedEstimator, ImageAugmenter
    >>> from mmlearn.features import HOGFeatures
    >>> rng = np.random.default_rng(0)
    >>> images = rng.integers(0, 255, (20, 28, 28)).astype(np.uint8)
    >>> y = np.arange(20) % 2
    >>> model = AugmentedEstimator(
    ...     make_pipeline(HOGFeatures(pixels_per_cell=(7, 7), cells_per_block=(2, 2)),
    ...                   LogisticRegression()),
    ...     ImageAugmenter(rotation=10), n_augment=2, random_state=0).fit(images, y)
    >>> model.n_samples_fit_, model.predict(images).shape
    (60, (20,))
    """

    def __init__(self, estimator: Any, augmenter: Any, *, n_augment: int = 1,
                 keep_original: bool = True, random_state: Any = None):
        self.estimator = estimator
        self.augmenter = augmenter
        self.n_augment = n_augment
        self.keep_original = keep_original
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None, **fit_params: Any):
        """Fit a clone of ``estimator`` on the samples and their augmented copies.

        Parameters
        ----------
        X : sequence of samples
            Images or clips (arrays or paths), as the estimator takes them.
        y : array-like of shape (n_samples,), default=None
            Targets, repeated for each copy.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the estimator's ``fit``, repeated for each copy (for a
            pipeline, pass ``<step>__sample_weight`` instead).
        **fit_params : dict
            Other parameters of the estimator's ``fit``; those with one
            entry per sample are repeated for each copy, the rest passed as
            they are.

        Returns
        -------
        self : object
            The fitted wrapper.
        """
        n_aug = self.n_augment
        if isinstance(n_aug, bool) or not isinstance(n_aug, numbers.Integral) or n_aug < 0:
            raise ValueError(f"n_augment must be an integer >= 0, got {n_aug!r}.")
        if not self.keep_original and n_aug == 0:
            raise ValueError("keep_original=False needs n_augment >= 1: nothing would be fitted.")
        if not hasattr(self.augmenter, "augment"):
            raise TypeError(
                "augmenter must have an augment(samples, random_state) method (ImageAugmenter "
                f"or AudioAugmenter), got {type(self.augmenter).__name__}."
            )
        self.augmenter.check_params()
        samples = _samples(X)
        n = len(samples)
        if y is not None:
            y = np.asarray(y)
            if y.shape[:1] != (n,):
                raise ValueError(f"X has {n} samples but y has shape {y.shape}.")
        rng = check_random_state(self.random_state)
        parts = [list(samples)] if self.keep_original else []
        for _ in range(int(n_aug)):
            parts.append(self.augmenter.augment(samples, random_state=rng))
        X_fit = [s for part in parts for s in part]
        reps = len(parts)
        if y is not None:
            y_fit = np.concatenate([y] * reps)
        else:
            y_fit = None
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight)
            if sample_weight.shape != (n,):
                raise ValueError(
                    f"sample_weight has shape {sample_weight.shape}; expected ({n},), one "
                    "weight per sample of X."
                )
            fit_params = {**fit_params, "sample_weight": sample_weight}
        # per-sample metadata (sample_weight among it) is repeated for each copy
        fit_params = {
            k: (np.concatenate([np.asarray(v)] * reps) if is_per_sample(v, n) else v)
            for k, v in fit_params.items()
        }
        self.estimator_ = clone(self.estimator).fit(_pack(X_fit), y_fit, **fit_params)
        self.n_samples_fit_ = len(X_fit)
        return self

    @property
    def n_features_in_(self) -> int:
        """Number of features seen by the fitted estimator (when it has the attribute)."""
        check_is_fitted(self)
        return self.estimator_.n_features_in_

    @property
    def classes_(self) -> np.ndarray:
        """Class labels of the fitted classifier."""
        check_is_fitted(self)
        return self.estimator_.classes_

    @available_if(_estimator_has("predict"))
    def predict(self, X: Any) -> np.ndarray:
        """Predict with the fitted estimator; ``X`` is not augmented.

        Parameters
        ----------
        X : sequence of samples

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities from the fitted estimator; ``X`` is not augmented.

        Parameters
        ----------
        X : sequence of samples

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X: Any) -> np.ndarray:
        """Decision scores from the fitted estimator; ``X`` is not augmented.

        Parameters
        ----------
        X : sequence of samples

        Returns
        -------
        scores : ndarray
        """
        check_is_fitted(self)
        return self.estimator_.decision_function(X)

    @available_if(_estimator_has("transform"))
    def transform(self, X: Any) -> Any:
        """Transform with the fitted estimator; ``X`` is not augmented.

        Parameters
        ----------
        X : sequence of samples

        Returns
        -------
        Xt : array
        """
        check_is_fitted(self)
        return self.estimator_.transform(X)

    @available_if(_estimator_has("score"))
    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Score of the fitted estimator on ``X`` as given.

        Parameters
        ----------
        X : sequence of samples
        y : array-like of shape (n_samples,)
        sample_weight : array-like, default=None

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        if sample_weight is None:
            return self.estimator_.score(X, y)
        return self.estimator_.score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = self.estimator.__sklearn_tags__()
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        tags.transformer_tags = inner.transformer_tags
        tags.target_tags = inner.target_tags  # y reaches the estimator as given, repeated
        tags.input_tags = inner.input_tags
        tags.input_tags.sparse = False  # samples are images, clips or dense rows
        return tags
