"""Tests of mmlearn.features.text: Word2VecEmbedding and the TF-IDF recipe."""

import pickle
import re
import subprocess
import sys
import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import sklearn
from gensim.models import KeyedVectors, Word2Vec
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.utils.fixes import parse_version

from mmlearn.compose import Modality, make_modality_pipeline
from mmlearn.datasets import load_20newsgroups
from mmlearn.features import (
    ConvEmbedding,
    HOGFeatures,
    MFCCFeatures,
    SpectralFeatures,
    Word2VecEmbedding,
)

# The oracles average in float64; the output is that result rounded to float32.
RTOL, ATOL = 1e-6, 1e-7


def _corpus(n_docs=120, seed=0):
    """Texts over a Zipf-like vocabulary, with case and punctuation to tokenise."""
    rng = np.random.RandomState(seed)
    vocab = [f"word{i}" for i in range(80)] + ["C", "x", "Über", "naïve", "東京"]
    p = 1.0 / np.arange(1, len(vocab) + 1)
    p /= p.sum()
    texts = []
    for _ in range(n_docs):
        words = rng.choice(vocab, size=rng.randint(3, 60), p=p)
        words = [w.upper() if rng.rand() < 0.1 else w for w in words]
        texts.append(", ".join(words) + "!")
    return texts


TRAIN = _corpus(120, seed=0)
# Test texts: some unseen words mixed in, and one text with no known token.
TEST = _corpus(30, seed=1)
TEST[3] = TEST[3] + " zebra unicorn"
TEST[7] = "zebra; unicorn -- 42?"


def _fit(**params):
    params = {"vector_size": 12, "epochs": 3, "random_state": 0, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the training texts all have known tokens
        return Word2VecEmbedding(**params).fit(TRAIN)


def _transform(est, texts):
    with pytest.warns(UserWarning, match=r"1 of 30 texts have no in-vocabulary token"):
        return est.transform(texts)


def _known(est, text):
    return [t for t in est.build_tokenizer()(text) if t in est.wv_.key_to_index]


# ------------------------------------------------------------------ tokenizers
@pytest.mark.parametrize(
    "text",
    ["Hello, World! C++ is_great 3.14", "Über naïve café ÉCOLE 東京都 x", "tab\tand\nnewline  a"],
)
def test_default_tokenizer_is_lowercase_word_runs(text):
    expected = re.findall(r"(?u)\b\w+\b", text.lower())
    assert Word2VecEmbedding().build_tokenizer()(text) == expected


def test_char_tokenizers():
    text = "東京都 大阪 A"
    assert Word2VecEmbedding(tokenizer="char").build_tokenizer()(text) == list("東京都大阪a")
    assert Word2VecEmbedding(tokenizer=("char", 2)).build_tokenizer()(text) == ["東京", "京都", "大阪"]
    assert Word2VecEmbedding(tokenizer=("char", (1, 2))).build_tokenizer()("東京 Ab") == [
        "東", "京", "東京", "a", "b", "ab"
    ]


def test_char_tokenizer_trains_on_unsegmented_text():
    texts = ["我喜欢猫", "我喜欢狗", "猫和狗", "她喜欢猫和狗"]
    est = Word2VecEmbedding(tokenizer=("char", (1, 2)), vector_size=4, epochs=2, random_state=0)
    X = est.fit_transform(texts)
    assert "喜欢" in est.wv_.key_to_index and "猫" in est.wv_.key_to_index
    assert X.shape == (4, 4) and np.all(np.any(X != 0, axis=1))


def test_callable_tokenizer_is_used_verbatim():
    est = Word2VecEmbedding(tokenizer=str.split, vector_size=4, epochs=1, random_state=0)
    est.fit(["Apple pie", "apple Pie"])
    assert set(est.wv_.key_to_index) == {"Apple", "pie", "apple", "Pie"}


def test_tokenizer_returning_a_string_is_an_error():
    est = Word2VecEmbedding(tokenizer=lambda s: s, vector_size=4)
    with pytest.raises(TypeError, match=r"sample 0: the tokenizer returned a str"):
        est.fit(["abc"])


# ------------------------------------------------------------------ pooling oracles
def test_mean_pooling_matches_a_loop_of_gensim_vectors():
    est = _fit(pooling="mean")
    X = _transform(est, TEST)
    assert X.dtype == np.float32 and X.shape == (30, 12)
    wv = est.wv_
    for i, text in enumerate(TEST):
        known = _known(est, text)
        expected = np.mean([wv[t] for t in known], axis=0, dtype=np.float64) if known else np.zeros(12)
        np.testing.assert_allclose(X[i], expected, rtol=RTOL, atol=ATOL)
    assert est.n_empty_docs_ == 1
    assert not X[7].any()  # all tokens out of vocabulary: a zero row
    # OOV tokens are ignored: the unseen words appended to text 3 change nothing.
    np.testing.assert_array_equal(X[3], est.transform([TEST[3].replace(" zebra unicorn", "")])[0])


def test_tfidf_pooling_matches_sklearn_tfidf_weights():
    est = _fit(pooling="tfidf")
    X = _transform(est, TEST)
    tok = est.build_tokenizer()
    vec = TfidfVectorizer(tokenizer=tok, lowercase=False, token_pattern=None, norm=None).fit(TRAIN)
    # min_count=1: the Word2Vec vocabulary is the vectorizer's
    assert set(vec.vocabulary_) == set(est.wv_.key_to_index)
    terms = vec.get_feature_names_out()
    order = [est.wv_.key_to_index[t] for t in terms]
    np.testing.assert_allclose(est.idf_[order], vec.idf_, rtol=1e-12)
    weights = vec.transform(TEST).toarray()  # term count x idf
    emb = est.wv_.vectors[order].astype(np.float64)
    totals = weights.sum(axis=1, keepdims=True)
    expected = np.divide(weights @ emb, totals, out=np.zeros((30, 12)), where=totals > 0)
    np.testing.assert_allclose(X, expected, rtol=RTOL, atol=ATOL)
    assert est.n_empty_docs_ == 1


def test_sif_pooling_matches_a_direct_numpy_implementation():
    est = _fit(pooling="sif")
    X = _transform(est, TEST)
    wv, a = est.wv_, 1e-3
    counts = Counter(t for text in TRAIN for t in est.build_tokenizer()(text))
    total = sum(counts.values())

    def weighted_average(text):
        known = _known(est, text)
        if not known:
            return np.zeros(12)
        vecs = [a / (a + counts[t] / total) * wv[t].astype(np.float64) for t in known]
        return np.sum(vecs, axis=0) / len(known)

    train_emb = np.array([weighted_average(t) for t in TRAIN])
    u = np.linalg.svd(train_emb, full_matrices=False)[2][0]  # first principal direction
    raw = np.array([weighted_average(t) for t in TEST])
    expected = raw - np.outer(raw @ u, u)
    np.testing.assert_allclose(X, expected, rtol=RTOL, atol=ATOL)
    assert abs(abs(est.components_[0] @ u) - 1) < 1e-9
    assert not X[7].any()


def test_max_pooling_matches_a_loop():
    est = _fit(pooling="max")
    X = _transform(est, TEST)
    for i, text in enumerate(TEST):
        known = _known(est, text)
        expected = np.max([est.wv_[t] for t in known], axis=0) if known else np.zeros(12)
        np.testing.assert_array_equal(X[i], expected)


def test_max_pooling_across_blocks(monkeypatch):
    import mmlearn.features.text as text_module

    est = _fit(pooling="max")
    full = _transform(est, TEST)
    monkeypatch.setattr(text_module, "_MAX_POOL_TOKENS", 7)  # texts are split over many blocks
    np.testing.assert_array_equal(_transform(est, TEST), full)


@pytest.mark.parametrize("pooling", ["mean", "tfidf", "sif", "max"])
def test_fit_transform_equals_fit_then_transform(pooling):
    est = Word2VecEmbedding(vector_size=8, epochs=2, pooling=pooling, random_state=3)
    Xa = est.fit_transform(TRAIN)
    Xb = clone(est).fit(TRAIN).transform(TRAIN)
    np.testing.assert_array_equal(Xa, Xb)


# ------------------------------------------------------------------ determinism
def test_same_random_state_gives_the_same_vectors():
    a, b = _fit(), _fit()
    assert a.wv_.index_to_key == b.wv_.index_to_key
    np.testing.assert_array_equal(a.wv_.vectors, b.wv_.vectors)
    c = _fit(random_state=1)
    assert not np.allclose(a.wv_.vectors, c.wv_.vectors)


_HASH_SCRIPT = """
import hashlib, sys
sys.path.insert(0, {tests!r})
from test_text import _fit
wv = _fit(sg=1).wv_
print(hashlib.sha256(wv.vectors.tobytes() + "|".join(wv.index_to_key).encode()).hexdigest())
"""


def test_vectors_do_not_depend_on_pythonhashseed():
    import hashlib
    import os

    wv = _fit(sg=1).wv_
    here = hashlib.sha256(wv.vectors.tobytes() + "|".join(wv.index_to_key).encode()).hexdigest()
    other_seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    env = {**os.environ, "PYTHONHASHSEED": other_seed}
    script = _HASH_SCRIPT.format(tests=os.path.dirname(__file__))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == here


def test_texts_longer_than_gensims_sentence_limit_are_trained_whole(monkeypatch):
    # gensim truncates sentences at 10,000 kept tokens; a word seen only after
    # that must still be trained (its vector moves from the initial one). The
    # filler words are distinct so that frequent-word downsampling skips none.
    texts = [" ".join(f"w{i}" for i in range(10_050)) + " tail tail tail", "w1 other"]
    seed = int(np.random.RandomState(0).randint(np.iinfo(np.int32).max))
    init = Word2Vec(vector_size=8, min_count=1, seed=seed)
    init.build_vocab([t.split() for t in texts])

    def tail_vector():
        est = Word2VecEmbedding(vector_size=8, epochs=5, random_state=0).fit(texts)
        assert est.wv_.index_to_key == init.wv.index_to_key
        return est.wv_["tail"]

    assert not np.allclose(tail_vector(), init.wv["tail"])
    # Control: without the splitting, gensim never trains "tail".
    import gensim.models.word2vec

    monkeypatch.setattr(gensim.models.word2vec, "MAX_WORDS_IN_BATCH", 10**9)
    np.testing.assert_array_equal(tail_vector(), init.wv["tail"])


# ------------------------------------------------------------------ pretrained
def _keyed_vectors():
    kv = KeyedVectors(vector_size=3)
    kv.add_vectors(["apple", "banana", "cherry", "Date"], np.arange(12, dtype=np.float32).reshape(4, 3))
    return kv


def test_pretrained_keyed_vectors_are_used_without_training():
    kv = _keyed_vectors()
    before = kv.vectors.copy()
    est = Word2VecEmbedding(pretrained=kv, vector_size=50).fit(["apple pie", "banana split"])
    assert est.wv_ is kv and est.vector_size_ == 3
    np.testing.assert_array_equal(kv.vectors, before)
    X = est.transform(["Apple, banana and apple!", "cherry"])
    np.testing.assert_allclose(X[0], (2 * kv["apple"] + kv["banana"]) / 3, rtol=1e-6)
    np.testing.assert_array_equal(X[1], kv["cherry"])
    # the default tokenizer lowercases, so the cased key "Date" is never found
    with pytest.warns(UserWarning, match="1 of 1 texts"):
        assert not est.transform(["Date"]).any()


def test_pretrained_model_object_uses_its_wv():
    model = Word2Vec([["apple", "banana"]], vector_size=4, min_count=1, seed=0, workers=1)
    est = Word2VecEmbedding(pretrained=model).fit(["apple"])
    assert est.wv_ is model.wv


@pytest.mark.parametrize("binary", [False, True])
@pytest.mark.parametrize("name", ["vectors.txt", "vectors.bin", "vectors.gz"])
def test_pretrained_word2vec_files_text_and_binary(tmp_path, binary, name):
    kv = _keyed_vectors()
    path = tmp_path / name  # the name says nothing reliable: the content decides
    kv.save_word2vec_format(str(path), binary=binary)
    texts = ["apple banana", "cherry apple cherry"]
    from_file = Word2VecEmbedding(pretrained=path).fit(texts)
    from_object = Word2VecEmbedding(pretrained=kv).fit(texts)
    assert from_file.wv_.index_to_key == kv.index_to_key
    np.testing.assert_array_equal(from_file.wv_.vectors, kv.vectors)
    np.testing.assert_array_equal(from_file.transform(texts), from_object.transform(texts))


def test_pretrained_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        Word2VecEmbedding(pretrained=tmp_path / "missing.txt").fit(["a"])
    bad = tmp_path / "glove.txt"
    bad.write_text("apple 0.1 0.2\nbanana 0.3 0.4\n")
    with pytest.raises(ValueError, match="not in word2vec format"):
        Word2VecEmbedding(pretrained=str(bad)).fit(["a"])
    with pytest.raises(TypeError, match="pretrained must be"):
        Word2VecEmbedding(pretrained={"apple": [1.0]}).fit(["a"])


def test_tfidf_weights_with_pretrained_vectors_come_from_the_fit_texts():
    kv = _keyed_vectors()
    texts = ["apple banana", "apple", "apple cherry"]
    est = Word2VecEmbedding(pretrained=kv, pooling="tfidf").fit(texts)
    n = len(texts)
    df = {"apple": 3, "banana": 1, "cherry": 1, "Date": 0}
    for word, d in df.items():
        assert est.idf_[kv.key_to_index[word]] == pytest.approx(np.log((1 + n) / (1 + d)) + 1)


# ------------------------------------------------------------------ API
def test_pickle_round_trip_keeps_vectors():
    est = _fit(pooling="sif")
    X = _transform(est, TEST)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.wv_.vectors, est.wv_.vectors)
    np.testing.assert_array_equal(_transform(again, TEST), X)


def test_feature_names_and_pandas_output():
    est = _fit()
    names = est.get_feature_names_out()
    assert list(names) == [f"w2v_{i}" for i in range(12)]
    out = est.set_output(transform="pandas").transform(pd.Series(TRAIN[:5], index=list("abcde")))
    assert list(out.columns) == list(names) and out.shape == (5, 12)
    if parse_version(sklearn.__version__) >= parse_version("1.7"):
        assert list(out.index) == list("abcde")  # older sklearn drops a Series' index


@pytest.mark.parametrize(
    "container",
    [list, np.array, pd.Series, lambda t: pd.DataFrame({"text": t}), lambda t: np.array(t, dtype=object)[:, None]],
)
def test_input_containers(container):
    est = _fit()
    np.testing.assert_array_equal(est.transform(container(TRAIN[:6])), est.transform(TRAIN[:6]))


def test_container_errors():
    est = _fit()
    with pytest.raises(TypeError, match="single str"):
        est.transform("one text")
    with pytest.raises(ValueError, match="2 columns"):
        est.transform(pd.DataFrame({"a": ["x"], "b": ["y"]}))
    with pytest.raises(ValueError, match="0 texts"):
        est.transform([])


def test_unfitted_transform_raises():
    with pytest.raises(NotFittedError):
        Word2VecEmbedding().transform(["a text"])


def test_changing_pooling_after_fit_asks_for_a_refit():
    est = _fit(pooling="mean").set_params(pooling="tfidf")
    with pytest.raises(ValueError, match="fit it again"):
        est.transform(["word1"])
    with pytest.raises(ValueError, match="pooling must be one of"):
        est.set_params(pooling="median").transform(["word1"])
    est.set_params(pooling="tfidf")
    est.fit(TRAIN).set_params(pooling="mean").fit(TRAIN)
    assert not hasattr(est, "idf_")  # no stale weights from the earlier fit


# ------------------------------------------------------------------ bad input (one test each)
@pytest.mark.parametrize("method", ["fit", "transform"])
def test_empty_text_is_an_error_naming_the_sample(method):
    est = _fit() if method == "transform" else Word2VecEmbedding()
    with pytest.raises(ValueError, match=r"^sample 2: text is empty"):
        getattr(est, method)(["a b", "c", "   "])


@pytest.mark.parametrize("method", ["fit", "transform"])
def test_none_text_is_an_error_naming_the_sample(method):
    est = _fit() if method == "transform" else Word2VecEmbedding()
    hint = r"Word2VecEmbedding needs every sample.*mmlearn.compose.Modality"
    with pytest.raises(ValueError, match=r"^sample 1 is missing \(None\); " + hint):
        getattr(est, method)(["a b", None])
    with pytest.raises(ValueError, match=r"^sample 0 is missing \(nan\); " + hint):
        getattr(est, method)(pd.Series([np.nan, "a"], dtype=object))
    with pytest.raises(ValueError, match=r"^sample 2 is missing \(<NA>\)"):
        getattr(est, method)(pd.Series(["a", "b", pd.NA], dtype="string"))


@pytest.mark.parametrize("method", ["fit", "transform"])
def test_non_string_text_is_an_error_naming_the_sample(method):
    est = _fit() if method == "transform" else Word2VecEmbedding()
    with pytest.raises(TypeError, match=r"^sample 1: expected a str, got int"):
        getattr(est, method)(["a b", 7])
    with pytest.raises(TypeError, match=r"^sample 0: expected a str, got bytes"):
        getattr(est, method)([b"bytes"])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"pooling": "median"}, "pooling must be one of"),
        ({"tokenizer": "bogus"}, "tokenizer must be"),
        ({"tokenizer": ("char", 0)}, "1 <= min_n <= max_n"),
        ({"tokenizer": ("char", (3, 2))}, "1 <= min_n <= max_n"),
        ({"vector_size": 0}, "vector_size must be an integer >= 1"),
        ({"window": 2.5}, "window must be an integer"),
        ({"sg": 2}, "sg must be 0"),
        ({"workers": 0}, "workers must be"),
        ({"min_count": 1000}, "No token occurs at least min_count=1000"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        Word2VecEmbedding(**params).fit(TRAIN)


@pytest.mark.parametrize(
    "cls, name, minimum, X",
    [
        (Word2VecEmbedding, "epochs", 1, TRAIN),
        (MFCCFeatures, "n_fft", 2, [np.zeros(4000)]),
        (SpectralFeatures, "n_bands", 1, [np.zeros(4000)]),
        (HOGFeatures, "orientations", 1, [np.zeros((32, 32))]),
        (ConvEmbedding, "stride", 1, [np.zeros((32, 32))]),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else None,
)
@pytest.mark.parametrize("value", [True, 2.0, "3", -1], ids=["bool", "float", "str", "too-small"])
def test_integer_parameters_are_checked_alike_by_every_extractor(cls, name, minimum, X, value):
    # one shared check (features._base._check_int): the same message everywhere
    want = f"{name} must be an integer >= {minimum}, got {value!r}."
    with pytest.raises(ValueError, match=f"^{re.escape(want)}$"):
        cls(**{name: value}).fit(X)


def test_text_without_tokens_in_fit_is_counted():
    with pytest.warns(UserWarning, match="1 of 3 texts"):
        est = Word2VecEmbedding(vector_size=4, random_state=0).fit(["a b", "?!", "b c"])
    assert est.n_empty_docs_ == 1


# ------------------------------------------------------------------ sklearn invariants
# (sklearn's common checks: tests/test_common.py)
def test_sklearn_invariants_on_texts():
    est = Word2VecEmbedding(vector_size=8, epochs=2, random_state=0, pooling="sif")
    params = est.get_params()
    assert est.fit(TRAIN) is est  # fit returns self
    assert est.get_params() == params  # fit does not change parameters
    public = {k for k in vars(est) if k.endswith("_") and not k.startswith("_")}
    assert public == {"wv_", "vector_size_", "word_weights_", "components_", "n_empty_docs_"}
    X1 = est.transform(TRAIN)
    X2 = clone(est).fit(TRAIN).transform(TRAIN)  # fit is idempotent for a fixed seed
    np.testing.assert_array_equal(X1, X2)
    tags = est.__sklearn_tags__()
    assert tags.input_tags.string and not tags.input_tags.two_d_array


# ------------------------------------------------------------------ TF-IDF / Modality
def _table(texts, labels, missing):
    col = pd.Series(texts, dtype=object)
    for i, kind in missing.items():
        col[i] = None if kind == "none" else np.nan
    return pd.DataFrame({"text": col, "n": np.arange(len(texts))}), np.asarray(labels)


def _labelled():
    cats = ["space rocket orbit launch moon", "hockey goal team season player"]
    rng = np.random.RandomState(0)
    labels = np.arange(40) % 2
    texts = [" ".join(rng.choice(cats[y].split(), size=6)) + " the a of" for y in labels]
    return texts, labels


def test_tfidf_vectorizer_in_a_modality():
    texts, labels = _labelled()
    X, y = _table(texts, labels, {3: "none", 10: "nan"})
    m = Modality("text", make_pipeline(TfidfVectorizer(), LogisticRegression())).fit(X, y)
    present = np.ones(40, bool)
    present[[3, 10]] = False
    assert m.n_present_fit_ == 38
    direct = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(
        [t for t, p in zip(texts, present) if p], labels[present]
    )
    proba = m.predict_proba(X)
    assert np.isnan(proba[[3, 10]]).all()
    np.testing.assert_allclose(proba[present], direct.predict_proba(X["text"][present].tolist()))
    assert m.score(X, y) == 1.0
    m2 = make_modality_pipeline("text", TfidfVectorizer(sublinear_tf=True), LogisticRegression())
    assert m2.fit(X, y).score(X, y) == 1.0


def test_tfidf_vectorizer_modality_transform_marks_missing_rows():
    texts, labels = _labelled()
    X, _ = _table(texts, labels, {5: "none"})
    Xt = Modality("text", TfidfVectorizer()).fit(X).transform(X)
    direct = TfidfVectorizer().fit([t for i, t in enumerate(texts) if i != 5])
    assert Xt.shape[0] == 40 and Xt[5].nnz == 0
    np.testing.assert_allclose(Xt[6].toarray(), direct.transform([texts[6]]).toarray())


def test_word2vec_embedding_in_a_modality():
    texts, labels = _labelled()
    X, y = _table(texts, labels, {0: "none", 7: "nan"})
    emb = Word2VecEmbedding(vector_size=8, epochs=20, random_state=0)
    m = Modality("text", emb).fit(X)
    Xt = m.transform(X)
    assert np.isnan(Xt[[0, 7]]).all()
    present = [i for i in range(40) if i not in (0, 7)]
    direct = clone(emb).fit([texts[i] for i in present])
    np.testing.assert_array_equal(Xt[present], direct.transform([texts[i] for i in present]))
    clf = make_modality_pipeline("text", clone(emb), StandardScaler(), LogisticRegression()).fit(X, y)
    assert clf.score(X, y) >= 0.9


# ------------------------------------------------------------------ oov
def test_oov_zero_is_the_default_zero_row_with_a_warning():
    est = _fit()
    assert est.oov == "zero"
    with pytest.warns(UserWarning, match=r"1 of 30 texts have no in-vocabulary token.*oov="):
        X = est.transform(TEST)
    assert est.n_empty_docs_ == 1 and not X[7].any() and X[6].any()


@pytest.mark.parametrize("pooling", ["mean", "tfidf", "sif", "max"])
def test_oov_missing_gives_nan_rows_and_leaves_the_others_unchanged(pooling):
    est = _fit(pooling=pooling, oov="missing")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: NaN was asked for
        X = est.transform(TEST)
    assert est.n_empty_docs_ == 1
    assert np.isnan(X[7]).all() and not np.isnan(np.delete(X, 7, axis=0)).any()
    with pytest.warns(UserWarning):
        zero = est.set_params(oov="zero").transform(TEST)
    np.testing.assert_array_equal(np.delete(X, 7, axis=0), np.delete(zero, 7, axis=0))


def test_oov_error_names_the_samples_in_fit_and_transform():
    est = _fit(oov="error")
    with pytest.raises(ValueError, match=r"1 of 30 texts have no in-vocabulary token "
                                         r"\(oov='error'\): samples \[7\]") as info:
        est.transform(TEST)
    assert info.value.sample_index == 7
    texts = ["a b", "?!", "b c", "...", "c"] * 3
    with pytest.raises(ValueError, match=r"6 of 15 texts .*samples \[1, 3, 6, 8, 11, 13\]"):
        Word2VecEmbedding(vector_size=4, random_state=0, oov="error").fit(texts)
    with pytest.raises(ValueError, match=r"samples \[1, 3, 6, 8, 11, 13\]"):
        Word2VecEmbedding(vector_size=4, random_state=0, oov="error").fit_transform(texts)


@pytest.mark.parametrize("oov", ["nan", None, "Zero", 0])
def test_oov_bad_values_are_rejected(oov):
    with pytest.raises(ValueError, match=r"oov must be one of \('zero', 'missing', 'error'\)"):
        Word2VecEmbedding(oov=oov).fit(TRAIN)


def test_oov_missing_inside_a_modality_reads_as_missing_downstream():
    # a text with no known word and a missing text both become NaN rows of the
    # Modality's features, which a NaN-aware model takes in early fusion
    from sklearn.ensemble import HistGradientBoostingClassifier

    texts, labels = _labelled()
    texts[5] = "zebra unicorn!"  # unseen at training time: not in any training text
    X, y = _table(texts, labels, {0: "none", 7: "nan"})
    emb = Word2VecEmbedding(vector_size=8, epochs=20, random_state=0, min_count=2, oov="missing")
    m = Modality("text", emb).fit(X)
    Xt = m.transform(X)
    assert np.isnan(Xt[[0, 5, 7]]).all()
    assert not np.isnan(np.delete(Xt, [0, 5, 7], axis=0)).any()
    model = make_pipeline(Modality("text", clone(emb)), HistGradientBoostingClassifier(max_iter=20))
    assert model.fit(X, y).score(X, y) >= 0.9


# ------------------------------------------------------------------ real data
def _read_newsgroups(data_dir, groups):
    bunch = load_20newsgroups(data_dir, subset="all")
    frame = bunch.frame
    labels = np.asarray(bunch.target_names)[frame["target"].to_numpy()]
    keep = np.isin(labels, list(groups))
    return frame.loc[keep, ["text"]].reset_index(drop=True), labels[keep], frame["split"].to_numpy()[keep]


def test_newsgroups_four_classes(shared_data):
    """Real data, 4 of the 20 classes (all 20: benchmarks/bench_text.py)."""
    groups = {"comp.graphics", "rec.sport.hockey", "sci.space", "talk.religion.misc"}
    X, y, split = _read_newsgroups(shared_data, groups)
    train, test = split == "train", split == "test"
    assert train.sum() == 584 + 600 + 593 + 377 and test.sum() == 389 + 399 + 394 + 251
    tfidf = make_modality_pipeline("text", TfidfVectorizer(sublinear_tf=True), LinearSVC())
    acc_tfidf = tfidf.fit(X[train], y[train]).score(X[test], y[test])
    w2v = make_modality_pipeline(
        "text",
        Word2VecEmbedding(vector_size=50, epochs=5, min_count=3, random_state=0),
        StandardScaler(),
        LogisticRegression(max_iter=2000),
    )
    acc_w2v = w2v.fit(X[train], y[train]).score(X[test], y[test])
    assert acc_tfidf >= 0.9, acc_tfidf
    assert acc_w2v >= 0.75, acc_w2v
