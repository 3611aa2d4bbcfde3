"""Loading and checking one sample of each modality, with errors that name it.

Every function takes an optional ``index`` (the sample's position in the
user's data). Errors start with ``"sample {index}"`` and the file path, when
there is one, so a bad file among thousands is found at once. The
extractors also set ``exc.sample_index`` (the sample's position in the input
they were given) on such an error, so that ``Modality`` can restate it in
terms of the user's own rows.
"""

from __future__ import annotations

import numbers
import os
from typing import Any

import numpy as np

__all__ = ["load_audio", "load_image", "check_text"]

# Largest channel count accepted in a 2-D audio array (so that the channel
# axis can be told from the time axis).
_MAX_CHANNELS = 8


def _where(index: int | None, path: str | None = None) -> str:
    who = "sample" if index is None else f"sample {index}"
    return who if path is None else f"{who} ({path!r})"


def _resolve_path(path: str | os.PathLike, base_dir: str | os.PathLike | None) -> str:
    path = os.fspath(path)
    if base_dir is not None and not os.path.isabs(path):
        path = os.path.join(os.fspath(base_dir), path)
    return path


def _where_sample(index: int | None, sample: Any, base_dir: str | os.PathLike | None = None) -> str:
    """:func:`_where` for a sample: its index and, for a file, its path resolved as the loaders resolve it."""
    path = _resolve_path(sample, base_dir) if isinstance(sample, (str, os.PathLike)) else None
    return _where(index, path)


def _check_path(path: str, index: int | None) -> None:
    if not os.path.exists(path):
        raise FileNotFoundError(f"{_where(index, path)}: file not found.")
    if os.path.isdir(path):
        raise ValueError(f"{_where(index, path)}: is a directory, not a file.")


def _as_numeric_array(x: Any, where: str, what: str) -> np.ndarray:
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged nested lists and the like
        raise TypeError(f"{where}: could not be read as a {what} array ({exc}).") from None
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        got = "None" if x is None else f"{type(x).__name__} with dtype {arr.dtype}"
        raise TypeError(f"{where}: expected a numeric {what} array or a file path, got {got}.")
    return arr


def _check_finite(arr: np.ndarray, where: str, what: str) -> None:
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            pos = first[0] if len(first) == 1 else first
            raise ValueError(
                f"{where}: {what} has {int(bad.sum())} non-finite value(s) (NaN or inf), "
                f"the first at position {pos}."
            )


# ---------------------------------------------------------------- audio
def load_audio(
    path_or_array: Any,
    *,
    sr: float | None = None,
    mono: bool = True,
    index: int | None = None,
    base_dir: str | os.PathLike | None = None,
    dtype: Any = np.float32,
) -> np.ndarray:
    """Load one audio clip from a file, or check an array, as float32 (float64: see ``dtype``).

    Parameters
    ----------
    path_or_array : str, path-like, array-like or tuple (array, rate)
        A file readable by libsndfile (WAV, FLAC, OGG, MP3, ...), an array
        of samples: 1-D, or 2-D with up to 8 channels on either axis
        (channels first as in librosa, or last as in soundfile), or a pair
        ``(array, rate)``: such an array with its sampling rate in Hz.
    sr : float, default=None
        Target sampling rate. Files and ``(array, rate)`` pairs are
        resampled to it with :func:`librosa.resample` (``soxr_hq``);
        ``None`` keeps their own rate. A bare array is taken to be at this
        rate already and is not resampled.
    mono : bool, default=True
        Average the channels into one (:func:`librosa.to_mono`). If False, a
        multi-channel clip is returned as ``(n_channels, n_samples)``.
    index : int, default=None
        The sample's position in the user's data, used in error messages.
    base_dir : str or path-like, default=None
        Folder that a relative path is resolved against (for example the
        folder of the CSV that lists the files); ``None`` resolves it against
        the current working directory. Absolute paths are used as they are.
    dtype : {numpy.float32, None}, default=numpy.float32
        What becomes of float64 data: a float64 array (a list of Python
        floats is one), the array of an ``(array, rate)`` pair, or a 64-bit
        float file (libsndfile subtype ``DOUBLE``). With ``numpy.float32``
        every clip comes back as float32, and float64 samples beyond
        float32's range (about 3.4e38) raise a ValueError rather than
        become inf. With ``None`` float64 data stays float64, so such
        samples stay finite, unless the clip must be resampled: the
        resampler computes in float32 whatever the input's dtype (its
        float64 result equals the float32 one), and a clip loud enough to
        overflow it (above about 1e36) raises a ValueError. All other data
        (integer PCM, float16 or float32 arrays, any other kind of file)
        still comes back as float32. Any other value raises a ValueError.

    Returns
    -------
    y : ndarray of shape (n_samples,) or (n_channels, n_samples), float32
        float64 with ``dtype=None`` for float64 data. Integer arrays are
        scaled to [-1, 1) as PCM (int16 by 2**15, ...). An array that
        already has the result's dtype is not copied unless it must be
        (downmixed or resampled).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file cannot be decoded, or the clip is empty, has NaN or
        infinite samples, or has an unsupported shape, or the rate of an
        ``(array, rate)`` pair is not a positive finite number.
    TypeError
        If the array is not numeric, the rate is not a number, or a tuple
        is not an ``(array, rate)`` pair.

    Examples
    --------
    >>> import numpy as np
    >>> from mmlearn.io import load_audio
    >>> load_audio(np.array([0, 16384, -32768], dtype=np.int16))
    array([ 0. ,  0.5, -1. ], dtype=float32)
    >>> load_audio(np.array([0.0, np.nan]), index=7)
    Traceback (most recent call last):
    ...
    ValueError: sample 7: audio has 1 non-finite value(s) (NaN or inf), the first at position 1.

    A clip recorded at another rate is resampled, as a file would be:

    >>> load_audio((np.zeros(4410, dtype=np.float32), 44100), sr=16000).shape
    (1600,)
    """
    if dtype is not None and np.dtype(dtype) != np.float32:
        raise ValueError(f"dtype must be numpy.float32 or None, got {dtype!r}.")
    if isinstance(path_or_array, (str, os.PathLike)):
        path = _resolve_path(path_or_array, base_dir)
        return _load_audio_file(path, sr=sr, mono=mono, index=index, dtype=dtype)
    where = _where(index)
    pair = _rate_pair(path_or_array, where)
    if pair is not None:
        y = load_audio(pair[0], mono=mono, index=index, dtype=dtype)
        return _resample(y, pair[1], sr, where)
    y = _as_numeric_array(path_or_array, where, "audio")
    if y.dtype.kind == "b":
        raise TypeError(f"{where}: audio must be numeric, got a boolean array.")
    if y.dtype.kind in "iu":
        info = np.iinfo(y.dtype)
        # PCM convention: int16 -> /2**15; unsigned PCM is offset by half
        offset = 0 if info.min < 0 else (int(info.max) + 1) // 2
        y = ((y.astype(np.float64) - offset) / (int(info.max) + 1 - offset)).astype(np.float32)
    if y.ndim == 0 or y.ndim > 2:
        raise ValueError(
            f"{where}: expected 1-D audio (or 2-D with channels), got an array of "
            f"shape {y.shape}."
        )
    if y.ndim == 2:
        r, c = y.shape
        if r <= _MAX_CHANNELS and r < c:
            pass  # channels first
        elif c <= _MAX_CHANNELS and c < r:
            y = y.T
        elif 0 in y.shape:
            y = y.reshape(-1)
        else:
            raise ValueError(
                f"{where}: cannot tell channels from time in a 2-D audio array of shape "
                f"{y.shape}; pass (n_channels, n_samples) with at most {_MAX_CHANNELS} "
                "channels."
            )
    return _finish_audio(y, mono=mono, where=where, dtype=dtype)


def _rate_pair(x: Any, where: str) -> tuple[Any, float] | None:
    """``(array, rate)`` if ``x`` is such a pair, None if it is no pair at all.

    A tuple whose first item is an array (or list) and whose other items
    include a number is taken for an ``(array, rate)`` pair; a tuple of
    numbers (samples) or of arrays (channels) is audio data, as before.
    """
    if not isinstance(x, tuple) or not x:
        return None
    head = x[0]
    if isinstance(head, (str, os.PathLike)):
        raise TypeError(
            f"{where}: got a tuple starting with the path {os.fspath(head)!r}; pass the path "
            "alone (a file carries its own sampling rate), or an (array, rate) pair."
        )
    try:
        if np.ndim(head) == 0 or all(np.ndim(v) > 0 for v in x[1:]):
            return None
    except ValueError:  # ragged: not plain audio data either
        pass
    if len(x) != 2:
        raise TypeError(f"{where}: expected an (array, rate) pair, got a tuple of {len(x)} items.")
    rate = x[1]
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
        raise TypeError(
            f"{where}: the rate of an (array, rate) pair must be a number in Hz, got "
            f"{type(rate).__name__} {rate!r}."
        )
    if not (np.isfinite(rate) and rate > 0):
        raise ValueError(
            f"{where}: the rate of an (array, rate) pair must be a positive finite number "
            f"of Hz, got {rate!r}."
        )
    return head, float(rate)


def _resample(y: np.ndarray, orig_sr: float, sr: float | None, where: str) -> np.ndarray:
    if sr is None or orig_sr == sr:
        return y
    import librosa

    out = librosa.resample(y, orig_sr=orig_sr, target_sr=sr, res_type="soxr_hq")
    if out.shape[-1] == 0:
        raise ValueError(
            f"{where}: audio is empty after resampling {y.shape[-1]} sample(s) from "
            f"{orig_sr:g} Hz to {sr:g} Hz."
        )
    if not np.isfinite(out).all():  # y is finite: the resampler overflowed
        raise ValueError(
            f"{where}: resampling from {orig_sr:g} Hz to {sr:g} Hz overflowed (largest "
            f"|sample| {float(np.abs(y).max()):.3g}; the resampler, soxr_hq, computes in "
            "float32 and overflows above about 1e36); scale the clip down."
        )
    return out.astype(y.dtype, copy=False)


def _finish_audio(y: np.ndarray, *, mono: bool, where: str, dtype: Any = np.float32) -> np.ndarray:
    if y.shape[-1] == 0:
        raise ValueError(f"{where}: audio is empty (0 samples).")
    _check_finite(y, where, "audio")
    if y.ndim == 2:
        if mono:
            y = y.mean(axis=0)
        elif y.shape[0] == 1:
            y = y[0]
    if y.dtype == np.float64:
        if dtype is None:
            return y
        big = np.abs(y) > np.finfo(np.float32).max
        if big.any():
            pos = tuple(int(i) for i in np.argwhere(big)[0])
            raise ValueError(
                f"{where}: audio has {int(big.sum())} sample(s) beyond float32's range "
                f"(the first, {y[pos]:.3g}, at position {pos[0] if len(pos) == 1 else pos}); "
                "scale the clip down, or load it with dtype=None to keep float64."
            )
    return y.astype(np.float32, copy=False)


def _load_audio_file(
    path: str, *, sr: float | None, mono: bool, index: int | None, dtype: Any = np.float32
) -> np.ndarray:
    import soundfile as sf

    where = _where(index, path)
    _check_path(path, index)
    try:
        with sf.SoundFile(path) as f:
            # 64-bit float files are float64 data, as a float64 array is (their
            # samples may lie beyond float32's range); every other kind is exact
            # in float32
            data = f.read(dtype="float64" if f.subtype == "DOUBLE" else "float32",
                          always_2d=True)
            native_sr = f.samplerate
    except Exception as exc:  # libsndfile raises LibsndfileError / RuntimeError
        raise ValueError(
            f"{where}: could not be decoded as audio ({type(exc).__name__}: {exc})."
        ) from None
    y = _finish_audio(np.ascontiguousarray(data.T), mono=mono, where=where, dtype=dtype)
    return _resample(y, native_sr, sr, where)


# ---------------------------------------------------------------- image
def load_image(
    path_or_array: Any,
    *,
    as_gray: bool = False,
    size: tuple[int, int] | None = None,
    index: int | None = None,
    base_dir: str | os.PathLike | None = None,
) -> np.ndarray:
    """Load one image from a file, or check an array.

    Parameters
    ----------
    path_or_array : str, path-like or array-like
        An image file (anything Pillow reads, else :func:`skimage.io.imread`)
        or an array of shape ``(H, W)`` or ``(H, W, C)`` with C in 1, 3, 4.
    as_gray : bool, default=False
        Return a 2-D float64 image in [0, 1]: colour is converted with
        :func:`skimage.color.rgb2gray`, gray is scaled with
        :func:`skimage.util.img_as_float`.
    size : tuple of int (height, width), default=None
        Resize to this shape with :func:`skimage.transform.resize`
        (anti-aliased, value range preserved, float64 result).
    index : int, default=None
        The sample's position in the user's data, used in error messages.
    base_dir : str or path-like, default=None
        Folder that a relative path is resolved against (for example the
        folder of the CSV that lists the files); ``None`` resolves it against
        the current working directory. Absolute paths are used as they are.

    Returns
    -------
    image : ndarray of shape (H, W) or (H, W, 3)
        Without ``as_gray`` or ``size`` the dtype and value range are kept:
        a gray uint8 array comes back unchanged.

    Notes
    -----
    Conversions: a single channel ``(H, W, 1)`` becomes ``(H, W)``; an alpha
    channel is composited onto a white background (RGBA, LA, and palette
    images with transparency); palette, CMYK, YCbCr and 1-bit files are
    converted to RGB or gray by Pillow; 16-bit files keep uint16; boolean
    arrays become float 0/1.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file cannot be decoded, or the image is empty, of the wrong
        rank or channel count, or has NaN or infinite pixels.
    TypeError
        If the array is not numeric.

    Examples
    --------
    >>> import numpy as np
    >>> from mmlearn.io import load_image
    >>> load_image(np.zeros((4, 6), dtype=np.uint8)).shape
    (4, 6)
    >>> load_image(np.zeros((4, 6, 3)), as_gray=True, size=(2, 3)).shape
    (2, 3)
    >>> load_image(np.zeros(5), index=2)
    Traceback (most recent call last):
    ...
    ValueError: sample 2: expected a 2-D (H, W) or 3-D (H, W, C) image, got an array of shape (5,).
    """
    if isinstance(path_or_array, (str, os.PathLike)):
        path = _resolve_path(path_or_array, base_dir)
        where = _where(index, path)
        img = _read_image_file(path, index)
    else:
        where = _where(index)
        img = _as_numeric_array(path_or_array, where, "image")
        if img.dtype.kind == "b":
            img = img.astype(np.float64)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim not in (2, 3):
        raise ValueError(
            f"{where}: expected a 2-D (H, W) or 3-D (H, W, C) image, got an array of "
            f"shape {img.shape}."
        )
    if img.size == 0:
        raise ValueError(f"{where}: image is empty (shape {img.shape}).")
    if img.ndim == 3:
        if img.shape[-1] == 2:  # gray + alpha
            img = _composite_on_white(img)
        elif img.shape[-1] == 4:
            img = _composite_on_white(img)
        elif img.shape[-1] != 3:
            raise ValueError(
                f"{where}: expected 1, 3 or 4 channels on the last axis, got an image of "
                f"shape {img.shape}."
            )
    _check_finite(img, where, "image")
    if as_gray:
        from skimage.color import rgb2gray
        from skimage.util import img_as_float

        img = rgb2gray(img) if img.ndim == 3 else img_as_float(img)
    if size is not None:
        size = _check_size(size)
        if img.shape[:2] != size:
            from skimage.transform import resize

            img = resize(img, size + img.shape[2:], preserve_range=True, anti_aliasing=True)
    return img


def _check_size(size: Any) -> tuple[int, int]:
    try:
        h, w = size
        ok = all(isinstance(v, numbers.Integral) and v > 0 for v in (h, w))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"size must be a pair of positive integers (height, width), got {size!r}.")
    return int(h), int(w)


def _composite_on_white(img: np.ndarray) -> np.ndarray:
    """Blend the alpha channel (last) onto white, keeping dtype and range."""
    if img.dtype.kind in "iu":
        top = float(np.iinfo(img.dtype).max)
    else:
        top = 1.0 if img.max(initial=0) <= 1.0 else 255.0
    color = img[..., :-1].astype(np.float64)
    alpha = img[..., -1:].astype(np.float64) / top
    out = color * alpha + top * (1.0 - alpha)
    if color.shape[-1] == 1:
        out = out[..., 0]
    if img.dtype.kind in "iu":
        return np.rint(out).astype(img.dtype)
    return out.astype(img.dtype, copy=False)


def _read_image_file(path: str, index: int | None) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    where = _where(index, path)
    _check_path(path, index)
    try:
        with Image.open(path) as im:
            im.load()
            mode = im.mode
            if mode == "P":
                im = im.convert("RGBA" if "transparency" in im.info else "RGB")
            elif mode == "PA":
                im = im.convert("RGBA")
            elif mode == "1":
                im = im.convert("L")
            elif mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX", "RGBa", "La"):
                im = im.convert("RGB")
            elif mode.startswith("I;16"):
                return np.array(im, dtype=np.uint16)
            return np.array(im)
    except UnidentifiedImageError:
        pass  # not a format Pillow knows: let scikit-image try
    except Exception as exc:
        raise ValueError(
            f"{where}: could not be decoded as an image ({type(exc).__name__}: {exc})."
        ) from None
    try:
        from skimage.io import imread

        return np.asarray(imread(path))
    except Exception as exc:
        # imageio's message goes on to suggest plugins to install: its first line is the news
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ValueError(
            f"{where}: could not be decoded as an image (neither Pillow nor scikit-image "
            f"reads this format; {type(exc).__name__}: {reason})."
        ) from None


# ---------------------------------------------------------------- text
def check_text(text: Any, *, index: int | None = None, allow_empty: bool = False) -> str:
    """Check that one text sample is a non-empty string and return it.

    Parameters
    ----------
    text : object
        The sample.
    index : int, default=None
        The sample's position in the user's data, used in error messages.
    allow_empty : bool, default=False
        Accept ``""`` and whitespace-only strings.

    Returns
    -------
    text : str
        The same object.

    Raises
    ------
    ValueError
        If the text is missing (None or NaN) or empty.
    TypeError
        If it is not a string (bytes included: decode them first).

    Examples
    --------
    >>> from mmlearn.io import check_text
    >>> check_text("a cat")
    'a cat'
    >>> check_text(None, index=4)
    Traceback (most recent call last):
    ...
    ValueError: sample 4: text is missing (None); inside a Modality missing texts are dropped before the extractor sees them.
    """
    where = _where(index)
    if isinstance(text, str):
        if not allow_empty and not text.strip():
            raise ValueError(f"{where}: text is empty{' (whitespace only)' if text else ''}.")
        return text
    if text is None or (isinstance(text, float) and np.isnan(text)):
        raise ValueError(
            f"{where}: text is missing ({text!r}); inside a Modality missing texts are "
            "dropped before the extractor sees them."
        )
    if isinstance(text, (bytes, bytearray)):
        raise TypeError(f"{where}: expected a str, got bytes; decode it first (e.g. .decode('utf-8')).")
    raise TypeError(f"{where}: expected a str, got {type(text).__name__} ({text!r:.40}).")
