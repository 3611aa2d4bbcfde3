"""Text features: Word2VecEmbedding speed, and 20 Newsgroups accuracy.

Speed: ``Word2VecEmbedding.transform`` (one token->id pass, then one sparse
matrix product) against per-document Python loops that average gensim
vectors, all starting from the raw texts with the same tokenizer, measured
side by side in one run (best of ``--repeat`` interleaved rounds). Texts: the 18,846 messages of
20 Newsgroups (train + test) when ``--data-dir`` has them, else synthetic
texts of the same count.

Accuracy: 20 Newsgroups "bydate", all 20 classes, trained on the train part
and scored on the test part: TF-IDF + LinearSVC, and Word2VecEmbedding (each
pooling, sharing one set of trained vectors through ``pretrained``) +
StandardScaler + LogisticRegression.

Run it with ``mmlearn bench --suite text`` (``--quick``: 1,000 synthetic
texts, one timing round, no accuracy), or alone from a source checkout:
``python benchmarks/bench_text.py`` (add ``--quick`` for the tiny run,
``--json PATH`` to save the results, ``--no-accuracy`` for speed only).
"""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..features import Word2VecEmbedding
from . import data_absent, resolve_data_dir, suite_parser

QUICK_TEXTS = 1_000


# ---------------------------------------------------------------- data
def read_20newsgroups(data_dir: str | os.PathLike) -> dict[str, tuple[list[str], np.ndarray]] | None:
    """20news-bydate as {"train": (texts, labels), "test": (texts, labels)}; labels are group names.

    None when ``data_dir`` holds no copy: the one place that decides whether
    the suite uses the real texts. A copy that is there but broken still
    raises.
    """
    from ..datasets import load_20newsgroups
    from ..datasets._local import _find

    try:
        _find(data_dir, "20news-bydate", "20news-bydate.tar.gz", "20 Newsgroups")
    except FileNotFoundError:
        return None
    bunch = load_20newsgroups(data_dir, subset="all")
    names = np.asarray(bunch.target_names)
    frame = bunch.frame
    out = {}
    for split in ("train", "test"):
        part = frame[frame["split"] == split]
        out[split] = (part["text"].tolist(), names[part["target"].to_numpy()])
    return out


def synthetic_texts(n_texts: int, seed: int = 0) -> list[str]:
    """Texts of 20-400 Zipf-distributed words from a 30,000-word vocabulary."""
    rng = np.random.RandomState(seed)
    vocab = np.array([f"w{i}" for i in range(30_000)])
    p = 1.0 / np.arange(1, len(vocab) + 1)
    p /= p.sum()
    lengths = rng.randint(20, 400, size=n_texts)
    words = rng.choice(vocab, size=lengths.sum(), p=p)
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    return [" ".join(words[a:b]) + "." for a, b in zip(bounds[:-1], bounds[1:])]


# ---------------------------------------------------------------- speed
def _loop_gensim_mean(wv, tokenize, texts):
    """The plain loop: per text, average gensim vectors of its known tokens."""
    out = np.zeros((len(texts), wv.vector_size), dtype=np.float32)
    for i, text in enumerate(texts):
        vecs = [wv[t] for t in tokenize(text) if t in wv.key_to_index]
        if vecs:
            out[i] = np.mean(vecs, axis=0)
    return out


def _loop_get_mean_vector(wv, tokenize, texts):
    """gensim's own per-text API, KeyedVectors.get_mean_vector."""
    out = np.zeros((len(texts), wv.vector_size), dtype=np.float32)
    for i, text in enumerate(texts):
        tokens = tokenize(text)
        if tokens:
            out[i] = wv.get_mean_vector(tokens, pre_normalize=False)
    return out


def _loop_fancy_index(wv, tokenize, texts):
    """A tuned loop: per text, ids in Python, then one fancy-index mean."""
    index, emb = wv.key_to_index, wv.vectors
    out = np.zeros((len(texts), wv.vector_size), dtype=np.float32)
    for i, text in enumerate(texts):
        ids = [index[t] for t in tokenize(text) if t in index]
        if ids:
            out[i] = emb[ids].mean(axis=0)
    return out


def speed(fit_texts: list[str], texts: list[str], *, repeat: int = 3, vector_size: int = 100) -> dict:
    """Time transform against the per-text loops on ``texts``."""
    est = Word2VecEmbedding(vector_size=vector_size, min_count=5, epochs=1, random_state=0)
    est.fit(fit_texts)
    wv, tokenize = est.wv_, est.build_tokenizer()
    n = len(texts)
    n_tokens = sum(len(tokenize(t)) for t in texts)
    others = {p: Word2VecEmbedding(pretrained=wv, pooling=p).fit(fit_texts) for p in ("tfidf", "sif", "max")}
    methods = [
        ("Word2VecEmbedding.transform (mean)", lambda: est.transform(texts)),
        ("  tokenizing alone (floor of every row)", lambda: [tokenize(t) for t in texts]),
        ("loop: np.mean of gensim wv[token]", lambda: _loop_gensim_mean(wv, tokenize, texts)),
        ("loop: gensim get_mean_vector", lambda: _loop_get_mean_vector(wv, tokenize, texts)),
        ("loop: ids, then vectors[ids].mean", lambda: _loop_fancy_index(wv, tokenize, texts)),
    ] + [(f"Word2VecEmbedding.transform ({p})", lambda o=o: o.transform(texts)) for p, o in others.items()]
    # Rounds over all methods, best of each kept: load from other processes
    # drifts over minutes, and interleaving keeps it from favouring one method.
    wall = {name: np.inf for name, _ in methods}
    cpu = dict(wall)
    outputs = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # texts with no known token
        for _ in range(repeat):
            for name, fn in methods:
                w0, c0 = time.perf_counter(), time.process_time()
                outputs[name] = fn()
                wall[name] = min(wall[name], time.perf_counter() - w0)
                cpu[name] = min(cpu[name], time.process_time() - c0)
    rows = [
        {"method": name, "seconds": wall[name], "cpu_seconds": cpu[name], "docs_per_s": n / wall[name]}
        for name, _ in methods
    ]
    ours = outputs[methods[0][0]]
    ref, ref2, ref3 = (outputs[methods[k][0]] for k in (2, 3, 4))
    base = rows[0]["seconds"]
    for r in rows:
        r["time_vs_transform"] = r["seconds"] / base
    err = max(float(np.max(np.abs(ours - r))) for r in (ref, ref2, ref3))
    scale = float(np.max(np.abs(ref)))
    return {
        "n_docs": n,
        "n_tokens": n_tokens,
        "vocabulary": len(wv.index_to_key),
        "vector_size": vector_size,
        "rows": rows,
        "speedup_vs_gensim_loop": rows[2]["seconds"] / base,
        "speedup_vs_get_mean_vector": rows[3]["seconds"] / base,
        "speedup_vs_tuned_loop": rows[4]["seconds"] / base,
        "max_abs_diff_vs_loops": err,
        "max_abs_value": scale,
    }


# ---------------------------------------------------------------- accuracy
def newsgroups_accuracy(data_dir: str | os.PathLike | None = None) -> dict:
    """20 Newsgroups bydate, 20 classes, train on train, score on test.

    Returns ``accuracy`` (model key -> test accuracy), ``seconds`` and
    ``models`` (descriptions) for (a) TF-IDF + LinearSVC and (b)
    Word2VecEmbedding + StandardScaler + LogisticRegression for each
    pooling (one Word2Vec training, shared by the poolings through
    ``pretrained``; its time is ``word2vec_train_seconds``). When
    ``data_dir`` (resolved as :func:`~mmlearn._bench.resolve_data_dir`
    does) holds no copy: ``accuracy`` None and a ``note`` saying so.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    import pandas as pd

    from ..compose import make_modality_pipeline

    data_dir = resolve_data_dir(data_dir)
    data = read_20newsgroups(data_dir)
    if data is None:
        return data_absent("20 Newsgroups", data_dir)
    (tr_texts, y_train), (te_texts, y_test) = data["train"], data["test"]
    X_train = pd.DataFrame({"text": tr_texts})
    X_test = pd.DataFrame({"text": te_texts})
    result: dict[str, Any] = {
        "n_train": len(tr_texts),
        "n_test": len(te_texts),
        "n_classes": int(len(np.unique(y_train))),
    }

    accuracy: dict[str, float] = {}
    seconds: dict[str, float] = {}
    models: dict[str, str] = {}

    t0 = time.perf_counter()
    tfidf = make_modality_pipeline("text", TfidfVectorizer(sublinear_tf=True), LinearSVC())
    tfidf.fit(X_train, y_train)
    accuracy["tfidf_linearsvc"] = float(tfidf.score(X_test, y_test))
    seconds["tfidf_linearsvc"] = time.perf_counter() - t0
    models["tfidf_linearsvc"] = "Modality('text', TfidfVectorizer(sublinear_tf=True) -> LinearSVC())"

    w2v_params = dict(vector_size=100, window=10, min_count=5, epochs=5, sg=1, random_state=0)
    t0 = time.perf_counter()
    trained = Word2VecEmbedding(**w2v_params).fit(tr_texts)
    result["word2vec_params"] = w2v_params
    result["word2vec_train_seconds"] = time.perf_counter() - t0
    result["word2vec_vocabulary"] = len(trained.wv_.index_to_key)
    for pooling in ("mean", "tfidf", "sif", "max"):
        key = f"word2vec_{pooling}_logreg"
        t0 = time.perf_counter()
        model = make_modality_pipeline(
            "text",
            Word2VecEmbedding(pretrained=trained.wv_, pooling=pooling),
            StandardScaler(),
            LogisticRegression(max_iter=3000),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # texts with no known word
            model.fit(X_train, y_train)
            accuracy[key] = float(model.score(X_test, y_test))
        seconds[key] = time.perf_counter() - t0
        models[key] = f"Word2VecEmbedding(pooling={pooling!r}) -> StandardScaler -> LogisticRegression"
    result.update(accuracy=accuracy, seconds=seconds, models=models)
    return result


# ---------------------------------------------------------------- driver
PLOTS = {
    "speedups": {
        "title": "Mean word-vector embedding: Word2VecEmbedding.transform vs per-text gensim loops",
        "label": "speed-up: loop time / transform time (x, higher is better)",
        "reference": "the loop named on the bar",
    },
}


def run(quick: bool = False, data_dir: str | None = None, *, accuracy: bool = True, repeat: int | None = None) -> dict:
    """Run the benchmark; return its results as a dict (``mmlearn bench`` calls this).

    ``quick`` times 1,000 synthetic texts once and reads no real data.
    """
    data_dir = resolve_data_dir(data_dir)
    data = None if quick else read_20newsgroups(data_dir)
    if data is not None:
        fit_texts = data["train"][0]
        texts = data["train"][0] + data["test"][0]
        source = "20 Newsgroups train + test"
    else:
        fit_texts = synthetic_texts(QUICK_TEXTS if quick else 11_314, seed=0)
        texts = synthetic_texts(QUICK_TEXTS if quick else 18_846, seed=1)
        source = "synthetic"
    out: dict[str, Any] = {"benchmark": "text", "quick": quick, "texts": source}
    out["speed"] = speed(fit_texts, texts, repeat=repeat or (1 if quick else 3))
    if accuracy and quick:
        out["newsgroups"] = {"accuracy": None, "note": "--quick reads no real data; skipped"}
    elif accuracy:
        out["newsgroups"] = newsgroups_accuracy(data_dir)
    rows = out.get("speed") or {}
    out["speedups"] = {
        label: rows[key]
        for label, key in (("loop of np.mean(gensim wv[token])", "speedup_vs_gensim_loop"),
                           ("loop of gensim get_mean_vector", "speedup_vs_get_mean_vector"),
                           ("tuned loop (ids, then vectors[ids].mean)", "speedup_vs_tuned_loop"))
        if key in rows
    }
    out["markdown"] = _markdown(out)
    return out


def _markdown(res: dict) -> str:
    s = res["speed"]
    lines = [
        f"### Word2VecEmbedding.transform vs per-text loops ({res['texts']}: {s['n_docs']:,} texts, "
        f"{s['n_tokens']:,} tokens, vocabulary {s['vocabulary']:,}, {s['vector_size']} dims)",
        "",
        "| method | seconds | CPU seconds | texts/s | time / transform(mean) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in s["rows"]:
        lines.append(
            f"| {r['method']} | {r['seconds']:.3f} | {r['cpu_seconds']:.3f} | {r['docs_per_s']:,.0f} "
            f"| {r['time_vs_transform']:.2f} |"
        )
    lines += [
        "",
        f"Speed-up of transform: {s['speedup_vs_gensim_loop']:.1f}x vs the gensim wv[token] loop, "
        f"{s['speedup_vs_get_mean_vector']:.1f}x vs get_mean_vector, "
        f"{s['speedup_vs_tuned_loop']:.1f}x vs the tuned loop. "
        f"Max |difference| from the loops {s['max_abs_diff_vs_loops']:.1e} (values up to "
        f"{s['max_abs_value']:.2f}): the loops' float32 round-off on long texts; transform sums "
        "in float64 (tests/test_text.py holds it to a float64 oracle at rtol 1e-6).",
    ]
    ng = res.get("newsgroups")
    if ng and ng["accuracy"] is None:
        lines += ["", f"20 Newsgroups accuracy: {ng['note']}"]
    elif ng:
        lines += [
            "",
            f"### 20 Newsgroups bydate: {ng['n_classes']} classes, train {ng['n_train']:,} / test {ng['n_test']:,}",
            "",
            "| model | test accuracy | seconds |",
            "| --- | ---: | ---: |",
        ]
        for key, acc in ng["accuracy"].items():
            lines.append(f"| {ng['models'][key]} | {acc:.4f} | {ng['seconds'][key]:.1f} |")
        lines.append(
            f"\nWord2Vec {ng['word2vec_params']}: trained once in {ng['word2vec_train_seconds']:.1f} s "
            f"(vocabulary {ng['word2vec_vocabulary']:,}), shared by the poolings (seconds above exclude it)."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None, *, default_data_dir: str | os.PathLike | None = None) -> int:
    """Command line of ``benchmarks/bench_text.py``."""
    parser = suite_parser(
        __doc__, quick="tiny run (1,000 synthetic texts, no accuracy)", data="20news-bydate/",
        default_data_dir=default_data_dir,
    )
    parser.add_argument("--no-accuracy", action="store_true", help="speed only")
    parser.add_argument("--repeat", type=int, default=None, help="timing repeats (best is kept)")
    args = parser.parse_args(argv)
    res = run(quick=args.quick, data_dir=args.data_dir, accuracy=not args.no_accuracy, repeat=args.repeat)
    print(_markdown(res))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return 0
