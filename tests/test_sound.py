"""Tests of mmlearn.features.sound (SpectralFeatures) and its kernel _spectral.

Oracles: librosa.feature.{melspectrogram (+ power_to_db), spectral_contrast,
spectral_centroid, spectral_bandwidth, spectral_rolloff, spectral_flatness,
zero_crossing_rate, chroma_stft (tuning=0)} on each clip alone; numpy for
the pooled statistics.

Tolerance. The kernel runs in float32, librosa's STFT in float64: each
descriptor must be within ``TOL = 1e-4`` of its largest |value| over the
clip (measured: 1e-5 to 1e-8), contrast within 1e-4 dB where it is ~0. Roll-off is an FFT bin's frequency: it may
land one bin away where the cumulative energy ties with the threshold.
"""

from __future__ import annotations

import os
import warnings

import librosa
import numpy as np
import pytest

from mmlearn.backend import gpu_available, to_host
from mmlearn.features import MFCCFeatures, SpectralFeatures
from mmlearn.features._kernels._spectral import (
    SPECTRAL_DESCRIPTORS,
    spectral_batch,
    spectral_frames_batch,
)

TOL = 1e-4

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
        dict(sr=16000, n_fft=512, hop_length=160, n_mels=40, n_bands=5, contrast_fmin=150.0,
             quantile=0.05, roll_percent=0.6, n_chroma=24),
        id="small-fft",
    ),
    pytest.param(
        dict(sr=8000, n_fft=401, hop_length=500, n_mels=20, n_bands=3, fmin=50.0, fmax=3500.0),
        id="odd-nfft-hop>n_fft",
    ),
]


def _clips(sr, seed=0):
    """Tones in noise of mixed lengths (one shorter than n_fft), a silent clip, a click."""
    rng = np.random.default_rng(seed)

    def tone(n):
        t = np.arange(n) / sr
        f = rng.uniform(100, sr / 6)
        return (0.5 * np.sin(2 * np.pi * f * t) + 0.1 * rng.standard_normal(n)).astype(np.float32)

    click = np.zeros(int(0.3 * sr), dtype=np.float32)
    click[100] = 1.0
    return [tone(sr), tone(int(0.4 * sr)), tone(300), np.zeros(2000, np.float32), click]


def _librosa_frames(y, p):
    sr, n_fft, hop = p["sr"], p.get("n_fft", 2048), p.get("hop_length", 512)
    kw = dict(y=y, n_fft=n_fft, hop_length=hop)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # n_fft too large for the short clip
        mel = librosa.feature.melspectrogram(
            sr=sr, n_mels=p.get("n_mels", 128), fmin=p.get("fmin", 0.0), fmax=p.get("fmax"), **kw
        )
        return {
            "mel": librosa.power_to_db(mel),
            "contrast": librosa.feature.spectral_contrast(
                sr=sr, n_bands=p.get("n_bands", 6), fmin=p.get("contrast_fmin", 200.0),
                quantile=p.get("quantile", 0.02), **kw),
            "centroid": librosa.feature.spectral_centroid(sr=sr, **kw),
            "bandwidth": librosa.feature.spectral_bandwidth(sr=sr, **kw),
            "rolloff": librosa.feature.spectral_rolloff(
                sr=sr, roll_percent=p.get("roll_percent", 0.85), **kw),
            "flatness": librosa.feature.spectral_flatness(**kw),
            "zcr": librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop),
            "chroma": librosa.feature.chroma_stft(
                sr=sr, tuning=0.0, n_chroma=p.get("n_chroma", 12), **kw),
        }


def _assert_descriptor_close(name, got, ref, sr, n_fft, what):
    assert got.shape == ref.shape, (what, name, got.shape, ref.shape)
    if name == "rolloff":
        bin_hz = sr / n_fft
        assert np.all(np.abs(got - ref) <= bin_hz * 1.001), (what, name)
        assert np.mean(np.isclose(got, ref, rtol=1e-6)) >= 0.95, (what, name)
        return
    # contrast is a difference of dB levels: its scale is at least 1 dB even
    # where peak and valley agree (a silent stretch: librosa gives ~1e-6 dB)
    scale = max(float(np.abs(ref).max()), 1.0 if name == "contrast" else 1e-6)
    err = float(np.abs(got - ref).max())
    assert err <= TOL * scale, f"{what} {name}: max error {err:.3g} > {TOL} * {scale:.3g}"


@pytest.mark.parametrize("xp_name", XP)
@pytest.mark.parametrize("params", PARAM_SETS)
def test_frames_match_librosa(params, xp_name):
    xp = _xp(xp_name)
    params = dict(params)
    sr = params.pop("sr")
    clips = _clips(sr)
    frames, n_frames = spectral_frames_batch(signals=clips, sr=sr, xp=xp, **params)
    n_frames = to_host(n_frames)
    for i, y in enumerate(clips):
        ref = _librosa_frames(y, dict(params, sr=sr))
        for name in SPECTRAL_DESCRIPTORS:
            got = to_host(frames[name])[i, : n_frames[i]].T
            _assert_descriptor_close(name, got, ref[name], sr, params.get("n_fft", 2048),
                                     what=f"clip {i}")


def test_silent_clip_has_documented_finite_values():
    frames, n = spectral_frames_batch(signals=[np.zeros(5000)], sr=22050)
    expect = dict(mel=-100.0, contrast=0.0, centroid=0.0, bandwidth=0.0, rolloff=0.0,
                  flatness=1.0, zcr=0.0, chroma=0.0)
    for name, value in expect.items():
        np.testing.assert_allclose(frames[name][0, : n[0]], value, rtol=1e-6, err_msg=name)


def test_pooled_rows_are_numpy_statistics_of_the_frames():
    clips = _clips(16000, seed=3)
    kw = dict(sr=16000, n_fft=512, hop_length=128, n_mels=24, n_bands=4)
    stats = ("mean", "std", "min", "max", "median")
    X = spectral_batch(signals=clips, stats=stats, **kw)
    frames, n = spectral_frames_batch(signals=clips, **kw)
    for i in range(len(clips)):
        want = []
        for name in SPECTRAL_DESCRIPTORS:
            f = frames[name][i, : n[i]].astype(np.float64)
            want += [f.mean(0), f.std(0), f.min(0), f.max(0), np.median(f, 0)]
        want = np.concatenate(want)
        np.testing.assert_allclose(X[i], want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


@pytest.mark.parametrize(
    "params",
    [
        dict(sr=22050),
        dict(sr=16000, n_fft=512, hop_length=160, n_mels=40, n_bands=5,
             stats=("mean", "std", "min", "max", "median", "skew", "kurtosis")),
        dict(sr=8000, n_fft=401, hop_length=500, n_mels=20, n_bands=3, fmin=50.0, fmax=3500.0),
    ],
    ids=["librosa-defaults", "all-stats", "odd-nfft-hop>n_fft"],
)
def test_features_of_a_clip_do_not_depend_on_its_batch(params):
    # bit for bit (the per-sample memo relies on it): alone, in one batch, in
    # reversed order, in a subset, in other batch sizes, with threads
    rng = np.random.default_rng(9)
    sr = params["sr"]
    t = np.arange(30000) / sr
    clips = [
        (rng.uniform(1e-3, 1) * np.sin(2 * np.pi * rng.uniform(100, sr / 6) * t[:n])
         + 0.1 * rng.standard_normal(n)).astype(np.float32)
        for n in rng.integers(1, 30000, 23)
    ]
    clips += [np.zeros(3000, np.float32), _clips(sr, seed=1)[-1]]  # silent, click
    assert len({len(c) for c in clips}) > 20
    X = SpectralFeatures(**params).transform(clips)
    alone = np.vstack([SpectralFeatures(**params).transform([c]) for c in clips])
    assert np.array_equal(X, alone)
    rev = SpectralFeatures(**params, batch_size=4).transform(clips[::-1])
    assert np.array_equal(rev, X[::-1])
    subset = rng.permutation(len(clips))[:7]
    sub = SpectralFeatures(**params, batch_size=3, n_jobs=2).transform([clips[i] for i in subset])
    assert np.array_equal(sub, X[subset])


def test_kernel_rows_do_not_depend_on_the_block_neighbours():
    # the kernel itself, with blocks small enough that clips straddle them
    rng = np.random.default_rng(3)
    clips = [rng.standard_normal(n).astype(np.float32) for n in (5000, 700, 12000, 3100)]
    kw = dict(sr=8000, n_fft=256, hop_length=64, n_mels=20, n_bands=3, block_bytes=1)
    X = spectral_batch(signals=clips, **kw)
    for i, c in enumerate(clips):
        assert np.array_equal(spectral_batch(signals=[c], **kw)[0], X[i])
        assert np.array_equal(spectral_batch(signals=[clips[3 - i], c], **kw)[1], X[i])


def test_feature_names_match_columns_and_descriptor_subset():
    est = SpectralFeatures(sr=8000, n_fft=256, hop_length=64, n_mels=10, n_bands=3,
                           descriptors=("zcr", "contrast"), stats=("max", "mean"))
    X = est.fit_transform([np.random.default_rng(0).standard_normal(2000)])
    names = est.get_feature_names_out()
    assert X.shape == (1, names.shape[0]) == (1, 2 * (1 + 4))
    assert names.tolist()[:3] == ["zcr_max_0", "zcr_mean_0", "contrast_max_0"]
    # the zcr columns are the zcr descriptor's own statistics
    frames, n = spectral_frames_batch(signals=[np.random.default_rng(0).standard_normal(2000)],
                                      sr=8000, n_fft=256, hop_length=64, descriptors=("zcr",))
    assert X[0, 0] == pytest.approx(frames["zcr"][0, : n[0]].max(), rel=1e-6)


def test_files_and_arrays_give_the_same_rows(tmp_path):
    import soundfile as sf

    clips = _clips(8000, seed=2)[:2]
    paths = []
    for i, c in enumerate(clips):
        paths.append(str(tmp_path / f"c{i}.wav"))
        sf.write(paths[-1], c, 8000, subtype="FLOAT")
    est = SpectralFeatures(sr=8000, n_fft=256, hop_length=64, n_mels=16, n_bands=3)
    np.testing.assert_allclose(est.fit_transform(paths), est.transform(clips), rtol=1e-6)


def test_bad_sample_error_names_it():
    clips = [np.ones(1000), np.array([0.0, np.nan, 1.0])]
    with pytest.raises(ValueError, match="sample 1"):
        SpectralFeatures(sr=8000, n_fft=256, n_bands=3).fit_transform(clips)


@pytest.mark.parametrize(
    "loud",
    [np.full(1000, 1e20, dtype=np.float32), np.full(1000, 1e300), np.full(1000, 2.0**41)],
    ids=["float32-1e20", "float64-1e300", "2**41"],
)
def test_clips_too_loud_for_float32_are_named_not_nan(loud):
    # finite input never gives NaN silently (issue 11.3): either features or
    # an error that names the sample
    ok = np.full(1000, 2.0**40)
    est = SpectralFeatures(sr=8000, n_fft=256, hop_length=64, n_mels=16, n_bands=3)
    assert np.isfinite(est.fit_transform([ok])).all()
    with pytest.raises(ValueError, match=r"^sample 1: its loudest sample is .* rescale the clip"):
        est.transform([ok, loud])


def test_too_loud_file_error_names_the_sample_and_its_path(tmp_path):
    import soundfile as sf

    (tmp_path / "wav").mkdir()
    sf.write(tmp_path / "wav" / "loud.wav", np.full(1000, 1e20, np.float32), 8000, subtype="FLOAT")
    sf.write(tmp_path / "wav" / "ok.wav", np.zeros(1000, np.float32), 8000, subtype="FLOAT")
    est = SpectralFeatures(sr=8000, n_fft=256, hop_length=64, n_mels=16, n_bands=3,
                           base_dir=tmp_path)
    want = str(tmp_path / "wav" / "loud.wav")  # resolved against base_dir, as load_audio names it
    with pytest.raises(ValueError) as info:
        est.fit_transform([os.path.join("wav", "ok.wav"), os.path.join("wav", "loud.wav")])
    assert str(info.value).startswith(f"sample 1 ({want!r}): its loudest sample is 1e+20")
    assert info.value.sample_index == 1
    # an array has no path to name
    with pytest.raises(ValueError, match=r"^sample 0: its loudest"):
        est.transform([np.full(1000, 1e20, np.float32)])


def test_base_dir_resolves_relative_paths(tmp_path):
    import soundfile as sf

    clip = np.random.default_rng(0).standard_normal(2000).astype(np.float32)
    (tmp_path / "wav").mkdir()
    sf.write(tmp_path / "wav" / "a.wav", clip, 8000, subtype="FLOAT")
    est = SpectralFeatures(sr=8000, n_fft=256, hop_length=64, n_mels=16, n_bands=3)
    expected = est.fit_transform([clip])
    est.set_params(base_dir=tmp_path / "wav")
    np.testing.assert_allclose(est.transform(["a.wav"]), expected, rtol=1e-6)
    assert est._memo_namespace() == SpectralFeatures(
        sr=8000, n_fft=256, hop_length=64, n_mels=16, n_bands=3)._memo_namespace()


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(descriptors=("mel", "loudness")), r"Unknown descriptor\(s\) \['loudness'\]"),
        (dict(descriptors="mel"), "descriptors must be a non-empty list or tuple"),
        (dict(descriptors=("zcr", "zcr")), "repeated"),
        (dict(n_fft=1), "n_fft must be an integer >= 2"),
        (dict(sr=8000, n_bands=6), "reaches the Nyquist frequency 4000 Hz"),
        (dict(sr=8000, n_fft=16, n_bands=3), "holds no FFT bin at n_fft=16"),
        (dict(quantile=1.0), r"quantile must lie in \(0, 1\)"),
        (dict(roll_percent=0.0), "roll_percent must be a finite number > 0"),
        (dict(sr=8000, fmax=5000.0), "above the Nyquist"),
        (dict(stats=("mean", "mode")), r"Unknown statistic\(s\) \['mode'\]"),
        (dict(n_chroma=0), "n_chroma must be an integer >= 1"),
    ],
)
def test_bad_parameters_are_rejected(params, match):
    with pytest.raises(ValueError, match=match):
        SpectralFeatures(**params).fit([np.ones(1000)])


def test_bad_descriptors_need_no_contrast_check_when_contrast_is_off():
    # n_bands too large for sr only matters for the contrast descriptor
    est = SpectralFeatures(sr=8000, n_bands=6, descriptors=("centroid",)).fit([np.ones(1000)])
    assert est.transform([np.ones(1000)]).shape == (1, 2)


def test_complements_mfcc_in_a_feature_union():
    from sklearn.pipeline import make_union

    union = make_union(MFCCFeatures(sr=8000, n_fft=256, n_mels=20, n_mfcc=13),
                       SpectralFeatures(sr=8000, n_fft=256, n_mels=20, n_bands=3))
    X = union.fit_transform([np.random.default_rng(0).standard_normal(3000)])
    names = union.get_feature_names_out()
    assert X.shape == (1, 26 + 2 * (20 + 4 + 5 + 12))
    assert names[0] == "mfccfeatures__mfcc_mean_0" and names[26] == "spectralfeatures__mel_mean_0"
