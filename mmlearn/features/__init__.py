"""Per-modality feature extractors, all scikit-learn transformers."""

from .._caching import FeatureMemo
from .audio import MFCCFeatures
from .image import ConvEmbedding, HOGFeatures
from .pretrained import PretrainedEmbedding
from .text import Word2VecEmbedding

__all__ = ["FeatureMemo", "MFCCFeatures", "Word2VecEmbedding", "HOGFeatures", "ConvEmbedding",
           "PretrainedEmbedding"]
