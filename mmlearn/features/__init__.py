"""Per-modality feature extractors, all scikit-learn transformers."""

from ._memo import FeatureMemo
from .audio import MFCCFeatures
from .image import ConvEmbedding, HOGFeatures
from ._pretrained_wheels import load_efficientnet_lite0
from .sound import SpectralFeatures
from .text import Word2VecEmbedding

__all__ = ["FeatureMemo", "MFCCFeatures", "Word2VecEmbedding", "HOGFeatures", "ConvEmbedding", "SpectralFeatures", "load_efficientnet_lite0"]
