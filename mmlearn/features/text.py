"""Text features: document embeddings from word vectors, and the TF-IDF recipe.

Two ways to turn a column of texts into features:

- **TF-IDF**: use scikit-learn's :class:`~sklearn.feature_extraction.text.TfidfVectorizer`
  as it is. Inside a :class:`mmlearn.compose.Modality` it receives the text
  column as a 1-D pandas Series, and the rows whose text is missing (None or
  NaN) have already been dropped, so no wrapper is needed::

      Modality("text", make_pipeline(TfidfVectorizer(sublinear_tf=True), LinearSVC()))

  (the same is ``make_modality_pipeline("text", TfidfVectorizer(), LinearSVC())``).
  On 20 Newsgroups this is the strong baseline; see ``benchmarks/bench_text.py``.
- **Word vectors**: :class:`Word2VecEmbedding` trains a gensim Word2Vec model
  in ``fit`` (or uses pretrained vectors) and pools the vectors of each
  document's words into one dense row.
"""

from __future__ import annotations

import os
import re
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator
from itertools import repeat
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..io import check_text
from ._base import _as_sample_list, _check_int, _extraction_progress, _no_progress

__all__ = ["Word2VecEmbedding"]

_POOLINGS = ("mean", "tfidf", "sif", "max")
_OOV_MODES = ("zero", "missing", "error")
_MAX_SAMPLES_SHOWN = 10
# Smoothing constant of SIF weights a / (a + p(w)), the value Arora et al. use.
_SIF_A = 1e-3
# Tokens are mapped to ids in blocks of about this many, so token lists of a
# large corpus never pile up in memory.
_TOKENS_PER_BLOCK = 1 << 19
# Max pooling gathers (tokens, vector_size) blocks of about this many tokens.
_MAX_POOL_TOKENS = 1 << 16

# ASCII texts take a fast path: one str.translate lowercases letters and turns
# every non-word character into a space, then str.split. On ASCII this gives
# exactly re.findall(r"\w+", text.lower()) and is about 2x faster.
_WORD_RE = re.compile(r"\w+")
_ASCII_WORD_TABLE = {
    i: (chr(i).lower() if chr(i).isalnum() or chr(i) == "_" else " ") for i in range(128)
}


def _word_tokenize(text: str) -> list[str]:
    """Lowercase ``text`` and return its runs of word characters (``\\w+``)."""
    if text.isascii():
        return text.translate(_ASCII_WORD_TABLE).split()
    return _WORD_RE.findall(text.lower())


class _CharNgramTokenizer:
    """Lowercased character n-grams, ``min_n <= n <= max_n``, within each
    whitespace-separated run of the text (n-grams never span whitespace)."""

    def __init__(self, min_n: int, max_n: int):
        self.min_n = min_n
        self.max_n = max_n

    def __call__(self, text: str) -> list[str]:
        if self.min_n == self.max_n == 1:
            return [c for c in text.lower() if not c.isspace()]
        grams: list[str] = []
        for run in text.lower().split():
            for n in range(self.min_n, self.max_n + 1):
                grams += [run[i : i + n] for i in range(len(run) - n + 1)]
        return grams

    def __repr__(self) -> str:
        return f"_CharNgramTokenizer(min_n={self.min_n}, max_n={self.max_n})"


def _stable_hash(key: str) -> int:
    """A hash that does not change with PYTHONHASHSEED (gensim's ``hashfxn``)."""
    return zlib.crc32(key.encode("utf-8", "surrogatepass"))


def _parse_char_ngrams(tokenizer: Any) -> tuple[int, int] | None:
    """(min_n, max_n) for the "char" tokenizer forms, None for the others."""
    if isinstance(tokenizer, str):
        return (1, 1) if tokenizer == "char" else None
    if not (isinstance(tokenizer, tuple) and len(tokenizer) == 2 and tokenizer[0] == "char"):
        return None
    n = tokenizer[1]
    if isinstance(n, (int, np.integer)) and not isinstance(n, bool):
        lo = hi = int(n)
    elif (
        isinstance(n, tuple)
        and len(n) == 2
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in n)
    ):
        lo, hi = int(n[0]), int(n[1])
    else:
        return None
    if lo < 1 or hi < lo:
        raise ValueError(
            f"tokenizer={tokenizer!r}: character n-gram sizes must satisfy 1 <= min_n <= max_n."
        )
    return lo, hi


def _is_binary_word2vec(path: str) -> bool:
    """Tell the word2vec binary format from the text one by the first entry.

    Both start with a text header ``"<n_words> <vector_size>"``. In the text
    format the next line is a word followed by ``vector_size`` decimal
    numbers; in the binary format it is a word followed by raw float32 bytes,
    which do not parse as that.
    """
    from gensim import utils as gensim_utils  # smart_open: reads .gz / .bz2 too

    with gensim_utils.open(path, "rb") as f:
        header = f.readline(4096)
        entry = f.readline(1 << 20)
    try:
        _, dim = (int(v) for v in header.split())
    except ValueError:
        raise ValueError(
            f"pretrained={path!r} is not in word2vec format: its first line should be "
            f"'<n_words> <vector_size>', got {header[:60]!r}. For vectors saved with "
            "KeyedVectors.save, or GloVe files without that header, load them with gensim "
            "(KeyedVectors.load, or load_word2vec_format(..., no_header=True)) and pass the "
            "KeyedVectors object."
        ) from None
    try:
        fields = entry.decode("utf-8").split()
        if len(fields) == dim + 1:
            [float(v) for v in fields[1:]]
            return False
    except (UnicodeDecodeError, ValueError):
        pass
    return True


class Word2VecEmbedding(TransformerMixin, BaseEstimator):
    """Embed texts by pooling word2vec vectors of their tokens.

    ``fit`` trains a gensim :class:`~gensim.models.Word2Vec` model on the
    training texts, or takes ``pretrained`` vectors and trains nothing; it
    also learns the pooling weights (IDF for ``"tfidf"``, word frequencies
    and the common component for ``"sif"``). ``transform`` maps each text to
    the pooled vector of its in-vocabulary tokens.

    Parameters
    ----------
    vector_size : int, default=100
        Dimension of the trained word vectors (ignored with ``pretrained``).
    window : int, default=5
        Maximum distance between a word and its context words in training.
    min_count : int, default=1
        Words seen fewer times in the training texts are left out of the
        trained vocabulary (and so ignored by ``transform``).
    epochs : int, default=5
        Passes over the training texts.
    sg : {0, 1}, default=0
        Training algorithm: 0 for CBOW, 1 for skip-gram.
    pooling : {"mean", "tfidf", "sif", "max"}, default="mean"
        How a document's token vectors become one row:

        - ``"mean"``: average over the token occurrences.
        - ``"tfidf"``: average weighted by term count times IDF, the IDF
          learned on the training texts (scikit-learn's smooth IDF,
          ``ln((1 + n) / (1 + df)) + 1``).
        - ``"sif"``: smooth inverse frequency (Arora et al., 2017): each
          occurrence weighs ``a / (a + p(w))`` with ``a = 1e-3`` and ``p(w)``
          the word's frequency among the in-vocabulary tokens of the training
          texts; the weighted sum is divided by the number of tokens, and
          the projection on the first principal component of the training
          embeddings (uncentred, as in the paper's code) is removed.
        - ``"max"``: element-wise maximum over the token vectors.
    tokenizer : None, "char", tuple or callable, default=None
        How a text becomes tokens:

        - ``None``: lowercase words, the runs of word characters (``\\w+``:
          letters, digits and underscore, Unicode-aware). Unlike
          scikit-learn's default ``token_pattern``, one-character tokens are
          kept ("c", "x", "3" carry meaning in technical text).
        - ``"char"``: the lowercased characters, whitespace dropped; for
          languages written without spaces.
        - ``("char", n)`` or ``("char", (min_n, max_n))``: lowercased
          character n-grams of those lengths, taken inside each
          whitespace-separated run (a run shorter than ``min_n`` gives none).
        - a callable ``str -> list of str``, applied to the raw text (it does
          its own lowercasing, if any).
    pretrained : KeyedVectors, str or path-like, default=None
        Vectors to use instead of training: a gensim ``KeyedVectors`` (or a
        model with a ``wv`` attribute, such as ``Word2Vec``), or the path of a
        file in word2vec text or binary format (told apart by its content;
        ``.gz`` and ``.bz2`` are read as well). Nothing is downloaded. The
        tokenizer must produce the vocabulary's spelling (the default one
        lowercases).
    workers : int, default=1
        Training threads. Only ``workers=1`` gives reproducible vectors.
    random_state : int, RandomState instance or None, default=None
        Seeds the training. With an int and ``workers=1`` the vectors are the
        same in every run, whatever ``PYTHONHASHSEED`` is.
    oov : {"zero", "missing", "error"}, default="zero"
        What a text with no in-vocabulary token (only unseen words, or only
        punctuation) becomes:

        - ``"zero"``: a row of zeros, with one ``UserWarning`` per call
          saying how many. A downstream model sees an ordinary row and will
          predict from it, often confidently: fine when such texts are rare,
          misleading when they are not.
        - ``"missing"``: a row of NaN, which marks the text as absent. In
          a :class:`~mmlearn.compose.Modality` whose estimator is a
          pipeline (``make_pipeline(Word2VecEmbedding(oov="missing"),
          LogisticRegression())``) the row is then treated like a missing
          text: the final step is neither fitted nor asked on it,
          ``presence_mask`` is False there, ``predict_proba`` gives NaN and
          fusion predicts the row from the other modalities (see the Notes
          of ``Modality``). In early fusion, a NaN-aware model (e.g.
          :class:`~sklearn.ensemble.HistGradientBoostingClassifier`) or an
          imputer with a missing-indicator takes it. No warning.
        - ``"error"``: a ValueError naming the samples (in ``fit`` as well).

        The default keeps the behaviour of earlier versions.

    Attributes
    ----------
    wv_ : gensim.models.KeyedVectors
        The word vectors used (trained, or the pretrained ones).
    vector_size_ : int
        Dimension of the output rows.
    idf_ : ndarray of shape (n_words,)
        IDF of each vocabulary word on the training texts (``"tfidf"`` only).
    word_weights_ : ndarray of shape (n_words,)
        SIF weight ``a / (a + p(w))`` of each vocabulary word (``"sif"`` only).
    components_ : ndarray of shape (1, `vector_size_`)
        The common component removed by SIF (``"sif"`` only).
    n_empty_docs_ : int
        Number of texts with no in-vocabulary token in the last call to
        ``fit``, ``transform`` or ``fit_transform``; their rows are zeros
        (or NaN, see ``oov``).

    See Also
    --------
    sklearn.feature_extraction.text.TfidfVectorizer : Sparse TF-IDF features;
        put it in a :class:`mmlearn.compose.Modality` as it is.
    mmlearn.compose.make_modality_pipeline : A Modality around a pipeline.

    Notes
    -----
    Texts are checked with :func:`mmlearn.io.check_text`: None, NaN, a
    non-string, an empty or whitespace-only text raise an error naming the
    sample (inside a ``Modality``, None and NaN rows are dropped as missing
    before they get here; an empty string is not treated as missing). A
    text whose tokens are all out of vocabulary (for instance only
    punctuation, or only unseen words) is handled as ``oov`` says; how many
    there were is stored in ``n_empty_docs_``. Out-of-vocabulary tokens in
    a text that has known ones are ignored.

    ``transform`` tokenises every text, maps tokens to vocabulary ids in one
    pass, builds a sparse (texts x words) matrix of pooling weights and
    multiplies it once by the vectors of the words that occur, in float64;
    ``"max"`` gathers token vectors block by block instead. The output is
    float32, the float64 result rounded once.

    Reproducibility: gensim seeds its initial vectors from the seed alone,
    and this class also passes a hash that ignores ``PYTHONHASHSEED`` as
    gensim's ``hashfxn``; with one worker the training is then
    deterministic. Texts longer than 10,000 tokens are split into pieces
    for training, since gensim would silently truncate them.

    References
    ----------
    .. [1] T. Mikolov, K. Chen, G. Corrado and J. Dean, "Efficient Estimation
       of Word Representations in Vector Space", 2013.
    .. [2] S. Arora, Y. Liang and T. Ma, "A Simple but Tough-to-Beat Baseline
       for Sentence Embeddings", ICLR 2017.

    Examples
    --------
    >>> from mmlearn.features import Word2VecEmbedding
    >>> texts = ["the cat sat on the mat", "the dog sat on the log",
    ...          "cats and dogs", "a mat and a log"]
    >>> emb = Word2VecEmbedding(vector_size=8, epochs=20, random_state=0)
    >>> X = emb.fit_transform(texts)
    >>> X.shape, X.dtype
    ((4, 8), dtype('float32'))
    >>> emb.get_feature_names_out()[:3]
    array(['w2v_0', 'w2v_1', 'w2v_2'], dtype=object)

    A text with no known word gets a zero row, and a warning says how many:

    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     X_new = emb.transform(["the cat", "zebras!"])
    >>> emb.n_empty_docs_, bool(X_new[1].any())
    (1, False)

    With ``oov="missing"`` such a text gets a row of NaN instead, silently:

    >>> import numpy as np
    >>> np.isnan(emb.set_params(oov="missing").transform(["the cat", "zebras!"])).all(axis=1)
    array([False,  True])

    Pooling weighted by TF-IDF, and pretrained vectors (here: those just
    trained) instead of training:

    >>> tfidf = Word2VecEmbedding(pooling="tfidf", pretrained=emb.wv_).fit(texts)
    >>> tfidf.transform(["the cat sat"]).shape
    (1, 8)
    """

    def __init__(
        self,
        *,
        vector_size: int = 100,
        window: int = 5,
        min_count: int = 1,
        epochs: int = 5,
        sg: int = 0,
        pooling: str = "mean",
        tokenizer: Any = None,
        pretrained: Any = None,
        workers: int = 1,
        random_state: Any = None,
        oov: str = "zero",
    ):
        self.vector_size = vector_size
        self.window = window
        self.min_count = min_count
        self.epochs = epochs
        self.sg = sg
        self.pooling = pooling
        self.tokenizer = tokenizer
        self.pretrained = pretrained
        self.workers = workers
        self.random_state = random_state
        self.oov = oov

    # ------------------------------------------------------------ parameters
    def _check_params(self) -> None:
        for name, minimum in (
            ("vector_size", 1),
            ("window", 1),
            ("min_count", 1),
            ("epochs", 1),
            ("workers", 1),
        ):
            _check_int(name, getattr(self, name), minimum)
        if self.sg not in (0, 1) or isinstance(self.sg, bool):
            raise ValueError(f"sg must be 0 (CBOW) or 1 (skip-gram), got {self.sg!r}.")
        if self.pooling not in _POOLINGS:
            raise ValueError(f"pooling must be one of {_POOLINGS}, got {self.pooling!r}.")
        self._check_oov()
        self.build_tokenizer()
        p = self.pretrained
        if p is not None and not isinstance(p, (str, os.PathLike)) and _as_keyed_vectors(p) is None:
            raise TypeError(
                "pretrained must be None, a gensim KeyedVectors (or a model with a .wv), or "
                f"the path of a word2vec file; got {type(p).__name__}."
            )

    def build_tokenizer(self) -> Callable[[str], list[str]]:
        """Return the function that splits one text into tokens.

        Returns
        -------
        tokenizer : callable
            ``str -> list of str``, as chosen by the ``tokenizer`` parameter.

        Examples
        --------
        >>> from mmlearn.features import Word2VecEmbedding
        >>> Word2VecEmbedding().build_tokenizer()("Hello, C++ world!")
        ['hello', 'c', 'world']
        >>> Word2VecEmbedding(tokenizer=("char", 2)).build_tokenizer()("东京都 大阪")
        ['东京', '京都', '大阪']
        """
        tok = self.tokenizer
        if tok is None:
            return _word_tokenize
        ngrams = _parse_char_ngrams(tok)
        if ngrams is not None:
            return _CharNgramTokenizer(*ngrams)
        if callable(tok):
            return tok
        raise ValueError(
            "tokenizer must be None (lowercase words), 'char', ('char', n), "
            f"('char', (min_n, max_n)) or a callable; got {tok!r}."
        )

    # ------------------------------------------------------------ inputs
    @staticmethod
    def _check_texts(X: Any) -> list[str]:
        if isinstance(X, np.ndarray) and X.dtype.kind in "US":
            X = X.astype(object)  # a NumPy str array: one text per entry
        texts = _as_sample_list(X, "Word2VecEmbedding")
        if not texts:
            raise ValueError("Word2VecEmbedding got 0 texts; at least 1 is required.")
        for i, text in enumerate(texts):
            check_text(text, index=i)
        return texts

    def _tokenize_checked(self, texts: list[str]) -> Iterator[list[str]]:
        tokenize = self.build_tokenizer()
        n = len(texts)
        with _extraction_progress(n, n, "Word2VecEmbedding tokenizing") as advance:
            for i, text in enumerate(texts):
                tokens = tokenize(text)
                if not isinstance(tokens, list):
                    if isinstance(tokens, str):
                        raise TypeError(
                            f"sample {i}: the tokenizer returned a str; it must return a list "
                            "of token strings."
                        )
                    tokens = list(tokens)
                advance(1)
                yield tokens

    @staticmethod
    def _token_ids(token_lists: Iterable[list[str]], n_texts: int, index: dict) -> tuple[np.ndarray, np.ndarray]:
        """Map tokens to vocabulary ids, dropping unknown ones.

        Returns ``ids`` (the known tokens of all texts, in order) and
        ``indptr`` of shape (n_texts + 1,): text ``i`` owns
        ``ids[indptr[i]:indptr[i + 1]]`` (CSR layout).
        """
        get = index.get
        lengths = np.empty(n_texts, dtype=np.int64)
        blocks: list[np.ndarray] = []
        flat: list[str] = []
        for i, tokens in enumerate(token_lists):
            flat += tokens
            lengths[i] = len(tokens)
            if len(flat) >= _TOKENS_PER_BLOCK or i == n_texts - 1:
                # (a list first: np.fromiter is slower straight off a map)
                found = list(map(get, flat, repeat(-1)))
                blocks.append(np.fromiter(found, dtype=np.int64, count=len(found)))
                flat = []
        ids = np.concatenate(blocks) if blocks else np.empty(0, dtype=np.int64)
        known = ids >= 0
        known_before = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(known, out=known_before[1:])
        ends = np.zeros(n_texts + 1, dtype=np.int64)
        np.cumsum(lengths, out=ends[1:])
        return ids[known], known_before[ends]

    # ------------------------------------------------------------ fitting
    def _load_vectors(self) -> Any:
        p = self.pretrained
        if isinstance(p, (str, os.PathLike)):
            from gensim.models import KeyedVectors

            path = os.fspath(p)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"pretrained={path!r}: file not found.")
            wv = KeyedVectors.load_word2vec_format(path, binary=_is_binary_word2vec(path))
        else:
            wv = _as_keyed_vectors(p)
        if len(wv.index_to_key) == 0:
            raise ValueError("pretrained vectors have an empty vocabulary.")
        return wv

    def _train(self, token_lists: list[list[str]]) -> Any:
        from gensim.models import Word2Vec
        from gensim.models.word2vec import MAX_WORDS_IN_BATCH

        # gensim silently truncates sentences longer than MAX_WORDS_IN_BATCH.
        sentences = [
            tokens[k : k + MAX_WORDS_IN_BATCH]
            for tokens in token_lists
            for k in range(0, max(len(tokens), 1), MAX_WORDS_IN_BATCH)
        ]
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        model = Word2Vec(
            vector_size=int(self.vector_size),
            window=int(self.window),
            min_count=int(self.min_count),
            sg=int(self.sg),
            epochs=int(self.epochs),
            workers=int(self.workers),
            seed=seed,
            hashfxn=_stable_hash,
        )
        model.build_vocab(sentences)
        if len(model.wv.index_to_key) == 0:
            raise ValueError(
                f"No token occurs at least min_count={self.min_count} times in the "
                f"{len(token_lists)} training texts; nothing to train. Lower min_count or "
                "check the tokenizer."
            )
        with _extraction_progress(
            model.epochs, len(token_lists), "Word2VecEmbedding training (epochs)"
        ) as advance:
            callbacks = [] if advance is _no_progress else [_epoch_callback(advance)]
            model.train(
                sentences, total_examples=model.corpus_count, epochs=model.epochs,
                callbacks=callbacks,
            )
        return model.wv

    def _fit(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        self._check_params()
        for stale in ("idf_", "word_weights_", "components_"):
            self.__dict__.pop(stale, None)
        texts = self._check_texts(X)
        if self.pretrained is None:
            token_lists = list(self._tokenize_checked(texts))
            wv = self._train(token_lists)
        else:
            wv = self._load_vectors()
            token_lists = self._tokenize_checked(texts)
        ids, indptr = self._token_ids(token_lists, len(texts), wv.key_to_index)
        self.wv_ = wv
        self.vector_size_ = int(wv.vector_size)
        n_words = len(wv.index_to_key)
        if self.pooling == "tfidf":
            counts = sp.csr_matrix(
                (np.ones(len(ids), dtype=np.float64), ids, indptr), shape=(len(texts), n_words)
            )
            counts.sum_duplicates()  # sklearn's document frequency counts stored entries
            self.idf_ = TfidfTransformer(norm=None, smooth_idf=True).fit(counts).idf_
        elif self.pooling == "sif":
            freq = np.bincount(ids, minlength=n_words).astype(np.float64)
            freq /= max(freq.sum(), 1.0)
            self.word_weights_ = _SIF_A / (_SIF_A + freq)
            emb = self._weighted_mean(ids, indptr)
            gram = emb.T @ emb
            if not gram.any():
                self.components_ = np.zeros((1, self.vector_size_))
            else:
                _, vecs = np.linalg.eigh(gram)
                u = vecs[:, -1]
                u = u if u[np.argmax(np.abs(u))] >= 0 else -u
                self.components_ = u[None, :]
        return ids, indptr

    def fit(self, X: Any, y: Any = None) -> "Word2VecEmbedding":
        """Train (or load) the word vectors and learn the pooling weights.

        Parameters
        ----------
        X : sequence of str
            Training texts: a list, 1-D array, pandas Series or one-column
            DataFrame.
        y : None
            Ignored.

        Returns
        -------
        self : Word2VecEmbedding
            The fitted transformer.
        """
        _, indptr = self._fit(X)
        self._handle_empty(indptr, None, stacklevel=3)
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        """Fit, then embed the training texts (tokenising them once).

        Parameters
        ----------
        X : sequence of str
            Training texts.
        y : None
            Ignored.
        **fit_params : dict
            Not used; accepted for API compatibility.

        Returns
        -------
        embeddings : ndarray of shape (n_texts, `vector_size_`), dtype float32
        """
        ids, indptr = self._fit(X)
        return self._pool(ids, indptr)

    # ------------------------------------------------------------ transform
    def transform(self, X: Any) -> np.ndarray:
        """Embed each text by pooling its in-vocabulary word vectors.

        Parameters
        ----------
        X : sequence of str
            A list, 1-D array, pandas Series or one-column DataFrame of texts.

        Returns
        -------
        embeddings : ndarray of shape (n_texts, `vector_size_`), dtype float32
            A text with no in-vocabulary token gets a row of zeros, or of
            NaN, or raises, as ``oov`` says.

        Raises
        ------
        ValueError
            If a text is missing, empty or not a string, or (``oov="error"``)
            has no in-vocabulary token; the message names the samples.
        """
        check_is_fitted(self)
        texts = self._check_texts(X)
        ids, indptr = self._token_ids(
            self._tokenize_checked(texts), len(texts), self.wv_.key_to_index
        )
        return self._pool(ids, indptr)

    def _pool(self, ids: np.ndarray, indptr: np.ndarray) -> np.ndarray:
        if self.pooling not in _POOLINGS:
            raise ValueError(f"pooling must be one of {_POOLINGS}, got {self.pooling!r}.")
        needed = {"tfidf": "idf_", "sif": "components_"}.get(self.pooling)
        if needed is not None and not hasattr(self, needed):
            raise ValueError(
                f"pooling={self.pooling!r} needs weights learned in fit, but this "
                "Word2VecEmbedding was fitted with another pooling; fit it again."
            )
        if self.pooling == "max":
            out = self._max_pool(ids, indptr)
        else:
            out = self._weighted_mean(ids, indptr)
            if self.pooling == "sif":
                u = self.components_[0]
                out -= np.outer(out @ u, u)
            out = out.astype(np.float32)
        self._handle_empty(indptr, out, stacklevel=4)
        return out

    def _weighted_mean(self, ids: np.ndarray, indptr: np.ndarray) -> np.ndarray:
        """One sparse (texts x words) weight matrix times the word vectors.

        Only the vectors of the words that occur are used, copied to float64
        so that long texts are summed without float32 round-off (the copy
        has at most one row per distinct token, however large the
        vocabulary). Returns float64, shape (n_texts, `vector_size_`).
        """
        n_texts = len(indptr) - 1
        n_known = np.diff(indptr)
        if self.pooling == "tfidf":
            raw = self.idf_[ids]
            cum = np.zeros(len(ids) + 1)
            np.cumsum(raw, out=cum[1:])
            norm = cum[indptr[1:]] - cum[indptr[:-1]]
        else:
            raw = self.word_weights_[ids] if self.pooling == "sif" else np.ones(len(ids))
            norm = n_known.astype(np.float64)
        scale = np.divide(1.0, norm, out=np.zeros(n_texts), where=norm > 0)
        used = np.zeros(len(self.wv_.index_to_key), dtype=bool)
        used[ids] = True
        words = np.flatnonzero(used)
        local = np.cumsum(used) - 1  # vocabulary id -> row among the used words
        weights = sp.csr_matrix(
            (raw * np.repeat(scale, n_known), local[ids], indptr), shape=(n_texts, len(words))
        )
        vectors = np.asarray(self.wv_.vectors[words], dtype=np.float64)
        return np.asarray(weights @ vectors)

    def _max_pool(self, ids: np.ndarray, indptr: np.ndarray) -> np.ndarray:
        n_texts = len(indptr) - 1
        emb = self.wv_.vectors
        out = np.zeros((n_texts, emb.shape[1]), dtype=np.float32)
        start = 0
        while start < n_texts:
            # The texts [start, stop) whose tokens fit a block (at least one text).
            stop = int(np.searchsorted(indptr, indptr[start] + _MAX_POOL_TOKENS, side="right")) - 1
            stop = min(max(stop, start + 1), n_texts)
            docs = start + np.flatnonzero(np.diff(indptr[start : stop + 1]) > 0)
            if len(docs):
                lo, hi = indptr[docs[0]], indptr[docs[-1] + 1]
                out[docs] = np.maximum.reduceat(emb[ids[lo:hi]], indptr[docs] - lo, axis=0)
            start = stop
        return out

    def _check_oov(self) -> None:
        if not isinstance(self.oov, str) or self.oov not in _OOV_MODES:
            raise ValueError(f"oov must be one of {_OOV_MODES}, got {self.oov!r}.")

    def _handle_empty(self, indptr: np.ndarray, out: np.ndarray | None, stacklevel: int) -> None:
        """Count the texts without a known token and apply ``oov`` to their rows."""
        self._check_oov()
        n_texts = len(indptr) - 1
        empty = np.flatnonzero(np.diff(indptr) == 0)
        self.n_empty_docs_ = int(empty.size)
        if not empty.size:
            return
        if self.oov == "error":
            shown = ", ".join(str(int(i)) for i in empty[:_MAX_SAMPLES_SHOWN])
            more = f" and {empty.size - _MAX_SAMPLES_SHOWN} more" if empty.size > _MAX_SAMPLES_SHOWN else ""
            exc = ValueError(
                f"Word2VecEmbedding: {empty.size} of {n_texts} texts have no in-vocabulary "
                f"token (oov='error'): samples [{shown}{more}]. Use oov='missing' to mark "
                "them as missing (NaN rows) or oov='zero' for zero rows."
            )
            exc.sample_index = int(empty[0])
            raise exc
        if self.oov == "missing":
            if out is not None:
                out[empty] = np.nan
            return
        warnings.warn(
            f"Word2VecEmbedding: {empty.size} of {n_texts} texts have no in-vocabulary "
            "token; their rows are zeros (n_empty_docs_). Set oov='missing' for NaN rows "
            "or oov='error' to raise.",
            UserWarning,
            stacklevel=stacklevel,
        )

    # ------------------------------------------------------------ sklearn API
    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns: ``w2v_0``, ``w2v_1``, ...

        Parameters
        ----------
        input_features : None
            Ignored (the input is one column of texts).

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self)
        return np.asarray([f"w2v_{i}" for i in range(self.vector_size_)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.one_d_array = True
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = []
        tags.non_deterministic = self.workers != 1
        return tags


def _epoch_callback(advance: Callable[[int], None]) -> Any:
    """A gensim callback that advances a progress bar at the end of each epoch."""
    from gensim.models.callbacks import CallbackAny2Vec

    class _EpochEnd(CallbackAny2Vec):
        def on_epoch_end(self, model: Any) -> None:
            advance(1)

    return _EpochEnd()


def _as_keyed_vectors(obj: Any) -> Any:
    """``obj`` as gensim KeyedVectors (itself, or its ``.wv``), else None."""
    from gensim.models import KeyedVectors

    if isinstance(obj, KeyedVectors):
        return obj
    wv = getattr(obj, "wv", None)
    return wv if isinstance(wv, KeyedVectors) else None
