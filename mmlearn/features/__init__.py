"""Per-modality feature extractors, all scikit-learn transformers."""

from ._memo import FeatureMemo
from .audio import MFCCFeatures
from .image import ConvEmbedding, HOGFeatures

__all__ = ["FeatureMemo", "MFCCFeatures", "HOGFeatures", "ConvEmbedding"]
