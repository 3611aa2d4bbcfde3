"""Audio features: batched MFCC statistics, equal to librosa's MFCC clip by clip.

:class:`MFCCFeatures` turns each clip (a 1-D array or an audio file) into one
fixed-length row: statistics over time of its mel-frequency cepstral
coefficients, and optionally of their deltas. The work is done for a whole
batch of clips at once by :func:`mmlearn.features._kernels._mfcc.mfcc_batch`, with
NumPy or CuPy.
"""

from __future__ import annotations

import contextlib
import functools
import numbers
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy as np

from ..io import _where, load_audio
from ._base import _BatchFeatureExtractor, _check_int
from ._kernels._mfcc import MFCC_STATS, mfcc_batch

__all__ = ["MFCCFeatures"]

_DELTA_NAMES = ("mfcc", "delta", "delta2")


# -- BLAS threads ------------------------------------------------------------
# The kernel's matrix products are small and skinny; with 2 OpenBLAS threads
# they ran 2-3x slower than with 1 (thread wake-ups). Batches in parallel
# (n_jobs) share one limit: the first to enter sets it, the last to leave
# restores it, so concurrent batches never leave it changed.
_BLAS_LOCK = threading.Lock()
_BLAS_STATE: dict[str, Any] = {"depth": 0, "limiter": None}


@functools.lru_cache(maxsize=1)
def _threadpool_controller() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # scanning the loaded libraries costs ~1 ms: once


@contextlib.contextmanager
def _single_blas_thread() -> Iterator[None]:
    with _BLAS_LOCK:
        if _BLAS_STATE["depth"] == 0:
            _BLAS_STATE["limiter"] = _threadpool_controller().limit(limits=1, user_api="blas")
        _BLAS_STATE["depth"] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS_STATE["depth"] -= 1
            if _BLAS_STATE["depth"] == 0:
                _BLAS_STATE["limiter"].restore_original_limits()
                _BLAS_STATE["limiter"] = None


# -- parameter checks ----------------------------------------------------------
def _check_real(name: str, value: Any, *, minimum: float, strict: bool) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if ok:
        ok = value > minimum if strict else value >= minimum
    if not ok:
        rel = ">" if strict else ">="
        raise ValueError(f"{name} must be a finite number {rel} {minimum}, got {value!r}.")
    return float(value)


def _clip_input_tags(input_tags: Any) -> None:
    """Input tags of the audio extractors (MFCCFeatures, SpectralFeatures).

    X is a sequence of clips: a list / Series / object array of 1-D arrays
    or paths, or a 2-D numeric array with one clip per row. A 1-D numeric
    array (one clip, or one value per clip?) is refused.
    """
    input_tags.two_d_array = True
    input_tags.one_d_array = False
    input_tags.allow_nan = False
    input_tags.string = False  # paths are accepted, but text is no audio


class MFCCFeatures(_BatchFeatureExtractor):
    """MFCC statistics of every clip, batched on CPU or GPU.

    Each clip's mel-frequency cepstral coefficients are computed as
    :func:`librosa.feature.mfcc` computes them (same defaults), optionally
    with their deltas (:func:`librosa.feature.delta`), and pooled over time
    into one fixed-length row. A stateless transformer: ``fit`` learns
    nothing, and each row is a pure function of its clip, so rows can be
    memoised per sample (``memory``).

    Parameters
    ----------
    sr : float, default=22050
        Sampling rate in Hz. Arrays are taken to be at this rate; files and
        ``(array, rate)`` pairs are resampled to it
        (:func:`mmlearn.io.load_audio`: :func:`librosa.resample`, soxr_hq).
    n_mfcc : int, default=20
        Number of cepstral coefficients (at most ``n_mels``).
    n_fft : int, default=2048
        FFT length and Hann window length, in samples.
    hop_length : int, default=512
        Samples between the starts of consecutive frames.
    n_mels : int, default=128
        Number of mel bands.
    fmin : float, default=0.0
        Lowest frequency of the mel filter bank, in Hz.
    fmax : float, default=None
        Highest frequency of the mel filter bank, at most ``sr / 2``; None
        means ``sr / 2``.
    deltas : {0, 1, 2}, default=0
        Also pool the delta (1) and delta-delta (2) coefficients, computed
        as ``librosa.feature.delta(mfcc, order=k)`` (width 9, "interp").
    stats : sequence of str, default=("mean", "std")
        Statistics over each clip's frames, any of "mean", "std", "min",
        "max", "median", "skew", "kurtosis" (std with ``ddof=0``; skew and
        kurtosis as :func:`scipy.stats.skew` / :func:`scipy.stats.kurtosis`:
        biased, Fisher).
    batch_size : int, default=256
        Clips per kernel call. Clips are sorted by length before batching,
        so that a batch pads little.
    n_jobs : int, default=None
        Threads that load (decode, resample) files, and run batches, in
        parallel with :mod:`joblib`; None means 1.
    memory : None, FeatureMemo, joblib.Memory or str, default=None
        Per-sample feature memo: None (off), a
        :class:`~mmlearn.features.FeatureMemo` (shared by clones), or a
        ``joblib.Memory`` / directory for an on-disk memo.
    device : {"auto", "cpu", "cuda"}, default=None
        Where the kernel runs; None follows :func:`mmlearn.get_config`.
    base_dir : str or path-like, default=None
        Folder that relative file paths are resolved against (for example
        the folder of the CSV listing the files); None means the current
        working directory. Absolute paths are used as they are.

    Attributes
    ----------
    n_samples_seen_ : int
        Number of clips passed to ``fit``.

    See Also
    --------
    librosa.feature.mfcc : The reference, one clip at a time.
    mmlearn.features._kernels._mfcc.mfcc_batch : The batched kernel.

    Notes
    -----
    **Output.** Columns come in blocks: source ("mfcc", then "delta",
    "delta2"), then statistic in ``stats`` order, then coefficient; e.g.
    ``mfcc_mean_0 ... mfcc_mean_19, mfcc_std_0, ...``
    (:meth:`get_feature_names_out`).

    **Agreement with librosa 0.11.** For every clip, the frame-by-frame
    coefficients equal ``librosa.feature.mfcc(y=clip, sr=sr, n_mfcc=n_mfcc,
    n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, fmin=fmin,
    fmax=fmax)`` to within 1e-5 of the clip's largest coefficient (about
    1e-6 measured; the kernel computes in float32 where librosa's FFT runs
    in float64). The 80 dB floor of ``power_to_db`` is taken relative to
    each clip's own peak, so the other clips of a batch do not change a
    clip's features (not even by rounding: see the edge cases).

    **Edge cases** (documented results, not errors):

    - A clip shorter than ``n_fft`` is zero-padded, as librosa does.
    - A silent (all-zero) clip gives finite features: its log-mel power is
      ``10 * log10(1e-10) = -100`` dB everywhere.
    - Skew and kurtosis of a coefficient that is constant over time are 0
      (scipy returns NaN).
    - Deltas of a clip with fewer than 9 frames, where librosa raises an
      error, come from one polynomial fitted to all of its frames (zero for
      a single frame).
    - A multi-channel clip (a 2-D array or a stereo file) is averaged to
      mono, as :func:`librosa.to_mono` does.
    - A clip so loud that its power spectrum overflows float32 (float32
      samples of about 1e17 and above, or float64 samples beyond float32's
      range) is computed from the clip scaled by a power of two, which is
      exact: its coefficients are those of the scaled clip, ``c0`` raised
      by the scale's dB (``20 k log10(2) sqrt(n_mels)``). Where librosa
      stays finite (float64 clips below about 1e150) the result equals
      librosa's; above that librosa returns inf / NaN and this is the
      finite value its definition gives.
    - Each clip's features are a function of that clip alone, bit for bit:
      the frames go through the FFT and BLAS in blocks of a fixed shape, so
      the batch, its order and ``batch_size`` change nothing.

    Samples given as ``(array, rate)`` pairs are resampled to ``sr`` as
    files are. Missing samples (None, NaN), empty clips, NaN or infinite
    samples, non-numeric arrays, malformed pairs, missing or undecodable
    files raise an error naming the sample (and the path); wrap the
    extractor in :class:`mmlearn.compose.Modality` to allow missing clips.

    Examples
    --------
    >>> import numpy as np
    >>> from mmlearn.features import MFCCFeatures
    >>> rng = np.random.default_rng(0)
    >>> clips = [rng.standard_normal(n).astype(np.float32) for n in (8000, 5000, 12000)]
    >>> mfcc = MFCCFeatures(sr=8000, n_mfcc=13, n_fft=512, hop_length=128, n_mels=40)
    >>> X = mfcc.fit_transform(clips)
    >>> X.shape, X.dtype
    ((3, 26), dtype('float32'))
    >>> mfcc.get_feature_names_out()[[0, 13]]
    array(['mfcc_mean_0', 'mfcc_std_0'], dtype=object)
    """

    # 2: fixed-shape blocks (rows differ from version 1 by float32 rounding)
    _memo_version = 2

    def __init__(
        self,
        *,
        sr: float = 22050,
        n_mfcc: int = 20,
        n_fft: int = 2048,
        hop_length: int = 512,
        n_mels: int = 128,
        fmin: float = 0.0,
        fmax: float | None = None,
        deltas: int = 0,
        stats: tuple[str, ...] = ("mean", "std"),
        batch_size: int = 256,
        n_jobs: int | None = None,
        memory: Any = None,
        device: str | None = None,
        base_dir: Any = None,
    ):
        self.sr = sr
        self.n_mfcc = n_mfcc
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.n_mels = n_mels
        self.fmin = fmin
        self.fmax = fmax
        self.deltas = deltas
        self.stats = stats
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.memory = memory
        self.device = device
        self.base_dir = base_dir

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        _clip_input_tags(tags.input_tags)
        return tags

    # -- hooks of _BatchFeatureExtractor -----------------------------------
    def _check_params(self) -> None:
        sr = _check_real("sr", self.sr, minimum=0.0, strict=True)
        n_mels = _check_int("n_mels", self.n_mels, 1)
        n_mfcc = _check_int("n_mfcc", self.n_mfcc, 1)
        if n_mfcc > n_mels:
            raise ValueError(f"n_mfcc={n_mfcc} cannot exceed n_mels={n_mels}.")
        _check_int("n_fft", self.n_fft, 2)
        _check_int("hop_length", self.hop_length, 1)
        fmin = _check_real("fmin", self.fmin, minimum=0.0, strict=False)
        if self.fmax is not None:
            fmax = _check_real("fmax", self.fmax, minimum=fmin, strict=True)
            if fmax > sr / 2:
                raise ValueError(
                    f"fmax={self.fmax!r} is above the Nyquist frequency sr / 2 = {sr / 2}."
                )
        elif fmin >= sr / 2:
            raise ValueError(f"fmin={self.fmin!r} must be below sr / 2 = {sr / 2}.")
        if isinstance(self.deltas, bool) or self.deltas not in (0, 1, 2):
            raise ValueError(f"deltas must be 0, 1 or 2, got {self.deltas!r}.")
        self._checked_stats()

    def _checked_stats(self) -> tuple[str, ...]:
        stats = self.stats
        if isinstance(stats, str) or not isinstance(stats, (list, tuple)) or not stats:
            raise ValueError(
                f"stats must be a non-empty list or tuple of names from {MFCC_STATS}, "
                f"got {stats!r}."
            )
        unknown = [s for s in stats if s not in MFCC_STATS]
        if unknown:
            raise ValueError(f"Unknown statistic(s) {unknown} in stats; choose from {MFCC_STATS}.")
        if len(set(stats)) != len(stats):
            raise ValueError(f"stats has repeated names: {list(stats)}.")
        return tuple(stats)

    def _load(self, sample: Any, index: int) -> np.ndarray:
        # dtype=None: a float64 clip beyond float32's range reaches the
        # kernel intact, which rescales it exactly
        y = load_audio(sample, sr=self.sr, mono=True, index=index, base_dir=self.base_dir,
                       dtype=None)
        if y.ndim != 1:  # pragma: no cover - load_audio(mono=True) returns 1-D
            raise ValueError(f"{_where(index)}: expected a 1-D clip, got shape {y.shape}.")
        return y

    @staticmethod
    def _batch_sort_key(clip: np.ndarray) -> int:
        return int(clip.shape[0])

    def _extract_batch(self, batch: list[np.ndarray], xp: ModuleType) -> Any:
        limit = _single_blas_thread() if xp is np else contextlib.nullcontext()
        with limit:
            return mfcc_batch(
                signals=batch,  # packed by the kernel into its padded buffer
                sr=float(self.sr),
                n_mfcc=int(self.n_mfcc),
                n_fft=int(self.n_fft),
                hop_length=int(self.hop_length),
                n_mels=int(self.n_mels),
                fmin=float(self.fmin),
                fmax=None if self.fmax is None else float(self.fmax),
                deltas=int(self.deltas),
                stats=tuple(self.stats),
                xp=xp,
            )

    # -- public API ---------------------------------------------------------
    def transform(self, X: Any) -> np.ndarray:
        """MFCC statistics of every clip.

        Parameters
        ----------
        X : sequence of clips
            A list, 1-D object array, pandas Series or one-column DataFrame
            of 1-D float arrays (at rate ``sr``), ``(array, rate)`` pairs or
            audio file paths, or a 2-D array with one equal-length clip per
            row.

        Returns
        -------
        features : ndarray of shape (n_clips, n_features_out), float32
            One row per clip; columns as named by
            :meth:`get_feature_names_out`.

        Raises
        ------
        ValueError
            If a sample is missing (None / NaN), a clip is empty or has NaN /
            infinite samples, or a file cannot be decoded (the message names
            the sample and path).
        FileNotFoundError
            If a file does not exist.
        TypeError
            If a clip is not numeric.
        """
        return super().transform(X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns, such as ``mfcc_mean_0`` or ``delta_std_3``.

        Parameters
        ----------
        input_features : None
            Ignored.

        Returns
        -------
        names : ndarray of str objects, shape (n_features_out,)
            ``{source}_{stat}_{k}`` for source in mfcc, delta, delta2 (up to
            ``deltas``), each statistic of ``stats`` and ``k < n_mfcc``.
        """
        self._check_params()
        names = [
            f"{source}_{stat}_{k}"
            for source in _DELTA_NAMES[: int(self.deltas) + 1]
            for stat in self._checked_stats()
            for k in range(int(self.n_mfcc))
        ]
        return np.asarray(names, dtype=object)
