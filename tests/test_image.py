"""Tests of mmlearn.features.image: HOGFeatures (oracle: skimage.feature.hog)
and ConvEmbedding (oracle: a direct per-patch implementation of Coates et al.)."""

from __future__ import annotations

import gzip
import pickle
import re

import numpy as np
import pytest
from PIL import Image
from skimage.feature import hog as sk_hog
from skimage.transform import resize as sk_resize
from sklearn.base import clone

from mmlearn.backend import gpu_available
from mmlearn.features import ConvEmbedding, FeatureMemo, HOGFeatures
from mmlearn.features._kernels._conv import conv_triangle_features
from mmlearn.features._kernels._hog import (
    _hog_bin_table,
    _hog_bins,
    _hog_fix_near_edges,
    hog_batch,
)

# Output rows are float32 with values in [0, 1]; our cells are summed in
# float64 and blocks normalised in float32, skimage sums cells in float32 and
# normalises in float64. Both roundings are ~1e-7 relative, so 1e-6 absolute
# is ten times the largest difference observed, and far below a bin flip
# (which moves a feature by >= ~1e-3 on these images).
HOG_ATOL = 1e-6

XP = [
    "numpy",
    pytest.param(
        "cupy", marks=pytest.mark.skipif(not gpu_available(), reason="needs a CUDA GPU and cupy")
    ),
]


def _xp(name):
    if name == "numpy":
        return np
    import cupy

    return cupy


def _to_host(a):
    return a.get() if hasattr(a, "get") else np.asarray(a)


def _sk(images, **params):
    return np.stack(
        [sk_hog(im, channel_axis=-1 if im.ndim == 3 else None, **params) for im in images]
    )


def _blocky(rng, n, h, w, levels=3, cell=4):
    """Piecewise-constant images: many gradients lie exactly on 0/45/90/135 degrees."""
    small = rng.integers(0, levels, (n, -(-h // cell), -(-w // cell))) * 100
    return small.repeat(cell, 1).repeat(cell, 2)[:, :h, :w].astype(np.uint8)


# ---------------------------------------------------------------- HOG oracle
HOG_CASES = {
    # name: (image kind, (height, width), HOGFeatures / skimage parameters)
    "L2-Hys 28x28 7x7/2x2": (
        "u8", (28, 28), dict(pixels_per_cell=(7, 7), cells_per_block=(2, 2))),
    "L1": ("u8", (32, 32), dict(block_norm="L1")),
    "L1-sqrt": (
        "u8", (32, 32), dict(block_norm="L1-sqrt", pixels_per_cell=(6, 6), cells_per_block=(2, 2))),
    "L2": ("u8", (32, 32), dict(block_norm="L2", cells_per_block=(2, 2))),
    "not divisible 33x30": (
        "u8", (33, 30), dict(pixels_per_cell=(5, 6), cells_per_block=(2, 3))),
    "not divisible 31x29 odd cells": (
        "u8", (31, 29), dict(pixels_per_cell=(7, 5), cells_per_block=(2, 2), block_norm="L1")),
    "transform_sqrt": (
        "u8", (30, 34), dict(transform_sqrt=True, pixels_per_cell=(6, 6), cells_per_block=(2, 2))),
    "transform_sqrt float": (
        "float", (24, 24),
        dict(transform_sqrt=True, pixels_per_cell=(4, 4), cells_per_block=(3, 3), block_norm="L2")),
    "orientations 4, ties": (
        "blocky", (32, 32), dict(orientations=4, pixels_per_cell=(4, 4), cells_per_block=(2, 2))),
    "orientations 8, ties": (
        "blocky", (32, 32),
        dict(orientations=8, pixels_per_cell=(4, 4), cells_per_block=(2, 2), block_norm="L1-sqrt")),
    "orientations 11": (
        "u8", (24, 24), dict(orientations=11, pixels_per_cell=(4, 4), cells_per_block=(2, 2))),
    "float64 in [0, 1]": (
        "float", (40, 36), dict(pixels_per_cell=(8, 6), cells_per_block=(2, 2))),
    "uint16": ("u16", (24, 24), dict(pixels_per_cell=(4, 4), cells_per_block=(2, 2))),
    "colour dominant channel": (
        "rgb", (33, 30), dict(pixels_per_cell=(5, 6), cells_per_block=(2, 3))),
    "colour, blocky ties": (
        "rgb-blocky", (24, 24),
        dict(orientations=8, pixels_per_cell=(4, 4), cells_per_block=(2, 2))),
    "one cell per block": (
        "u8", (16, 16), dict(pixels_per_cell=(4, 4), cells_per_block=(1, 1), block_norm="L2")),
}


def _make(kind, shape, n=12, seed=0):
    rng = np.random.default_rng(seed)
    h, w = shape
    if kind == "u8":
        return rng.integers(0, 256, (n, h, w), dtype=np.uint8)
    if kind == "u16":
        return rng.integers(0, 65536, (n, h, w), dtype=np.uint16)
    if kind == "float":
        return rng.random((n, h, w))
    if kind == "blocky":
        return _blocky(rng, n, h, w)
    if kind == "rgb":
        return rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
    if kind == "rgb-blocky":
        return np.stack([_blocky(rng, n, h, w) for _ in range(3)], axis=-1)
    raise AssertionError(kind)


@pytest.mark.parametrize("case", list(HOG_CASES))
def test_hog_matches_skimage(case):
    kind, shape, params = HOG_CASES[case]
    images = _make(kind, shape)
    expected = _sk(images, **params)
    got = HOGFeatures(**params, device="cpu").fit_transform(images)
    assert got.shape == expected.shape
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=HOG_ATOL)


@pytest.mark.parametrize("xp_name", XP)
def test_hog_kernel_numpy_cupy(xp_name):
    xp = _xp(xp_name)
    images = _make("u8", (33, 30), n=40, seed=3)
    params = dict(pixels_per_cell=(5, 6), cells_per_block=(2, 3), block_norm="L2-Hys")
    got = _to_host(hog_batch(xp.asarray(images), xp=xp, **params))
    np.testing.assert_allclose(got, _sk(images, **params), rtol=0, atol=HOG_ATOL)
    colour = _make("rgb", (24, 24), n=10, seed=4)
    got = _to_host(hog_batch(xp.asarray(colour), xp=xp, pixels_per_cell=(4, 4)))
    np.testing.assert_allclose(got, _sk(colour, pixels_per_cell=(4, 4)), rtol=0, atol=HOG_ATOL)


@pytest.mark.parametrize("device", ["cpu", pytest.param(
    "cuda", marks=pytest.mark.skipif(not gpu_available(), reason="needs a CUDA GPU and cupy"))])
def test_estimators_on_device_match_skimage_and_cpu(device):
    images = _make("u8", (28, 28), n=30, seed=6)
    params = dict(pixels_per_cell=(7, 7), cells_per_block=(2, 2))
    got = HOGFeatures(**params, device=device, batch_size=16).transform(images)
    assert isinstance(got, np.ndarray) and got.dtype == np.float32
    np.testing.assert_allclose(got, _sk(images, **params), rtol=0, atol=HOG_ATOL)
    cpu = ConvEmbedding(n_filters=8, patch_size=5, random_state=0, device="cpu").fit(images)
    dev = clone(cpu).set_params(device=device).fit(images)
    np.testing.assert_array_equal(dev.filters_, cpu.filters_)  # fit runs on the host
    np.testing.assert_allclose(dev.transform(images), cpu.transform(images), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("block_pixels", [1, 700, None])
def test_hog_kernel_chunking_does_not_change_rows(block_pixels):
    images = _make("u8", (28, 28), n=9, seed=5)
    ref = hog_batch(images, xp=np, pixels_per_cell=(7, 7), cells_per_block=(2, 2))
    got = hog_batch(
        images, xp=np, pixels_per_cell=(7, 7), cells_per_block=(2, 2), block_pixels=block_pixels
    )
    np.testing.assert_array_equal(got, ref)


def _skimage_bins(gx, gy, orientations):
    # skimage 0.26's rule (_hoghistogram.pyx): rad2deg(arctan2) % 180 in float64,
    # bin i when (180 / n) * i <= angle < (180 / n) * (i + 1); -1: no bin.
    angle = np.rad2deg(np.arctan2(gy, gx)) % 180
    per = 180.0 / orientations
    expected = np.full(angle.shape, -1)
    for i in range(orientations):
        expected[(angle >= per * i) & (angle < per * (i + 1))] = i
    return expected


def _our_bins(gx, gy, orientations):
    table, cells, sentinel = _hog_bin_table(orientations)
    bins = np.empty(gx.shape, dtype=table.dtype)
    gx0, gy0 = gx.copy(), gy.copy()
    _hog_bins(gx, gy, table, cells, np, tmp=np.empty_like(gx), tmp2=np.empty_like(gx),
              index=np.empty(gx.shape, np.int32), out=bins)
    np.testing.assert_array_equal(gx, gx0)  # not modified
    np.testing.assert_array_equal(gy, gy0)
    near, counted = _hog_fix_near_edges(gx, gy, bins, sentinel, orientations, np)
    out = bins.astype(np.int64)
    if near is not None:
        out[near[~counted]] = -1
    return out


@pytest.mark.parametrize("orientations", [1, 4, 8, 9, 11, 31, 180, 257, 1000])
def test_hog_bins_equal_skimage_rule_for_every_8bit_gradient(orientations):
    # Every gradient pair an 8-bit image can produce.
    g = np.arange(-255, 256, dtype=np.float64)
    gx, gy = (a.ravel() for a in np.meshgrid(g, g))
    moving = (gx != 0) | (gy != 0)  # zero gradients have zero weight
    np.testing.assert_array_equal(_our_bins(gx, gy, orientations)[moving],
                                  _skimage_bins(gx, gy, orientations)[moving])


@pytest.mark.parametrize("orientations", [4, 7, 9, 12, 13, 300])
def test_hog_bins_equal_skimage_rule_on_and_near_every_edge(orientations):
    # Float gradients exactly on, and within a few ulps or 1e-13 degrees of,
    # every bin edge (0 and 180 included), in all four quadrants, and
    # gradients whose angle rounds to 180 degrees (skimage counts them nowhere).
    rng = np.random.default_rng(orientations)
    per = 180.0 / orientations
    k = rng.integers(0, orientations + 1, 40_000)
    jitter = rng.normal(0, 1e-13, k.size) * rng.choice([0, 1e-3, 1, 1e3], k.size)
    rad = np.deg2rad(per * k + jitter)
    mag = rng.choice([1e-200, 1e-3, 1.0, 3.0, 1e6, 1e200], k.size)
    gx, gy = mag * np.cos(rad), mag * np.sin(rad)
    flip = rng.random(k.size) < 0.5
    gx[flip], gy[flip] = -gx[flip], -gy[flip]
    tiny = np.array([1e-300, -1e-300, 1e-17, -1e-17, 0.0, -0.0])
    gx = np.concatenate([gx, np.ones(6), -np.ones(6)])
    gy = np.concatenate([gy, tiny, tiny])
    expected = _skimage_bins(gx, gy, orientations)
    assert (expected == -1).any()
    np.testing.assert_array_equal(_our_bins(gx, gy, orientations), expected)


def test_hog_transform_sqrt_gradient_on_a_bin_edge():
    # After the square root the gradient (sqrt 3, 1) lies exactly on the
    # 60-degree edge; skimage's float rounding decides the bin.
    img = np.zeros((8, 8), np.uint8)
    img[4, 3], img[3, 4] = 3, 1
    params = dict(orientations=9, pixels_per_cell=(8, 8), cells_per_block=(1, 1),
                  block_norm="L1", transform_sqrt=True)
    got = HOGFeatures(**params).fit_transform(img[None])
    np.testing.assert_allclose(got[0], sk_hog(img, **params), rtol=0, atol=HOG_ATOL)


def test_hog_transform_sqrt_all_sklearn_digits():
    from sklearn.datasets import load_digits

    images = load_digits().images.astype(np.uint8)  # 1,797 images, values 0..16
    params = dict(pixels_per_cell=(2, 2), cells_per_block=(2, 2), transform_sqrt=True)
    got = HOGFeatures(**params).fit_transform(images)
    np.testing.assert_allclose(got, _sk(images, **params), rtol=0, atol=HOG_ATOL)


@pytest.mark.parametrize("levels, transform_sqrt", [(4, False), (5, True), (13, True)])
def test_hog_colour_near_ties_pick_skimage_channel(levels, transform_sqrt):
    # Few grey levels per channel: many pixels where two channels' gradient
    # magnitudes tie exactly or to the last bit (after the square root).
    images = np.random.default_rng(levels).integers(0, levels, (60, 16, 16, 3)).astype(np.uint8)
    params = dict(pixels_per_cell=(4, 4), cells_per_block=(2, 2), transform_sqrt=transform_sqrt)
    got = HOGFeatures(**params).fit_transform(images)
    np.testing.assert_allclose(got, _sk(images, **params), rtol=0, atol=HOG_ATOL)


@pytest.mark.parametrize("orientations", [255, 256, 257, 300, 1000])
def test_hog_many_orientations(orientations):
    images = _make("u8", (16, 16), n=3)
    params = dict(orientations=orientations, pixels_per_cell=(4, 4), cells_per_block=(2, 2))
    got = HOGFeatures(**params).fit_transform(images)
    np.testing.assert_allclose(got, _sk(images, **params), rtol=0, atol=HOG_ATOL)


def _mixed_scale_image(rng, dtype=np.float64):
    img = rng.uniform(0, 1, (16, 16))
    img[:8, :8] *= 1e-3  # a quiet corner: its blocks are far from the loud ones
    return img.astype(dtype)


@pytest.mark.parametrize("block_norm", ["L1", "L1-sqrt", "L2", "L2-Hys"])
@pytest.mark.parametrize("transform_sqrt", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1e12, 1e20, 1e30, 1e37])
def test_hog_huge_pixels_match_skimage_where_it_is_finite(block_norm, transform_sqrt, dtype,
                                                         scale):
    # skimage is finite up to ~1e38 (its float32 cell sums overflow above);
    # our blocks used to overflow float32 squares from ~1e19 (L2: zeros).
    img = _mixed_scale_image(np.random.default_rng(0), dtype) * dtype(scale)
    params = dict(pixels_per_cell=(4, 4), cells_per_block=(2, 2), block_norm=block_norm,
                  transform_sqrt=transform_sqrt)
    expected = sk_hog(img, **params)
    assert np.isfinite(expected).all()
    got = HOGFeatures(**params).fit_transform(img[None])
    np.testing.assert_allclose(got[0], expected, rtol=0, atol=HOG_ATOL)


@pytest.mark.parametrize("block_norm", ["L1", "L1-sqrt", "L2", "L2-Hys"])
@pytest.mark.parametrize("transform_sqrt", [False, True])
@pytest.mark.parametrize("exponent", [130, 500, 511, 700, 1000, 1023])
def test_hog_pixels_beyond_skimage_range_are_finite_and_exact(block_norm, transform_sqrt,
                                                              exponent):
    # Where skimage overflows (NaN), the image scaled by 2**-exponent (exact)
    # has the same HOG in exact arithmetic when eps is negligible: pixel
    # values ~2**10 make eps / block norm ~1e-8 (L1) or smaller.
    rng = np.random.default_rng(exponent)
    small = rng.uniform(0.5, 1, (2, 16, 16)) * 2.0**10
    huge = np.ldexp(small, exponent - 10)
    assert np.isfinite(huge).all()
    params = dict(pixels_per_cell=(4, 4), cells_per_block=(2, 2), block_norm=block_norm,
                  transform_sqrt=transform_sqrt)
    got = HOGFeatures(**params).fit_transform(huge)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, _sk(small, **params), rtol=0, atol=HOG_ATOL)
    # and a huge image does not change its batch neighbour's row
    both = HOGFeatures(**params).fit_transform(np.stack([huge[0], small[1]]))
    np.testing.assert_array_equal(both[1], HOGFeatures(**params).fit_transform(small[1:])[0])


def test_hog_int64_pixels_beyond_2_to_40():
    img = np.random.default_rng(3).integers(0, 2**62, (16, 16), dtype=np.int64)
    params = dict(pixels_per_cell=(4, 4), cells_per_block=(2, 2), block_norm="L2")
    got = HOGFeatures(**params).fit_transform(img[None])
    np.testing.assert_allclose(got[0], sk_hog(img, **params), rtol=0, atol=HOG_ATOL)


def test_hog_gray_equals_its_three_channel_copy_and_mixes_with_colour():
    rng = np.random.default_rng(1)
    gray = rng.integers(0, 256, (24, 24), dtype=np.uint8)
    colour = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
    params = dict(pixels_per_cell=(6, 6), cells_per_block=(2, 2))
    rgb_of_gray = np.repeat(gray[..., None], 3, axis=2)
    np.testing.assert_allclose(sk_hog(rgb_of_gray, channel_axis=-1, **params),
                               sk_hog(gray, **params), atol=1e-12)
    got = HOGFeatures(**params).transform([gray, colour])
    np.testing.assert_allclose(got[0], sk_hog(gray, **params), atol=HOG_ATOL)
    np.testing.assert_allclose(got[1], sk_hog(colour, channel_axis=-1, **params), atol=HOG_ATOL)


def test_hog_size_resizes_like_skimage():
    rng = np.random.default_rng(2)
    images = [rng.integers(0, 256, s, dtype=np.uint8) for s in [(40, 30), (28, 28), (50, 61)]]
    hog = HOGFeatures(size=(32, 32), pixels_per_cell=(8, 8), cells_per_block=(2, 2))
    got = hog.transform(images)
    expected = [
        sk_hog(sk_resize(im, (32, 32), preserve_range=True, anti_aliasing=True),
               pixels_per_cell=(8, 8), cells_per_block=(2, 2))
        for im in images
    ]
    np.testing.assert_allclose(got, np.stack(expected), atol=HOG_ATOL)


def test_hog_flattened_rows_with_size():
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = digits.data[:30]  # (30, 64) float rows of 8x8 images
    params = dict(pixels_per_cell=(2, 2), cells_per_block=(2, 2))
    got = HOGFeatures(size=(8, 8), **params).fit_transform(X)
    np.testing.assert_allclose(got, _sk(digits.images[:30], **params), atol=HOG_ATOL)


def test_hog_file_paths_equal_arrays(tmp_path):
    images = _make("u8", (24, 24), n=4, seed=7)
    paths = []
    for i, im in enumerate(images):
        paths.append(str(tmp_path / f"im{i}.png"))
        Image.fromarray(im).save(paths[-1])
    hog = HOGFeatures(pixels_per_cell=(6, 6), cells_per_block=(2, 2), n_jobs=2)
    np.testing.assert_array_equal(hog.transform(paths), hog.transform(images))


def _relative_png_files(tmp_path, images):
    (tmp_path / "imgs").mkdir()
    names = []
    for i, im in enumerate(images):
        Image.fromarray(im).save(tmp_path / "imgs" / f"im{i}.png")
        names.append(f"im{i}.png")
    return names


@pytest.mark.parametrize("make", [
    lambda **kw: HOGFeatures(pixels_per_cell=(6, 6), cells_per_block=(2, 2), **kw),
    lambda **kw: ConvEmbedding(n_filters=4, patch_size=4, random_state=0, **kw),
], ids=["HOGFeatures", "ConvEmbedding"])
def test_relative_paths_resolve_against_base_dir(tmp_path, monkeypatch, make):
    images = _make("u8", (24, 24), n=4, seed=8)
    names = _relative_png_files(tmp_path, images)
    expected = make().fit(images).transform(images)
    monkeypatch.chdir(tmp_path)  # the names are not relative to the working directory
    est = make(base_dir=tmp_path / "imgs")
    np.testing.assert_array_equal(est.fit(names).transform(names), expected)
    with pytest.raises(FileNotFoundError, match="sample 0"):
        make().fit(names).transform(names)


def test_hog_base_dir_does_not_change_the_memo_namespace():
    a = HOGFeatures(base_dir="/data/a")._memo_namespace()
    assert a == HOGFeatures(base_dir="/data/b")._memo_namespace()
    assert a == HOGFeatures()._memo_namespace()


def test_hog_is_stateless():
    hog = HOGFeatures(pixels_per_cell=(4, 4), cells_per_block=(2, 2))
    assert hog.__sklearn_tags__().requires_fit is False
    images = _make("u8", (16, 16), n=3)
    unfitted = hog.transform(images)  # no fit needed
    np.testing.assert_array_equal(hog.fit(images[:1]).transform(images), unfitted)
    # a row depends on its own image only
    np.testing.assert_array_equal(hog.transform(images[1:2])[0], unfitted[1])


def test_hog_memo_reuses_rows_and_is_shared_by_clones():
    images = _make("u8", (16, 16), n=6)
    memo = FeatureMemo()
    hog = HOGFeatures(pixels_per_cell=(4, 4), cells_per_block=(2, 2), memory=memo)
    first = hog.transform(images)
    assert (memo.hits, memo.misses) == (0, 6)
    again = clone(hog).transform(images[::-1])
    np.testing.assert_array_equal(again, first[::-1])
    assert memo.hits == 6
    # a parameter that changes the output is part of the key
    other = clone(hog).set_params(block_norm="L1").transform(images)
    assert memo.misses == 12 and not np.allclose(other, first)
    # batch_size / n_jobs / device do not change rows, and are not part of it
    clone(hog).set_params(batch_size=2, n_jobs=2).transform(images)
    assert memo.hits == 12


def test_hog_n_jobs_and_batch_size_do_not_change_rows():
    images = _make("u8", (20, 20), n=23, seed=8)
    ref = HOGFeatures(pixels_per_cell=(5, 5), cells_per_block=(2, 2)).transform(images)
    got = HOGFeatures(pixels_per_cell=(5, 5), cells_per_block=(2, 2), n_jobs=2,
                      batch_size=4).transform(list(images))
    np.testing.assert_array_equal(got, ref)


def test_hog_feature_names():
    images = _make("u8", (33, 30), n=2)
    hog = HOGFeatures(pixels_per_cell=(5, 6), cells_per_block=(2, 3))
    with pytest.raises(ValueError, match="set size"):
        hog.get_feature_names_out()
    X = hog.fit_transform(images)
    names = hog.get_feature_names_out()
    assert len(names) == X.shape[1] and names[0] == "hog_0" and names[-1] == f"hog_{X.shape[1] - 1}"
    sized = HOGFeatures(size=(33, 30), pixels_per_cell=(5, 6), cells_per_block=(2, 3))
    assert list(sized.get_feature_names_out()) == list(names)
    df = hog.set_output(transform="pandas").transform(images)
    assert list(df.columns) == list(names)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(orientations=0), "orientations"),
        (dict(pixels_per_cell=(0, 8)), "pixels_per_cell"),
        (dict(cells_per_block=3), "cells_per_block"),
        (dict(block_norm="L3"), "block_norm"),
        (dict(size=(8,)), "size"),
        (dict(batch_size=0), "batch_size"),
    ],
)
def test_hog_bad_params(params, match):
    with pytest.raises(ValueError, match=match):
        HOGFeatures(**params).fit(_make("u8", (16, 16), n=2))


# ------------------------------------------------------ HOG: bad input, one each
def test_hog_empty_array():
    images = [np.zeros((24, 24), np.uint8), np.zeros((0, 24), np.uint8)]
    with pytest.raises(ValueError, match=r"sample 1: image is empty"):
        HOGFeatures(pixels_per_cell=(4, 4)).transform(images)


def test_hog_one_d_array():
    msg = r"sample 1: expected a 2-D .* 1-D array of length 5.*size"
    with pytest.raises(ValueError, match=msg):
        HOGFeatures().transform([np.zeros((24, 24)), np.zeros(5)])


def test_hog_four_d_array():
    with pytest.raises(ValueError, match=r"sample 0: expected a 2-D .* shape \(2, 24, 24, 3\)"):
        HOGFeatures().transform([np.zeros((2, 24, 24, 3))])


def test_hog_nan_pixels():
    im = np.zeros((24, 24))
    im[3, 4] = np.nan
    with pytest.raises(ValueError, match=r"sample 2: image has 1 non-finite .* \(3, 4\)"):
        HOGFeatures().transform([np.zeros((24, 24)), np.zeros((24, 24)), im])


def test_hog_mixed_sizes_without_size():
    images = [np.zeros((24, 24)), np.zeros((24, 24)), np.zeros((32, 24))]
    with pytest.raises(ValueError, match=r"sample 2: .*\(32, 24\) differs from sample 0.*set size"):
        HOGFeatures().transform(images)


def test_hog_mixed_sizes_files_without_size(tmp_path):
    paths = []
    for i, shape in enumerate([(24, 24), (30, 24)]):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(np.zeros(shape, np.uint8)).save(paths[-1])
    with pytest.raises(ValueError, match=r"sample 1 \('.*1.png'\): .*set size"):
        HOGFeatures().fit(paths)
    # relative to base_dir: the file is named as the loader resolved it, as load errors name it
    with pytest.raises(ValueError, match=rf"^sample 1 \({re.escape(repr(str(tmp_path / '1.png')))}\): .*set size"):
        HOGFeatures(base_dir=tmp_path).fit(["0.png", "1.png"])


def test_hog_unreadable_file(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    ok = tmp_path / "ok.png"
    Image.fromarray(np.zeros((24, 24), np.uint8)).save(ok)
    with pytest.raises(ValueError, match=r"sample 1 \('.*broken.png'\): could not be decoded"):
        HOGFeatures().transform([str(ok), str(bad)])
    with pytest.raises(FileNotFoundError, match=r"sample 0 .*missing.png"):
        HOGFeatures().transform([str(tmp_path / "missing.png")])


def test_hog_too_small_image():
    with pytest.raises(ValueError, match=r"sample 0: .*\(20, 30\) is too small.*at least 24 rows"):
        HOGFeatures().transform([np.zeros((20, 30))])


def test_hog_transform_sqrt_negative_pixels():
    im = -np.ones((24, 24))
    with pytest.raises(ValueError, match=r"sample 1: transform_sqrt=True needs non-negative"):
        HOGFeatures(transform_sqrt=True).transform([np.ones((24, 24)), im])


def _rgba_image(rng, h=24, w=24):
    rgba = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    rgba[..., 3] = rng.choice([0, 128, 255], (h, w))
    return rgba


def test_hog_rgba_file_is_composited_on_white(tmp_path):
    rgba = _rgba_image(np.random.default_rng(9))
    path = str(tmp_path / "rgba.png")
    Image.fromarray(rgba, mode="RGBA").save(path)
    alpha = rgba[..., 3:] / 255.0
    composited = np.rint(rgba[..., :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)
    got = HOGFeatures(pixels_per_cell=(6, 6), cells_per_block=(2, 2)).transform([path])
    np.testing.assert_allclose(
        got[0], sk_hog(composited, pixels_per_cell=(6, 6), cells_per_block=(2, 2), channel_axis=-1),
        atol=HOG_ATOL,
    )


def test_hog_cmyk_file_is_converted_to_rgb(tmp_path):
    cmyk = np.random.default_rng(10).integers(0, 256, (24, 24, 4), dtype=np.uint8)
    path = str(tmp_path / "cmyk.jpg")
    Image.fromarray(cmyk, mode="CMYK").save(path, quality=95)
    rgb = np.asarray(Image.open(path).convert("RGB"))
    got = HOGFeatures(pixels_per_cell=(6, 6), cells_per_block=(2, 2)).transform([path])
    np.testing.assert_allclose(
        got[0], sk_hog(rgb, pixels_per_cell=(6, 6), cells_per_block=(2, 2), channel_axis=-1),
        atol=HOG_ATOL,
    )


def test_hog_palette_file_is_converted_to_rgb(tmp_path):
    rgb = np.random.default_rng(11).integers(0, 256, (24, 24, 3), dtype=np.uint8)
    path = str(tmp_path / "palette.png")
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(path)
    as_rgb = np.asarray(Image.open(path).convert("RGB"))
    got = HOGFeatures(pixels_per_cell=(6, 6), cells_per_block=(2, 2)).transform([path])
    np.testing.assert_allclose(
        got[0], sk_hog(as_rgb, pixels_per_cell=(6, 6), cells_per_block=(2, 2), channel_axis=-1),
        atol=HOG_ATOL,
    )


def test_hog_16bit_file_keeps_its_values(tmp_path):
    im16 = np.random.default_rng(12).integers(0, 65536, (24, 24)).astype(np.uint16)
    path = str(tmp_path / "deep.png")
    Image.fromarray(im16).save(path)
    got = HOGFeatures(pixels_per_cell=(6, 6), cells_per_block=(2, 2)).transform([path])
    np.testing.assert_allclose(
        got[0], sk_hog(im16, pixels_per_cell=(6, 6), cells_per_block=(2, 2)), atol=HOG_ATOL
    )


# ---------------------------------------------------------------- ConvEmbedding
def _naive_triangle(images, centroids, mean, zca, p, stride, eps):
    """Coates et al.'s features, one patch at a time, in float64."""
    out = []
    for im in images:
        im = im[..., None] if im.ndim == 2 else im
        rows = (im.shape[0] - p) // stride + 1
        cols = (im.shape[1] - p) // stride + 1
        hr, hc = (rows + 1) // 2, (cols + 1) // 2
        pooled = np.zeros((4, len(centroids)))
        for i in range(rows):
            for j in range(cols):
                x = im[i * stride:i * stride + p, j * stride:j * stride + p]
                x = x.reshape(-1).astype(np.float64)
                x = (x - x.mean()) / np.sqrt(x.var(ddof=1) + eps)
                if zca is not None:
                    x = (x - mean) @ zca
                z = np.linalg.norm(x - centroids, axis=1)
                pooled[2 * (i >= hr) + (j >= hc)] += np.maximum(0, z.mean() - z)
        out.append(pooled.ravel())
    return np.array(out)


@pytest.mark.parametrize("xp_name", XP)
@pytest.mark.parametrize(
    "colour, stride, whiten", [(False, 1, True), (True, 2, True), (False, 3, False)]
)
def test_conv_kernel_matches_direct_computation(xp_name, colour, stride, whiten):
    xp = _xp(xp_name)
    rng = np.random.default_rng(0)
    shape = (5, 13, 11, 3) if colour else (5, 13, 11)
    images = rng.random(shape).astype(np.float32)
    p, k = 4, 7
    d = p * p * (3 if colour else 1)
    centroids = rng.standard_normal((k, d)).astype(np.float32)
    a = rng.standard_normal((d, d))
    zca = (a @ a.T / d).astype(np.float32) if whiten else None
    mean = rng.standard_normal(d).astype(np.float32) * 0.1 if whiten else None
    got = conv_triangle_features(
        xp.asarray(images), xp=xp, centroids=xp.asarray(centroids),
        whitening_mean=None if mean is None else xp.asarray(mean),
        whitening=None if zca is None else xp.asarray(zca),
        patch_size=p, stride=stride, norm_eps=1e-3, max_elements=200,
    )
    expected = _naive_triangle(images, centroids, mean, zca, p, stride, 1e-3)
    np.testing.assert_allclose(_to_host(got), expected, rtol=1e-4, atol=1e-4)


def test_conv_embedding_shapes_and_pooling():
    images = _make("u8", (16, 16), n=30)
    emb = ConvEmbedding(n_filters=8, patch_size=5, random_state=0).fit(images)
    assert emb.filters_.shape == (8, 25) and emb.whitening_.shape == (25, 25)
    assert emb.n_features_out_ == 32 and emb.transform(images).shape == (30, 32)
    glob = ConvEmbedding(n_filters=8, patch_size=5, pooling="global", random_state=0).fit(images)
    np.testing.assert_allclose(
        glob.transform(images), emb.transform(images).reshape(30, 4, 8).sum(axis=1), rtol=1e-5
    )
    # images of several sizes: same number of features, batched per size
    mixed = [images[0], images[1][:12], np.pad(images[2], 3)]
    out = emb.transform(mixed)
    assert out.shape == (3, 32)
    np.testing.assert_allclose(out[0], emb.transform(images[:1])[0], rtol=1e-6)
    strided = ConvEmbedding(n_filters=8, patch_size=5, stride=2, random_state=0).fit(images)
    assert strided.transform(images).shape == (30, 32)


def test_conv_embedding_is_deterministic():
    images = _make("u8", (16, 16), n=40, seed=1)
    a = ConvEmbedding(n_filters=16, patch_size=4, random_state=3).fit(images)
    b = ConvEmbedding(n_filters=16, patch_size=4, random_state=3).fit(images)
    np.testing.assert_array_equal(a.filters_, b.filters_)
    np.testing.assert_array_equal(a.transform(images), b.transform(images))
    c = ConvEmbedding(n_filters=16, patch_size=4, random_state=4).fit(images)
    assert not np.allclose(a.filters_, c.filters_)
    # fit does not consume a RandomState the user passes in twice differently
    rs = np.random.RandomState(0)
    d = ConvEmbedding(n_filters=16, patch_size=4, random_state=rs)
    assert d.get_params()["random_state"] is rs


def test_conv_embedding_whitening_is_zca():
    images = _make("float", (16, 16), n=40, seed=2)
    emb = ConvEmbedding(n_filters=8, patch_size=4, random_state=0).fit(images)
    zca = emb.whitening_.astype(np.float64)
    np.testing.assert_allclose(zca, zca.T, atol=1e-6)  # ZCA is symmetric (PCA is not)
    # its eigenvalues are 1 / sqrt(lambda + 0.1) for lambda >= 0: all in (0, sqrt(10)]
    ev = np.linalg.eigvalsh(zca)
    assert ev.min() > 0 and ev.max() <= np.sqrt(10) + 1e-4
    no = ConvEmbedding(n_filters=8, patch_size=4, whiten=False, random_state=0).fit(images)
    assert no.whitening_ is None and no.transform(images).shape == (40, 32)


def test_conv_embedding_pickle_and_clone():
    images = _make("u8", (16, 16), n=30)
    emb = ConvEmbedding(n_filters=8, patch_size=4, random_state=0).fit(images)
    again = pickle.loads(pickle.dumps(emb))
    np.testing.assert_array_equal(again.transform(images), emb.transform(images))
    assert not hasattr(clone(emb), "filters_")


def test_conv_embedding_input_conversions(tmp_path):
    rng = np.random.default_rng(5)
    u8 = rng.integers(0, 256, (10, 16, 16), dtype=np.uint8)
    emb = ConvEmbedding(n_filters=8, patch_size=4, random_state=0).fit(u8)
    assert emb.n_channels_ == 1
    # uint16 = uint8 * 257 is the same image in [0, 1]
    np.testing.assert_allclose(emb.transform(u8.astype(np.uint16) * 257), emb.transform(u8),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(emb.transform(u8 / 255.0), emb.transform(u8), rtol=1e-5, atol=1e-5)
    # a gray model converts colour images with rgb2gray
    rgb = np.repeat(u8[..., None], 3, axis=3)
    np.testing.assert_allclose(emb.transform(rgb), emb.transform(u8), rtol=1e-4, atol=1e-4)
    # a colour model (any colour image in fit) replicates gray images
    col = ConvEmbedding(n_filters=8, patch_size=4, random_state=0).fit(list(rgb[:5]) + list(u8[5:]))
    assert col.n_channels_ == 3 and col.filters_.shape == (8, 48)
    np.testing.assert_allclose(col.transform(u8), col.transform(rgb), rtol=1e-6)
    # RGBA file: composited on white by load_image, like the array version
    rgba = _rgba_image(rng, 16, 16)
    path = str(tmp_path / "a.png")
    Image.fromarray(rgba, mode="RGBA").save(path)
    alpha = rgba[..., 3:] / 255.0
    composited = np.rint(rgba[..., :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)
    np.testing.assert_allclose(col.transform([path]), col.transform([composited]), rtol=1e-6)
    # input_size resizes, and reads flattened rows
    sized = ConvEmbedding(n_filters=8, patch_size=4, input_size=(16, 16), random_state=0).fit(u8)
    np.testing.assert_allclose(sized.transform(u8.reshape(10, -1)), sized.transform(u8), rtol=1e-6)


@pytest.mark.parametrize(
    "sample, match",
    [
        (np.zeros((0, 16)), r"sample 1: image is empty"),
        (np.zeros(16), r"sample 1: expected a 2-D"),
        (np.zeros((2, 16, 16, 3)), r"sample 1: expected a 2-D"),
        (np.full((16, 16), np.nan), r"sample 1: image has 256 non-finite"),
        (np.zeros((3, 16)), r"sample 1: image of shape \(3, 16\) is smaller than patch_size=4"),
    ],
    ids=["empty", "1-D", "4-D", "NaN", "too small"],
)
def test_conv_embedding_bad_images(sample, match):
    emb = ConvEmbedding(n_filters=4, patch_size=4, random_state=0).fit(_make("u8", (16, 16), n=5))
    with pytest.raises(ValueError, match=match):
        emb.transform([np.zeros((16, 16)), sample])


def test_conv_embedding_huge_float_pixels():
    # float images are expected in [0, 1]; up to 1e15 the float32 patch
    # statistics stay finite, beyond that the sample is named in an error
    rng = np.random.default_rng(9)
    images = rng.random((6, 12, 12))
    emb = ConvEmbedding(n_filters=4, patch_size=3, random_state=0).fit(images)
    assert np.isfinite(emb.transform(images * 1e15)).all()
    assert np.isfinite(ConvEmbedding(n_filters=4, patch_size=3, random_state=0)
                       .fit(images * 1e15).transform(images)).all()
    for scale in (1e20, 1e39, 1e300):
        with pytest.raises(ValueError, match=r"sample 2: float pixel values up to .*expected "
                                             r"in \[0, 1\]"):
            emb.transform([images[0], images[1], images[2] * scale])
        with pytest.raises(ValueError, match=r"sample 1: float pixel values"):
            ConvEmbedding(n_filters=4, patch_size=3).fit([images[0], images[1] * scale])


def test_conv_embedding_bad_params():
    images = _make("u8", (16, 16), n=5)
    for params, match in [
        (dict(n_filters=0), "n_filters"),
        (dict(pooling="max"), "pooling"),
        (dict(patch_size=2.5), "patch_size"),
        (dict(n_filters=10_000), "at least n_filters"),
    ]:
        with pytest.raises(ValueError, match=match):
            ConvEmbedding(**params).fit(images)
    with pytest.raises(Exception, match="not fitted"):
        ConvEmbedding().transform(images)


# ------------------------------------------------------ sklearn contract
# sklearn's common checks run in tests/test_common.py. Both extractors take
# images (two_d_array=False), for which sklearn has no data; the data
# invariants (fit returns self, idempotence, pickling, sample order and
# subset invariance, read-only input, unchanged __dict__, dtype) run on
# images in test_image_transformer_contract.
IMAGE_ESTIMATORS = [
    HOGFeatures(),
    HOGFeatures(transform_sqrt=True),
    ConvEmbedding(n_filters=4, patch_size=2, random_state=0),
]


def test_image_input_tags():
    from sklearn.utils import get_tags

    for est in IMAGE_ESTIMATORS:
        tags = get_tags(est).input_tags
        assert not tags.two_d_array and tags.three_d_array and tags.string
        assert not tags.allow_nan
    assert get_tags(HOGFeatures(transform_sqrt=True)).input_tags.positive_only
    assert not get_tags(HOGFeatures()).input_tags.positive_only
    with pytest.raises(ValueError, match="non-negative"):
        HOGFeatures(transform_sqrt=True, pixels_per_cell=(2, 2), cells_per_block=(1, 1)).fit(
            -np.ones((1, 4, 4)))
    assert get_tags(ConvEmbedding()).requires_fit
    assert not get_tags(HOGFeatures()).requires_fit


@pytest.mark.parametrize("make", [
    lambda: HOGFeatures(pixels_per_cell=(4, 4), cells_per_block=(2, 2)),
    lambda: ConvEmbedding(n_filters=6, patch_size=4, random_state=0),
], ids=["HOGFeatures", "ConvEmbedding"])
def test_image_transformer_contract(make):
    """The estimator checks that need data, with images instead of tables."""
    images = _make("u8", (16, 16), n=20, seed=13)
    est = make()
    assert est.fit(images) is est
    first = est.transform(images)
    assert first.dtype == np.float32
    state = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(est).items()}
    # fit idempotent; transform leaves the estimator unchanged
    np.testing.assert_array_equal(make().fit(images).fit(images).transform(images), first)
    est.transform(images)
    assert vars(est).keys() == state.keys()
    for k, v in state.items():
        if isinstance(v, np.ndarray):
            np.testing.assert_array_equal(vars(est)[k], v)
    # rows do not depend on order or on the other samples
    perm = np.random.default_rng(0).permutation(20)
    np.testing.assert_allclose(est.transform(images[perm]), first[perm], rtol=1e-6)
    np.testing.assert_allclose(est.transform(images[5:9]), first[5:9], rtol=1e-6)
    # read-only input, pickling, fit_transform
    ro = images.copy()
    ro.flags.writeable = False
    np.testing.assert_array_equal(est.transform(ro), first)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).transform(images), first)
    np.testing.assert_array_equal(make().fit_transform(images), first)
    assert len(est.get_feature_names_out()) == first.shape[1]


# ------------------------------------------------------ real data
def _mnist(shared_data, n):
    d = shared_data / "mnist"
    path = d / "t10k-images-idx3-ubyte.gz"
    if not path.exists():
        pytest.skip(f"MNIST not found at {d}")
    X = np.frombuffer(gzip.open(path).read(), np.uint8, offset=16).reshape(-1, 28, 28)
    y = np.frombuffer(gzip.open(d / "t10k-labels-idx1-ubyte.gz").read(), np.uint8, offset=8)
    return X[:n], y[:n]


def test_mnist_hog_equals_skimage_and_conv_beats_hog(shared_data):
    from sklearn.linear_model import RidgeClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _mnist(shared_data, 3000)
    params = dict(pixels_per_cell=(7, 7), cells_per_block=(2, 2))
    hog = HOGFeatures(**params).transform(X)
    np.testing.assert_allclose(hog[:300], _sk(X[:300], **params), rtol=0, atol=HOG_ATOL)
    conv = ConvEmbedding(n_filters=64, random_state=0).fit(X[:2000]).transform(X)
    scores = {}
    for name, F in [("hog", hog), ("conv", conv)]:
        clf = make_pipeline(StandardScaler(), RidgeClassifier()).fit(F[:2000], y[:2000])
        scores[name] = clf.score(F[2000:], y[2000:])
    assert scores["hog"] > 0.85, scores
    assert scores["conv"] > scores["hog"] + 0.01, scores


def test_a_size_too_small_for_the_cells_is_a_parameter_error():
    # it was blamed on sample 0 ("image of shape (16, 16) is too small"), which is 28 x 28
    hog = HOGFeatures(size=(16, 16), pixels_per_cell=(8, 8), cells_per_block=(3, 3))
    with pytest.raises(ValueError, match=r"^size=\(16, 16\) is too small for pixels_per_cell=\(8, 8\) and "
                                         r"cells_per_block=\(3, 3\): HOG needs images of at least 24 rows and 24 columns\.$"):
        hog.fit([np.zeros((28, 28))])
    assert HOGFeatures(size=(24, 24), cells_per_block=(3, 3)).fit_transform([np.zeros((28, 28))]).shape == (1, 81)


def test_an_input_size_smaller_than_the_patch_is_a_parameter_error():
    with pytest.raises(ValueError, match=r"^input_size=\(4, 4\) is smaller than patch_size=6: no patch fits"):
        ConvEmbedding(input_size=(4, 4)).fit([np.zeros((28, 28)), np.ones((28, 28))])


def test_hog_rows_of_mixed_dtypes_do_not_depend_on_the_batch():
    # float32, float64 and uint8 images in one batch: each is computed in its own work type
    # (float32 for float32, float64 otherwise, as skimage does), not the stack's common type
    rng = np.random.default_rng(3)
    base = rng.random((4, 12, 12))
    batch = [base[0].astype(np.float32), base[1], (base[2] * 255).astype(np.uint8), base[3].astype(np.float32)]
    hog = HOGFeatures(pixels_per_cell=(4, 4), cells_per_block=(2, 2))
    together = hog.fit_transform(batch)
    for i, img in enumerate(batch):
        alone = hog.fit_transform([img])[0]
        assert np.array_equal(together[i], alone)
        ref = sk_hog(img, orientations=9, pixels_per_cell=(4, 4), cells_per_block=(2, 2))
        np.testing.assert_allclose(alone, ref, rtol=0, atol=HOG_ATOL)
