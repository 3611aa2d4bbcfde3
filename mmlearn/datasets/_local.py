"""Loaders for the full local copies of FSDD, MNIST and 20 Newsgroups."""

from __future__ import annotations

import gzip
import os
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

__all__ = ["load_fsdd", "load_mnist", "load_20newsgroups"]

FSDD_SR = 8000


def _find(data_dir: str | os.PathLike, name: str, marker: str, what: str) -> Path:
    """Return the dataset folder: ``data_dir`` itself or ``data_dir/name``."""
    base = Path(data_dir)
    for cand in (base, base / name):
        if (cand / marker).exists():
            return cand
    raise FileNotFoundError(
        f"{what} not found: neither {base / marker} nor {base / name / marker} exists. "
        f"Pass the folder that holds {marker!r} (or its parent holding {name}/)."
    )


def load_fsdd(data_dir: str | os.PathLike, *, return_X_y: bool = False):
    """Load the Free Spoken Digit Dataset (3,000 recordings, 8 kHz) from a local copy.

    Parameters
    ----------
    data_dir : str or path-like
        The ``fsdd`` folder (with ``metadata.csv`` and ``recordings/``) or
        its parent.
    return_X_y : bool, default=False
        Return ``(audio, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``frame`` (DataFrame with columns ``audio`` (float32 1-D arrays),
        ``target``, ``speaker``, ``index``, ``split``, ``path``), ``audio``,
        ``target``, ``sr`` (8000) and ``DESCR``. The ``split`` column is the
        official one: recording index 0-4 is "test".
    (audio, target) : tuple if ``return_X_y`` is True

    Notes
    -----
    Zohar Jackson et al., "Free Spoken Digit Dataset", CC BY-SA 4.0.

    Examples
    --------
    >>> from mmlearn.datasets import load_fsdd
    >>> load_fsdd("/nonexistent")
    Traceback (most recent call last):
    ...
    FileNotFoundError: FSDD not found: ...
    """
    import soundfile as sf

    root = _find(data_dir, "fsdd", "metadata.csv", "FSDD")
    meta = pd.read_csv(root / "metadata.csv")
    audio = []
    for path in meta["path"]:
        full = root / path
        if not full.exists():
            raise FileNotFoundError(f"FSDD recording listed in metadata.csv is missing: {full}")
        audio.append(sf.read(full, dtype="float32")[0])
    frame = pd.DataFrame(
        {
            "audio": pd.Series(audio, dtype=object),
            "target": meta["label"].to_numpy(),
            "speaker": meta["speaker"].to_numpy(),
            "index": meta["index"].to_numpy(),
            "split": np.where(meta["index"].to_numpy() < 5, "test", "train"),
            "path": [str(root / p) for p in meta["path"]],
        }
    )
    if return_X_y:
        return frame["audio"], frame["target"].to_numpy()
    return Bunch(
        frame=frame,
        audio=frame["audio"],
        target=frame["target"].to_numpy(),
        sr=FSDD_SR,
        DESCR="Free Spoken Digit Dataset: 3,000 recordings of digits 0-9 by 6 speakers, 8 kHz.",
    )


def _read_idx(path: Path, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        return np.frombuffer(fh.read(), dtype=np.uint8, offset=offset)


def load_mnist(data_dir: str | os.PathLike, *, return_X_y: bool = False):
    """Load the MNIST test set (10,000 images, 28x28 uint8) from a local copy.

    Parameters
    ----------
    data_dir : str or path-like
        The ``mnist`` folder (with ``t10k-images-idx3-ubyte.gz`` and
        ``t10k-labels-idx1-ubyte.gz``) or its parent.
    return_X_y : bool, default=False
        Return ``(images, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``images`` (ndarray (10000, 28, 28) uint8), ``target``, ``frame``
        (DataFrame with an ``image`` column of 28x28 arrays and ``target``)
        and ``DESCR``.
    (images, target) : tuple if ``return_X_y`` is True

    Notes
    -----
    Y. LeCun, C. Cortes and C. J. C. Burges, "The MNIST database of
    handwritten digits", CC BY-SA 3.0. Only the test set is available
    locally.

    Examples
    --------
    >>> from mmlearn.datasets import load_mnist
    >>> load_mnist("/nonexistent")
    Traceback (most recent call last):
    ...
    FileNotFoundError: MNIST not found: ...
    """
    root = _find(data_dir, "mnist", "t10k-images-idx3-ubyte.gz", "MNIST")
    labels_path = root / "t10k-labels-idx1-ubyte.gz"
    if not labels_path.exists():
        raise FileNotFoundError(f"MNIST labels missing: {labels_path}")
    images = _read_idx(root / "t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    target = _read_idx(labels_path, 8).astype(np.int64)
    if len(images) != len(target):
        raise ValueError(f"MNIST files disagree: {len(images)} images but {len(target)} labels.")
    if return_X_y:
        return images, target
    frame = pd.DataFrame({"image": pd.Series(list(images), dtype=object), "target": target})
    return Bunch(
        images=images,
        target=target,
        frame=frame,
        DESCR="MNIST test set: 10,000 handwritten digits, 28x28 uint8.",
    )


def load_20newsgroups(data_dir: str | os.PathLike, *, subset: str = "train", return_X_y: bool = False):
    """Load 20 Newsgroups "bydate" (raw messages, latin-1) from a local copy.

    Parameters
    ----------
    data_dir : str or path-like
        The ``20news-bydate`` folder (with ``20news-bydate.tar.gz``) or its
        parent.
    subset : {"train", "test", "all"}, default="train"
        Which part of the bydate split.
    return_X_y : bool, default=False
        Return ``(texts, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (list of str), ``target`` (int codes), ``target_names``,
        ``frame`` (DataFrame with ``text``, ``target``, ``split``) and
        ``DESCR``. Messages are kept whole (headers included), as
        :func:`sklearn.datasets.fetch_20newsgroups` does by default.
    (texts, target) : tuple if ``return_X_y`` is True

    Notes
    -----
    K. Lang, "NewsWeeder: Learning to filter netnews", ICML 1995.

    Examples
    --------
    >>> from mmlearn.datasets import load_20newsgroups
    >>> load_20newsgroups("/nonexistent")
    Traceback (most recent call last):
    ...
    FileNotFoundError: 20 Newsgroups not found: ...
    """
    if subset not in ("train", "test", "all"):
        raise ValueError(f"subset must be 'train', 'test' or 'all', got {subset!r}.")
    root = _find(data_dir, "20news-bydate", "20news-bydate.tar.gz", "20 Newsgroups")
    texts, labels, splits = [], [], []
    with tarfile.open(root / "20news-bydate.tar.gz") as tar:
        for member in tar:
            if not member.isfile():
                continue
            parts = member.name.split("/")
            if len(parts) != 3:
                continue
            split = parts[0].rsplit("-", 1)[-1]
            if subset != "all" and split != subset:
                continue
            texts.append(tar.extractfile(member).read().decode("latin-1"))
            labels.append(parts[1])
            splits.append(split)
    if not texts:
        raise FileNotFoundError(f"no {subset!r} messages found in {root / '20news-bydate.tar.gz'}")
    target_names = sorted(set(labels))
    target = np.searchsorted(target_names, labels)
    if return_X_y:
        return texts, target
    frame = pd.DataFrame({"text": texts, "target": target, "split": splits})
    return Bunch(
        data=texts,
        target=target,
        target_names=target_names,
        frame=frame,
        DESCR="20 Newsgroups (bydate): Usenet posts in 20 newsgroups.",
    )
