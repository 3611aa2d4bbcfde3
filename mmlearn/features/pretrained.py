"""Embeddings from a pretrained network: a torch module or an ONNX model.

:class:`PretrainedEmbedding` runs a backbone you provide (a
``torch.nn.Module`` you built and loaded with weights, e.g. from torchvision
or a file, or the path of an ``.onnx`` file) on batches of normalised images
and returns its penultimate layer (or its output) as features. torch,
onnxruntime and onnx are imported only when used.
"""

from __future__ import annotations

import copy
import functools
import os
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._config import get_config
from ..io import _where
from ._base import _as_sample_list, _check_int, _load_each
from .image import (
    _check_pair,
    _embed_by_shape,
    _image_input_tags,
    _load_unit_image,
)

__all__ = ["PretrainedEmbedding"]

# A pretrained network costs milliseconds per image: show progress from this
# many images on (the other extractors: _base._PROGRESS_MIN_SAMPLES).
_PROGRESS_MIN_IMAGES = 100
_OUTPUTS = ("penultimate", "output")
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def _torch_device(device: str | None) -> str:
    import torch

    if device is None:
        device = get_config()["device"]
    if device == "cpu":
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        raise RuntimeError("device='cuda' was requested but torch sees no CUDA GPU.")
    return "cpu"


def _is_torch_module(obj: Any) -> bool:
    return any(
        c.__module__.startswith("torch.nn") and c.__name__ == "Module" for c in type(obj).__mro__
    )


class PretrainedEmbedding(TransformerMixin, BaseEstimator):
    """Image embedding from a pretrained torch or ONNX backbone.

    ``fit`` copies the backbone (a ``torch.nn.Module``) or reads the ONNX
    file, and runs it once to learn the embedding's length; ``transform``
    scales every image to [0, 1], normalises it per channel, resizes it if
    asked, and runs the backbone on batches, taking the input of its last
    linear layer (the features a classifier head sees) or its output.

    Parameters
    ----------
    backbone : torch.nn.Module or path
        A ``torch.nn.Module`` (built and loaded with weights by you, e.g. a
        torchvision model): it is copied, put in eval mode and run on
        batches of shape ``(n, channels, height, width)``. Or the path of an
        ``.onnx`` file, run with onnxruntime.
    output : {"penultimate", "output"}, default="penultimate"
        ``"penultimate"`` takes the input of the model's last linear layer
        (the last ``torch.nn.Linear`` in ``module.modules()`` order; in ONNX,
        the ``Gemm`` / ``MatMul`` that produces the first output, looking
        through trailing bias ``Add``, ``Softmax``, ``Sigmoid``, ``Identity``
        and ``Flatten`` nodes). ``"output"`` takes the model's output as it
        is (for a model whose head you removed yourself).
    input_size : tuple of int (height, width), default=None
        Resize every image to this shape (anti-aliased) before the
        backbone. None keeps each image's own size (an ONNX model with a
        fixed input size gets that size); images of different sizes are then
        run in separate batches. With it, a 1-D sample of length
        ``height * width`` is read as a flattened gray image.
    mean, std : sequence of float, default=None
        Per-channel normalisation ``(x - mean) / std`` of images scaled to
        [0, 1]; None means ImageNet's ``(0.485, 0.456, 0.406)`` and
        ``(0.229, 0.224, 0.225)``. Their length is the number of channels
        the backbone takes (1 or 3).
    batch_size : int, default=64
        Images per backbone call.
    device : {"auto", "cpu", "cuda"}, default=None
        Where the backbone runs: torch on CUDA if torch sees a GPU,
        onnxruntime with its CUDA provider when present; None follows
        :func:`mmlearn.get_config`.
    base_dir : str or path-like, default=None
        Folder that relative image paths are resolved against (see
        :func:`mmlearn.io.load_image`); None: the current directory. It
        does not change the features.

    Attributes
    ----------
    backbone_ : torch.nn.Module
        The copied module (torch backbone).
    onnx_model_ : bytes
        The serialized ONNX model, with the penultimate tensor exposed as an
        output when ``output="penultimate"`` (ONNX backbone).
    n_channels_ : int
        Channels the backbone is given (``len(mean)``).
    n_features_out_ : int
        Length of the embedding.

    See Also
    --------
    ConvEmbedding : A convolutional embedding learned from your own images.
    HOGFeatures : Hand-designed gradient histograms.

    Notes
    -----
    Integer images are scaled to [0, 1] by their dtype's maximum (uint8 by
    255); float images are taken to be in [0, 1]. A colour image given to a
    one-channel backbone is converted with :func:`skimage.color.rgb2gray`;
    a gray image given to a three-channel one is replicated. If the
    backbone returns NaN or infinite features for an image, ``transform``
    raises an error naming the sample.

    torch, onnxruntime and onnx are optional: an ImportError says which to
    install (``pip install 'mmlearn[onnx]'`` for onnxruntime and onnx).
    ``output="penultimate"`` with an ONNX model needs ``onnx`` to expose the
    inner tensor.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from mmlearn.features import PretrainedEmbedding
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(
    ...     torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
    ...     torch.nn.Flatten(), torch.nn.Linear(8, 2))
    >>> images = np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)
    >>> emb = PretrainedEmbedding(net).fit(images)
    >>> emb.transform(images).shape
    (4, 8)
    """

    def __init__(
        self,
        backbone: Any,
        *,
        output: str = "penultimate",
        input_size: tuple[int, int] | None = None,
        mean: Any = None,
        std: Any = None,
        batch_size: int = 64,
        device: str | None = None,
        base_dir: str | os.PathLike | None = None,
    ):
        self.backbone = backbone
        self.output = output
        self.input_size = input_size
        self.mean = mean
        self.std = std
        self.batch_size = batch_size
        self.device = device
        self.base_dir = base_dir

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        _image_input_tags(tags.input_tags)
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    # -- parameters -------------------------------------------------------------
    def _backbone_kind(self) -> str:
        b = self.backbone
        if isinstance(b, (str, os.PathLike)):
            return "onnx"
        if _is_torch_module(b):
            return "torch"
        raise ValueError(
            "backbone must be a torch.nn.Module or the path of an ONNX model, got "
            f"{type(b).__name__}."
        )

    def _check_params(self) -> str:
        kind = self._backbone_kind()
        _check_int("batch_size", self.batch_size, 1)
        _check_pair("input_size", self.input_size, allow_none=True)
        if self.output not in _OUTPUTS:
            raise ValueError(f"output must be one of {_OUTPUTS}, got {self.output!r}.")
        mean, std = self._norm_stats()
        if len(mean) not in (1, 3) or len(std) != len(mean) or np.any(std <= 0):
            raise ValueError(
                "mean and std must be sequences of 1 or 3 values, of equal length, with "
                f"std > 0; got mean={self.mean!r}, std={self.std!r}."
            )
        return kind

    def _norm_stats(self) -> tuple[np.ndarray, np.ndarray]:
        mean = _IMAGENET_MEAN if self.mean is None else self.mean
        std = _IMAGENET_STD if self.std is None else self.std
        return (np.atleast_1d(np.asarray(mean, dtype=np.float32)),
                np.atleast_1d(np.asarray(std, dtype=np.float32)))

    def _size(self) -> tuple[int, int] | None:
        size = _check_pair("input_size", self.input_size, allow_none=True)
        if size is None and hasattr(self, "onnx_model_"):
            size = self._onnx_static_size()
        return size

    def _load(self, sample: Any, index: int, size: tuple[int, int] | None) -> np.ndarray:
        # size: self._size(), computed once per call (it may query the ONNX session)
        return _load_unit_image(sample, index, n_channels=self.n_channels_, size=size,
                                base_dir=self.base_dir)

    # -- fit ----------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> "PretrainedEmbedding":
        """Copy or read the backbone and learn the embedding's length.

        Parameters
        ----------
        X : sequence of images
            As accepted by :meth:`transform`; the first image is run once.
        y : None
            Ignored.

        Returns
        -------
        self : PretrainedEmbedding
            The fitted transformer.
        """
        kind = self._check_params()
        samples = _as_sample_list(X, type(self).__name__)
        if not samples:
            raise ValueError("PretrainedEmbedding got 0 samples; at least 1 is required.")
        for attr in ("backbone_", "onnx_model_", "_session"):
            self.__dict__.pop(attr, None)
        if kind == "torch":
            module = copy.deepcopy(self.backbone).eval()
            module.to(_torch_device(self.device))
            self.backbone_ = module
        else:
            path = os.fspath(self.backbone)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"ONNX backbone {path!r} not found.")
            with open(path, "rb") as f:
                model = f.read()
            if self.output == "penultimate":
                model = _expose_penultimate(model)
            self.onnx_model_ = model
        self.n_channels_ = len(self._norm_stats()[0])
        probe = self._embed([self._load(samples[0], 0, self._size())], [0])
        self.n_features_out_ = int(probe.shape[1])
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

        Raises
        ------
        ValueError
            If an image cannot be loaded, or the backbone returns NaN or
            infinite features for it (the message names the sample).
        """
        check_is_fitted(self, "n_features_out_")
        self._check_params()
        samples = _as_sample_list(X, type(self).__name__)
        if not samples:
            raise ValueError("PretrainedEmbedding got 0 samples; at least 1 is required.")
        size = self._size()
        images = _load_each(functools.partial(self._load, size=size), samples,
                            "PretrainedEmbedding loading", min_samples=_PROGRESS_MIN_IMAGES)
        return _embed_by_shape(images, self.n_features_out_, int(self.batch_size), self._embed,
                               desc="PretrainedEmbedding batches",
                               min_samples=_PROGRESS_MIN_IMAGES)

    def _embed(self, batch: list[np.ndarray], indices: list[int]) -> np.ndarray:
        mean, std = self._norm_stats()
        stack = np.stack(batch)
        if stack.ndim == 3:
            stack = stack[..., None]
        x = np.ascontiguousarray(((stack - mean) / std).transpose(0, 3, 1, 2), dtype=np.float32)
        if hasattr(self, "onnx_model_"):
            feats = self._run_onnx(x)
        else:
            feats = _run_torch(self.backbone_, x, self.output)
        feats = feats.reshape(len(batch), -1)
        bad = ~np.isfinite(feats).all(axis=1)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            img = batch[j]
            raise ValueError(
                f"{_where(indices[j])}: the backbone returned NaN or infinite features; the "
                f"image scaled to [0, 1] has values in [{img.min():.3g}, {img.max():.3g}] "
                "(float images are expected in [0, 1])."
            )
        return feats

    # -- ONNX -------------------------------------------------------------------
    def _onnx_session(self):
        session = self.__dict__.get("_session")
        if session is None:
            try:
                import onnxruntime as ort
            except ImportError as exc:
                raise ImportError(
                    "An ONNX backbone needs onnxruntime: pip install 'mmlearn[onnx]' "
                    "(or onnxruntime)."
                ) from exc
            providers = ["CPUExecutionProvider"]
            want_gpu = (self.device or get_config()["device"]) in ("auto", "cuda")
            if want_gpu and "CUDAExecutionProvider" in ort.get_available_providers():
                providers.insert(0, "CUDAExecutionProvider")
            session = ort.InferenceSession(self.onnx_model_, providers=providers)
            self.__dict__["_session"] = session
        return session

    def _onnx_static_size(self) -> tuple[int, int] | None:
        shape = self._onnx_session().get_inputs()[0].shape
        if len(shape) == 4 and all(isinstance(v, int) for v in shape[2:]):
            return int(shape[2]), int(shape[3])
        return None

    def _run_onnx(self, x: np.ndarray) -> np.ndarray:
        session = self._onnx_session()
        name = session.get_inputs()[0].name
        outputs = session.get_outputs()
        target = outputs[-1].name if self.output == "penultimate" else outputs[0].name
        return np.asarray(session.run([target], {name: x})[0], dtype=np.float32)

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())
        state.pop("_session", None)
        return state

    # -- names ------------------------------------------------------------------
    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names ``pretrained_0``, ``pretrained_1``, ... of the output features.

        Parameters
        ----------
        input_features : None
            Ignored.

        Returns
        -------
        names : ndarray of str objects
        """
        check_is_fitted(self, "n_features_out_")
        return np.asarray([f"pretrained_{i}" for i in range(self.n_features_out_)],
                          dtype=object)


def _run_torch(module: Any, x: np.ndarray, output: str) -> np.ndarray:
    import torch

    device = next((p.device for p in module.parameters()), torch.device("cpu"))
    captured: list = []
    handle = None
    if output == "penultimate":
        linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
        if not linears:
            raise ValueError(
                "output='penultimate' takes the input of the backbone's last torch.nn.Linear, "
                "but the module has none; use output='output' for a module that already "
                "returns the embedding."
            )
        handle = linears[-1].register_forward_hook(
            lambda mod, args, result: captured.append(args[0])
        )
    try:
        with torch.inference_mode():
            result = module(torch.from_numpy(x).to(device))
    finally:
        if handle is not None:
            handle.remove()
    if output == "penultimate":
        result = captured[-1]
    return result.detach().float().cpu().numpy().reshape(x.shape[0], -1)


# ONNX nodes looked through, from the model's output back to its last linear layer.
_ONNX_HEAD_OPS = {"Softmax", "LogSoftmax", "Sigmoid", "Identity", "Flatten", "Add"}


def _expose_penultimate(model_bytes: bytes) -> bytes:
    """Add the input of the ONNX model's last Gemm/MatMul as a graph output."""
    try:
        import onnx
    except ImportError as exc:
        raise ImportError(
            "output='penultimate' with an ONNX backbone needs the onnx package to expose the "
            "penultimate tensor: pip install onnx; or pass output='output'."
        ) from exc
    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    producers = {out: node for node in graph.node for out in node.output}
    constants = {init.name for init in graph.initializer}
    constants |= {n.output[0] for n in graph.node if n.op_type == "Constant"}
    name = graph.output[0].name
    while True:
        node = producers.get(name)
        if node is None:
            raise ValueError(f"ONNX backbone: cannot find the node that produces {name!r}.")
        data = [i for i in node.input if i and i not in constants]
        if node.op_type in ("Gemm", "MatMul"):
            if not data:
                raise ValueError("ONNX backbone: the last Gemm/MatMul has no data input.")
            penultimate = data[0]
            break
        if node.op_type not in _ONNX_HEAD_OPS or len(data) != 1:
            raise ValueError(
                f"ONNX backbone: expected the model to end in Gemm or MatMul (then optional "
                f"{sorted(_ONNX_HEAD_OPS)}), found {node.op_type!r}; pass output='output' for "
                "a model that already returns the embedding."
            )
        name = data[0]
    graph.output.append(onnx.ValueInfoProto(name=penultimate))
    return model.SerializeToString()
