import re

import librosa
import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from mmlearn.io import check_text, load_audio, load_image


# ----------------------------------------------------------------- audio
def test_audio_file_matches_librosa_load(tmp_path):
    rng = np.random.default_rng(0)
    y = (0.3 * rng.standard_normal((2, 4000))).astype(np.float32)
    path = tmp_path / "stereo.wav"
    sf.write(path, y.T, 8000, subtype="FLOAT")
    ours = load_audio(path, sr=16000)
    ref, _ = librosa.load(path, sr=16000, mono=True)
    np.testing.assert_allclose(ours, ref, atol=1e-6)
    assert load_audio(str(path), mono=False).shape == (2, 4000)


def test_audio_missing_file(tmp_path):
    path = tmp_path / "nope.wav"
    with pytest.raises(FileNotFoundError, match=rf"sample 3 \('{path}'\): file not found"):
        load_audio(path, index=3)


def test_audio_corrupt_file(tmp_path):
    path = tmp_path / "bad.wav"
    path.write_bytes(b"RIFF\x00\x00junk that is not audio")
    with pytest.raises(ValueError, match=r"sample 5 \('.*bad.wav'\): could not be decoded as audio"):
        load_audio(path, index=5)


def test_audio_empty():
    with pytest.raises(ValueError, match=r"sample 0: audio is empty \(0 samples\)"):
        load_audio(np.array([], dtype=np.float32), index=0)


def test_audio_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), 8000)
    with pytest.raises(ValueError, match="sample 2 .*audio is empty"):
        load_audio(path, index=2)


def test_audio_non_finite():
    y = np.zeros(10)
    y[4] = np.inf
    with pytest.raises(ValueError, match=r"sample 1: audio has 1 non-finite value\(s\).*position 4"):
        load_audio(y, index=1)


def test_audio_wrong_rank_and_type():
    with pytest.raises(ValueError, match=r"sample 0: expected 1-D audio.*shape \(2, 3, 4\)"):
        load_audio(np.zeros((2, 3, 4)), index=0)
    with pytest.raises(TypeError, match="sample 9: expected a numeric audio array"):
        load_audio(["a", "b"], index=9)


def test_audio_stereo_array_is_downmixed_either_layout():
    left, right = np.ones(100), -np.ones(100) * 0.5
    np.testing.assert_allclose(load_audio(np.stack([left, right])), 0.25)
    np.testing.assert_allclose(load_audio(np.stack([left, right], axis=1)), 0.25)


def test_audio_int16_scaled_like_soundfile(tmp_path):
    pcm = np.array([0, 1000, -32768, 32767], dtype=np.int16)
    path = tmp_path / "pcm.wav"
    sf.write(path, pcm, 8000, subtype="PCM_16")
    np.testing.assert_array_equal(load_audio(pcm), load_audio(path))


def test_audio_input_not_modified():
    y = np.arange(5, dtype=np.float64)
    keep = y.copy()
    load_audio(y)
    np.testing.assert_array_equal(y, keep)


# ----------------------------------------------------------------- image
def test_audio_rate_pair_is_resampled_like_a_file():
    y = np.random.default_rng(3).standard_normal(4410).astype(np.float32)
    out = load_audio((y, 44100), sr=16000)
    ref = librosa.resample(y, orig_sr=44100, target_sr=16000, res_type="soxr_hq")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, ref)
    assert load_audio((y, 16000), sr=16000) is y  # same rate: untouched, no copy
    np.testing.assert_array_equal(load_audio((y, 44100)), y)  # sr=None keeps the rate
    stereo = load_audio((np.stack([y, -y]), 44100), sr=16000, mono=False)
    assert stereo.shape == (2, 1600)


def test_audio_dtype_none_keeps_float64_beyond_float32():
    y = np.array([0.0, 1e300, -2.0])
    out = load_audio(y, dtype=None)
    assert out.dtype == np.float64 and out is y
    assert load_audio(np.array([0, 1, -2], dtype=np.int16), dtype=None).dtype == np.float32
    # the float32 default refuses what float32 cannot hold, rather than give inf
    with pytest.raises(ValueError, match=r"^sample 4: audio has 1 sample\(s\) beyond float32's "
                                         r"range \(the first, 1e\+300, at position 1\)"):
        load_audio(y, index=4)
    with pytest.raises(ValueError, match="dtype must be numpy.float32 or None"):
        load_audio(y, dtype=np.float64)


def test_audio_dtype_applies_to_float64_data_of_every_kind(tmp_path):
    # as documented: float64 arrays, lists of floats, (array, rate) pairs and
    # 64-bit float files stay float64 with dtype=None; everything else is float32
    y = np.array([0.0, 1e300, -2.0, 0.5] * 50)
    double = tmp_path / "double.wav"
    sf.write(double, y, 8000, subtype="DOUBLE")
    out = load_audio(double, dtype=None)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, y)  # exact: beyond float32's range, yet finite
    with pytest.raises(ValueError, match=rf"^sample 2 \({re.escape(repr(str(double)))}\): audio "
                                         r"has 50 sample\(s\) beyond float32's range"):
        load_audio(double, index=2)
    assert load_audio(list(y[:4]), dtype=None).dtype == np.float64
    small = np.sin(np.arange(400) * 0.1)
    pair = load_audio((small, 8000), sr=16000, dtype=None)
    assert pair.dtype == np.float64 and pair.shape == (800,)
    ref = librosa.resample(small, orig_sr=8000, target_sr=16000, res_type="soxr_hq")
    np.testing.assert_array_equal(pair, ref)
    assert load_audio((y, 8000), sr=8000, dtype=None) is y  # no resampling: kept as is
    # the resampler works in float32: such a clip cannot be resampled
    np.testing.assert_array_equal(pair, load_audio((small.astype(np.float32), 8000), sr=16000))
    for loud in (y, 1e37 * small):  # beyond float32's range; within it, but overflowing soxr
        with pytest.raises(ValueError, match=r"^sample 5: resampling from 8000 Hz to 16000 Hz "
                                             r"overflowed \(largest \|sample\| 1e\+(300|37)"):
            load_audio((loud, 8000), sr=16000, dtype=None, index=5)
    sf.write(tmp_path / "double_small.wav", small, 8000, subtype="DOUBLE")
    assert load_audio(tmp_path / "double_small.wav").dtype == np.float32  # the default
    for subtype in ("FLOAT", "PCM_16"):
        sf.write(tmp_path / f"{subtype}.wav", small, 8000, subtype=subtype)
        assert load_audio(tmp_path / f"{subtype}.wav", dtype=None).dtype == np.float32
    assert load_audio(small.astype(np.float16), dtype=None).dtype == np.float32


def test_image_file_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(10, 12, 3), dtype=np.uint8)
    path = tmp_path / "rgb.png"
    Image.fromarray(img).save(path)
    np.testing.assert_array_equal(load_image(path), img)
    from skimage.color import rgb2gray

    np.testing.assert_allclose(load_image(path, as_gray=True), rgb2gray(img))


def test_image_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"sample 4 \('.*x.png'\): file not found"):
        load_image(tmp_path / "x.png", index=4)


def test_image_corrupt_file(tmp_path):
    path = tmp_path / "bad.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    with pytest.raises(ValueError, match=r"sample 6 \('.*bad.png'\): could not be decoded as an image"):
        load_image(path, index=6)


def test_a_file_no_reader_knows_is_one_line_without_plugin_advice(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("hello")  # a text file with an image's name
    with pytest.raises(ValueError, match=r"sample 2 \('.*notes.png'\): could not be decoded as an image "
                                         r"\(neither Pillow nor scikit-image reads this format; ") as info:
        load_image(path, index=2)
    assert "\n" not in str(info.value) and "plugins" not in str(info.value)


def test_none_is_named_as_none():
    with pytest.raises(TypeError, match=r"^sample: expected a numeric audio array or a file path, got None\.$"):
        load_audio(None)


def test_image_wrong_rank():
    with pytest.raises(ValueError, match=r"sample 1: expected a 2-D \(H, W\) or 3-D .*shape \(2, 3, 4, 3\)"):
        load_image(np.zeros((2, 3, 4, 3)), index=1)


def test_image_empty():
    with pytest.raises(ValueError, match=r"sample 8: image is empty \(shape \(0, 5\)\)"):
        load_image(np.zeros((0, 5)), index=8)


def test_image_nan_pixels():
    img = np.zeros((3, 3))
    img[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"sample 0: image has 1 non-finite.*position \(1, 2\)"):
        load_image(img, index=0)


def test_image_bad_channel_count():
    with pytest.raises(ValueError, match="sample 2: expected 1, 3 or 4 channels"):
        load_image(np.zeros((4, 4, 5)), index=2)


def test_image_rgba_composited_on_white():
    img = np.zeros((2, 2, 4), dtype=np.uint8)
    img[..., 3] = [[255, 0], [0, 255]]
    out = load_image(img)
    assert out.shape == (2, 2, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., 0], [[0, 255], [255, 0]])


def test_image_palette_cmyk_16bit_files(tmp_path):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    Image.fromarray(rgb).convert("P").save(tmp_path / "p.png")
    assert load_image(tmp_path / "p.png").shape == (8, 8, 3)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "c.jpg")
    assert load_image(tmp_path / "c.jpg").shape == (8, 8, 3)
    deep = rng.integers(0, 65535, size=(8, 8), dtype=np.uint16)
    Image.fromarray(deep).save(tmp_path / "d.png")
    out = load_image(tmp_path / "d.png")
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, deep)


def test_image_resize_and_bad_size():
    img = np.arange(64, dtype=np.float64).reshape(8, 8)
    assert load_image(img, size=(4, 2)).shape == (4, 2)
    with pytest.raises(ValueError, match="size must be a pair of positive integers"):
        load_image(img, size=(4, 0))


# ----------------------------------------------------------------- text
def test_text_ok():
    assert check_text("hello") == "hello"
    assert check_text("", allow_empty=True) == ""


@pytest.mark.parametrize(
    "bad, exc, msg",
    [
        (None, ValueError, r"sample 3: text is missing \(None\)"),
        (float("nan"), ValueError, r"sample 3: text is missing \(nan\)"),
        ("", ValueError, "sample 3: text is empty"),
        ("   ", ValueError, r"sample 3: text is empty \(whitespace only\)"),
        (42, TypeError, r"sample 3: expected a str, got int"),
        (b"bytes", TypeError, "sample 3: expected a str, got bytes; decode it first"),
    ],
)
def test_text_bad(bad, exc, msg):
    with pytest.raises(exc, match=msg):
        check_text(bad, index=3)


@pytest.mark.parametrize("loader", ["audio", "image"])
def test_relative_paths_resolve_against_base_dir(tmp_path, monkeypatch, loader):
    import soundfile as sf
    from skimage.io import imsave

    folder = tmp_path / "data"
    folder.mkdir()
    if loader == "audio":
        sf.write(folder / "a.wav", np.linspace(-0.5, 0.5, 800, dtype=np.float32), 8000)
        expected = load_audio(str(folder / "a.wav"))
        got = load_audio("a.wav", base_dir=folder)
    else:
        imsave(folder / "a.png", np.arange(64, dtype=np.uint8).reshape(8, 8), check_contrast=False)
        expected = load_image(str(folder / "a.png"))
        got = load_image("a.png", base_dir=str(folder))
    np.testing.assert_array_equal(got, expected)
    monkeypatch.chdir(tmp_path)  # a relative path is not found under cwd/a.*
    load = load_audio if loader == "audio" else load_image
    with pytest.raises(FileNotFoundError, match=r"sample 3 \('.*data/b\..*'\): file not found"):
        load("b.wav" if loader == "audio" else "b.png", base_dir="data", index=3)
