"""AV digits: spoken digits (FSDD) paired with handwritten digits (MNIST)."""

from __future__ import annotations

import io
import os
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ._local import FSDD_SR, load_fsdd, load_mnist

__all__ = ["load_av_digits", "pair_av_digits"]

PAIRING_SEED = 0
# The embedded copy keeps recordings with index < 40 (all 300 official test
# recordings and 2,100 of the 2,700 train ones) to stay under ~10 MB.
EMBEDDED_MAX_INDEX = 40
_AUDIO_FILE = "av_digits_audio.flac"
_META_FILE = "av_digits.npz"

_ATTRIBUTION = """\
Audio: Free Spoken Digit Dataset, Zohar Jackson et al.
(github.com/Jakobovski/free-spoken-digit-dataset), CC BY-SA 4.0.
Images: MNIST, Yann LeCun, Corinna Cortes and Christopher J. C. Burges,
CC BY-SA 3.0. The pairing and subset are ours and shared under the same
terms (CC BY-SA 4.0)."""


def pair_av_digits(fsdd_target: np.ndarray, mnist_target: np.ndarray, *, seed: int = PAIRING_SEED) -> np.ndarray:
    """Pair each recording with a distinct MNIST image of the same digit.

    For each digit, the MNIST images of that digit are shuffled with
    ``seed`` and handed out in order to the recordings of that digit (in
    their given order), so no image is used twice: train and test rows never
    share an image.

    Parameters
    ----------
    fsdd_target : ndarray of shape (n_recordings,)
        Digit of each recording.
    mnist_target : ndarray of shape (n_images,)
        Digit of each image.
    seed : int, default=0
        Seed of the per-digit shuffles.

    Returns
    -------
    image_index : ndarray of shape (n_recordings,)
        Index into the MNIST images for each recording.

    Examples
    --------
    >>> import numpy as np
    >>> from mmlearn.datasets import pair_av_digits
    >>> idx = pair_av_digits(np.array([0, 1, 0]), np.array([1, 0, 0, 1, 0]))
    >>> np.array([1, 0, 0, 1, 0])[idx].tolist()
    [0, 1, 0]
    """
    fsdd_target = np.asarray(fsdd_target)
    mnist_target = np.asarray(mnist_target)
    out = np.empty(len(fsdd_target), dtype=np.int64)
    for digit in np.unique(fsdd_target):
        rows = np.flatnonzero(fsdd_target == digit)
        pool = np.flatnonzero(mnist_target == digit)
        if len(pool) < len(rows):
            raise ValueError(
                f"digit {digit}: {len(rows)} recordings but only {len(pool)} images to pair them with."
            )
        rng = np.random.default_rng([seed, int(digit)])
        out[rows] = pool[rng.permutation(len(pool))[: len(rows)]]
    return out


def _full_frame(data_dir: str | os.PathLike) -> pd.DataFrame:
    base = Path(data_dir)
    fsdd = load_fsdd(base)
    images, mnist_target = load_mnist(base, return_X_y=True)
    frame = fsdd.frame
    idx = pair_av_digits(frame["target"].to_numpy(), mnist_target)
    return pd.DataFrame(
        {
            "audio": frame["audio"],
            "image": pd.Series(list(images[idx]), dtype=object),
            "target": frame["target"].to_numpy(),
            "split": frame["split"].to_numpy(),
            "speaker": frame["speaker"].to_numpy(),
            "index": frame["index"].to_numpy(),
            "mnist_index": idx,
        }
    )


def _embedded_frame() -> pd.DataFrame:
    import soundfile as sf

    pkg = resources.files("mmlearn.datasets") / "data"
    with resources.as_file(pkg / _META_FILE) as p, np.load(p, allow_pickle=False) as z:
        meta = {k: z[k] for k in z.files}
    with resources.as_file(pkg / _AUDIO_FILE) as p:
        pcm, sr = sf.read(p, dtype="float32")
    if sr != FSDD_SR:
        raise ValueError(f"embedded audio has rate {sr}, expected {FSDD_SR}")
    bounds = meta["offsets"]
    audio = [pcm[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]
    speakers = meta["speaker_names"][meta["speaker"]]
    return pd.DataFrame(
        {
            "audio": pd.Series(audio, dtype=object),
            "image": pd.Series(list(meta["images"]), dtype=object),
            "target": meta["target"].astype(np.int64),
            "split": np.where(meta["index"] < 5, "test", "train"),
            "speaker": speakers,
            "index": meta["index"].astype(np.int64),
            "mnist_index": meta["mnist_index"].astype(np.int64),
        }
    )


def _build_embedded(data_dir: str | os.PathLike, out_dir: str | os.PathLike) -> None:
    """Write the embedded files from the local FSDD and MNIST copies (maintainers)."""
    import soundfile as sf

    frame = _full_frame(data_dir)
    frame = frame[frame["index"] < EMBEDDED_MAX_INDEX].reset_index(drop=True)
    pcm = [np.round(a * 32768.0).astype(np.int16) for a in frame["audio"]]
    offsets = np.concatenate([[0], np.cumsum([len(a) for a in pcm])]).astype(np.int64)
    out = Path(out_dir)
    sf.write(out / _AUDIO_FILE, np.concatenate(pcm), FSDD_SR, format="FLAC", subtype="PCM_16", compression_level=1.0)
    names, codes = np.unique(frame["speaker"].to_numpy(), return_inverse=True)
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        offsets=offsets,
        images=np.stack(frame["image"].to_list()).astype(np.uint8),
        target=frame["target"].to_numpy().astype(np.uint8),
        index=frame["index"].to_numpy().astype(np.uint8),
        speaker=codes.astype(np.uint8),
        speaker_names=names.astype(str),
        mnist_index=frame["mnist_index"].to_numpy().astype(np.int32),
    )
    (out / _META_FILE).write_bytes(buf.getvalue())


def load_av_digits(*, return_X_y: bool = False, data_dir: str | os.PathLike | None = None):
    """Load AV digits: spoken digits paired with handwritten digits of the same class.

    Each row pairs a Free Spoken Digit Dataset recording with an MNIST test
    image of the same digit, as the AV-MNIST benchmark does (deterministic,
    see :func:`pair_av_digits`; no image is used twice). The package embeds
    the recordings with index 0-39: 2,400 rows, 300 of them in the official
    test split. With ``data_dir``, all 3,000 recordings are paired from the
    local copies instead (2,700 train / 300 test), the embedded rows being
    exactly the full set's rows with index < 40.

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(X, y)``: ``X`` the DataFrame of the ``audio`` and ``image``
        columns, ``y`` the digits.
    data_dir : str or path-like, default=None
        A folder holding ``fsdd/`` and ``mnist/`` (such as ``../shared/data``)
        to build the full set; None loads the embedded one.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``frame``: DataFrame with columns ``audio`` (float32 1-D arrays at
        8 kHz), ``image`` (28x28 uint8 arrays), ``target`` (digit 0-9),
        ``split`` ("train" / "test": FSDD's official split, recording index
        0-4 is test), and ``speaker``, ``index``, ``mnist_index`` for
        provenance; ``data`` (the ``audio`` and ``image`` columns),
        ``target``, ``feature_names``, ``sr`` (8000), ``DESCR``.
    (X, y) : tuple if ``return_X_y`` is True

    Notes
    -----
    Audio: Free Spoken Digit Dataset, Zohar Jackson et al.
    (github.com/Jakobovski/free-spoken-digit-dataset), licensed CC BY-SA 4.0.
    Images: the MNIST database of handwritten digits, Yann LeCun, Corinna
    Cortes and Christopher J. C. Burges, licensed CC BY-SA 3.0. The pairing
    and subset are shared under CC BY-SA 4.0; the attributions also lie
    beside the data files (``mmlearn/datasets/data/README.md``).

    References
    ----------
    .. [1] V. Vielzeuf, A. Lechervy, S. Pateux and F. Jurie, "CentralNet: a
       multilayer approach for multimodal fusion", ECCV Workshops 2018
       (the AV-MNIST pairing).

    Examples
    --------
    >>> from mmlearn.datasets import load_av_digits
    >>> data = load_av_digits()
    >>> data.frame.shape[0], sorted(data.frame["split"].unique())
    (2400, ['test', 'train'])
    >>> data.frame["image"][0].shape, data.frame["audio"][0].dtype
    ((28, 28), dtype('float32'))
    """
    frame = _embedded_frame() if data_dir is None else _full_frame(data_dir)
    X = frame[["audio", "image"]]
    y = frame["target"].to_numpy()
    if return_X_y:
        return X, y
    return Bunch(
        frame=frame,
        data=X,
        target=y,
        feature_names=["audio", "image"],
        sr=FSDD_SR,
        DESCR="AV digits: FSDD spoken digits paired with MNIST images of the same digit.\n\n"
        + _ATTRIBUTION,
    )
