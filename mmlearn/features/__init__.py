"""Per-modality feature extractors, all scikit-learn transformers."""

from .._caching import FeatureMemo
from ._pretrained_wheels import load_efficientnet_lite0
from .audio import MFCCFeatures
from .image import ConvEmbedding, HOGFeatures
from .pretrained import PretrainedEmbedding
from .sound import SpectralFeatures
from .text import Word2VecEmbedding

__all__ = [
    "ConvEmbedding",
    "FeatureMemo",
    "HOGFeatures",
    "MFCCFeatures",
    "PretrainedEmbedding",
    "SpectralFeatures",
    "Word2VecEmbedding",
    "load_efficientnet_lite0",
]
