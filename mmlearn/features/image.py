"""Image features: batched HOG descriptors and a learned convolutional embedding.

- :class:`HOGFeatures` is a stateless extractor: the Histogram of Oriented
  Gradients of every image, computed for a whole stack at once by
  :func:`mmlearn.features._kernels._hog.hog_batch` (NumPy or CuPy), equal to
  :func:`skimage.feature.hog` image by image.
- :class:`ConvEmbedding` is a fitted transformer: by default the single-layer
  network of Coates, Lee and Ng (2011), learned without labels (random
  patches, ZCA whitening, k-means filters, "triangle" activation, quadrant
  pooling). Pretrained torch / ONNX backbones are
  :class:`~mmlearn.features.PretrainedEmbedding` (``pretrained.py``).

Both take a sequence of images: 2-D gray or 3-D colour arrays, or file paths
read by :func:`mmlearn.io.load_image`.
"""

from __future__ import annotations

import numbers
import os
from types import ModuleType
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from ..backend import get_namespace, to_host
from ..io import _resolve_path, _where, _where_sample, load_image
from ._base import (
    _PROGRESS_MIN_SAMPLES,
    _as_sample_list,
    _BatchFeatureExtractor,
    _check_int,
    _extraction_progress,
    _load_each,
)
from ._kernels._conv import conv_triangle_features, normalize_patches
from ._kernels._hog import _HOG_BLOCK_NORMS, _hog_work_dtype, hog_batch

__all__ = ["HOGFeatures", "ConvEmbedding"]

# HOG on a CPU runs in chunks of about this many pixels: the work buffers
# then stay in cache (measured 1.9x faster than the whole batch at once).
_HOG_BLOCK_PIXELS = 1 << 16


def _check_pair(name: str, value: Any, *, allow_none: bool = False) -> tuple[int, int] | None:
    if value is None and allow_none:
        return None
    try:
        a, b = value
        ok = all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in (a, b)
        )
    except (TypeError, ValueError):
        ok = False
    if not ok:
        extra = " or None" if allow_none else ""
        raise ValueError(f"{name} must be a pair of positive integers{extra}, got {value!r}.")
    return int(a), int(b)


def _image_input_tags(input_tags: Any) -> None:
    """sklearn input tags of an image transformer (set in place).

    X is a sequence of images: a stack ``(n, H, W[, C])`` (3-D or 4-D), a
    list / Series of 2-D or 3-D arrays, or of file paths (strings). A 2-D
    numeric X is not tabular data here: each row would be one 1-D image, so
    sklearn's common checks, which all feed tabular X, do not apply.
    """
    input_tags.two_d_array = False
    input_tags.three_d_array = True
    input_tags.string = True


def _image_shape_hint(sample: Any, base_dir: Any = None) -> tuple[int, int] | None:
    """(height, width) of a sample without decoding it, or None if unknown."""
    if isinstance(sample, (str, os.PathLike)):
        try:
            from PIL import Image

            with Image.open(_resolve_path(sample, base_dir)) as im:
                return int(im.size[1]), int(im.size[0])
        except Exception:  # unreadable: load_image reports it, naming the sample
            return None
    shape = getattr(sample, "shape", None)
    if shape is None:
        try:
            shape = np.shape(sample)
        except Exception:
            return None
    if len(shape) not in (2, 3) or 0 in shape:  # not an image: load_image says why
        return None
    return int(shape[0]), int(shape[1])


def _unflatten(sample: Any, size: tuple[int, int] | None) -> Any:
    """A 1-D array of length h * w is a flattened (h, w) image when size=(h, w)."""
    if size is None or isinstance(sample, (str, os.PathLike)):
        return sample
    arr = np.asarray(sample) if isinstance(sample, (list, tuple, np.ndarray)) else None
    if arr is not None and arr.ndim == 1 and arr.dtype.kind in "biuf":
        if arr.size == size[0] * size[1]:
            return arr.reshape(size)
    return sample


class HOGFeatures(_BatchFeatureExtractor):
    """Histogram of Oriented Gradients of every image, batched on CPU or GPU.

    A stateless transformer: ``fit`` learns nothing, and each image's row is
    a pure function of that image, so rows can be memoised per sample
    (``memory``). The parameters mean what they mean in
    :func:`skimage.feature.hog`, and the rows equal skimage's descriptors
    (``feature_vector=True``) to about 1e-7.

    Parameters
    ----------
    orientations : int, default=9
        Number of orientation bins over [0, 180) degrees.
    pixels_per_cell : tuple of int (rows, cols), default=(8, 8)
        Size of a cell. Rows and columns past the last whole cell are
        ignored, as in skimage.
    cells_per_block : tuple of int (rows, cols), default=(3, 3)
        Number of cells in each normalisation block.
    block_norm : {"L1", "L1-sqrt", "L2", "L2-Hys"}, default="L2-Hys"
        Block normalisation, as in skimage (``eps = 1e-5``).
    transform_sqrt : bool, default=False
        Take the square root of the image first (power-law compression).
        Images with negative pixels are then an error.
    size : tuple of int (height, width), default=None
        Resize every image to this shape first, with
        :func:`skimage.transform.resize` (anti-aliased, value range kept).
        Without it all images must have the same shape. With it, a 1-D
        sample of length ``height * width`` is read as a flattened image
        (rows of :func:`sklearn.datasets.load_digits` or of MNIST as
        ``fetch_openml`` gives it).
    batch_size : int, default=512
        Images per kernel call.
    n_jobs : int, default=None
        Threads that load (decode, resize) images, and run batches, in
        parallel with :mod:`joblib`; None means 1.
    memory : None, FeatureMemo, joblib.Memory or str, default=None
        Per-sample feature memo: None (off), a
        :class:`~mmlearn.features.FeatureMemo` (shared by clones), or a
        ``joblib.Memory`` / directory for an on-disk memo.
    device : {"auto", "cpu", "cuda"}, default=None
        Where the kernel runs; None follows :func:`mmlearn.get_config`.
    base_dir : str or path-like, default=None
        Folder that relative image paths are resolved against (see
        :func:`mmlearn.io.load_image`), e.g. the folder of the CSV listing
        the files; None: the current directory. Like ``batch_size`` it does
        not change the features, so it does not change the memo's keys.

    Attributes
    ----------
    image_shape_ : tuple of int
        (height, width) of the images seen by ``fit`` (``size`` if set);
        used by :meth:`get_feature_names_out`.
    n_samples_seen_ : int
        Number of samples passed to ``fit``.

    See Also
    --------
    skimage.feature.hog : The reference implementation, one image at a time.
    ConvEmbedding : A learned convolutional embedding.
    PretrainedEmbedding : A pretrained torch / ONNX network's embedding.

    Notes
    -----
    **Colour.** A colour ``(H, W, 3)`` image is handled as skimage's ``hog``
    does with ``channel_axis=-1``: at every pixel the gradient of the channel
    with the largest gradient magnitude is used (Dalal and Triggs' rule). A
    gray image gives the same row as its three-channel copy, so gray and
    colour images can be mixed. RGBA, palette, CMYK and 16-bit files are
    converted by :func:`mmlearn.io.load_image` (alpha composited on white;
    16-bit values kept). Pixel values are used as they are (a uint8 image is
    not rescaled), as in skimage.

    **Agreement with skimage 0.26.** Same gradients (central differences,
    zero on the border, in float32 for float32 images as skimage), same bins
    (``rad2deg(arctan2) % 180`` against ``(180 / orientations) * i``, lower
    edge inclusive, float64; gradients within 1e-9 of an edge, such as the
    exact 60-degree ``(sqrt(3), 1)`` that ``transform_sqrt`` gives on 8-bit
    images, are binned with skimage's own formula), same colour channel
    (largest ``hypot``), same cell and block layout; see
    :func:`~mmlearn.features._kernels._hog.hog_batch` for the float rounding
    differences (below 1e-6 in every test).

    **Large values.** Rows are always finite. skimage's cell sums (float32)
    overflow for gradients above ~1e38 and give NaN; here an image whose
    largest absolute pixel value exceeds 2**40 is scaled by a power of two
    first, with ``eps`` scaled alike, which changes no block norm: the row
    is the one exact arithmetic gives, and equals skimage's wherever
    skimage's is finite.

    References
    ----------
    .. [1] Dalal, N. and Triggs, B. "Histograms of Oriented Gradients for
       Human Detection", CVPR 2005.

    Examples
    --------
    >>> import numpy as np
    >>> from mmlearn.features import HOGFeatures
    >>> images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    >>> hog = HOGFeatures(pixels_per_cell=(7, 7), cells_per_block=(2, 2))
    >>> X = hog.fit_transform(images)
    >>> X.shape, X.dtype
    ((5, 324), dtype('float32'))
    >>> hog.get_feature_names_out()[:3]
    array(['hog_0', 'hog_1', 'hog_2'], dtype=object)
    """

    # 2: skimage's exact bins near edges, colour channel by hypot, float32
    # gradients of float32 images, finite rows for huge pixels
    _memo_version = 2

    def __init__(
        self,
        *,
        orientations: int = 9,
        pixels_per_cell: tuple[int, int] = (8, 8),
        cells_per_block: tuple[int, int] = (3, 3),
        block_norm: str = "L2-Hys",
        transform_sqrt: bool = False,
        size: tuple[int, int] | None = None,
        batch_size: int = 512,
        n_jobs: int | None = None,
        memory: Any = None,
        device: str | None = None,
        base_dir: str | os.PathLike | None = None,
    ):
        self.orientations = orientations
        self.pixels_per_cell = pixels_per_cell
        self.cells_per_block = cells_per_block
        self.block_norm = block_norm
        self.transform_sqrt = transform_sqrt
        self.size = size
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.memory = memory
        self.device = device
        self.base_dir = base_dir

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        _image_input_tags(tags.input_tags)
        tags.input_tags.positive_only = bool(self.transform_sqrt)
        return tags

    # -- hooks of _BatchFeatureExtractor -----------------------------------
    def _check_params(self) -> None:
        _check_int("orientations", self.orientations, 1)
        _check_pair("pixels_per_cell", self.pixels_per_cell)
        _check_pair("cells_per_block", self.cells_per_block)
        _check_pair("size", self.size, allow_none=True)
        min_r, min_c = self._min_shape()
        if self.size is not None and (self.size[0] < min_r or self.size[1] < min_c):
            raise ValueError(
                f"size={tuple(self.size)} is too small for pixels_per_cell="
                f"{tuple(self.pixels_per_cell)} and cells_per_block={tuple(self.cells_per_block)}: "
                f"HOG needs images of at least {min_r} rows and {min_c} columns."
            )
        if self.block_norm not in _HOG_BLOCK_NORMS:
            raise ValueError(
                f"block_norm must be one of {_HOG_BLOCK_NORMS}, got {self.block_norm!r}."
            )
        if not isinstance(self.transform_sqrt, (bool, np.bool_)):
            raise ValueError(f"transform_sqrt must be a bool, got {self.transform_sqrt!r}.")

    def _min_shape(self) -> tuple[int, int]:
        cr, cc = self.pixels_per_cell
        br, bc = self.cells_per_block
        return br * cr, bc * cc

    def _load(self, sample: Any, index: int) -> np.ndarray:
        size = None if self.size is None else tuple(self.size)  # checked by _check_params
        if size is not None:
            sample = _unflatten(sample, size)
        elif isinstance(sample, (list, tuple, np.ndarray)) and np.ndim(sample) == 1:
            raise ValueError(
                f"{_where(index)}: expected a 2-D (H, W) or 3-D (H, W, C) image, got a 1-D "
                f"array of length {len(sample)}; for flattened images set size=(height, width)."
            )
        img = load_image(sample, size=size, index=index, base_dir=self.base_dir)
        min_r, min_c = self._min_shape()
        if img.shape[0] < min_r or img.shape[1] < min_c:
            raise ValueError(
                f"{_where_sample(index, sample, self.base_dir)}: image of shape {img.shape[:2]} is too small "
                f"for pixels_per_cell={tuple(self.pixels_per_cell)} and "
                f"cells_per_block={tuple(self.cells_per_block)}: it needs at least {min_r} rows "
                f"and {min_c} columns (set size=(height, width) to resize)."
            )
        if self.transform_sqrt and img.dtype.kind in "if" and img.min() < 0:
            raise ValueError(
                f"{_where_sample(index, sample, self.base_dir)}: transform_sqrt=True needs non-negative "
                f"pixels, but the image has values down to {img.min()}."
            )
        return img

    def _extract_batch(self, batch: list[np.ndarray], xp: ModuleType) -> Any:
        shapes = {img.shape[:2] for img in batch}
        if len(shapes) > 1:  # transform's check makes this unreachable for valid input
            raise ValueError(
                f"HOGFeatures needs images of one size, got shapes {sorted(shapes)}; "
                "set size=(height, width)."
            )
        # Each image's gradients are computed in its own float type (float32 for
        # float16/32, else float64, as skimage does): stacking float32 with float64
        # or uint8 images would compute some of them in the other type, and a row
        # would depend on its batch neighbours. One kernel call per type.
        work = [np.dtype(_hog_work_dtype(img.dtype)) for img in batch]
        if len(set(work)) > 1:
            out = None
            for dt in sorted(set(work), key=str):
                rows = [i for i, w in enumerate(work) if w == dt]
                part = self._extract_batch([batch[i] for i in rows], xp)
                if out is None:
                    out = xp.empty((len(batch), part.shape[1]), dtype=part.dtype)
                out[xp.asarray(rows)] = part
            return out
        if any(img.ndim == 3 for img in batch):
            # a gray image's HOG equals that of its 3-channel copy
            batch = [img if img.ndim == 3 else np.repeat(img[..., None], 3, axis=2)
                     for img in batch]
        stack = xp.asarray(np.stack(batch))
        return hog_batch(
            stack,
            xp=xp,
            orientations=self.orientations,
            pixels_per_cell=tuple(self.pixels_per_cell),
            cells_per_block=tuple(self.cells_per_block),
            block_norm=self.block_norm,
            transform_sqrt=bool(self.transform_sqrt),
            block_pixels=_HOG_BLOCK_PIXELS if xp is np else None,
        )

    # -- public API ---------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> "HOGFeatures":
        """Check the parameters and note the image shape; learn nothing.

        Parameters
        ----------
        X : sequence of images
            As accepted by :meth:`transform`.
        y : None
            Ignored.

        Returns
        -------
        self : HOGFeatures
            The extractor.
        """
        super().fit(X, y)
        if self.size is not None:
            self.image_shape_ = tuple(int(v) for v in self.size)
        else:
            samples = _as_sample_list(X, type(self).__name__)
            self._check_one_shape(samples, self.base_dir)
            self.image_shape_ = tuple(self._load(samples[0], 0).shape[:2])
        return self

    def transform(self, X: Any) -> np.ndarray:
        """HOG descriptor of every image.

        Parameters
        ----------
        X : sequence of images
            A list, 1-D object array, pandas Series or one-column DataFrame
            of 2-D / 3-D arrays or image file paths, or an array stack of
            shape ``(n_images, H, W)`` or ``(n_images, H, W, C)``.

        Returns
        -------
        features : ndarray of shape (n_images, n_features_out), float32
            One skimage-ordered HOG descriptor per row.

        Raises
        ------
        ValueError
            If images of different shapes are given without ``size`` (the
            message names the first sample that differs), or an image is
            empty, too small, 1-D, 4-D or has NaN pixels, or a file cannot
            be decoded (the message names the sample).
        """
        if self.size is None:
            self._check_one_shape(_as_sample_list(X, type(self).__name__), self.base_dir)
        return super().transform(X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names ``hog_0``, ``hog_1``, ... of the output features.

        Parameters
        ----------
        input_features : None
            Ignored.

        Returns
        -------
        names : ndarray of str objects
            Needs ``size`` or a fitted extractor, so that the image shape,
            and hence the number of features, is known.
        """
        if self.size is not None:
            h, w = _check_pair("size", self.size)
        elif hasattr(self, "image_shape_"):
            h, w = self.image_shape_
        else:
            raise ValueError(
                "HOGFeatures.get_feature_names_out needs the image shape: set size=(height, "
                "width) or call fit first."
            )
        return np.asarray([f"hog_{i}" for i in range(self._n_features(h, w))], dtype=object)

    # -- helpers --------------------------------------------------------------
    def _n_features(self, h: int, w: int) -> int:
        cr, cc = self.pixels_per_cell
        br, bc = self.cells_per_block
        nbr, nbc = h // cr - br + 1, w // cc - bc + 1
        return max(nbr, 0) * max(nbc, 0) * br * bc * int(self.orientations)

    @staticmethod
    def _check_one_shape(samples: list, base_dir: Any = None) -> None:
        """Without ``size``, every image must have the first one's shape."""
        first = None
        for i, s in enumerate(samples):
            shape = _image_shape_hint(s, base_dir)
            if shape is None:
                continue
            if first is None:
                first = (i, shape)
            elif shape != first[1]:
                where = _where_sample(i, s, base_dir)
                raise ValueError(
                    f"{where}: image of shape {shape} differs from sample {first[0]} of shape "
                    f"{first[1]}; HOGFeatures needs images of one size: set "
                    "size=(height, width) to resize them."
                )


# ------------------------------------------------------------------- ConvEmbedding
# Random patches drawn per filter to learn the filters, capped overall
# (Coates et al. use 400k patches for 1600 filters, 250 per filter; mini-batch
# k-means gains from a few more: +0.5 % MNIST accuracy from 256 to 512).
_PATCHES_PER_FILTER = 400
_MAX_PATCHES = 200_000
_KMEANS_BATCH = 4096
# Per-patch contrast normalisation adds this to the variance: the paper's 10
# for pixel values in [0, 255], rescaled to images in [0, 1].
_NORM_EPS = 10.0 / 255.0**2
# ZCA whitening regulariser on the eigenvalues of the normalised patches
# (0.1 in the authors' code).
_ZCA_EPS = 0.1
_POOLINGS = ("quadrant", "global")
# Activations per CPU chunk of the convolution (float32: 2 MiB).
_CONV_CPU_CHUNK = 1 << 19
# Float images are expected in [0, 1]; far beyond, float32 patch variances
# overflow (~1e19) long before anything meaningful happens, so say so.
_MAX_UNIT_FLOAT = 1e15


def _to_unit_float(img: np.ndarray) -> np.ndarray:
    """Integer images scaled to [0, 1] by their dtype's maximum; floats kept."""
    if img.dtype.kind in "iu":
        return img.astype(np.float32) / np.float32(np.iinfo(img.dtype).max)
    return img.astype(np.float32, copy=False)


def _load_unit_image(sample: Any, index: int, *, n_channels: int | None,
                     size: tuple[int, int] | None, base_dir: Any = None) -> np.ndarray:
    """One image as float32 in [0, 1] with ``n_channels`` channels, resized to ``size``.

    Shared by :class:`ConvEmbedding` and
    :class:`~mmlearn.features.PretrainedEmbedding`. A float image with
    values beyond ``±_MAX_UNIT_FLOAT`` is an error naming the sample.
    """
    sample = _unflatten(sample, size)
    img = load_image(sample, index=index, base_dir=base_dir)
    if img.dtype.kind == "f":
        top = float(np.max(np.abs(img)))
        if top > _MAX_UNIT_FLOAT:
            raise ValueError(
                f"{_where_sample(index, sample, base_dir)}: float pixel values up to {top:.3g}; "
                "float images are expected in [0, 1] (integer images are scaled by their "
                f"dtype's maximum), and values beyond {_MAX_UNIT_FLOAT:.0e} overflow the "
                "float32 computation: rescale the image."
            )
    img = _to_unit_float(img)
    if n_channels == 1 and img.ndim == 3:
        from skimage.color import rgb2gray

        img = rgb2gray(img).astype(np.float32)
    elif n_channels == 3 and img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if size is not None and img.shape[:2] != size:
        from skimage.transform import resize

        img = resize(img, size + img.shape[2:], preserve_range=True,
                     anti_aliasing=True).astype(np.float32)
    return img


def _embed_by_shape(images: list[np.ndarray], n_features: int, batch_size: int,
                    embed: Any, *, desc: str,
                    min_samples: int = _PROGRESS_MIN_SAMPLES) -> np.ndarray:
    """Rows of ``embed(batch, indices)`` over batches of same-shaped images.

    A bar labelled ``desc`` counts the batches (see ``_extraction_progress``
    for when one is shown).
    """
    out = np.empty((len(images), n_features), dtype=np.float32)
    groups: dict[tuple, list[int]] = {}
    for i, img in enumerate(images):
        groups.setdefault(img.shape, []).append(i)
    n_batches = sum(-(-len(idx) // batch_size) for idx in groups.values())
    with _extraction_progress(n_batches, len(images), desc, min_samples=min_samples) as advance:
        for idx in groups.values():
            for k in range(0, len(idx), batch_size):
                part = idx[k:k + batch_size]
                out[part] = embed([images[i] for i in part], part)
                advance(1)
    return out


class ConvEmbedding(TransformerMixin, BaseEstimator):
    """Learned convolutional embedding of images (Coates, Lee and Ng, 2011).

    The single-layer network of Coates, Lee and Ng, learned without labels:
    ``fit`` draws random ``patch_size`` x ``patch_size`` patches, normalises
    each patch's brightness and contrast, ZCA-whitens them and learns
    ``n_filters`` filters with mini-batch k-means; ``transform`` convolves
    every image with the filters (im2col and one matrix product per batch,
    on CPU or GPU), applies the "triangle" activation
    ``max(0, mean(z) - z_k)`` of the distances ``z`` to the filters and
    sum-pools over the four quadrants, giving ``4 * n_filters`` features.

    For a pretrained torch or ONNX network use
    :class:`~mmlearn.features.PretrainedEmbedding`.

    Parameters
    ----------
    n_filters : int, default=256
        Number of k-means filters.
    patch_size : int, default=6
        Side of the square receptive field, in pixels.
    stride : int, default=1
        Step between patches when convolving.
    pooling : {"quadrant", "global"}, default="quadrant"
        Sum the activations over the four quadrants of the response map
        (``4 * n_filters`` features) or over the whole map (``n_filters``).
    whiten : bool, default=True
        ZCA-whiten the patches (eigenvalue regulariser 0.1).
    input_size : tuple of int (height, width), default=None
        Resize every image to this shape (anti-aliased) first. With it, a
        1-D sample of length ``height * width`` is read as a flattened gray
        image.
    batch_size : int, default=256
        Images per matrix product.
    random_state : int, RandomState instance or None, default=None
        Seeds the patch sampling and k-means; fix it for identical filters.
    device : {"auto", "cpu", "cuda"}, default=None
        Where the convolution runs (CuPy for CUDA); None follows
        :func:`mmlearn.get_config`.
    base_dir : str or path-like, default=None
        Folder that relative image paths are resolved against (see
        :func:`mmlearn.io.load_image`); None: the current directory. It
        does not change the features.

    Attributes
    ----------
    filters_ : ndarray of shape (n_filters, patch_size**2 * `n_channels_`)
        The k-means centroids in whitened patch space.
    whitening_mean_ : ndarray of shape (n_dims,) or None
        Mean of the normalised training patches.
    whitening_ : ndarray of shape (n_dims, n_dims) or None
        The ZCA matrix (``whiten=True``).
    n_channels_ : int
        Channels the embedding is computed on (1 gray, 3 colour).
    n_features_out_ : int
        Length of the embedding.

    See Also
    --------
    HOGFeatures : Hand-designed gradient histograms.
    PretrainedEmbedding : A pretrained torch / ONNX network's embedding.

    Notes
    -----
    **Input.** Integer images are scaled to [0, 1] by their dtype's maximum
    (uint8 by 255, uint16 by 65535); float images are taken to be in [0, 1]
    (values beyond ±1e15, which would overflow the float32 patch
    statistics, are an error naming the sample). RGBA, palette, CMYK and
    16-bit files are converted by :func:`mmlearn.io.load_image`. A model
    fitted on gray images converts colour ones with
    :func:`skimage.color.rgb2gray`; a model fitted on colour (any colour
    image in ``fit``) replicates gray images to three channels.

    **Learning.** ``fit`` draws ``400 * n_filters`` patches (at most
    200,000), uniformly over images and positions. Each patch ``x`` becomes
    ``(x - mean(x)) / sqrt(var(x) + 10 / 255**2)`` (the paper's 10, for pixel
    values in [0, 255], rescaled). Filters are
    :class:`sklearn.cluster.MiniBatchKMeans` centroids (3 initialisations,
    batches of 4096). ``transform`` on the CPU runs the products on one BLAS
    thread in chunks of 2**19 activations: for these small, skinny products
    thread wake-ups cost more than a second core gives (measured several
    times slower with two threads on a 2-core machine); k-means in ``fit``
    is limited to one thread for the same reason.

    Images of any size at least ``patch_size`` give the same number of
    features; the quadrants split the response map in half, the first half
    taking the middle row or column when it is odd. Scale the features
    (e.g. :class:`~sklearn.preprocessing.StandardScaler`) before a linear
    classifier, as the paper does.

    References
    ----------
    .. [1] Coates, A., Lee, H. and Ng, A. Y. "An Analysis of Single-Layer
       Networks in Unsupervised Feature Learning", AISTATS 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from mmlearn.features import ConvEmbedding
    >>> images = np.random.default_rng(0).integers(0, 256, (20, 16, 16), dtype=np.uint8)
    >>> emb = ConvEmbedding(n_filters=8, patch_size=4, random_state=0).fit(images)
    >>> emb.transform(images).shape
    (20, 32)
    >>> emb.get_feature_names_out()[:2]
    array(['conv_0', 'conv_1'], dtype=object)
    """

    def __init__(
        self,
        *,
        n_filters: int = 256,
        patch_size: int = 6,
        stride: int = 1,
        pooling: str = "quadrant",
        whiten: bool = True,
        input_size: tuple[int, int] | None = None,
        batch_size: int = 256,
        random_state: Any = None,
        device: str | None = None,
        base_dir: str | os.PathLike | None = None,
    ):
        self.n_filters = n_filters
        self.patch_size = patch_size
        self.stride = stride
        self.pooling = pooling
        self.whiten = whiten
        self.input_size = input_size
        self.batch_size = batch_size
        self.random_state = random_state
        self.device = device
        self.base_dir = base_dir

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        _image_input_tags(tags.input_tags)
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    # -- parameters -------------------------------------------------------------
    def _check_params(self) -> None:
        _check_int("batch_size", self.batch_size, 1)
        size = _check_pair("input_size", self.input_size, allow_none=True)
        _check_int("n_filters", self.n_filters, 1)
        _check_int("patch_size", self.patch_size, 1)
        _check_int("stride", self.stride, 1)
        if size is not None and min(size) < self.patch_size:
            raise ValueError(
                f"input_size={tuple(size)} is smaller than patch_size={self.patch_size}: "
                "no patch fits in the resized images."
            )
        if self.pooling not in _POOLINGS:
            raise ValueError(f"pooling must be one of {_POOLINGS}, got {self.pooling!r}.")
        if not isinstance(self.whiten, (bool, np.bool_)):
            raise ValueError(f"whiten must be a bool, got {self.whiten!r}.")

    # -- loading ----------------------------------------------------------------
    def _load(self, sample: Any, index: int, n_channels: int | None) -> np.ndarray:
        """One image as float32 in [0, 1], with n_channels channels, resized."""
        size = _check_pair("input_size", self.input_size, allow_none=True)
        img = _load_unit_image(sample, index, n_channels=n_channels, size=size,
                               base_dir=self.base_dir)
        if min(img.shape[:2]) < self.patch_size:
            raise ValueError(
                f"{_where_sample(index, sample, self.base_dir)}: image of shape {img.shape[:2]} is smaller "
                f"than patch_size={self.patch_size}."
            )
        return img

    def _load_all(self, samples: list, n_channels: int | None) -> list[np.ndarray]:
        return _load_each(lambda s, i: self._load(s, i, n_channels), samples,
                          "ConvEmbedding loading")

    # -- fit ----------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> "ConvEmbedding":
        """Learn the filters from random patches of the images.

        Parameters
        ----------
        X : sequence of images
            As accepted by :meth:`transform`.
        y : None
            Ignored.

        Returns
        -------
        self : ConvEmbedding
            The fitted transformer.
        """
        from sklearn.cluster import MiniBatchKMeans

        self._check_params()
        samples = _as_sample_list(X, type(self).__name__)
        if not samples:
            raise ValueError("ConvEmbedding got 0 samples; at least 1 is required.")
        images = self._load_all(samples, None)
        n_channels = 3 if any(img.ndim == 3 for img in images) else 1
        if n_channels == 3:
            images = [img if img.ndim == 3 else np.repeat(img[..., None], 3, axis=2)
                      for img in images]
        p = int(self.patch_size)
        rng = check_random_state(self.random_state)
        n_filters = int(self.n_filters)
        # patch origins: uniform over all (image, row, col) positions
        counts = np.array([(im.shape[0] - p + 1) * (im.shape[1] - p + 1) for im in images])
        n_patches = int(min(_MAX_PATCHES, max(_PATCHES_PER_FILTER * n_filters, 10 * n_filters),
                            counts.sum()))
        if n_patches < n_filters:
            raise ValueError(
                f"ConvEmbedding needs at least n_filters={n_filters} patches, but the "
                f"{len(images)} image(s) have only {int(counts.sum())} patch positions; "
                "use fewer filters or more images."
            )
        flat = np.sort(rng.choice(int(counts.sum()), size=n_patches, replace=False))
        which = np.searchsorted(np.cumsum(counts), flat, side="right")
        offset = flat - np.concatenate([[0], np.cumsum(counts)[:-1]])[which]
        patches = np.empty((n_patches, p * p * n_channels), dtype=np.float64)
        for j, (i, o) in enumerate(zip(which, offset)):
            w = images[i].shape[1] - p + 1
            r, c = divmod(int(o), w)
            patches[j] = images[i][r:r + p, c:c + p].reshape(-1)
        normalize_patches(patches, xp=np, eps=_NORM_EPS)
        if self.whiten:
            mean = patches.mean(axis=0)
            patches -= mean
            cov = patches.T @ patches / max(n_patches - 1, 1)
            evals, evecs = np.linalg.eigh(cov)
            zca = (evecs / np.sqrt(np.maximum(evals, 0) + _ZCA_EPS)) @ evecs.T
            patches = patches @ zca
            self.whitening_mean_ = mean.astype(np.float32)
            self.whitening_ = zca.astype(np.float32)
        else:
            self.whitening_mean_ = None
            self.whitening_ = None
        km = MiniBatchKMeans(
            n_clusters=n_filters,
            n_init=3,
            batch_size=_KMEANS_BATCH,
            random_state=rng.randint(np.iinfo(np.int32).max),
        )
        # small problem: thread wake-ups cost more than the second core gives
        with threadpool_limits(1):
            km.fit(patches.astype(np.float32))
        self.filters_ = km.cluster_centers_.astype(np.float32)
        self.n_channels_ = n_channels
        self.n_features_out_ = n_filters * (4 if self.pooling == "quadrant" else 1)

        return self

    # -- transform ----------------------------------------------------------------
    def transform(self, X: Any) -> np.ndarray:
        """Embed every image.

        Parameters
        ----------
        X : sequence of images
            A list, 1-D object array, pandas Series or one-column DataFrame
            of 2-D / 3-D arrays or image file paths, or an array stack of
            shape ``(n_images, H, W)`` or ``(n_images, H, W, C)``.

        Returns
        -------
        features : ndarray of shape (n_images, n_features_out_), float32
        """
        check_is_fitted(self, "n_features_out_")
        self._check_params()
        samples = _as_sample_list(X, type(self).__name__)
        if not samples:
            raise ValueError("ConvEmbedding got 0 samples; at least 1 is required.")
        images = self._load_all(samples, self.n_channels_)
        return _embed_by_shape(images, self.n_features_out_, int(self.batch_size),
                               lambda batch, indices: self._embed(batch),
                               desc="ConvEmbedding batches")

    def _embed(self, batch: list[np.ndarray]) -> np.ndarray:
        stack = np.stack(batch)
        xp = get_namespace(self.device)
        white = self.whitening_ is not None
        kwargs = dict(
            xp=xp,
            centroids=xp.asarray(self.filters_),
            whitening_mean=xp.asarray(self.whitening_mean_) if white else None,
            whitening=xp.asarray(self.whitening_) if white else None,
            patch_size=int(self.patch_size),
            stride=int(self.stride),
            pooling=self.pooling,
            norm_eps=_NORM_EPS,
        )
        if xp is not np:
            return to_host(conv_triangle_features(xp.asarray(stack), **kwargs))
        # The products are small and skinny: one BLAS thread is several
        # times faster than two here (thread wake-ups), and the chunks
        # stay in cache.
        with threadpool_limits(1, user_api="blas"):
            return conv_triangle_features(stack, max_elements=_CONV_CPU_CHUNK, **kwargs)

    # -- names ------------------------------------------------------------------
    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names ``conv_0``, ``conv_1``, ... of the output features.

        With quadrant pooling, feature ``q * n_filters + k`` is filter ``k``
        pooled over quadrant ``q`` (top-left, top-right, bottom-left,
        bottom-right).

        Parameters
        ----------
        input_features : None
            Ignored.

        Returns
        -------
        names : ndarray of str objects
        """
        check_is_fitted(self, "n_features_out_")
        return np.asarray([f"conv_{i}" for i in range(self.n_features_out_)], dtype=object)
