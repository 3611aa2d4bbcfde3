"""The AV-digits models of ``mmlearn demo`` and of the accuracy suite: one definition for both."""

from __future__ import annotations

from typing import Any

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..compose import make_early_fusion, make_modality_pipeline
from ..features import FeatureMemo, HOGFeatures, MFCCFeatures
from ..fusion import (
    EnsembleSelectionClassifier,
    FusionWeightSearchCV,
    StackingFusionClassifier,
    VotingFusionClassifier,
)

__all__ = ["av_digits_models"]


def av_digits_models(
    memo: FeatureMemo | None, *, mfcc_stats: tuple[str, ...] = ("mean", "std")
) -> dict[str, Any]:
    """Unfitted models of the ``audio`` and ``image`` columns of AV digits, by name.

    Each modality alone (MFCC or HOG -> StandardScaler -> LogisticRegression),
    early fusion of both feature sets, and the late fusions of the two
    single-modality pipelines: voting with equal and with searched weights,
    stacking and ensemble selection. ``memo`` is shared by every extractor;
    ``mfcc_stats`` are the MFCC pooling statistics (the demo: mean and std;
    the accuracy suite: also min and max).
    """

    def mfcc() -> MFCCFeatures:
        return MFCCFeatures(sr=8000, n_fft=512, hop_length=128, n_mels=40, n_mfcc=20, deltas=1,
                            stats=mfcc_stats, memory=memo)

    def hog() -> HOGFeatures:
        return HOGFeatures(pixels_per_cell=(7, 7), cells_per_block=(2, 2), memory=memo)

    def members() -> list[tuple[str, Any]]:
        return [
            ("audio", make_modality_pipeline("audio", mfcc(), StandardScaler(),
                                             LogisticRegression(C=0.5, max_iter=3000))),
            ("image", make_modality_pipeline("image", hog(), StandardScaler(),
                                             LogisticRegression(C=0.05, max_iter=3000))),
        ]

    audio, image = (m for _, m in members())
    early = make_early_fusion(
        (make_pipeline(mfcc(), StandardScaler()), "audio"),
        (make_pipeline(hog(), StandardScaler()), "image"),
        final_estimator=LogisticRegression(C=0.05, max_iter=3000),
    )
    return {
        "audio only (MFCC)": audio,
        "image only (HOG)": image,
        "early fusion": early,
        "voting (equal weights)": VotingFusionClassifier(members()),
        "voting (searched weights)": FusionWeightSearchCV(VotingFusionClassifier(members()), step=0.1, cv=5),
        "stacking": StackingFusionClassifier(members(), LogisticRegression(max_iter=2000), cv=5),
        "ensemble selection": EnsembleSelectionClassifier(members(), n_iter=30, cv=5, random_state=0),
    }
