"""Batched single-layer convolutional features (Coates, Lee and Ng, 2011)."""

from __future__ import annotations

from types import ModuleType
from typing import Any


from ._windows import _windows_2d


def image_patches(images: Any, *, xp: ModuleType, patch_size: int, stride: int = 1) -> Any:
    """All ``patch_size`` x ``patch_size`` patches of a stack of images (im2col).

    Parameters
    ----------
    images : array, shape (n_images, height, width) or (n_images, height, width, n_channels)
    xp : module
        ``numpy`` or ``cupy``.
    patch_size : int
    stride : int, default=1
        Step between patch origins, in pixels.

    Returns
    -------
    patches : array, shape (n_images, n_rows, n_cols, patch_size * patch_size * n_channels)
        Contiguous; each patch flattened in (row, column, channel) order,
        ``n_rows = (height - patch_size) // stride + 1`` (likewise columns).
    """
    if images.ndim == 3:
        images = images[..., None]
    p = int(patch_size)
    v = _windows_2d(images, (p, p), xp)[:, ::stride, ::stride]
    n, r, c = v.shape[:3]
    return xp.ascontiguousarray(v).reshape(n, r, c, -1)


def normalize_patches(patches: Any, *, xp: ModuleType, eps: float) -> Any:
    """Per-patch brightness and contrast normalisation, in place.

    ``x <- (x - mean(x)) / sqrt(var(x) + eps)`` over the last axis, with the
    unbiased variance, as in Coates, Lee and Ng (2011).

    Parameters
    ----------
    patches : array, shape (..., n_dims), floating
    xp : module
    eps : float
        Variance regulariser (the paper uses 10 for pixel values in [0, 255]).

    Returns
    -------
    patches : array, the same object
    """
    d = patches.shape[-1]
    patches -= patches.mean(axis=-1, keepdims=True)
    var = xp.einsum("...k,...k->...", patches, patches) / max(d - 1, 1)
    patches /= xp.sqrt(var + eps)[..., None]
    return patches


def conv_triangle_features(
    images: Any,
    *,
    xp: ModuleType,
    centroids: Any,
    whitening_mean: Any | None,
    whitening: Any | None,
    patch_size: int,
    stride: int = 1,
    pooling: str = "quadrant",
    norm_eps: float,
    max_elements: int = 1 << 23,
) -> Any:
    """Single-layer convolutional features with the triangle activation.

    Parameters
    ----------
    images : array, shape (n_images, height, width[, n_channels]), float32
        In namespace ``xp``.
    xp : module
        ``numpy`` or ``cupy``.
    centroids : array, shape (n_filters, n_dims), float32
        The learned filters (k-means centroids in whitened patch space),
        ``n_dims = patch_size**2 * n_channels``.
    whitening_mean : array, shape (n_dims,), or None
    whitening : array, shape (n_dims, n_dims), or None
        ZCA transform applied as ``(x - whitening_mean) @ whitening``; None
        skips whitening.
    patch_size, stride : int
    pooling : {"quadrant", "global"}, default="quadrant"
        Sum the activations over the four quadrants of the response map
        (the first half takes the middle row/column when it is odd), or over
        the whole map.
    norm_eps : float
        See :func:`normalize_patches`.
    max_elements : int, default=2**23
        Images are processed in chunks of at most about this many activations.

    Returns
    -------
    features : array, shape (n_images, 4 * n_filters) or (n_images, n_filters), float32
        Quadrant-major: feature ``q * n_filters + k`` is filter ``k`` pooled
        over quadrant ``q`` (top-left, top-right, bottom-left, bottom-right).

    Notes
    -----
    For a whitened patch ``x`` and distances ``z_k = ||x - c_k||`` the
    activation is ``f_k = max(0, mean(z) - z_k)`` (Coates, Lee and Ng, 2011,
    "triangle" k-means). The distances come from one matrix product per
    chunk: ``||x||^2 - 2 x c_k + ||c_k||^2``.
    """
    n = images.shape[0]
    p = int(patch_size)
    rows = (images.shape[1] - p) // stride + 1
    cols = (images.shape[2] - p) // stride + 1
    k, d = centroids.shape
    dtype = centroids.dtype
    # squared distances in one product: [x, |x|^2, 1] @ [-2 c; 1; |c|^2]
    rhs = xp.concatenate([
        -2.0 * centroids.T,
        xp.ones((1, k), dtype=dtype),
        xp.einsum("ij,ij->i", centroids, centroids)[None, :],
    ])
    # pooling as a product: (n_regions, rows * cols) 0/1 matrix
    r_idx = xp.arange(rows * cols) // cols
    c_idx = xp.arange(rows * cols) % cols
    if pooling == "global":
        pool = xp.ones((1, rows * cols), dtype=dtype)
    else:
        top, left = r_idx < (rows + 1) // 2, c_idx < (cols + 1) // 2
        pool = xp.stack([top & left, top & ~left, ~top & left, ~top & ~left]).astype(dtype)
    step = max(1, min(n, int(max_elements) // max(rows * cols * k, 1)))
    out = xp.empty((n, pool.shape[0], k), dtype=dtype)
    for start in range(0, n, step):
        x = image_patches(images[start:start + step], xp=xp, patch_size=p, stride=stride)
        m = x.shape[0]
        x = normalize_patches(x.reshape(m * rows * cols, d), xp=xp, eps=norm_eps)
        if whitening is not None:
            x = (x - whitening_mean) @ whitening
        lhs = xp.empty((m * rows * cols, d + 2), dtype=dtype)
        lhs[:, :d] = x
        lhs[:, d] = xp.einsum("ij,ij->i", x, x)
        lhs[:, d + 1] = 1.0
        z = lhs @ rhs
        xp.maximum(z, 0, out=z)
        xp.sqrt(z, out=z)
        # triangle activation max(0, mean_k(z) - z_k)
        xp.subtract(z.mean(axis=1, keepdims=True), z, out=z)
        xp.maximum(z, 0, out=z)
        out[start:start + m] = xp.matmul(pool, z.reshape(m, rows * cols, k))
    return out.reshape(n, -1)
