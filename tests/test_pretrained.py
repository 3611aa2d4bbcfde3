"""Tests of mmlearn.features.pretrained: PretrainedEmbedding on tiny torch and
ONNX models built here (oracle: the model run directly on the same
normalised batch)."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest
import torch
from skimage.transform import resize as sk_resize
from sklearn.base import clone

from mmlearn.features import PretrainedEmbedding

# torch (CPU build) and onnx / onnxruntime are in the ``test`` extra: the
# tests import them directly and never skip.


def _tiny_torch_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(4, 6),
        torch.nn.ReLU(),
        torch.nn.Linear(6, 3),
        torch.nn.Softmax(dim=1),
    )


def _normalised(images, size, mean, std):
    out = []
    for im in images:
        x = im / 255.0
        if x.ndim == 2:
            x = np.repeat(x[..., None], 3, axis=2)
        x = sk_resize(x, size + (3,), preserve_range=True, anti_aliasing=True)
        out.append(((x - mean) / std).transpose(2, 0, 1))
    return np.asarray(out, dtype=np.float32)


def test_torch_backbone_penultimate_and_output():
    model = _tiny_torch_model()
    rng = np.random.default_rng(0)
    images = list(rng.integers(0, 256, (5, 12, 12, 3), dtype=np.uint8)) + [
        rng.integers(0, 256, (20, 15), dtype=np.uint8)]  # gray, other size
    mean, std = np.array([0.5, 0.4, 0.3]), np.array([0.2, 0.25, 0.3])
    emb = PretrainedEmbedding(model, input_size=(10, 10), mean=tuple(mean), std=tuple(std),
                        batch_size=4).fit(images)
    x = torch.from_numpy(_normalised(images, (10, 10), mean, std))
    with torch.no_grad():
        expected_pen = model[:6](x).numpy()
        expected_out = model(x).numpy()
    got = emb.transform(images)
    assert emb.n_features_out_ == 6 and got.shape == (6, 6)
    np.testing.assert_allclose(got, expected_pen, rtol=1e-5, atol=1e-5)
    out = PretrainedEmbedding(model, output="output", input_size=(10, 10), mean=tuple(mean),
                        std=tuple(std)).fit(images)
    np.testing.assert_allclose(out.transform(images), expected_out, rtol=1e-5, atol=1e-5)
    # the user's module is not modified, and the fitted copy pickles
    assert emb.backbone_ is not model
    again = pickle.loads(pickle.dumps(emb))
    np.testing.assert_allclose(again.transform(images), got, rtol=1e-6)
    names = emb.get_feature_names_out()
    assert list(names) == [f"pretrained_{i}" for i in range(6)]


def test_torch_backbone_without_linear_layer_needs_output():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), torch.nn.Flatten())
    images = np.zeros((2, 8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="output='output'"):
        PretrainedEmbedding(model, input_size=(8, 8)).fit(images)
    emb = PretrainedEmbedding(model, output="output", input_size=(8, 8)).fit(images)
    assert emb.transform(images).shape == (2, 72)


def _tiny_onnx_model(path, rng, static=True):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w1 = rng.standard_normal((3 * 8 * 8, 5)).astype(np.float32)
    w2 = rng.standard_normal((5, 4)).astype(np.float32)
    b2 = rng.standard_normal(4).astype(np.float32)
    nodes = [
        helper.make_node("Flatten", ["x"], ["f"], axis=1),
        helper.make_node("MatMul", ["f", "w1"], ["h"]),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("MatMul", ["r", "w2"], ["m"]),
        helper.make_node("Add", ["m", "b2"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["y"], axis=1),
    ]
    dims = ["N", 3, 8, 8] if static else ["N", 3, "H", "W"]
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
        initializer=[numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2"),
                     numpy_helper.from_array(b2, "b2")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return w1, w2, b2


def test_onnx_backbone_penultimate_and_output(tmp_path):
    rng = np.random.default_rng(1)
    path = str(tmp_path / "tiny.onnx")
    w1, w2, b2 = _tiny_onnx_model(path, rng)
    images = list(rng.integers(0, 256, (5, 12, 12, 3), dtype=np.uint8)) + [
        rng.integers(0, 256, (9, 9), dtype=np.uint8)]
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    x = _normalised(images, (8, 8), mean, std).reshape(len(images), -1)
    hidden = np.maximum(x @ w1, 0)
    logits = hidden @ w2 + b2
    softmax = np.exp(logits - logits.max(1, keepdims=True))
    softmax /= softmax.sum(1, keepdims=True)
    # the model's fixed input size (8, 8) is used when input_size is None
    emb = PretrainedEmbedding(path, batch_size=4).fit(images)
    np.testing.assert_allclose(emb.transform(images), hidden, rtol=1e-4, atol=1e-4)
    out = PretrainedEmbedding(path, output="output").fit(images)
    np.testing.assert_allclose(out.transform(images), softmax, rtol=1e-4, atol=1e-5)
    again = pickle.loads(pickle.dumps(emb))  # the session is rebuilt from onnx_model_
    np.testing.assert_allclose(again.transform(images), emb.transform(images), rtol=1e-6)


def test_input_size_is_found_once_per_call_not_per_image(tmp_path, monkeypatch):
    # the ONNX model's static input size is read once per fit / transform
    rng = np.random.default_rng(2)
    path = str(tmp_path / "tiny.onnx")
    _tiny_onnx_model(path, rng)
    images = list(rng.integers(0, 256, (7, 12, 12, 3), dtype=np.uint8))
    emb = PretrainedEmbedding(path, batch_size=3).fit(images)
    expected = emb.transform(images)
    calls = []
    static_size = PretrainedEmbedding._onnx_static_size

    def counting(self):
        calls.append(1)
        return static_size(self)

    monkeypatch.setattr(PretrainedEmbedding, "_onnx_static_size", counting)
    np.testing.assert_array_equal(emb.transform(images), expected)
    assert len(calls) == 1


def test_onnx_backbone_missing_file_and_packages(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="missing.onnx"):
        PretrainedEmbedding(str(tmp_path / "missing.onnx")).fit(np.zeros((1, 8, 8)))
    path = str(tmp_path / "tiny.onnx")
    _tiny_onnx_model(path, np.random.default_rng(0))
    images = np.zeros((2, 8, 8, 3), np.uint8)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ImportError, match=r"pip install 'mmlearn\[onnx\]'"):
        PretrainedEmbedding(path).fit(images)
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match="pip install onnx"):
        PretrainedEmbedding(path).fit(images)


def _dense_torch_model(n_in=3 * 8 * 8):
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(n_in, 5), torch.nn.ReLU(),
                               torch.nn.Linear(5, 2))


def test_bad_params():
    images = np.zeros((2, 8, 8, 3), np.uint8)
    model = _tiny_torch_model()
    for params, match in [
        (dict(backbone=42), "backbone must be a torch.nn.Module or the path"),
        (dict(backbone=model, output="logits"), "output must be one of"),
        (dict(backbone=model, mean=(0.5, 0.5)), "mean and std"),
        (dict(backbone=model, std=(1.0, 0.0, 1.0)), "mean and std"),
        (dict(backbone=model, batch_size=0), "batch_size"),
        (dict(backbone=model, input_size=(8,)), "input_size"),
    ]:
        with pytest.raises(ValueError, match=match):
            PretrainedEmbedding(**params).fit(images)
    with pytest.raises(Exception, match="not fitted"):
        PretrainedEmbedding(model).transform(images)
    with pytest.raises(ValueError, match="0 samples"):
        PretrainedEmbedding(model).fit([])


def test_gray_backbone_and_flattened_rows():
    # one-channel backbone: colour images go through rgb2gray; with input_size
    # a 1-D row of length h * w is a flattened gray image
    from skimage.color import rgb2gray

    torch.manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 4), torch.nn.ReLU(),
                                torch.nn.Linear(4, 2))
    rng = np.random.default_rng(4)
    colour = rng.integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    emb = PretrainedEmbedding(model, mean=(0.5,), std=(0.25,), input_size=(8, 8)).fit(colour)
    assert emb.n_channels_ == 1
    gray = rgb2gray(colour / 255.0)
    x = torch.from_numpy(((gray - 0.5) / 0.25)[:, None].astype(np.float32))
    with torch.no_grad():
        expected = model[:3](x).numpy()
    np.testing.assert_allclose(emb.transform(colour), expected, rtol=1e-5, atol=1e-5)
    rows = emb.transform(list(gray.reshape(3, 64)))  # float gray images in [0, 1]
    np.testing.assert_allclose(rows, expected, rtol=1e-5, atol=1e-5)


def test_relative_paths_resolve_against_base_dir(tmp_path, monkeypatch):
    from PIL import Image

    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    (tmp_path / "imgs").mkdir()
    names = []
    for i, im in enumerate(images):
        Image.fromarray(im).save(tmp_path / "imgs" / f"{i}.png")
        names.append(f"{i}.png")
    model = _dense_torch_model()
    expected = PretrainedEmbedding(model).fit(images).transform(images)
    monkeypatch.chdir(tmp_path)  # the names are not relative to the working directory
    emb = PretrainedEmbedding(model, base_dir=tmp_path / "imgs").fit(names)
    np.testing.assert_allclose(emb.transform(names), expected, rtol=1e-6)
    with pytest.raises(FileNotFoundError, match="sample 0"):
        PretrainedEmbedding(model).fit(names)


def test_non_finite_features_name_the_sample():
    # a float image far outside [0, 1] is refused before the backbone runs;
    # one whose features overflow inside the backbone names its sample
    model = _dense_torch_model()
    good = np.random.default_rng(6).random((8, 8, 3))
    emb = PretrainedEmbedding(model, mean=(0, 0, 0), std=(1, 1, 1)).fit([good])
    with pytest.raises(ValueError, match=r"sample 1: float pixel values up to [0-9.]+e\+19"):
        emb.transform([good, good * 1e20])
    with torch.no_grad():
        emb.backbone_[1].weight.fill_(1e38)  # overflows float32 unless the input is tiny
    with pytest.raises(ValueError, match=r"sample 2: the backbone returned NaN or infinite"):
        emb.transform([good * 1e-30, good * 1e-30, good])


# ------------------------------------------------------ sklearn contract
# sklearn's common checks run in tests/test_common.py (image input: data-free
# checks only); the data invariants, on images:
def test_image_transformer_contract():
    from sklearn.utils import get_tags

    tags = get_tags(PretrainedEmbedding(_dense_torch_model())).input_tags
    assert not tags.two_d_array and tags.three_d_array and tags.string
    images = np.random.default_rng(7).integers(0, 256, (10, 8, 8, 3), dtype=np.uint8)
    est = PretrainedEmbedding(_dense_torch_model(), batch_size=3)
    assert est.fit(images) is est
    first = est.transform(images)
    assert first.dtype == np.float32 and first.shape == (10, 5)
    np.testing.assert_array_equal(clone(est).fit(images).transform(images), first)
    # rows do not depend on the other samples (up to float32 rounding of the
    # batched matrix product)
    perm = np.random.default_rng(0).permutation(10)
    np.testing.assert_allclose(est.transform(images[perm]), first[perm], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(est.transform(images[2:5]), first[2:5], rtol=1e-5, atol=1e-6)
    ro = images.copy()
    ro.flags.writeable = False
    np.testing.assert_array_equal(est.transform(ro), first)
    np.testing.assert_array_equal(est.fit_transform(images), first)
    assert len(est.get_feature_names_out()) == 5
