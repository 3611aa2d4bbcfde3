"""Tests of mmlearn.features.audio (MFCCFeatures) and its kernels.

Oracles: librosa.feature.mfcc and librosa.feature.delta on each clip alone,
numpy / scipy.stats for the pooled statistics, numpy.polyfit for the deltas
of clips too short for librosa.

Tolerance. The kernel computes in float32; librosa runs its FFT in float64
(its Hann window is float64) and the rest in float32. Every coefficient must
be within ``TOL = 1e-5`` of the clip's largest |coefficient| (measured:
about 1e-6). An element-wise relative tolerance would be meaningless for
coefficients that are near zero, so the scale is the clip's.
"""

from __future__ import annotations

import warnings

import joblib
import librosa
import numpy as np
import pandas as pd
import pytest
import scipy.stats
import soundfile as sf
from sklearn.base import clone

import mmlearn.features.audio as audio_mod
from mmlearn.backend import gpu_available, to_host
from mmlearn.features import FeatureMemo, MFCCFeatures
from mmlearn.features._kernels._mfcc import (
    MFCC_STATS,
    delta_frames_batch,
    mfcc_batch,
    mfcc_frames_batch,
    pool_frames_batch,
)
from mmlearn.io import load_audio

TOL = 1e-5

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


PARAM_SETS = [
    pytest.param(dict(sr=22050), id="librosa-defaults"),
    pytest.param(
        dict(sr=16000, n_mfcc=13, n_fft=512, hop_length=160, n_mels=40), id="speech"
    ),
    pytest.param(
        dict(sr=16000, n_mfcc=12, n_fft=401, hop_length=100, n_mels=30, fmin=50.0, fmax=7000.0),
        id="odd-nfft-fmin-fmax",
    ),
    pytest.param(dict(sr=8000, n_mfcc=10, n_fft=256, hop_length=300, n_mels=20), id="hop>n_fft"),
]


def _tone_clip(n, sr, rng, amp=0.5):
    t = np.arange(n) / sr
    f0 = rng.uniform(80, sr / 5)
    y = amp * np.sin(2 * np.pi * f0 * t) + 0.3 * amp * np.sin(2 * np.pi * 2.7 * f0 * t)
    return (y + 0.05 * amp * rng.standard_normal(n)).astype(np.float32)


def _clips(params, seed=0):
    """A mixed-length batch with the edge cases of the issue."""
    sr, n_fft = params["sr"], params.get("n_fft", 2048)
    rng = np.random.default_rng(seed)
    lengths = [sr, 3 * n_fft + 17, n_fft // 2, 1, sr // 3 + 5]
    clips = [_tone_clip(n, sr, rng, amp=rng.uniform(0.01, 1.0)) for n in lengths]
    clips.append(np.zeros(2000, dtype=np.float32))  # silent
    one = np.zeros(6000, dtype=np.float32)
    one[2345] = 1.0  # one loud sample
    clips.append(one)
    clips.append(_tone_clip(sr // 2, sr, rng, amp=1e-4))  # very quiet
    return clips


def _librosa_mfcc(y, params):
    kw = {k: v for k, v in params.items() if k != "sr"}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="n_fft=.*is too large")
        return librosa.feature.mfcc(y=y, sr=params["sr"], **kw)


def _kernel_params(params):
    kw = dict(params)
    kw.setdefault("n_mfcc", 20)
    return kw


def _assert_close_to_scale(ours, ref, scale, tol=TOL, what=""):
    err = np.abs(np.asarray(ours, dtype=np.float64) - ref).max()
    assert err <= tol * scale, f"{what}: max |diff| {err:.3g} > {tol} * {scale:.3g}"


# ------------------------------------------------------------------ kernel
@pytest.mark.parametrize("packing", ["list", "concatenated"])
@pytest.mark.parametrize("xp_name", XP)
@pytest.mark.parametrize("params", PARAM_SETS)
def test_mfcc_frames_match_librosa_clip_by_clip(params, xp_name, packing):
    xp = _xp(xp_name)
    clips = _clips(params)
    if packing == "list":
        signals, lengths = clips, None
    else:
        signals, lengths = xp.asarray(np.concatenate(clips)), [len(c) for c in clips]
    mfcc, n_frames = mfcc_frames_batch(
        signals=signals, lengths=lengths, xp=xp, **_kernel_params(params)
    )
    mfcc, n_frames = to_host(mfcc), to_host(n_frames)
    for i, clip in enumerate(clips):
        ref = _librosa_mfcc(clip, params)
        assert n_frames[i] == ref.shape[1], f"clip {i}: frame count"
        ours = mfcc[i, : n_frames[i]].T
        _assert_close_to_scale(ours, ref, np.abs(ref).max(), what=f"clip {i} (len {len(clip)})")


@pytest.mark.parametrize("xp_name", XP)
@pytest.mark.parametrize("params", PARAM_SETS[:2])
def test_deltas_match_librosa_delta(params, xp_name):
    xp = _xp(xp_name)
    clips = _clips(params)
    mfcc, n_frames = mfcc_frames_batch(
        signals=xp.asarray(np.concatenate(clips)),
        lengths=[len(c) for c in clips],
        xp=xp,
        **_kernel_params(params),
    )
    checked = 0
    for order in (1, 2):
        delta = to_host(delta_frames_batch(values=mfcc, n_frames=n_frames, order=order, xp=xp))
        for i, clip in enumerate(clips):
            ref_mfcc = _librosa_mfcc(clip, params)
            if ref_mfcc.shape[1] < 9:
                continue  # librosa raises; see the short-clip test
            ref = librosa.feature.delta(ref_mfcc, order=order)
            ours = delta[i, : ref.shape[1]].T
            _assert_close_to_scale(
                ours, ref, np.abs(ref_mfcc).max(), what=f"order {order}, clip {i}"
            )
            checked += 1
    assert checked >= 8


def _polyfit_delta(x, order):
    """Derivative of the least-squares polynomial over all frames (numpy.polyfit)."""
    n = len(x)
    t = np.arange(n, dtype=np.float64)
    deg = min(order, n - 1)
    if deg < order:
        return np.zeros(n)
    poly = np.polyder(np.polyfit(t, x, deg), order)
    return np.polyval(poly, t)


@pytest.mark.parametrize("order", [1, 2])
def test_deltas_of_clips_shorter_than_the_window_fit_all_frames(order):
    rng = np.random.default_rng(3)
    n_frames = np.array([1, 2, 3, 5, 8, 8, 12])
    values = rng.standard_normal((len(n_frames), 12, 4)).astype(np.float32)
    values[0, 1:] = np.nan  # padding is never read
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = delta_frames_batch(values=values, n_frames=n_frames, order=order)
    for i, n in enumerate(n_frames):
        for k in range(values.shape[2]):
            x = values[i, :n, k].astype(np.float64)
            if n >= 9:
                ref = librosa.feature.delta(x, order=order)
            else:
                ref = _polyfit_delta(x, order)
            np.testing.assert_allclose(out[i, :n, k], ref, rtol=1e-4, atol=1e-5)


def test_pool_frames_batch_matches_numpy_and_scipy():
    rng = np.random.default_rng(4)
    n_frames = np.array([1, 2, 7, 30, 31])
    values = rng.standard_normal((5, 31, 3)).astype(np.float32) * 10
    values[0, 1:] = np.nan  # padding is never read
    pooled = pool_frames_batch(values=values, n_frames=n_frames, stats=MFCC_STATS)
    assert pooled.shape == (5, 7 * 3) and pooled.dtype == np.float32
    for i, n in enumerate(n_frames):
        v = values[i, :n].astype(np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # scipy on constant data
            ref = np.concatenate([
                v.mean(0), v.std(0), v.min(0), v.max(0), np.median(v, 0),
                scipy.stats.skew(v, axis=0), scipy.stats.kurtosis(v, axis=0),
            ])
        finite = np.isfinite(ref)
        np.testing.assert_allclose(pooled[i][finite], ref[finite], rtol=1e-5, atol=1e-5)
        # scipy gives NaN skew / kurtosis for constant data (1 frame); here 0
        assert np.all(pooled[i][~finite] == 0)
    assert (~np.isfinite(pooled)).sum() == 0


@pytest.mark.parametrize("xp_name", XP)
def test_top_db_floor_is_per_clip(xp_name):
    """A quiet clip batched with a loud one keeps its own 80 dB floor."""
    sr = 16000
    rng = np.random.default_rng(5)
    quiet = _tone_clip(sr, sr, rng, amp=1e-4)
    loud = _tone_clip(sr, sr, rng, amp=1.0)
    quiet[4000:6000] = 0.0  # its silent frames sit at its own floor
    params = dict(sr=sr, n_mfcc=13, n_fft=512, hop_length=160, n_mels=40)
    # precondition: the floors differ (a batch-wide floor would change `quiet`)
    mel_q = librosa.power_to_db(librosa.feature.melspectrogram(y=quiet, sr=sr, n_fft=512,
                                                               hop_length=160, n_mels=40))
    mel_l = librosa.power_to_db(librosa.feature.melspectrogram(y=loud, sr=sr, n_fft=512,
                                                               hop_length=160, n_mels=40))
    assert mel_q.min() < mel_l.max() - 80 - 20 and mel_q.max() < mel_l.max() - 40
    xp = _xp(xp_name)
    both, nf = mfcc_frames_batch(signals=xp.asarray(np.concatenate([loud, quiet])),
                                 lengths=[sr, sr], xp=xp, **params)
    alone, _ = mfcc_frames_batch(signals=xp.asarray(quiet), lengths=[sr], xp=xp, **params)
    ref = _librosa_mfcc(quiet, params)
    scale = np.abs(ref).max()
    _assert_close_to_scale(to_host(both)[1].T, ref, scale, what="quiet clip in batch")
    _assert_close_to_scale(to_host(alone)[0].T, ref, scale, what="quiet clip alone")


def test_kernel_rejects_bad_arguments():
    with pytest.raises(ValueError, match="deltas must be 0, 1 or 2"):
        mfcc_batch(signals=np.ones(100), lengths=[100], sr=8000, deltas=3)
    with pytest.raises(ValueError, match="Unknown statistic"):
        pool_frames_batch(values=np.ones((1, 2, 3)), n_frames=[2], stats=("mode",))
    with pytest.raises(ValueError, match="width must be an odd integer"):
        delta_frames_batch(values=np.ones((1, 9, 2)), n_frames=[9], width=4)
    with pytest.raises(ValueError, match="top_db must be non-negative"):
        mfcc_frames_batch(signals=np.ones(100), lengths=[100], sr=8000, top_db=-1.0)
    with pytest.raises(ValueError, match=r"signals must be the clips end to end, shape \(150,\)"):
        mfcc_frames_batch(signals=np.ones(100), lengths=[100, 50], sr=8000)
    with pytest.raises(ValueError, match="at least one clip, each of >= 1 sample"):
        mfcc_frames_batch(signals=np.ones(100), lengths=[100, 0], sr=8000)
    with pytest.raises(ValueError, match="lengths is required"):
        mfcc_frames_batch(signals=np.ones(100), sr=8000)
    with pytest.raises(ValueError, match="lengths do not match"):
        mfcc_frames_batch(signals=[np.ones(100)], lengths=[99], sr=8000)
    with pytest.raises(ValueError, match=r"signals\[1\] must be 1-D"):
        mfcc_frames_batch(signals=[np.ones(100), np.ones((2, 50))], sr=8000)


# -------------------------------------------------------------- estimator
def _reference_features(clip, params, deltas, stats):
    """librosa MFCC (+ deltas) of one clip, pooled with numpy / scipy."""
    m = _librosa_mfcc(clip, params).astype(np.float64)
    sources = [m] + [librosa.feature.delta(m, order=k) for k in range(1, deltas + 1)]
    funcs = {
        "mean": lambda v: v.mean(1), "std": lambda v: v.std(1), "min": lambda v: v.min(1),
        "max": lambda v: v.max(1), "median": lambda v: np.median(v, 1),
        "skew": lambda v: scipy.stats.skew(v, axis=1),
        "kurtosis": lambda v: scipy.stats.kurtosis(v, axis=1),
    }
    return np.concatenate([funcs[s](v) for v in sources for s in stats]), np.abs(m).max()


@pytest.mark.parametrize("xp_name", XP)
def test_features_match_librosa_pooled_with_numpy_scipy(xp_name):
    params = dict(sr=16000, n_mfcc=13, n_fft=512, hop_length=160, n_mels=40)
    rng = np.random.default_rng(6)
    clips = [_tone_clip(n, 16000, rng, amp=rng.uniform(0.05, 1)) for n in (16000, 5000, 9999, 1600)]
    est = MFCCFeatures(**params, deltas=2, stats=MFCC_STATS, batch_size=3,
                       device="cpu" if xp_name == "numpy" else "cuda")
    X = est.fit_transform(clips)
    assert X.shape == (4, 3 * 7 * 13) and X.dtype == np.float32
    names = est.get_feature_names_out()
    for i, clip in enumerate(clips):
        ref, scale = _reference_features(clip, params, 2, MFCC_STATS)
        shape_stat = np.array(["skew" in n or "kurtosis" in n for n in names])
        # location / spread statistics: within TOL of the clip's scale
        _assert_close_to_scale(X[i, ~shape_stat], ref[~shape_stat], scale, what=f"clip {i}")
        # skew and kurtosis are scale-free: absolute tolerance
        np.testing.assert_allclose(X[i, shape_stat], ref[shape_stat], rtol=1e-3, atol=1e-3)


def test_feature_names_follow_the_columns():
    params = dict(sr=8000, n_mfcc=6, n_fft=256, hop_length=80, n_mels=24)
    est = MFCCFeatures(**params, deltas=2, stats=("mean", "std"))
    names = est.get_feature_names_out()
    assert names.dtype == object and len(names) == 3 * 2 * 6
    assert list(names[:2]) == ["mfcc_mean_0", "mfcc_mean_1"]
    assert "delta_std_3" in names and "delta2_mean_0" in names and names[-1] == "delta2_std_5"
    clip = _tone_clip(4000, 8000, np.random.default_rng(7))
    X = est.fit_transform([clip])
    m = _librosa_mfcc(clip, params)
    col = list(names).index("delta_std_3")
    ref = librosa.feature.delta(m, order=1)[3].std()
    assert abs(X[0, col] - ref) <= TOL * np.abs(m).max()
    assert list(MFCCFeatures(deltas=0, stats=("max",)).get_feature_names_out()[[0, -1]]) == [
        "mfcc_max_0", "mfcc_max_19"]


def test_is_stateless_and_transform_needs_no_fit():
    est = MFCCFeatures(sr=8000, n_fft=256, hop_length=64, n_mels=20, n_mfcc=8)
    assert est.__sklearn_tags__().requires_fit is False
    clips = [_tone_clip(3000, 8000, np.random.default_rng(8))]
    X1 = est.transform(clips)
    assert est.fit(clips) is est and est.n_samples_seen_ == 1
    np.testing.assert_array_equal(est.transform(clips), X1)


@pytest.mark.parametrize(
    "params",
    [
        dict(sr=8000, n_fft=256, hop_length=80, n_mels=30, n_mfcc=10, deltas=2, stats=MFCC_STATS),
        dict(sr=16000, n_fft=512, hop_length=160, n_mels=40, deltas=1),
        dict(sr=22050),
        dict(sr=8000, n_fft=256, hop_length=300, n_mels=20, n_mfcc=10, deltas=1),
    ],
    ids=["all-stats", "speech", "librosa-defaults", "hop>n_fft"],
)
def test_features_of_a_clip_do_not_depend_on_its_batch(params):
    # bit for bit: alone, in a batch, shuffled, in a subset, in other batch
    # sizes, with threads (the per-sample memo relies on this)
    rng = np.random.default_rng(9)
    clips = [_tone_clip(int(n), params["sr"], rng, amp=rng.uniform(1e-4, 1))
             for n in rng.integers(1, 30000, 29)]
    clips += [np.zeros(3000, dtype=np.float32), np.float32(1e25) * clips[0]]  # silent, loud
    X = MFCCFeatures(**params).transform(clips)
    alone = np.vstack([MFCCFeatures(**params).transform([c]) for c in clips])
    np.testing.assert_array_equal(X, alone)
    perm = rng.permutation(len(clips))
    shuffled = MFCCFeatures(**params, batch_size=5).transform([clips[i] for i in perm])
    np.testing.assert_array_equal(shuffled, X[perm])
    subset = perm[:7]
    np.testing.assert_array_equal(
        MFCCFeatures(**params, batch_size=3, n_jobs=2).transform([clips[i] for i in subset]),
        X[subset],
    )


class _CountingKernel:
    def __init__(self):
        self.calls = 0
        self.clips = 0

    def __call__(self, **kwargs):
        self.calls += 1
        self.clips += len(kwargs["signals"])
        return mfcc_batch(**kwargs)


@pytest.mark.parametrize("memory", ["feature_memo", "joblib", "path"])
def test_memory_computes_each_clip_once(memory, monkeypatch, tmp_path):
    counter = _CountingKernel()
    monkeypatch.setattr(audio_mod, "mfcc_batch", counter)
    memo = {"feature_memo": FeatureMemo(), "joblib": joblib.Memory(tmp_path / "jl", verbose=0),
            "path": str(tmp_path / "dir")}[memory]
    rng = np.random.default_rng(10)
    clips = [_tone_clip(int(n), 8000, rng) for n in rng.integers(500, 4000, 6)]
    est = MFCCFeatures(sr=8000, n_fft=256, hop_length=80, n_mels=24, n_mfcc=8, memory=memo)
    X = est.transform(clips)
    assert counter.clips == 6
    np.testing.assert_array_equal(clone(est).fit(clips).transform(clips), X)
    assert counter.clips == 6  # nothing recomputed, not even by a clone
    X2 = est.transform(clips[:3] + [clips[0] * 0.5])
    assert counter.clips == 7  # only the new clip
    np.testing.assert_array_equal(X2[:3], X[:3])
    est.set_params(n_mfcc=5).transform(clips[:2])  # another output: recomputed
    assert counter.clips == 9
    unmemoised = MFCCFeatures(sr=8000, n_fft=256, hop_length=80, n_mels=24, n_mfcc=8)
    np.testing.assert_allclose(X, unmemoised.transform(clips), rtol=0, atol=1e-4)


def test_memo_extracts_each_clip_once_across_cross_validation(monkeypatch):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    counter = _CountingKernel()
    monkeypatch.setattr(audio_mod, "mfcc_batch", counter)
    rng = np.random.default_rng(16)
    # two classes: low and high tones, each clip different
    y = rng.integers(0, 2, 40)
    clips = [(np.sin(np.arange(3000) * (0.05, 0.6)[k]) + 0.01 * rng.standard_normal(3000))
             .astype(np.float32) for k in y]
    pipe = make_pipeline(
        MFCCFeatures(sr=8000, n_fft=256, hop_length=80, n_mels=24, n_mfcc=8,
                     memory=FeatureMemo()),
        StandardScaler(), LogisticRegression(),
    )
    scores = cross_val_score(pipe, clips, y, cv=5)
    assert counter.clips == 40  # 5 folds x (fit + score) read 40 clips 10 times
    assert scores.mean() == 1.0


def test_kernel_runs_with_one_blas_thread_and_the_limit_is_restored(monkeypatch):
    from threadpoolctl import threadpool_info

    def blas_threads():  # numpy's BLAS: the one the kernel's products use
        return [i["num_threads"] for i in threadpool_info()
                if i["user_api"] == "blas" and "numpy" in i["filepath"]]

    seen = []

    def spy(**kwargs):
        seen.append(blas_threads())
        return mfcc_batch(**kwargs)

    monkeypatch.setattr(audio_mod, "mfcc_batch", spy)
    before = blas_threads()
    rng = np.random.default_rng(15)
    clips = [_tone_clip(2000, 8000, rng) for _ in range(6)]
    MFCCFeatures(sr=8000, n_fft=256, hop_length=80, n_mels=24, n_mfcc=8, batch_size=2,
                 n_jobs=2).transform(clips)
    assert before and len(seen) == 3 and all(t == [1] * len(before) for t in seen)
    assert blas_threads() == before


def _write_wav(path, y, sr):
    sf.write(str(path), y, sr, subtype="PCM_16")
    return str(path)


def test_file_paths_are_loaded_and_resampled(tmp_path):
    rng = np.random.default_rng(11)
    y8k = _tone_clip(8000, 8000, rng)
    native = _write_wav(tmp_path / "a.wav", y8k, 8000)
    other = _write_wav(tmp_path / "b.wav", _tone_clip(4410, 22050, rng), 22050)
    params = dict(sr=16000, n_fft=512, hop_length=160, n_mels=40, n_mfcc=13)
    est = MFCCFeatures(**params, stats=("mean", "std", "max"))
    X = est.transform([native, other])
    # the same as the clips that mmlearn.io.load_audio gives
    arrays = [load_audio(p, sr=16000) for p in (native, other)]
    np.testing.assert_allclose(X, est.transform(arrays), rtol=0, atol=1e-5)
    # and as soundfile + librosa's soxr_hq resampling (what librosa.load does
    # with a WAV file) + librosa's MFCC
    for i, p in enumerate((native, other)):
        y, native_sr = sf.read(p, dtype="float32")
        y = librosa.resample(y, orig_sr=native_sr, target_sr=16000, res_type="soxr_hq")
        ref, scale = _reference_features(y, params, 0, ("mean", "std", "max"))
        _assert_close_to_scale(X[i], ref, scale, tol=1e-4, what=p)


def test_n_jobs_gives_the_same_features(tmp_path):
    rng = np.random.default_rng(12)
    clips = [_tone_clip(int(n), 8000, rng) for n in rng.integers(300, 6000, 9)]
    samples = clips[:5] + [_write_wav(tmp_path / f"{i}.wav", c, 8000)
                           for i, c in enumerate(clips[5:])]
    params = dict(sr=8000, n_fft=256, hop_length=80, n_mels=24, n_mfcc=8, batch_size=2)
    X1 = MFCCFeatures(**params).transform(samples)
    X2 = MFCCFeatures(**params, n_jobs=2).transform(samples)
    np.testing.assert_array_equal(X1, X2)


def test_containers_give_the_same_rows():
    rng = np.random.default_rng(13)
    clips = [_tone_clip(3000, 8000, rng) for _ in range(4)]
    est = MFCCFeatures(sr=8000, n_fft=256, hop_length=80, n_mels=24, n_mfcc=8)
    X = est.transform(clips)
    np.testing.assert_array_equal(est.transform(pd.Series(clips)), X)
    np.testing.assert_array_equal(est.transform(pd.DataFrame({"audio": clips})), X)
    np.testing.assert_array_equal(est.transform(np.stack(clips)), X)  # one clip per row
    np.testing.assert_array_equal(est.transform([c.astype(np.float64) for c in clips]), X)


def test_inside_a_modality_with_missing_clips():
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from mmlearn.compose import make_modality_pipeline

    rng = np.random.default_rng(17)
    y = np.array([0, 1] * 10)
    clips = [(np.sin(np.arange(2500) * (0.05, 0.6)[k]) + 0.01 * rng.standard_normal(2500))
             .astype(np.float32) for k in y]
    audio = pd.Series(clips, dtype=object)
    audio[[3, 8]] = None  # two rows without a recording
    X = pd.DataFrame({"audio": audio, "other": np.arange(20)})
    mod = make_modality_pipeline(
        "audio", MFCCFeatures(sr=8000, n_fft=256, hop_length=80, n_mels=24, n_mfcc=8),
        StandardScaler(), LogisticRegression(),
    ).fit(X, y)
    assert mod.n_present_fit_ == 18
    proba = mod.predict_proba(X)
    assert np.isnan(proba[[3, 8]]).all() and not np.isnan(np.delete(proba, [3, 8], 0)).any()
    present = np.delete(np.arange(20), [3, 8])
    assert (proba[present].argmax(1) == y[present]).all()


# -------------------------------------------------------------- bad input
def _small():
    return MFCCFeatures(sr=8000, n_fft=256, hop_length=80, n_mels=24, n_mfcc=8)


def test_empty_clip_is_an_error_naming_the_sample():
    with pytest.raises(ValueError, match=r"^sample 1: audio is empty \(0 samples\)"):
        _small().transform([np.ones(500), np.array([], dtype=np.float32)])


def test_all_zero_clip_gives_finite_librosa_features():
    est = MFCCFeatures(sr=8000, n_fft=256, hop_length=80, n_mels=24, n_mfcc=8,
                       deltas=2, stats=MFCC_STATS)
    X = est.transform([np.zeros(4000), np.zeros(10)])
    assert np.all(np.isfinite(X))
    names = est.get_feature_names_out()
    # log-mel is -100 dB everywhere: c0 = -100 * sqrt(n_mels), other coefficients 0
    assert X[0, list(names).index("mfcc_mean_0")] == pytest.approx(-100 * np.sqrt(24), rel=1e-6)
    ref = _librosa_mfcc(np.zeros(4000, np.float32), dict(sr=8000, n_fft=256, hop_length=80,
                                                       n_mels=24, n_mfcc=8))
    np.testing.assert_allclose(X[0, :8], ref.mean(axis=1), atol=1e-3)
    skew_kurt = np.array(["skew" in n or "kurtosis" in n or "delta" in n for n in names])
    np.testing.assert_allclose(X[:, skew_kurt], 0.0, atol=1e-3)


def _db_shifted(m, k, n_mels):
    """MFCC matrix ``m`` of a clip, as that of the clip times ``2**k``: c0 only moves."""
    out = m.astype(np.float64).copy()
    out[0] += 20 * k * np.log10(2.0) * np.sqrt(n_mels)
    return out


SPEECH = dict(sr=16000, n_mfcc=13, n_fft=512, hop_length=160, n_mels=40)


@pytest.mark.parametrize("amp", [1e20, 1e100, 1e140])
def test_loud_float64_clips_match_librosa(amp):
    # the float32 power spectrum overflows; librosa (float64 here) does not,
    # and the rescaled computation must agree with it
    clip = _tone_clip(8000, 16000, np.random.default_rng(30)).astype(np.float64) * amp
    ref = _librosa_mfcc(clip, SPEECH)
    assert np.isfinite(ref).all()
    X = MFCCFeatures(**SPEECH, stats=("mean", "std", "max")).transform([clip])
    expect = np.concatenate([ref.mean(1), ref.std(1), ref.max(1)])
    _assert_close_to_scale(X[0], expect, np.abs(ref).max())


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda y: (y * 1e20).astype(np.float32), id="float32-1e20"),
        pytest.param(lambda y: (y * np.float32(3e38) / np.abs(y).max()).astype(np.float32),
                     id="float32-max"),
        pytest.param(lambda y: np.where(np.arange(y.size) == 4000, 1e300, y.astype(np.float64)),
                     id="float64-one-sample-1e300"),
    ],
)
def test_clips_where_librosa_overflows_give_the_exact_finite_value(make):
    # librosa returns inf / NaN; MFCCs scale exactly with the clip (only c0
    # moves, by the scale's dB), so the oracle is librosa on the clip scaled
    # down by a power of two, c0 moved back up
    clip = make(_tone_clip(8000, 16000, np.random.default_rng(31)))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert not np.isfinite(_librosa_mfcc(clip, SPEECH)).all()
    k = int(np.frexp(np.abs(clip).max())[1])  # clip * 2**-k has a largest |sample| < 1
    scaled = np.ldexp(clip.astype(np.float64), -k).astype(clip.dtype)
    ref = _db_shifted(_librosa_mfcc(scaled, SPEECH), k, SPEECH["n_mels"])
    X = MFCCFeatures(**SPEECH, deltas=1).transform([clip])
    assert np.isfinite(X).all()
    d = librosa.feature.delta(ref, order=1)
    expect = np.concatenate([ref.mean(1), ref.std(1), d.mean(1), d.std(1)])
    _assert_close_to_scale(X[0], expect, np.abs(ref).max())


def test_kernel_names_a_clip_with_infinite_samples():
    clips = [np.ones(3000, dtype=np.float32), np.ones(2000)]
    clips[1][5] = np.inf
    with pytest.raises(ValueError, match=r"^signals\[1\]: audio has non-finite samples") as info:
        mfcc_batch(signals=clips, sr=8000, n_fft=256, hop_length=80, n_mels=20)
    assert info.value.batch_position == 1


def test_kernel_errors_are_restated_for_the_users_sample(monkeypatch):
    from mmlearn.features._kernels._mfcc import _clip_error

    def failing(**kwargs):
        # the shortest clip of the batch is at position 0 (clips are sorted)
        raise _clip_error(0, "too loud.")

    monkeypatch.setattr(audio_mod, "mfcc_batch", failing)
    with pytest.raises(ValueError, match=r"^sample 2: too loud\.$") as info:
        _small().transform([np.ones(3000), np.ones(2000), np.ones(500)])
    assert info.value.sample_index == 2


@pytest.mark.parametrize(
    "missing", [None, np.nan, pd.NA, float("nan")], ids=["None", "np.nan", "pd.NA", "float-nan"]
)
def test_missing_samples_are_an_error_naming_the_sample(missing):
    clips = pd.Series([np.ones(500), missing, np.ones(600)], dtype=object)
    hint = r"MFCCFeatures needs every sample.*mmlearn\.compose\.Modality"
    for method in ("fit", "transform", "fit_transform"):
        with pytest.raises(ValueError, match=r"^sample 1 is missing \(.*\); " + hint) as info:
            getattr(_small(), method)(clips)
        assert info.value.sample_index == 1


def test_missing_image_is_an_error_naming_the_sample_too():
    from mmlearn.features import HOGFeatures

    img = np.random.default_rng(0).random((32, 32))
    with pytest.raises(ValueError, match=r"^sample 1 is missing \(None\)"):
        HOGFeatures().fit_transform([img, None])


def test_clips_at_another_rate_are_resampled_as_a_pair():
    rng = np.random.default_rng(32)
    y44, y16 = _tone_clip(44100, 44100, rng), _tone_clip(16000, 16000, rng)
    est = MFCCFeatures(**SPEECH)
    X = est.transform([(y44, 44100), y16, (y16, 16000)])
    by_hand = librosa.resample(y44, orig_sr=44100, target_sr=16000, res_type="soxr_hq")
    np.testing.assert_array_equal(X, est.transform([by_hand, y16, y16]))
    ref = _librosa_mfcc(by_hand, SPEECH)
    _assert_close_to_scale(X[0], np.concatenate([ref.mean(1), ref.std(1)]), np.abs(ref).max())
    # a tuple of channels is still a stereo clip, a tuple of numbers a clip
    np.testing.assert_allclose(est.transform([(y16, y16)]), est.transform([y16]), atol=1e-6)


@pytest.mark.parametrize(
    "pair, error, match",
    [
        ((np.ones(800), "16000"), TypeError, r"^sample 0: the rate .* must be a number"),
        ((np.ones(800), -8000), ValueError, r"^sample 0: the rate .* positive finite"),
        ((np.ones(800), np.inf), ValueError, r"^sample 0: the rate .* positive finite"),
        ((np.ones(800), True), TypeError, r"^sample 0: the rate .* must be a number"),
        ((np.ones(800), 8000, 2), TypeError, r"^sample 0: expected an \(array, rate\) pair"),
        (("clip.wav", 8000), TypeError, r"^sample 0: got a tuple starting with the path"),
        ((np.ones(0), 8000), ValueError, r"^sample 0: audio is empty"),
        ((np.array([1.0, np.nan]), 4000), ValueError, r"^sample 0: audio has 1 non-finite"),
    ],
)
def test_malformed_rate_pairs_are_errors_naming_the_sample(pair, error, match):
    with pytest.raises(error, match=match):
        _small().transform([pair])


def test_relative_paths_resolve_against_base_dir(tmp_path, monkeypatch):
    rng = np.random.default_rng(33)
    (tmp_path / "clips").mkdir()
    path = _write_wav(tmp_path / "clips" / "a.wav", _tone_clip(4000, 8000, rng), 8000)
    monkeypatch.chdir(tmp_path)
    X = _small().set_params(base_dir=tmp_path / "clips").transform(["a.wav", path])
    np.testing.assert_array_equal(X[0], X[1])  # relative, and absolute (used as is)
    with pytest.raises(FileNotFoundError, match=r"^sample 0 \('a.wav'\): file not found"):
        _small().transform(["a.wav"])  # the working directory has no a.wav


def test_a_64_bit_float_file_is_read_as_its_float64_array(tmp_path):
    # load_audio(dtype=None) keeps a DOUBLE file's float64 samples, as it keeps
    # a float64 array's: a clip beyond float32's range gets the same features
    import soundfile as sf

    loud = _tone_clip(4000, 8000, np.random.default_rng(37)).astype(np.float64) * 1e300
    sf.write(tmp_path / "loud.wav", loud, 8000, subtype="DOUBLE")
    X = _small().transform([str(tmp_path / "loud.wav"), loud])
    assert np.isfinite(X).all()
    np.testing.assert_array_equal(X[0], X[1])


def test_base_dir_does_not_change_the_memo(monkeypatch, tmp_path):
    counter = _CountingKernel()
    monkeypatch.setattr(audio_mod, "mfcc_batch", counter)
    memo = FeatureMemo()
    clips = [_tone_clip(3000, 8000, np.random.default_rng(34))]
    X = _small().set_params(memory=memo).transform(clips)
    X2 = _small().set_params(memory=memo, base_dir=tmp_path).transform(clips)
    assert counter.clips == 1
    np.testing.assert_array_equal(X, X2)


def test_memo_keys_relative_paths_by_the_file_base_dir_names(monkeypatch, tmp_path):
    # one memo, the same relative name under two folders: two different files
    rng = np.random.default_rng(35)
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        _write_wav(tmp_path / folder / "x.wav", _tone_clip(3000, 8000, rng), 8000)
    monkeypatch.chdir(tmp_path)  # no x.wav here
    memo = FeatureMemo()
    Xa = _small().set_params(memory=memo, base_dir=tmp_path / "a").transform(["x.wav"])
    Xb = _small().set_params(memory=memo, base_dir=tmp_path / "b").transform(["x.wav"])
    np.testing.assert_array_equal(Xb, _small().set_params(base_dir=tmp_path / "b").transform(["x.wav"]))
    assert not np.array_equal(Xa, Xb)


def test_memo_takes_array_rate_pairs():
    clip = _tone_clip(3000, 8000, np.random.default_rng(36))
    memo = FeatureMemo()
    X = _small().set_params(memory=memo).transform([(clip, 8000), (clip, 16000)])
    np.testing.assert_array_equal(X, _small().transform([(clip, 8000), (clip, 16000)]))
    assert len(memo) == 2


def test_nan_samples_are_an_error_naming_the_sample():
    bad = np.ones(1000)
    bad[17] = np.nan
    with pytest.raises(ValueError, match=r"^sample 2: audio has 1 non-finite value.*position 17"):
        _small().transform([np.ones(500), np.ones(600), bad])


def test_stereo_array_is_averaged_to_mono():
    rng = np.random.default_rng(14)
    left, right = _tone_clip(4000, 8000, rng), _tone_clip(4000, 8000, rng)
    est = _small()
    X = est.transform([np.stack([left, right]), np.stack([left, right], axis=1)])
    mono = est.transform([(left + right) / 2])
    np.testing.assert_allclose(X, np.vstack([mono, mono]), rtol=0, atol=1e-4)


def test_corrupt_file_is_an_error_naming_the_sample_and_path(tmp_path):
    good = _write_wav(tmp_path / "good.wav", np.zeros(800, np.float32), 8000)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio")
    with pytest.raises(ValueError, match=r"^sample 1 \('.*bad\.wav'\): could not be decoded"):
        _small().transform([good, str(bad)])
    with pytest.raises(FileNotFoundError, match=r"^sample 0 \('.*missing\.wav'\)"):
        _small().transform([str(tmp_path / "missing.wav")])


def test_non_numeric_clip_is_an_error_naming_the_sample():
    with pytest.raises(TypeError, match=r"^sample 1: expected a numeric audio array"):
        _small().transform([np.ones(300), np.array(["a", "b"], dtype=object)])


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(sr=0), "sr must be a finite number > 0"),
        (dict(n_mfcc=0), "n_mfcc must be an integer >= 1"),
        (dict(n_mfcc=40, n_mels=20), "n_mfcc=40 cannot exceed n_mels=20"),
        (dict(n_fft=1), "n_fft must be an integer >= 2"),
        (dict(hop_length=0), "hop_length must be an integer >= 1"),
        (dict(hop_length=2.5), "hop_length must be an integer"),
        (dict(fmin=-1.0), "fmin must be a finite number >= 0"),
        (dict(fmin=100.0, fmax=50.0), "fmax must be a finite number > 100.0"),
        (dict(sr=8000, fmax=5000.0), "above the Nyquist"),
        (dict(deltas=3), "deltas must be 0, 1 or 2"),
        (dict(stats="mean"), "stats must be a non-empty list or tuple"),
        (dict(stats=()), "stats must be a non-empty list or tuple"),
        (dict(stats=("mean", "mode")), r"Unknown statistic\(s\) \['mode'\]"),
        (dict(stats=("mean", "mean")), "repeated"),
        (dict(batch_size=0), "batch_size must be a positive integer"),
    ],
)
def test_bad_parameters_are_rejected(params, match):
    with pytest.raises(ValueError, match=match):
        MFCCFeatures(**params).fit([np.ones(1000)])


# -------------------------------------------------------------- real data
def test_fsdd_recordings_match_librosa(shared_data):
    fsdd = shared_data / "fsdd"
    if not (fsdd / "metadata.csv").is_file():
        pytest.skip(f"FSDD not found under {fsdd}")
    meta = pd.read_csv(fsdd / "metadata.csv").iloc[::250]  # 12 recordings
    paths = [str(fsdd / p) for p in meta["path"]]
    params = dict(sr=8000, n_mfcc=13, n_fft=256, hop_length=80, n_mels=40)
    stats = ("mean", "std", "min", "max")
    X = MFCCFeatures(**params, deltas=1, stats=stats).transform(paths)
    for i, p in enumerate(paths):
        y, _ = sf.read(p, dtype="float32")
        ref, scale = _reference_features(y, params, 1, stats)
        _assert_close_to_scale(X[i], ref, scale, what=p)


def test_cached_kernel_constants_are_read_only():
    # the windows and filter banks are cached per parameter set and shared by every
    # call: writing into one would change every later result
    from mmlearn.features._kernels._mfcc import _mfcc_constants, _savgol_matrix
    from mmlearn.features._kernels._spectral import _spectral_constants

    window, groups, dct = _mfcc_constants(8000.0, 512, 40, 0.0, None, 20, np)
    spectral = _spectral_constants(8000.0, 512, 40, 0.0, None, 12, np)
    for a in (window, dct, groups[0][-1], _savgol_matrix(9, 1), _savgol_matrix(1, 2), *spectral):
        assert not a.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            a[..., 0] = 1.0
