"""Batched frame-level spectral descriptors of environmental sound, as librosa computes them.

One short-time Fourier transform per block of frames feeds every descriptor:
log-mel band energies, spectral contrast, centroid, bandwidth, roll-off,
flatness and chroma; the zero-crossing rate comes from the same padded
buffer. Pooling over time reuses :func:`._mfcc.pool_frames_batch`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np

from ._mfcc import _power_rows, pool_frames_batch
from ._windows import _block_rows, _constant, _slot_frames

#: Descriptors :func:`spectral_batch` can compute, in output order.
SPECTRAL_DESCRIPTORS = (
    "mel", "contrast", "centroid", "bandwidth", "rolloff", "flatness", "zcr", "chroma",
)

# Bytes of frames transformed at once: cache-sized on the CPU. Every block
# has this size (the last one reads zeros past the last clip), so on a GPU it
# must stay affordable for a single clip.
_BLOCK_BYTES_CPU = 1 << 22
_BLOCK_BYTES_GPU = 1 << 25

# librosa.util.normalize leaves a frame alone when its norm is below the
# smallest normal number of its dtype (float32 here).
_TINY32 = float(np.finfo(np.float32).tiny)


def descriptor_sizes(*, n_mels: int, n_bands: int, n_chroma: int) -> dict[str, int]:
    """Number of values per frame of each descriptor.

    Examples
    --------
    >>> from mmlearn.features._kernels._spectral import descriptor_sizes
    >>> descriptor_sizes(n_mels=40, n_bands=6, n_chroma=12)["contrast"]
    7
    """
    return {
        "mel": int(n_mels), "contrast": int(n_bands) + 1, "centroid": 1, "bandwidth": 1,
        "rolloff": 1, "flatness": 1, "zcr": 1, "chroma": int(n_chroma),
    }


def contrast_bands(
    *, sr: float, n_fft: int, n_bands: int, fmin: float, quantile: float
) -> list[tuple[int, int, int]]:
    """FFT-bin slices of the octave bands of :func:`librosa.feature.spectral_contrast`.

    Returns ``(start, stop, n_take)`` per band: the band's bins are
    ``start:stop`` and its peak / valley are the means of its ``n_take``
    largest / smallest magnitudes.

    Raises
    ------
    ValueError
        If a band reaches the Nyquist frequency or holds no FFT bin (where
        librosa raises an error or an IndexError).
    """
    freq = np.fft.rfftfreq(int(n_fft), 1.0 / float(sr))
    octa = np.zeros(n_bands + 2)
    octa[1:] = fmin * (2.0 ** np.arange(0, n_bands + 1))
    if np.any(octa[:-1] >= 0.5 * sr):
        raise ValueError(
            f"spectral contrast: the band starting at {octa[:-1].max():g} Hz reaches the "
            f"Nyquist frequency {0.5 * sr:g} Hz; reduce contrast_fmin or n_bands."
        )
    bands = []
    n_bins = freq.shape[0]
    for k, (f_low, f_high) in enumerate(zip(octa[:-1], octa[1:])):
        idx = np.flatnonzero((freq >= f_low) & (freq <= f_high))
        if idx.size == 0:
            raise ValueError(
                f"spectral contrast: band {k} ({f_low:g}-{f_high:g} Hz) holds no FFT bin at "
                f"n_fft={n_fft}; raise n_fft or contrast_fmin."
            )
        start = int(idx[0]) - 1 if k > 0 else int(idx[0])
        stop = n_bins if k == n_bands else int(idx[-1]) + 1
        count = stop - start  # bins in librosa's current_band
        if k < n_bands:
            stop -= 1  # librosa drops the band's last bin (the next band's first)
        n_take = max(int(np.rint(quantile * count)), 1)
        bands.append((start, stop, n_take))
    return bands


@functools.lru_cache(maxsize=32)
def _spectral_constants(
    sr: float, n_fft: int, n_mels: int, fmin: float, fmax: float | None, n_chroma: int,
    xp: ModuleType,
) -> tuple[Any, Any, Any, Any]:
    """Hann window, mel and chroma filter banks (bins first) and bin frequencies, float32."""
    import librosa

    window = librosa.filters.get_window("hann", n_fft, fftbins=True)
    mel = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    chroma = librosa.filters.chroma(sr=sr, n_fft=n_fft, tuning=0.0, n_chroma=n_chroma)
    freq = np.fft.rfftfreq(n_fft, 1.0 / sr)
    return _constant(window, xp), _constant(mel.T, xp), _constant(chroma.T, xp), _constant(freq, xp)


def _floor_db_per_clip(db: Any, valid: Any, top_db: float | None, xp: ModuleType) -> Any:
    """``power_to_db``'s ``top_db`` floor, relative to each clip's own peak."""
    if top_db is None:
        return db
    peak = xp.where(valid[:, :, None], db, -xp.inf).max(axis=(1, 2))
    return xp.maximum(db, (peak - float(top_db))[:, None, None].astype(db.dtype))


def _to_db(power: Any, xp: ModuleType) -> Any:
    return 10.0 * xp.log10(xp.maximum(power, 1e-10))


def spectral_frames_batch(
    *,
    signals: Sequence[Any],
    sr: float,
    n_fft: int = 2048,
    hop_length: int = 512,
    n_mels: int = 128,
    fmin: float = 0.0,
    fmax: float | None = None,
    n_bands: int = 6,
    contrast_fmin: float = 200.0,
    quantile: float = 0.02,
    roll_percent: float = 0.85,
    n_chroma: int = 12,
    top_db: float | None = 80.0,
    zcr_threshold: float = 1e-10,
    descriptors: Sequence[str] = SPECTRAL_DESCRIPTORS,
    xp: ModuleType = np,
    block_bytes: int | None = None,
) -> tuple[dict[str, Any], Any]:
    """Frame-level spectral descriptors of a batch of clips of different lengths.

    Parameters
    ----------
    signals : list of 1-D arrays
        The clips (host memory, float), each of >= 1 sample.
    sr : float
        Sampling rate in Hz.
    n_fft : int, default=2048
        FFT length, Hann window length and zero-crossing frame length.
    hop_length : int, default=512
        Samples between frame starts.
    n_mels, fmin, fmax : int, float, float or None
        Mel filter bank (:func:`librosa.filters.mel`) of the "mel" descriptor.
    n_bands, contrast_fmin, quantile : int, float, float
        Octave bands of the "contrast" descriptor, as in
        :func:`librosa.feature.spectral_contrast` (``fmin``, ``n_bands``,
        ``quantile``).
    roll_percent : float, default=0.85
        Energy fraction of the "rolloff" descriptor.
    n_chroma : int, default=12
        Chroma bins of the "chroma" descriptor.
    top_db : float or None, default=80.0
        Floor of the dB-scaled descriptors (mel, contrast's peaks and
        valleys), below each clip's own peak.
    zcr_threshold : float, default=1e-10
        Samples with ``|x| <= zcr_threshold`` count as zero (non-negative)
        for the zero-crossing rate.
    descriptors : sequence of str, default=SPECTRAL_DESCRIPTORS
        Which descriptors to compute.
    xp : module, default=numpy
        Array namespace, ``numpy`` or ``cupy``; results stay on it.
    block_bytes : int, default=None
        Bytes of frames transformed at once; None means 4 MiB on numpy
        (cache-sized) and 32 MiB on a GPU. Every block has this size
        (rounded to whole 64-frame tiles), the last one padded.

    Returns
    -------
    frames : dict of str to array, shape (n_clips, max_frames, k), float32
        One entry per requested descriptor (``k`` from
        :func:`descriptor_sizes`). Clip ``i`` owns the first
        ``n_frames[i]`` rows.
    n_frames : array of int, shape (n_clips,)
        Frames per clip (centred frames, as librosa).

    See Also
    --------
    librosa.feature.melspectrogram, librosa.feature.spectral_contrast,
    librosa.feature.spectral_centroid, librosa.feature.spectral_bandwidth,
    librosa.feature.spectral_rolloff, librosa.feature.spectral_flatness,
    librosa.feature.zero_crossing_rate, librosa.feature.chroma_stft :
    The references, one clip at a time.

    Notes
    -----
    Each descriptor equals librosa 0.11's function of the same clip with its
    defaults (centred frames, zero padding, periodic Hann window), except:

    - everything is computed in float32 (librosa's STFT runs in float64);
      agreement is about 1e-5 relative to each descriptor's scale, and
      roll-off may land one FFT bin away where the cumulative energy ties
      with the threshold to float32 rounding;
    - chroma uses ``tuning=0`` (librosa estimates the tuning of each clip
      unless it is given);
    - "mel" is ``power_to_db(melspectrogram(...), top_db=top_db)`` and
      "contrast" is taken with ``power_to_db``'s floor relative to the
      clip's own peak, so that the other clips of a batch never change it.

    A clip's descriptors are the same bit for bit whatever batch it is in,
    at whatever place: the clips are framed as
    :func:`~mmlearn.features._kernels._mfcc.mfcc_frames_batch` frames them
    (:func:`._windows._slot_frames`), and the frames go through the FFT and
    the BLAS products in blocks of exactly the same shape (set by ``n_fft``
    and ``block_bytes``).

    Examples
    --------
    >>> import numpy as np
    >>> from mmlearn.features._kernels._spectral import spectral_frames_batch
    >>> rng = np.random.default_rng(0)
    >>> frames, n_frames = spectral_frames_batch(
    ...     signals=[rng.standard_normal(4000), rng.standard_normal(2500)], sr=8000,
    ...     n_fft=512, hop_length=128, n_mels=40, n_bands=4, descriptors=("centroid", "zcr"))
    >>> frames["centroid"].shape, n_frames.tolist()
    ((2, 32, 1), [32, 20])
    """
    unknown = [d for d in descriptors if d not in SPECTRAL_DESCRIPTORS]
    if unknown:
        raise ValueError(f"Unknown descriptor(s) {unknown}; choose from {SPECTRAL_DESCRIPTORS}.")
    n_fft, hop_length = int(n_fft), int(hop_length)
    want = set(descriptors)
    lengths_h = np.fromiter((len(c) for c in signals), dtype=np.int64, count=len(signals))
    n_clips = int(lengths_h.shape[0])
    if n_clips == 0 or lengths_h.min() < 1:
        raise ValueError("spectral_frames_batch needs at least one clip, each of >= 1 sample.")
    sizes = descriptor_sizes(n_mels=n_mels, n_bands=n_bands, n_chroma=n_chroma)
    bands = (
        contrast_bands(sr=sr, n_fft=n_fft, n_bands=n_bands, fmin=contrast_fmin, quantile=quantile)
        if "contrast" in want else []
    )
    window, mel_fb, chroma_fb, freq = _spectral_constants(
        float(sr), n_fft, int(n_mels), float(fmin), None if fmax is None else float(fmax),
        int(n_chroma), xp,
    )
    if block_bytes is None:
        block_bytes = _BLOCK_BYTES_CPU if xp is np else _BLOCK_BYTES_GPU
    framed = _slot_frames(list(signals), lengths_h, True, n_fft=n_fft, hop_length=hop_length,
                          rows=_block_rows(n_fft, block_bytes), xp=xp)
    rows, n_slots = framed.rows, framed.n_slots
    n_frames_h = framed.n_frames
    n_frames = xp.asarray(n_frames_h)
    valid = xp.arange(n_slots)[None, :] < n_frames[:, None]
    # one row per frame slot (n_slots per clip), block after block
    flat = {d: xp.zeros((framed.n_out, sizes[d]), dtype=xp.float32)
            for d in descriptors if d not in ("zcr", "contrast")}
    if "contrast" in want:
        peak_db = xp.zeros((framed.n_out, n_bands + 1), dtype=xp.float32)
        valley_db = xp.zeros_like(peak_db)

    if want - {"zcr"}:
        work = xp.empty((rows, n_fft), dtype=xp.float32)
        power = xp.empty((rows, n_fft // 2 + 1), dtype=xp.float32)
        for b in range(framed.n_blocks):
            r = slice(b * rows, (b + 1) * rows)
            power = _power_rows(framed.frames[r], window, work, power, xp)
            mag = xp.sqrt(power)
            if "mel" in want:
                flat["mel"][r] = _to_db(power @ mel_fb, xp)
            if want & {"centroid", "bandwidth"}:
                total = mag.sum(axis=1, keepdims=True)
                weights = mag / xp.where(total < _TINY32, 1.0, total).astype(xp.float32)
                centroid = weights @ freq
                if "centroid" in want:
                    flat["centroid"][r, 0] = centroid
                if "bandwidth" in want:
                    dev = freq[None, :] - centroid[:, None]
                    flat["bandwidth"][r, 0] = xp.sqrt((weights * dev * dev).sum(axis=1))
            if "rolloff" in want:
                cum = xp.cumsum(mag, axis=1)
                reached = cum >= roll_percent * cum[:, -1:]
                flat["rolloff"][r, 0] = freq[xp.argmax(reached, axis=1)]
            if "flatness" in want:
                floored = xp.maximum(power, 1e-10)
                gmean = xp.exp(xp.log(floored).mean(axis=1))
                flat["flatness"][r, 0] = gmean / floored.mean(axis=1)
            if "chroma" in want:
                raw = power @ chroma_fb
                top = raw.max(axis=1, keepdims=True)
                flat["chroma"][r] = raw / xp.where(top < _TINY32, 1.0, top)
            for k, (start, stop, n_take) in enumerate(bands):
                ordered = xp.sort(mag[:, start:stop], axis=1)
                valley_db[r, k] = _to_db(ordered[:, :n_take].mean(axis=1, dtype=xp.float64), xp)
                peak_db[r, k] = _to_db(ordered[:, -n_take:].mean(axis=1, dtype=xp.float64), xp)

    def per_clip(a: Any) -> Any:  # (n_out, k) -> (n_clips, n_slots, k)
        return a[: n_clips * n_slots].reshape(n_clips, n_slots, a.shape[1])

    out = {d: per_clip(a) for d, a in flat.items()}
    if "contrast" in want:
        peak_db, valley_db = per_clip(peak_db), per_clip(valley_db)
    if "mel" in want:
        out["mel"] = _floor_db_per_clip(out["mel"], valid, top_db, xp)
    if "contrast" in want:
        out["contrast"] = (_floor_db_per_clip(peak_db, valid, top_db, xp)
                           - _floor_db_per_clip(valley_db, valid, top_db, xp))
    if "zcr" in want:
        slots = framed.buf[: n_clips * framed.slot].reshape(n_clips, framed.slot)
        out["zcr"] = _zcr_frames(slots, lengths_h, n_slots, pad=n_fft // 2, n_fft=n_fft,
                                 hop_length=hop_length, threshold=zcr_threshold, xp=xp)
    max_frames = int(n_frames_h.max())
    return {d: out[d][:, :max_frames] for d in descriptors}, n_frames


def _zcr_frames(buf: Any, lengths_h: np.ndarray, n_slots: int, *, pad: int,
                n_fft: int, hop_length: int, threshold: float, xp: ModuleType) -> Any:
    """Zero-crossing rate per frame, as librosa's (edge-padded, centred frames).

    librosa pads with the edge samples, so the padding never crosses zero:
    only crossings between two samples of the clip count. A crossing at
    padded position ``p`` (between ``p - 1`` and ``p``) belongs to the frames
    whose start ``s`` has ``s < p <= s + n_fft - 1``. ``buf`` holds one clip
    per row (``pad`` zeros first); the result has ``n_slots`` frames per clip
    (integer counts: exact whatever the batch).
    """
    n_clips, row = buf.shape
    negative = buf < -threshold
    cross = negative[:, 1:] != negative[:, :-1]  # cross[:, p - 1]: crossing at p
    pos = xp.arange(1, row)[None, :]
    lengths = xp.asarray(lengths_h)[:, None]
    cross = cross & (pos > pad) & (pos < pad + lengths)
    cum = xp.concatenate(
        [xp.zeros((n_clips, 1), dtype=xp.int64), xp.cumsum(cross, axis=1, dtype=xp.int64)], axis=1
    )  # cum[:, p] = crossings at positions <= p
    starts = xp.arange(n_slots) * hop_length
    ends = xp.minimum(starts + n_fft - 1, row - 1)
    counts = cum[:, ends] - cum[:, starts]
    return (counts / float(n_fft)).astype(xp.float32)[:, :, None]


def spectral_batch(
    *,
    signals: Sequence[Any],
    sr: float,
    stats: Sequence[str] = ("mean", "std"),
    descriptors: Sequence[str] = SPECTRAL_DESCRIPTORS,
    xp: ModuleType = np,
    **frame_params: Any,
) -> Any:
    """Pooled spectral descriptors of a batch of clips, one row per clip.

    :func:`spectral_frames_batch`, then
    :func:`~mmlearn.features._kernels._mfcc.pool_frames_batch` of each
    descriptor.

    Parameters
    ----------
    signals, sr, descriptors, xp
        As in :func:`spectral_frames_batch`.
    stats : sequence of str, default=("mean", "std")
        Statistics over time (``MFCC_STATS``).
    **frame_params
        Further keywords of :func:`spectral_frames_batch`.

    Returns
    -------
    features : array, shape (n_clips, n_features), float32
        One block per descriptor (in ``descriptors`` order), within it one
        block of ``k`` columns per statistic.

    Examples
    --------
    >>> import numpy as np
    >>> from mmlearn.features._kernels._spectral import spectral_batch
    >>> clips = [np.sin(np.arange(8000) * 0.3), np.zeros(3000)]
    >>> spectral_batch(signals=clips, sr=8000, n_fft=512, hop_length=128, n_mels=40,
    ...                n_bands=4, descriptors=("centroid", "chroma")).shape
    (2, 26)
    """
    frames, n_frames = spectral_frames_batch(
        signals=signals, sr=sr, descriptors=descriptors, xp=xp, **frame_params
    )
    return xp.concatenate(
        [pool_frames_batch(values=frames[d], n_frames=n_frames, stats=stats, xp=xp)
         for d in descriptors],
        axis=1,
    )
