"""Sound features beyond speech: pooled frame-level spectral descriptors.

:class:`SpectralFeatures` turns each clip into one fixed-length row of
statistics over time of the standard descriptors of environmental sound and
music (log-mel band energies, spectral contrast, centroid, bandwidth,
roll-off, flatness, zero-crossing rate, chroma), computed for a whole batch
by :func:`mmlearn.features._kernels._spectral.spectral_batch` with NumPy or
CuPy, and equal to librosa's functions clip by clip.
"""

from __future__ import annotations

import contextlib
from types import ModuleType
from typing import Any

import numpy as np

from ..io import _where_sample
from ._kernels._spectral import (
    SPECTRAL_DESCRIPTORS,
    contrast_bands,
    descriptor_sizes,
    spectral_batch,
)
from ._base import _BatchFeatureExtractor, _check_int
from .audio import MFCCFeatures, _check_real, _clip_input_tags, _single_blas_thread

__all__ = ["SpectralFeatures"]

# Loudest sample the float32 kernel takes: a frame's power spectrum then stays
# far below float32's maximum for any n_fft up to 2**20 ((2**20 * 2**40)**2 =
# 2**120 < 2**128). Real audio is within [-1, 1] or [-32768, 32767].
_MAX_AMPLITUDE = 2.0**40


class SpectralFeatures(_BatchFeatureExtractor):
    """Spectral descriptors of every clip, pooled over time, batched on CPU or GPU.

    For environmental sound, where MFCCs alone (built for speech) miss
    tonal, noisy-versus-harmonic and band-contrast cues. Each descriptor is
    computed frame by frame as librosa computes it and pooled over the
    clip's frames into one fixed-length row, as :class:`MFCCFeatures` pools
    MFCCs. A stateless transformer: ``fit`` learns nothing, so rows can be
    memoised per sample (``memory``). Combine with :class:`MFCCFeatures`
    in a :class:`~sklearn.pipeline.FeatureUnion` for the usual
    "MFCC + spectral" feature set.

    Parameters
    ----------
    sr : float, default=22050
        Sampling rate in Hz. Arrays are taken to be at this rate; files are
        resampled to it.
    n_fft : int, default=2048
        FFT length, Hann window length and zero-crossing frame length.
    hop_length : int, default=512
        Samples between the starts of consecutive frames.
    descriptors : sequence of str, default=("mel", "contrast", "centroid", \
"bandwidth", "rolloff", "flatness", "zcr", "chroma")
        Which descriptors to compute, in output order:

        - "mel": log-mel band energies in dB (``n_mels`` values),
          ``power_to_db(melspectrogram(...), top_db=top_db)``;
        - "contrast": spectral contrast in dB (``n_bands + 1`` values),
          :func:`librosa.feature.spectral_contrast`;
        - "centroid", "bandwidth", "rolloff" (Hz), "flatness": one value
          each, :func:`librosa.feature.spectral_centroid` and friends;
        - "zcr": zero-crossing rate, :func:`librosa.feature.zero_crossing_rate`
          with ``frame_length=n_fft``;
        - "chroma": ``n_chroma`` values, :func:`librosa.feature.chroma_stft`
          with ``tuning=0``.
    n_mels : int, default=128
        Number of mel bands of "mel".
    fmin : float, default=0.0
        Lowest frequency of the mel filter bank, in Hz.
    fmax : float, default=None
        Highest frequency of the mel filter bank; None means ``sr / 2``.
    n_bands : int, default=6
        Octave bands of "contrast" (above the lowest band).
    contrast_fmin : float, default=200.0
        Upper edge of the lowest contrast band, in Hz.
    quantile : float, default=0.02
        Fraction of a band's bins whose mean is its peak / valley.
    roll_percent : float, default=0.85
        Fraction of the spectral energy below the roll-off frequency.
    n_chroma : int, default=12
        Chroma bins per octave.
    stats : sequence of str, default=("mean", "std")
        Statistics over each clip's frames, any of "mean", "std", "min",
        "max", "median", "skew", "kurtosis" (as in :class:`MFCCFeatures`).
    batch_size : int, default=256
        Clips per kernel call (sorted by length first).
    n_jobs : int, default=None
        Threads that load files and run batches; None means 1.
    memory : None, FeatureMemo, joblib.Memory or str, default=None
        Per-sample feature memo, as in :class:`MFCCFeatures`.
    device : {"auto", "cpu", "cuda"}, default=None
        Where the kernel runs; None follows :func:`mmlearn.get_config`.
    base_dir : str or path-like, default=None
        Folder that relative file paths are resolved against (see
        :func:`mmlearn.io.load_audio`); None: the current directory. It does
        not change the features.

    Attributes
    ----------
    n_samples_seen_ : int
        Number of clips passed to ``fit``.

    See Also
    --------
    MFCCFeatures : Cepstral coefficients, pooled the same way.
    mmlearn.features._kernels._spectral.spectral_frames_batch : The kernel.

    Notes
    -----
    **Output.** Columns come in blocks: descriptor (in ``descriptors``
    order), then statistic (in ``stats`` order), then coefficient; e.g.
    ``mel_mean_0 ... mel_mean_127, mel_std_0, ..., centroid_mean_0``
    (:meth:`get_feature_names_out`).

    **Agreement with librosa 0.11.** Frame by frame, every descriptor equals
    librosa's function on the clip alone (same defaults: centred frames with
    zero padding, periodic Hann window) to within 1e-4 of its largest value
    over the clip (about 1e-6 measured for most; the kernel runs in float32,
    librosa's STFT in float64). Roll-off may land one FFT bin away where the
    cumulative energy ties with the threshold to float32 rounding. Chroma
    uses ``tuning=0``: librosa estimates each clip's tuning unless given,
    which makes one clip's chroma depend on a pitch tracker. The 80 dB
    floor of ``power_to_db`` (mel, contrast) is relative to each clip's own
    peak, and the frames of a batch go through the FFT and the matrix
    products in blocks of one fixed shape, so a clip's row is the same bit
    for bit whatever batch it is in, at whatever place (which the
    per-sample memo relies on).

    **Edge cases.** A clip shorter than ``n_fft`` is zero-padded (librosa
    warns). A silent clip gives finite features: mel -100 dB, contrast,
    centroid, bandwidth, roll-off, zero-crossing rate and chroma 0, flatness
    1. A stereo clip is averaged to mono. Empty clips, NaN or infinite
    samples, clips louder than 2**40 (whose power spectrum would overflow
    float32), non-numeric arrays and unreadable files raise an error naming
    the sample.

    Examples
    --------
    >>> import numpy as np
    >>> from mmlearn.features import SpectralFeatures
    >>> rng = np.random.default_rng(0)
    >>> clips = [rng.standard_normal(n).astype(np.float32) for n in (8000, 5000, 12000)]
    >>> spec = SpectralFeatures(sr=8000, n_fft=512, hop_length=128, n_mels=40, n_bands=4)
    >>> X = spec.fit_transform(clips)
    >>> X.shape, X.dtype
    ((3, 124), dtype('float32'))
    >>> spec.get_feature_names_out()[[80, 90]]
    array(['contrast_mean_0', 'centroid_mean_0'], dtype=object)
    """

    _memo_version = 1

    def __init__(
        self,
        *,
        sr: float = 22050,
        n_fft: int = 2048,
        hop_length: int = 512,
        descriptors: tuple[str, ...] = SPECTRAL_DESCRIPTORS,
        n_mels: int = 128,
        fmin: float = 0.0,
        fmax: float | None = None,
        n_bands: int = 6,
        contrast_fmin: float = 200.0,
        quantile: float = 0.02,
        roll_percent: float = 0.85,
        n_chroma: int = 12,
        stats: tuple[str, ...] = ("mean", "std"),
        batch_size: int = 256,
        n_jobs: int | None = None,
        memory: Any = None,
        device: str | None = None,
        base_dir: Any = None,
    ):
        self.sr = sr
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.descriptors = descriptors
        self.n_mels = n_mels
        self.fmin = fmin
        self.fmax = fmax
        self.n_bands = n_bands
        self.contrast_fmin = contrast_fmin
        self.quantile = quantile
        self.roll_percent = roll_percent
        self.n_chroma = n_chroma
        self.stats = stats
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.memory = memory
        self.device = device
        self.base_dir = base_dir

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        _clip_input_tags(tags.input_tags)  # a sequence of clips, as for MFCCFeatures
        return tags

    # -- hooks of _BatchFeatureExtractor -------------------------------------
    # Clips load, sort and pool exactly as MFCCFeatures' do.
    _batch_sort_key = staticmethod(MFCCFeatures._batch_sort_key)
    _checked_stats = MFCCFeatures._checked_stats

    def _load(self, sample: Any, index: int) -> np.ndarray:
        y = MFCCFeatures._load(self, sample, index)
        peak = float(np.max(np.abs(y))) if y.size else 0.0
        if peak > _MAX_AMPLITUDE:
            exc = ValueError(
                f"{_where_sample(index, sample, self.base_dir)}: its loudest sample is {peak:.7g}, above 2**40 "
                f"({_MAX_AMPLITUDE:.0f}), the most "
                "that SpectralFeatures computes in float32 without overflow; rescale the clip "
                "(e.g. divide by its peak), which changes only the level of the 'mel' block."
            )
            exc.sample_index = index
            raise exc
        return y

    def _checked_descriptors(self) -> tuple[str, ...]:
        d = self.descriptors
        if isinstance(d, str) or not isinstance(d, (list, tuple)) or not d:
            raise ValueError(
                f"descriptors must be a non-empty list or tuple of names from "
                f"{SPECTRAL_DESCRIPTORS}, got {d!r}."
            )
        unknown = [x for x in d if x not in SPECTRAL_DESCRIPTORS]
        if unknown:
            raise ValueError(
                f"Unknown descriptor(s) {unknown}; choose from {SPECTRAL_DESCRIPTORS}."
            )
        if len(set(d)) != len(d):
            raise ValueError(f"descriptors has repeated names: {list(d)}.")
        return tuple(d)

    def _check_params(self) -> None:
        sr = _check_real("sr", self.sr, minimum=0.0, strict=True)
        n_fft = _check_int("n_fft", self.n_fft, 2)
        _check_int("hop_length", self.hop_length, 1)
        descriptors = self._checked_descriptors()
        _check_int("n_mels", self.n_mels, 1)
        _check_int("n_chroma", self.n_chroma, 1)
        fmin = _check_real("fmin", self.fmin, minimum=0.0, strict=False)
        if self.fmax is not None:
            fmax = _check_real("fmax", self.fmax, minimum=fmin, strict=True)
            if fmax > sr / 2:
                raise ValueError(
                    f"fmax={self.fmax!r} is above the Nyquist frequency sr / 2 = {sr / 2}."
                )
        elif fmin >= sr / 2:
            raise ValueError(f"fmin={self.fmin!r} must be below sr / 2 = {sr / 2}.")
        n_bands = _check_int("n_bands", self.n_bands, 1)
        cfmin = _check_real("contrast_fmin", self.contrast_fmin, minimum=0.0, strict=True)
        q = _check_real("quantile", self.quantile, minimum=0.0, strict=True)
        if q >= 1:
            raise ValueError(f"quantile must lie in (0, 1), got {self.quantile!r}.")
        r = _check_real("roll_percent", self.roll_percent, minimum=0.0, strict=True)
        if r >= 1:
            raise ValueError(f"roll_percent must lie in (0, 1), got {self.roll_percent!r}.")
        if "contrast" in descriptors:
            contrast_bands(sr=sr, n_fft=n_fft, n_bands=n_bands, fmin=cfmin, quantile=q)
        self._checked_stats()

    def _extract_batch(self, batch: list[np.ndarray], xp: ModuleType) -> Any:
        limit = _single_blas_thread() if xp is np else contextlib.nullcontext()
        with limit:
            return spectral_batch(
                signals=batch,
                sr=float(self.sr),
                n_fft=int(self.n_fft),
                hop_length=int(self.hop_length),
                n_mels=int(self.n_mels),
                fmin=float(self.fmin),
                fmax=None if self.fmax is None else float(self.fmax),
                n_bands=int(self.n_bands),
                contrast_fmin=float(self.contrast_fmin),
                quantile=float(self.quantile),
                roll_percent=float(self.roll_percent),
                n_chroma=int(self.n_chroma),
                descriptors=tuple(self.descriptors),
                stats=tuple(self.stats),
                xp=xp,
            )

    # -- public API (fit and transform: _BatchFeatureExtractor's) ------------
    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns, such as ``mel_mean_3`` or ``centroid_std_0``.

        Parameters
        ----------
        input_features : None
            Ignored.

        Returns
        -------
        names : ndarray of str objects, shape (n_features_out,)
            ``{descriptor}_{stat}_{k}`` for each descriptor, statistic and
            value ``k`` of the descriptor.
        """
        self._check_params()
        sizes = descriptor_sizes(
            n_mels=int(self.n_mels), n_bands=int(self.n_bands), n_chroma=int(self.n_chroma)
        )
        names = [
            f"{d}_{stat}_{k}"
            for d in self._checked_descriptors()
            for stat in self._checked_stats()
            for k in range(sizes[d])
        ]
        return np.asarray(names, dtype=object)

