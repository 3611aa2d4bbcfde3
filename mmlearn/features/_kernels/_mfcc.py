"""Batched MFCC, deltas and pooled statistics, as librosa computes them."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from ._windows import _block_rows, _constant, _quiet, _slot_frames

#: Statistics that :func:`pool_frames_batch` can compute, in output order.
MFCC_STATS = ("mean", "std", "min", "max", "median", "skew", "kurtosis")

# Bytes of windowed frames transformed at once on the CPU: small enough for
# the FFT's input and output to stay in cache (8-clip blocks beat 200-clip
# blocks by 1.5x). On a GPU a block is large, but every block has this size
# (the last one is padded), so it must stay affordable for a single clip.
_MFCC_BLOCK_BYTES_CPU = 1 << 20
_MFCC_BLOCK_BYTES_GPU = 1 << 25
# Frames per DCT product (fixed, as the blocks are): small products cost
# more in calls than in arithmetic.
_DCT_BLOCK_ROWS = 2048
# A clip whose power spectrum overflows float32 is recomputed scaled by a
# power of two, to a largest |sample| in [2**39, 2**40): far from overflow
# (|FFT|**2 <= 2**80 * n_fft**2) and far above the 1e-10 amin clamp.
_RESCALE_EXPONENT = 40

# Cost of one extra matrix product, in multiply-adds per frame, when the mel
# bands are grouped (see _mel_band_groups).
_MEL_GROUP_OVERHEAD = 2000

# 10 / ln(10): dB from natural logs (float32 log10 is ~4x slower than log).
_DB_PER_NEPER = 10.0 / float(np.log(10.0))


def _rfft_rows(x: Any, xp: ModuleType) -> Any:
    """Real FFT along the last axis."""
    if xp is np:
        import scipy.fft

        # scipy's pocketfft transforms float32 natively and vectorised across
        # rows; numpy's float32 path is ~3x slower.
        return scipy.fft.rfft(x, axis=-1)
    return xp.fft.rfft(x, axis=-1)


def _power_rows(frames: Any, window: Any, work: Any, power: Any, xp: ModuleType) -> Any:
    """Power spectrum ``|rfft(frames * window)|**2`` of a block of frames, float32.

    ``work`` (the shape of ``frames``) and ``power`` (``n_fft // 2 + 1``
    columns) are scratch buffers; the result is ``power`` on NumPy.
    """
    xp.multiply(frames, window, out=work)
    spec = _rfft_rows(work, xp)
    if xp is np:
        # square the interleaved (re, im) float32 pairs in place, then add the
        # pairs: cheaper than the strided .real / .imag views
        pairs = spec.view(np.float32)
        pairs *= pairs
        np.add(pairs[:, 0::2], pairs[:, 1::2], out=power)
        return power
    return spec.real * spec.real + spec.imag * spec.imag


def _dct_ortho_rows(
    x: Any, dct: Any, xp: ModuleType, scale: float = 1.0, block_rows: int | None = None
) -> Any:
    """``scale`` times the orthonormal DCT-II along the last axis (``dct``'s terms).

    ``scale * x @ dct`` computed as ``(x - x[..., :1]) @ dct`` plus the constant's
    term: the shift makes a constant row (a silent frame) give exactly
    ``[c * sqrt(n), 0, 0, ...]``, so the identical frames of a silent clip
    stay identical (no noise for skew or kurtosis to amplify). With
    ``block_rows``, the rows go through BLAS in blocks of exactly that many
    (the last one padded with zeros): BLAS rounds a row differently
    depending on the shape of the product, never on the other rows of a
    product of a given shape.
    """
    n = x.shape[-1]
    flat = x.reshape(-1, n)
    total = flat.shape[0]
    rows = total if block_rows is None else int(block_rows)
    terms = dct * xp.float32(scale)
    c0 = xp.float32(scale * math.sqrt(n))
    out = xp.empty((total, dct.shape[1]), dtype=xp.float32)
    for r0 in range(0, total, rows):
        block = flat[r0 : r0 + rows]
        used = block.shape[0]
        if used < rows:
            block = xp.concatenate([block, xp.zeros((rows - used, n), dtype=block.dtype)])
        first = block[:, :1]
        res = (block - first) @ terms
        res[:, 0] += first[:, 0] * c0
        out[r0 : r0 + used] = res[:used]
    return out.reshape(x.shape[:-1] + (dct.shape[1],))


def _mel_band_groups(weights: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Split the mel bands into runs of adjacent bands with a dense bin range.

    A triangular mel filter bank is ~95 % zeros: each band covers a short run
    of FFT bins. One dense product per group of adjacent bands, restricted to
    the bins the group covers, skips most of the zeros and still runs in
    BLAS. Dynamic programming chooses the groups that minimise multiply-adds
    plus a fixed cost per product.

    Parameters
    ----------
    weights : ndarray, shape (n_mels, n_bins)

    Returns
    -------
    groups : list of (band_lo, band_hi, bin_lo, bin_hi)
        Bands ``band_lo:band_hi`` take their power from bins ``bin_lo:bin_hi``.
    """
    n_bands, n_bins = weights.shape
    lo = np.full(n_bands, n_bins, dtype=np.int64)
    hi = np.zeros(n_bands, dtype=np.int64)
    for m in range(n_bands):
        nz = np.flatnonzero(weights[m])
        if nz.size:
            lo[m], hi[m] = nz[0], nz[-1] + 1
    best = np.full(n_bands + 1, np.inf)
    best[0] = 0.0
    cut = np.zeros(n_bands + 1, dtype=np.int64)
    for b in range(1, n_bands + 1):
        for a in range(b - 1, -1, -1):
            width = max(int(hi[a:b].max() - lo[a:b].min()), 0)
            cost = best[a] + width * (b - a) + _MEL_GROUP_OVERHEAD
            if cost < best[b]:
                best[b], cut[b] = cost, a
    groups = []
    b = n_bands
    while b > 0:
        a = int(cut[b])
        bin_lo, bin_hi = int(lo[a:b].min()), int(hi[a:b].max())
        if bin_hi <= bin_lo:  # only empty bands (librosa warns): zero weights
            bin_lo, bin_hi = 0, 1
        groups.append((a, b, bin_lo, bin_hi))
        b = a
    return groups[::-1]


@functools.lru_cache(maxsize=64)
def _mfcc_constants(
    sr: float,
    n_fft: int,
    n_mels: int,
    fmin: float,
    fmax: float | None,
    n_mfcc: int,
    xp: ModuleType,
) -> tuple[Any, list[tuple[int, int, int, int, Any]], Any]:
    """Hann window, grouped mel weights and DCT matrix on ``xp``, float32."""
    import librosa
    import scipy.fft

    window = librosa.filters.get_window("hann", n_fft, fftbins=True)
    mel = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    groups = [
        (band_lo, band_hi, bin_lo, bin_hi, _constant(mel[band_lo:band_hi, bin_lo:bin_hi].T, xp))
        for band_lo, band_hi, bin_lo, bin_hi in _mel_band_groups(mel)
    ]
    # DCT-II, orthonormal, first n_mfcc terms, as a (n_mels, n_mfcc) matrix
    dct = scipy.fft.dct(np.eye(n_mels), type=2, norm="ortho", axis=0)[:n_mfcc].T
    return _constant(window, xp), groups, _constant(dct, xp)


def mfcc_frames_batch(
    *,
    signals: Any,
    lengths: Any = None,
    sr: float,
    n_mfcc: int = 20,
    n_fft: int = 2048,
    hop_length: int = 512,
    n_mels: int = 128,
    fmin: float = 0.0,
    fmax: float | None = None,
    top_db: float | None = 80.0,
    xp: ModuleType = np,
    block_bytes: int | None = None,
) -> tuple[Any, Any]:
    """MFCCs, frame by frame, of a batch of clips of different lengths.

    All clips are framed as one strided view of one zero-padded buffer; each
    cache-sized block of frames gets one window product, one real FFT and one
    (banded) mel product, then the whole batch one log and one DCT product.

    Parameters
    ----------
    signals : array of shape (sum(lengths),), or list of 1-D arrays
        The clips concatenated end to end (float, on ``xp``), or a list of
        the clips as host arrays (packed into the padded buffer with one
        copy, then moved to ``xp`` at once).
    lengths : array of int, shape (n_clips,), default=None
        Number of samples of each clip, each >= 1. Needed with concatenated
        ``signals``; checked if given with a list.
    sr : float
        Sampling rate of the clips, in Hz.
    n_mfcc : int, default=20
        Number of coefficients per frame.
    n_fft : int, default=2048
        FFT length (and Hann window length).
    hop_length : int, default=512
        Samples between frame starts.
    n_mels : int, default=128
        Number of mel bands.
    fmin : float, default=0.0
        Lowest frequency of the mel filter bank, in Hz.
    fmax : float, default=None
        Highest frequency of the mel filter bank; None means ``sr / 2``.
    top_db : float or None, default=80.0
        The log-mel power of each clip is floored this many dB below that
        clip's own peak (None: no floor).
    xp : module, default=numpy
        Array namespace, ``numpy`` or ``cupy``; the result stays on it.
    block_bytes : int, default=None
        Bytes of windowed frames transformed at once; None means 1 MiB on
        numpy (cache-sized) and 32 MiB on a GPU. Every block has this size
        (rounded to whole 64-frame tiles), the last one padded.

    Returns
    -------
    mfcc : array, shape (n_clips, max_frames, n_mfcc), float32
        ``mfcc[i, :n_frames[i]]`` is clip ``i``'s MFCC matrix, transposed
        (frames first). Rows beyond ``n_frames[i]`` are padding with
        unspecified finite values.
    n_frames : array of int, shape (n_clips,)
        Frames per clip, ``1 + (lengths + 2 * (n_fft // 2) - n_fft) //
        hop_length`` (centred frames).

    See Also
    --------
    librosa.feature.mfcc : The reference, for one clip.

    Notes
    -----
    Same definition as :func:`librosa.feature.mfcc` with its defaults:
    centred frames padded with zeros (``pad_mode="constant"``), periodic
    Hann window, power spectrogram, Slaney-normalised mel filter bank from
    :func:`librosa.filters.mel`, ``power_to_db(ref=1.0, amin=1e-10,
    top_db=top_db)``, DCT-II with ``norm="ortho"``, no liftering.
    Deviations: everything is computed in float32 (librosa's STFT runs in
    float64 because its window is float64, then casts to complex64); the
    results agree to about 1e-6 of each clip's largest coefficient. The
    ``top_db`` floor is taken per clip, and frames go through the FFT and
    the BLAS products in blocks of exactly the same shape (set by ``n_fft``
    and ``block_bytes``, the last block padded), so a clip's coefficients
    are the same bit for bit whatever batch it is in, at whatever place
    (BLAS rounds a row according to the product's shape, not its place).

    A clip whose power spectrum overflows float32 is recomputed from the
    clip scaled by ``2**-k`` (exact), its log-mel power raised by ``2 k ln
    2``: where the ``top_db`` floor lies above ``amin`` (checked) that is
    its exact value, finite where librosa's overflows to inf / NaN. A clip
    with NaN or infinite samples, or too loud to rescale exactly, raises a
    ValueError naming it (``exc.batch_position``).

    Examples
    --------
    >>> import numpy as np
    >>> from mmlearn.features._kernels._mfcc import mfcc_frames_batch
    >>> rng = np.random.default_rng(0)
    >>> clips = [rng.standard_normal(4000), rng.standard_normal(2500)]
    >>> mfcc, n_frames = mfcc_frames_batch(
    ...     signals=np.concatenate(clips), lengths=[4000, 2500], sr=8000,
    ...     n_mfcc=13, n_fft=512, hop_length=128, n_mels=40)
    >>> mfcc.shape, n_frames.tolist()
    ((2, 32, 13), [32, 20])
    """
    if top_db is not None and top_db < 0:
        raise ValueError(f"top_db must be non-negative, got {top_db!r}.")
    n_fft, hop_length, n_mels = int(n_fft), int(hop_length), int(n_mels)
    as_list = isinstance(signals, (list, tuple))
    if as_list:
        lengths_h = np.fromiter((len(c) for c in signals), dtype=np.int64, count=len(signals))
        if lengths is not None and not np.array_equal(np.asarray(lengths), lengths_h):
            raise ValueError("lengths do not match the lengths of the clips in signals.")
    elif lengths is None:
        raise ValueError("lengths is required when signals is one concatenated array.")
    else:
        signals = xp.asarray(signals)
        lengths_h = np.asarray(xp.asarray(lengths).tolist(), dtype=np.int64).reshape(-1)
        if signals.shape != (int(lengths_h.sum()),):
            raise ValueError(
                f"signals must be the clips end to end, shape ({int(lengths_h.sum())},), "
                f"got {signals.shape}."
            )
    if lengths_h.shape[0] == 0 or lengths_h.min() < 1:
        raise ValueError("mfcc_frames_batch needs at least one clip, each of >= 1 sample.")
    constants = _mfcc_constants(
        float(sr), n_fft, n_mels, float(fmin), None if fmax is None else float(fmax),
        int(n_mfcc), xp,
    )
    rows = _mfcc_block_rows(n_fft, xp, block_bytes)
    setup = _FrameSetup(n_fft, hop_length, n_mels, constants, rows, xp)
    log_mel, n_frames_h = _log_mel_frames(signals, lengths_h, as_list, setup)
    n_clips, n_slots, _ = log_mel.shape
    n_frames = xp.asarray(n_frames_h)
    valid = xp.arange(n_slots)[None, :] < n_frames[:, None]
    peak = xp.where(valid, log_mel.max(axis=2), -xp.inf).max(axis=1)
    overflowed = np.flatnonzero(~np.asarray(xp.isfinite(peak).tolist(), dtype=bool))
    if overflowed.size:
        _recompute_rescaled(
            log_mel, overflowed, signals, lengths_h, as_list, n_frames_h, top_db, setup
        )
        log_mel[~valid] = 0.0  # padding that overlapped an overflowed clip
        peak = xp.where(valid, log_mel.max(axis=2), -xp.inf).max(axis=1)
    if top_db is not None:
        floor = (peak - float(top_db) / _DB_PER_NEPER).astype(xp.float32)
        xp.maximum(log_mel, floor[:, None, None], out=log_mel)
    mfcc = _dct_ortho_rows(
        log_mel, constants[2], xp, scale=_DB_PER_NEPER, block_rows=max(rows, _DCT_BLOCK_ROWS)
    )
    return mfcc[:, : int(n_frames_h.max())], n_frames


class _FrameSetup(NamedTuple):
    """What the framing of a batch needs besides the clips."""

    n_fft: int
    hop_length: int
    n_mels: int
    constants: tuple  # window, mel groups, DCT matrix (_mfcc_constants)
    rows: int  # frames per block
    xp: ModuleType


def _mfcc_block_rows(n_fft: int, xp: ModuleType, block_bytes: int | None) -> int:
    """Frames per block of the MFCC kernel (its default ``block_bytes`` per namespace)."""
    if block_bytes is None:
        block_bytes = _MFCC_BLOCK_BYTES_CPU if xp is np else _MFCC_BLOCK_BYTES_GPU
    return _block_rows(n_fft, block_bytes)


def _log_mel_frames(
    signals: Any,
    lengths_h: np.ndarray,
    as_list: bool,
    setup: _FrameSetup,
) -> tuple[Any, np.ndarray]:
    """Log-mel power (nepers, amin applied, no top_db floor) of every frame.

    The clips are framed by :func:`._windows._slot_frames` and transformed in
    blocks of exactly ``rows`` frames: every FFT and BLAS product has the
    same shape whatever the batch, and a frame's result does not depend on
    the frames around it.

    Returns
    -------
    log_mel : array, shape (n_clips, n_slots, n_mels), float32
        ``log_mel[i, :n_frames[i]]`` belongs to clip ``i``; the rest is
        padding (frames that may reach into the next clip).
    n_frames : ndarray of int, shape (n_clips,)
    """
    n_fft, hop_length, n_mels, (window, groups, _), rows, xp = setup
    n_clips = int(lengths_h.shape[0])
    # a float64 clip beyond float32's range becomes inf: handled later
    framed = _slot_frames(signals, lengths_h, as_list, n_fft=n_fft, hop_length=hop_length,
                          rows=rows, xp=xp)
    frames, n_frames_h, n_slots, n_blocks, n_out = (
        framed.frames, framed.n_frames, framed.n_slots, framed.n_blocks, framed.n_out)
    log_mel = xp.empty((n_out, n_mels), dtype=xp.float32)
    log_mel[n_blocks * rows :] = 0.0
    work = xp.empty((rows, n_fft), dtype=xp.float32)
    n_bins = n_fft // 2 + 1
    power = xp.empty((rows, n_bins), dtype=xp.float32)
    with _quiet(xp):
        for b in range(n_blocks):
            power = _power_rows(frames[b * rows : (b + 1) * rows], window, work, power, xp)
            mel = log_mel[b * rows : (b + 1) * rows]
            for band_lo, band_hi, bin_lo, bin_hi, weights in groups:
                mel[:, band_lo:band_hi] = power[:, bin_lo:bin_hi] @ weights
            # power_to_db(ref=1.0, amin=1e-10) while the block is in cache, in
            # nepers: the factor to dB is applied after the (linear) DCT, to
            # n_mfcc rather than n_mels values
            xp.maximum(mel, 1e-10, out=mel)
            xp.log(mel, out=mel)
    return log_mel[: n_clips * n_slots].reshape(n_clips, n_slots, n_mels), n_frames_h


def _clip_error(position: int, reason: str) -> ValueError:
    """A ValueError about clip ``position`` of the batch.

    ``batch_position`` and ``reason`` let a caller that knows which sample
    the clip is (:class:`~mmlearn.features.MFCCFeatures`) name it instead.
    """
    exc = ValueError(f"signals[{position}]: {reason}")
    exc.batch_position = position
    exc.reason = reason
    return exc


def _recompute_rescaled(
    log_mel: Any,
    which: np.ndarray,
    signals: Any,
    lengths_h: np.ndarray,
    as_list: bool,
    n_frames_h: np.ndarray,
    top_db: float | None,
    setup: _FrameSetup,
) -> None:
    """Log-mel of clips whose power overflowed float32, from the clip scaled by 2**-k.

    Scaling a clip by a power of two scales every FFT value by it exactly,
    so the log-mel power of ``y * 2**-k`` plus ``2 k ln 2`` is that of ``y``,
    wherever the ``amin`` clamp does not bind. For a clip this loud the
    ``top_db`` floor (far above ``amin``) decides, in ``y``'s computation as
    in the scaled one as long as the scaled peak stays ``top_db`` above
    ``amin``; that is checked, as is the absence of clamped values when
    there is no ``top_db`` floor. Writes into ``log_mel[which]``.
    """
    xp = setup.xp
    starts = np.concatenate([[0], np.cumsum(lengths_h)[:-1]])
    scaled, shifts, amp_of = [], [], []
    for i in which.tolist():
        y = signals[i] if as_list else signals[starts[i] : starts[i] + lengths_h[i]]
        y = xp.asarray(y)
        if y.dtype.kind != "f":
            y = y.astype(xp.float64)
        amp = float(xp.abs(y).max())
        if not math.isfinite(amp):
            raise _clip_error(i, "audio has non-finite samples (NaN or inf); MFCCs are undefined.")
        k = math.frexp(amp)[1] - _RESCALE_EXPONENT
        if k <= 0:
            raise _clip_error(
                i,
                f"the mel power spectrum overflows float32 although the largest |sample| is "
                f"only {amp:.3g}; the mel filter bank is too narrow for the sampling rate.",
            )
        with _quiet(xp):
            scaled.append(xp.ldexp(y, -k).astype(xp.float32))
        shifts.append(2.0 * k * math.log(2.0))
        amp_of.append(amp)
    redo, _ = _log_mel_frames(xp.concatenate(scaled), lengths_h[which], False, setup)

    ln_amin = math.log(1e-10)
    for j, i in enumerate(which.tolist()):
        own = redo[j, : int(n_frames_h[i])]
        peak, low = float(own.max()), float(own.min())
        floor = None if top_db is None else peak - float(top_db) / _DB_PER_NEPER
        if not math.isfinite(peak) or (low <= ln_amin if floor is None else floor < ln_amin):
            raise _clip_error(
                i,
                f"audio too loud (largest |sample| {amp_of[j]:.3g}): its power spectrum "
                "overflows float32, and scaled down its mel power falls below amin=1e-10, so "
                "it cannot be computed exactly; scale the clip down (e.g. to [-1, 1]).",
            )
        log_mel[i, : int(n_frames_h[i])] = own + xp.float32(shifts[j])


@functools.lru_cache(maxsize=64)
def _savgol_matrix(n: int, order: int) -> np.ndarray:
    """Least-squares local-polynomial derivative operator on ``n`` points.

    Row ``i`` holds the weights that give, at position ``i``, the
    ``order``-th derivative of the polynomial of degree ``min(order, n - 1)``
    fitted by least squares to ``x[0:n]`` (a Savitzky-Golay filter). Zero
    when ``n <= order`` (a lower-degree polynomial has no such derivative).
    """
    degree = min(order, n - 1)
    if degree < order:
        return _constant(np.zeros((n, n)), np, np.float64)
    pos = np.arange(n, dtype=np.float64)
    vander = pos[:, None] ** np.arange(degree + 1)  # (n, degree + 1)
    coef = np.linalg.pinv(vander)  # polynomial coefficients = coef @ x
    # d^order/dx^order of sum_k a_k x^k at each position
    k = np.arange(order, degree + 1)
    falling = np.array([math.perm(int(j), order) for j in k], dtype=np.float64)
    deriv = (pos[:, None] ** (k - order)) * falling  # (n, degree + 1 - order)
    return _constant(deriv @ coef[order:], np, np.float64)


def delta_frames_batch(
    *,
    values: Any,
    n_frames: Any,
    order: int = 1,
    width: int = 9,
    xp: ModuleType = np,
) -> Any:
    """Delta features of each clip over its own frames (librosa's ``delta``).

    Parameters
    ----------
    values : array, shape (n_clips, max_frames, n_coef)
        Frame-by-frame features; clip ``i`` owns ``values[i, :n_frames[i]]``.
    n_frames : array of int, shape (n_clips,)
        Valid frames per clip, each >= 1.
    order : int, default=1
        Derivative order: 1 for delta, 2 for delta-delta.
    width : int, default=9
        Odd window length of the Savitzky-Golay filter.
    xp : module, default=numpy
        Array namespace, ``numpy`` or ``cupy``.

    Returns
    -------
    delta : array, shape (n_clips, max_frames, n_coef), float32
        Same layout as ``values``; rows beyond ``n_frames[i]`` unspecified.

    Notes
    -----
    For a clip with at least ``width`` frames this is
    ``librosa.feature.delta(values.T, width=width, order=order,
    mode="interp")``: the ``order``-th derivative of a degree-``order``
    polynomial fitted by least squares to each window of ``width`` frames,
    and for the first and last ``width // 2`` frames to the first and last
    window. librosa raises an error for shorter clips; here their polynomial
    is fitted to all of their frames (degree ``min(order, n - 1)``), which
    gives zeros for a clip of ``order`` frames or fewer.

    Examples
    --------
    >>> import numpy as np
    >>> from mmlearn.features._kernels._mfcc import delta_frames_batch
    >>> ramp = np.arange(12, dtype=np.float32).reshape(1, 12, 1)
    >>> delta_frames_batch(values=ramp, n_frames=[12])[0, :, 0].round(5).tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    """
    width, order, half = int(width), int(order), int(width) // 2
    if width < 3 or width % 2 != 1:
        raise ValueError(f"width must be an odd integer >= 3, got {width!r}.")
    if order < 1:
        raise ValueError(f"order must be a positive integer, got {order!r}.")
    values = xp.asarray(values, dtype=xp.float32)
    n_clips, max_frames, _ = values.shape
    n_frames_h = np.asarray(xp.asarray(n_frames).tolist(), dtype=np.int64)
    n_frames = xp.asarray(n_frames_h)
    valid = (xp.arange(max_frames)[None, :] < n_frames[:, None])[:, :, None]
    # The filters annihilate constants; subtracting each clip's first frame
    # makes that exact in float32 (a silent clip gets deltas of exactly 0)
    # and avoids cancellation against a large c0. Padding is zeroed so that
    # it never reaches the arithmetic.
    values = xp.where(valid, values - values[:, :1], xp.float32(0))
    sg = _savgol_matrix(width, order)
    # Interior frames: one correlation with the centre row of the filter.
    padded = xp.pad(values, ((0, 0), (half, half), (0, 0)))
    centre = sg[half].astype(np.float32)
    out = float(centre[0]) * padded[:, :max_frames]
    for j in range(1, width):
        out += float(centre[j]) * padded[:, j : j + max_frames]
    # Edges of clips with >= width frames: the polynomial of the first / last
    # window, evaluated at the first / last half frames.
    full = np.flatnonzero(n_frames_h >= width)
    if full.size:
        sel = xp.asarray(full)
        out[sel, :half] = xp.asarray(sg[:half], dtype=xp.float32) @ values[sel, :width]
        first = n_frames[sel] - width  # first frame of each clip's last window
        win_idx = first[:, None] + xp.arange(width)[None, :]
        tail_in = values[sel[:, None], win_idx]  # (n_full, width, n_coef)
        tail = xp.asarray(sg[width - half :], dtype=xp.float32) @ tail_in
        out[sel[:, None], win_idx[:, width - half :]] = tail
    # Clips shorter than the window: one fit over all their frames.
    for n in np.unique(n_frames_h[n_frames_h < width]).tolist():
        sel = xp.asarray(np.flatnonzero(n_frames_h == n))
        op = xp.asarray(_savgol_matrix(int(n), order), dtype=xp.float32)
        out[sel, :n] = op @ values[sel, :n]
    return out


def pool_frames_batch(
    *,
    values: Any,
    n_frames: Any,
    stats: Sequence[str] = ("mean", "std"),
    xp: ModuleType = np,
) -> Any:
    """Pool frame-by-frame features over each clip's own frames.

    Parameters
    ----------
    values : array, shape (n_clips, max_frames, n_coef)
        Clip ``i`` owns ``values[i, :n_frames[i]]``; the rest is ignored.
    n_frames : array of int, shape (n_clips,)
        Valid frames per clip, each >= 1.
    stats : sequence of str, default=("mean", "std")
        Any of ``MFCC_STATS``: mean, std (``ddof=0``), min, max, median,
        skew and kurtosis (``scipy.stats`` defaults: biased, Fisher).
    xp : module, default=numpy
        Array namespace, ``numpy`` or ``cupy``.

    Returns
    -------
    pooled : array, shape (n_clips, len(stats) * n_coef), float32
        One block of ``n_coef`` columns per statistic, in ``stats`` order.

    Notes
    -----
    Moments are taken about each clip's first frame in float32 and summed
    in float64 (about 1e-7 relative to the spread). Where a clip's
    coefficient is constant over time (variance below float32 resolution of
    its mean, as ``scipy.stats.skew`` judges it), skew and kurtosis are 0
    instead of scipy's NaN, so that silent clips get finite features.

    Examples
    --------
    >>> import numpy as np
    >>> from mmlearn.features._kernels._mfcc import pool_frames_batch
    >>> v = np.array([[[1.0], [2.0], [6.0]], [[4.0], [0.0], [0.0]]])
    >>> pool_frames_batch(values=v, n_frames=[3, 1], stats=("mean", "max")).tolist()
    [[3.0, 6.0], [4.0, 4.0]]
    """
    unknown = [s for s in stats if s not in MFCC_STATS]
    if unknown:
        raise ValueError(f"Unknown statistic(s) {unknown}; choose from {MFCC_STATS}.")
    values = xp.asarray(values)
    n_clips, max_frames, _ = values.shape
    n_frames = xp.asarray(n_frames, dtype=xp.int64)
    valid = (xp.arange(max_frames)[None, :] < n_frames[:, None])[:, :, None]
    count = n_frames.astype(xp.float64)[:, None]
    out = {}
    need_moments = {"mean", "std", "skew", "kurtosis"}.intersection(stats)
    if need_moments:
        # Moments of the values minus each clip's first frame, in float32 with
        # float64 sums: the shift removes the cancellation that float32 would
        # otherwise suffer for a large, nearly constant coefficient (c0).
        shift = values[:, :1].astype(xp.float32)
        shifted = xp.where(valid, values - shift, xp.float32(0))
        mean_shifted = shifted.sum(axis=1, dtype=xp.float64) / count
        mean = mean_shifted + shift[:, 0]
        out["mean"] = mean
        if need_moments - {"mean"}:
            dev = xp.where(valid, shifted - mean_shifted[:, None, :].astype(xp.float32),
                           xp.float32(0))
            sq = dev * dev
            m2 = sq.sum(axis=1, dtype=xp.float64) / count
            out["std"] = xp.sqrt(m2)
            if {"skew", "kurtosis"}.intersection(stats):
                flat = m2 <= (np.finfo(np.float32).resolution * mean) ** 2
                safe = xp.where(flat, 1.0, m2)
                m3 = (sq * dev).sum(axis=1, dtype=xp.float64) / count
                m4 = (sq * sq).sum(axis=1, dtype=xp.float64) / count
                out["skew"] = xp.where(flat, 0.0, m3 / safe**1.5)
                out["kurtosis"] = xp.where(flat, 0.0, m4 / safe**2 - 3.0)
    if "min" in stats:
        out["min"] = xp.where(valid, values, xp.inf).min(axis=1)
    if "max" in stats:
        out["max"] = xp.where(valid, values, -xp.inf).max(axis=1)
    if "median" in stats:
        ordered = xp.sort(xp.where(valid, values, xp.inf), axis=1)
        shape = (n_clips, 1, values.shape[2])
        lo = xp.broadcast_to(((n_frames - 1) // 2)[:, None, None], shape)
        hi = xp.broadcast_to((n_frames // 2)[:, None, None], shape)
        low = xp.take_along_axis(ordered, lo, axis=1)[:, 0].astype(xp.float64)
        high = xp.take_along_axis(ordered, hi, axis=1)[:, 0].astype(xp.float64)
        out["median"] = (low + high) / 2
    return xp.concatenate([out[s].astype(xp.float32) for s in stats], axis=1)


def mfcc_batch(
    *,
    signals: Any,
    lengths: Any = None,
    sr: float,
    n_mfcc: int = 20,
    n_fft: int = 2048,
    hop_length: int = 512,
    n_mels: int = 128,
    fmin: float = 0.0,
    fmax: float | None = None,
    top_db: float | None = 80.0,
    deltas: int = 0,
    delta_width: int = 9,
    stats: Sequence[str] = ("mean", "std"),
    xp: ModuleType = np,
    block_bytes: int | None = None,
) -> Any:
    """Pooled MFCC (and delta) features of a batch of clips, one row per clip.

    :func:`mfcc_frames_batch`, then :func:`delta_frames_batch` for orders
    ``1..deltas``, then :func:`pool_frames_batch` of each.

    Parameters
    ----------
    signals, lengths, sr, n_mfcc, n_fft, hop_length, n_mels, fmin, fmax, top_db, block_bytes
        As in :func:`mfcc_frames_batch`.
    deltas : {0, 1, 2}, default=0
        Also pool the delta (1) and delta-delta (2) coefficients.
    delta_width : int, default=9
        Window of the delta filter, as in :func:`librosa.feature.delta`.
    stats : sequence of str, default=("mean", "std")
        Statistics over time, see :func:`pool_frames_batch`.
    xp : module, default=numpy
        Array namespace, ``numpy`` or ``cupy``.

    Returns
    -------
    features : array, shape (n_clips, (deltas + 1) * len(stats) * n_mfcc), float32
        Blocks in the order mfcc, delta, delta2; within each, one block of
        ``n_mfcc`` columns per statistic.

    Examples
    --------
    >>> import numpy as np
    >>> from mmlearn.features._kernels._mfcc import mfcc_batch
    >>> clips = [np.sin(np.arange(8000) * 0.3), np.zeros(3000)]
    >>> mfcc_batch(signals=np.concatenate(clips), lengths=[8000, 3000], sr=8000,
    ...            n_mfcc=13, n_fft=512, hop_length=128, n_mels=40, deltas=1).shape
    (2, 52)
    """
    if deltas not in (0, 1, 2):
        raise ValueError(f"deltas must be 0, 1 or 2, got {deltas!r}.")
    mfcc, n_frames = mfcc_frames_batch(
        signals=signals, lengths=lengths, sr=sr, n_mfcc=n_mfcc, n_fft=n_fft,
        hop_length=hop_length, n_mels=n_mels, fmin=fmin, fmax=fmax, top_db=top_db,
        xp=xp, block_bytes=block_bytes,
    )
    blocks = [pool_frames_batch(values=mfcc, n_frames=n_frames, stats=stats, xp=xp)]
    for order in range(1, deltas + 1):
        d = delta_frames_batch(values=mfcc, n_frames=n_frames, order=order, width=delta_width, xp=xp)
        blocks.append(pool_frames_batch(values=d, n_frames=n_frames, stats=stats, xp=xp))
    return xp.concatenate(blocks, axis=1)
