"""Sliding windows shared by the kernels.

- :func:`_windows_2d`: 2-D windows of an image stack (HOG, convolution).
- :func:`_slot_frames`: the frames of a batch of clips, in blocks of one
  fixed shape (MFCC, spectral descriptors), so that a clip's frames give the
  same bits whatever batch it is in.
"""

from __future__ import annotations

import contextlib
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

# Frames per block are a multiple of this (whole BLAS / SIMD tiles).
_BLOCK_ROW_ALIGN = 64


def _windows_2d(a: Any, window: tuple[int, int], xp: ModuleType) -> Any:
    """All ``wr`` x ``wc`` windows of an (n, r, c, ...) array, as a strided view.

    Shape (n, r - wr + 1, c - wc + 1, wr, wc, ...): the window axes come
    before the trailing axes. Built with ``as_strided`` (NumPy and CuPy
    alike); it aliases memory, so it is only ever read.
    """
    wr, wc = window
    n, r, c = a.shape[:3]
    s = a.strides
    return xp.lib.stride_tricks.as_strided(
        a,
        shape=(n, r - wr + 1, c - wc + 1, wr, wc) + a.shape[3:],
        strides=(s[0], s[1], s[2], s[1], s[2]) + s[3:],
    )


def _constant(a: Any, xp: ModuleType, dtype: Any = np.float32) -> Any:
    """A cached kernel constant (window, filter bank) on ``xp``, contiguous; read-only on NumPy.

    The constants are cached per parameter set and shared by every call, so
    a NumPy one cannot be written to by accident.
    """
    out = xp.asarray(np.ascontiguousarray(a, dtype=dtype))
    if isinstance(out, np.ndarray):
        out.flags.writeable = False
    return out


def _quiet(xp: ModuleType) -> Any:
    """Silence NumPy's overflow warnings where a kernel detects and handles overflow itself."""
    return np.errstate(over="ignore", invalid="ignore") if xp is np else contextlib.nullcontext()


def _block_rows(n_fft: int, block_bytes: int) -> int:
    """Frames per block: ``block_bytes`` of float32 frames, in whole 64-frame tiles.

    Fixed by ``n_fft`` and ``block_bytes`` alone, never by the batch.
    """
    n = int(block_bytes) // (4 * int(n_fft))
    return max(_BLOCK_ROW_ALIGN, n - n % _BLOCK_ROW_ALIGN)


class _SlotFrames(NamedTuple):
    """A batch of clips framed by :func:`_slot_frames`."""

    frames: Any  # (n_blocks * rows, n_fft) strided view of buf: block b is frames[b*rows:(b+1)*rows]
    buf: Any  # float32 buffer; clip i starts at i * slot + pad, zeros around it
    n_frames: np.ndarray  # frames per clip (host, int64)
    n_slots: int  # frame slots per clip: clip i owns frames i*n_slots .. i*n_slots + n_frames[i]
    slot: int  # n_slots * hop_length samples
    rows: int  # frames per block
    n_blocks: int  # blocks to transform (enough for every clip's frames)
    n_out: int  # rows of an output array: whole blocks covering n_clips * n_slots frames


def _slot_frames(
    signals: Any,
    lengths_h: np.ndarray,
    as_list: bool,
    *,
    n_fft: int,
    hop_length: int,
    rows: int,
    xp: ModuleType,
) -> _SlotFrames:
    """Frame a batch of clips (centred frames, zero padding) into fixed-shape blocks.

    The clips are laid end to end in one zero-padded float32 buffer, each in
    a slot of ``n_slots * hop_length`` samples, so that the frames of the
    whole batch are one strided view of it. A clip's slot holds ``pad =
    n_fft // 2`` zeros, its samples, then zeros: its frames read only it and
    zeros (its last frame ends by ``pad + length + pad``, within the next
    slot's leading zeros). The frames are meant to be transformed in blocks
    of exactly ``rows`` frames (the last block reads zeros past the last
    clip): every FFT and BLAS product then has the same shape whatever the
    batch, and a frame's result does not depend on the frames around it
    (BLAS and the FFT round a row according to the product's shape, not its
    place or its neighbours).

    Parameters
    ----------
    signals : list of 1-D host arrays, or one array of the clips end to end (on ``xp``)
        The clips; a float64 sample beyond float32's range becomes inf
        (silently: the caller checks).
    lengths_h : ndarray of int, shape (n_clips,)
        Samples per clip, each >= 1.
    as_list : bool
        Whether ``signals`` is a list of clips.
    n_fft, hop_length : int
        Frame length and hop.
    rows : int
        Frames per block (:func:`_block_rows`).
    xp : module
        Array namespace of the buffer.
    """
    n_clips = int(lengths_h.shape[0])
    pad = n_fft // 2
    n_frames_h = 1 + (lengths_h + 2 * pad - n_fft) // hop_length
    max_len = int(lengths_h.max())
    n_slots = -(-(max_len + pad) // hop_length)
    slot = n_slots * hop_length
    n_needed = (n_clips - 1) * n_slots + int(n_frames_h[-1])
    n_blocks = -(-n_needed // rows)
    n_out = -(-(n_clips * n_slots) // rows) * rows
    buf_len = max(n_clips * slot, (n_blocks * rows - 1) * hop_length + n_fft)
    with _quiet(xp):
        if as_list:
            # one copy, each clip at pad + its slot's start, zeros in between
            # (3x faster than np.concatenate of the pieces)
            host = np.empty(buf_len, dtype=np.float32)
            end = 0
            for i, (clip, n) in enumerate(zip(signals, lengths_h.tolist())):
                clip = np.asarray(clip)
                if clip.ndim != 1:
                    raise ValueError(f"signals[{i}] must be 1-D, got shape {clip.shape}.")
                start = i * slot + pad
                host[end:start] = 0.0
                host[start : start + n] = clip
                end = start + n
            host[end:] = 0.0
            buf = xp.asarray(host)
        else:
            buf = xp.zeros(buf_len, dtype=xp.float32)
            region = buf[: n_clips * slot].reshape(n_clips, slot)[:, pad : pad + max_len]
            if int(lengths_h.min()) == max_len:
                region[...] = signals.reshape(n_clips, max_len)
            else:
                inside = xp.arange(max_len)[None, :] < xp.asarray(lengths_h)[:, None]
                region[inside] = signals  # row-major order = the clips end to end
    item = buf.itemsize
    frames = xp.lib.stride_tricks.as_strided(
        buf, shape=(n_blocks * rows, n_fft), strides=(hop_length * item, item)
    )
    return _SlotFrames(frames, buf, n_frames_h, n_slots, slot, rows, n_blocks, n_out)
