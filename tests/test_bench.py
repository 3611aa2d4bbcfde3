"""The benchmark suites' own logic (mmlearn._bench): absent data, data folder, shared models."""

import json
import runpy
import sys
from pathlib import Path

import pytest

from mmlearn._bench import accuracy, image, suite_parser, text
from mmlearn.cli import main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def empty_data_dir(tmp_path, monkeypatch):
    """$MMLEARN_DATA_DIR set to a folder that holds no data set."""
    folder = tmp_path / "no-data"
    folder.mkdir()
    monkeypatch.setenv("MMLEARN_DATA_DIR", str(folder))
    monkeypatch.setenv("COLUMNS", "2000")  # argparse wraps help at hyphens too: one line per option
    return folder


def test_accuracy_suite_notes_absent_data_sets(empty_data_dir, tmp_path, monkeypatch):
    # AV digits falls back to the embedded rows (tests/test_cli.py runs it);
    # a stand-in keeps this test on the real data sets' absent path
    seen = []

    def av_digits(data_dir, *, degraded, quick):
        seen.append((data_dir, quick))
        return {"accuracy": {"audio only (MFCC)": 0.5}, "info": {"source": "stand-in"}}

    monkeypatch.setattr(accuracy, "av_digits", av_digits)
    out = tmp_path / "bench"
    assert main(["bench", "--suite", "accuracy", "--no-progress", "--out", str(out)]) == 0
    assert seen == [(empty_data_dir.resolve(), False)] * 2
    result = json.loads((out / "accuracy.json").read_text())
    where = empty_data_dir.resolve()
    notes = {
        "fsdd": f"FSDD not found under {where}; skipped",
        "mnist": f"MNIST not found under {where}; skipped",
        "newsgroups": f"20 Newsgroups not found under {where}; skipped",
    }
    for task, note in notes.items():
        assert result[task] == {"accuracy": None, "note": note}
    summary = (out / "summary.md").read_text()
    for task, note in notes.items():
        assert f"- {task}: {note}" in summary


def test_newsgroups_accuracy_without_data(empty_data_dir, tmp_path):
    note = {"accuracy": None, "note": f"20 Newsgroups not found under {empty_data_dir}; skipped"}
    assert text.newsgroups_accuracy() == note  # $MMLEARN_DATA_DIR
    assert text.newsgroups_accuracy(tmp_path / "absent")["note"].startswith(
        f"20 Newsgroups not found under {tmp_path / 'absent'}"
    )


def test_text_suite_without_data_times_synthetic_texts_and_says_so(empty_data_dir, monkeypatch):
    speed = text.speed
    # full-size synthetic texts take minutes: time a slice, same code path
    monkeypatch.setattr(text, "speed", lambda fit, texts, repeat: speed(fit[:300], texts[:300], repeat=1))
    res = text.run(quick=False)
    assert res["texts"] == "synthetic" and res["speed"]["n_docs"] == 300
    note = f"20 Newsgroups not found under {empty_data_dir}; skipped"
    assert res["newsgroups"] == {"accuracy": None, "note": note}
    assert res["markdown"].endswith(f"20 Newsgroups accuracy: {note}")


def test_mnist_accuracy_without_data(empty_data_dir):
    res = image.mnist_accuracy()
    assert res == {"accuracy": None, "note": f"MNIST not found under {empty_data_dir}; skipped"}
    assert image.markdown({"mnist": res}).strip() == f"MNIST: {res['note']}"


def test_mnist_accuracy_reads_the_shared_loader(shared_data):
    # mmlearn.datasets.load_mnist (the folder or its parent); ~4 s with 4 conv filters
    res = image.mnist_accuracy(shared_data / "mnist", n_filters=4)
    accuracies = {name: r["accuracy"] for name, r in res["results"].items()}
    assert accuracies["HOG 7x7 cells, 2x2 blocks"] > 0.9 and accuracies["HOG 4x4 cells, 3x3 blocks"] > 0.9
    assert all(r["n_features"] > 0 for r in res["results"].values())


@pytest.mark.parametrize("script_default", [None, "/elsewhere/data"])
def test_data_dir_help_shows_the_resolved_default(empty_data_dir, monkeypatch, capsys, script_default):
    parser = suite_parser("Doc.", quick="q", data="mnist/", default_data_dir=script_default)
    assert parser.parse_args([]).data_dir == str(empty_data_dir)  # the variable beats a script's default
    assert f"(default: {empty_data_dir}; $MMLEARN_DATA_DIR)" in parser.format_help()
    monkeypatch.delenv("MMLEARN_DATA_DIR")
    parser = suite_parser("Doc.", quick="q", data="mnist/", default_data_dir=script_default)
    expected = Path(script_default) if script_default else Path.cwd() / ".." / "shared" / "data"
    assert parser.parse_args([]).data_dir == str(expected)
    assert f"(default: {expected}; set $MMLEARN_DATA_DIR to change it)" in parser.format_help()


def _script_help(name, monkeypatch, capsys):
    """``python benchmarks/bench_<name>.py --help``: its output (the exit status checked)."""
    monkeypatch.setenv("COLUMNS", "2000")
    path = REPO / "benchmarks" / f"bench_{name}.py"
    monkeypatch.setattr(sys, "argv", [str(path), "--help"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(path), run_name="__main__")
    assert exit_info.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("suite", ["audio", "image", "text", "accuracy", "sound", "augment", "pretrained"])
def test_benchmark_script_help_follows_the_variable(suite, empty_data_dir, monkeypatch, capsys):
    help_text = _script_help(suite, monkeypatch, capsys)
    assert f"(default: {empty_data_dir}; $MMLEARN_DATA_DIR)" in help_text
    assert "../shared/data)" not in help_text


def test_demo_and_accuracy_suite_share_one_model_definition():
    from mmlearn._bench._av_models import av_digits_models
    from mmlearn.cli import _demo_models

    demo, suite = _demo_models(None), av_digits_models(None, mfcc_stats=("mean", "std", "min", "max"))
    assert list(demo) == [
        "audio only (MFCC)", "image only (HOG)", "early fusion",
        "voting, searched weights", "stacking", "ensemble selection",
    ]
    assert list(suite) == [
        "audio only (MFCC)", "image only (HOG)", "early fusion",
        "voting (equal weights)", "voting (searched weights)", "stacking", "ensemble selection",
    ]
    # the same models but for the MFCC statistics
    assert demo["stacking"].get_params()["audio__estimator__mfccfeatures__stats"] == ("mean", "std")
    assert suite["stacking"].get_params()["audio__estimator__mfccfeatures__stats"] == ("mean", "std", "min", "max")
    demo_params = demo["stacking"].set_params(audio__estimator__mfccfeatures__stats=("mean", "std", "min", "max")).get_params()
    assert repr(demo_params) == repr(suite["stacking"].get_params())


def test_write_result_writes_json_markdown_and_every_labelled_plot(tmp_path):
    from mmlearn._bench import write_result

    result = {"accuracy": {"clean: a": 0.5, "noisy: a": 0.25}, "recall_at_1": {"cca": 0.8}, "markdown": "# title"}
    labels = {"recall_at_1": {"title": "Retrieval", "label": "recall@1 (higher is better)"}}
    files = write_result(result, tmp_path / "out" / "run.json", labels=labels)
    assert [f.name for f in files] == ["run.json", "run.md", "run_accuracy.png", "run_recall_at_1.png"]
    assert json.loads(files[0].read_text()) == result
    assert files[1].read_text() == "# title\n"
    assert all(f.stat().st_size > 1000 for f in files[2:])


@pytest.mark.parametrize("script", ["sound", "augment", "crossmodal", "pretrained"])
def test_standalone_scripts_share_the_suites_command_line(script, monkeypatch, capsys):
    help_text = _script_help(script, monkeypatch, capsys)
    assert "--quick" in help_text
    assert f"(default: {REPO / 'benchmarks' / 'results' / f'cpu-{script}.json'})" in help_text
    assert ("--data-dir" in help_text) == (script != "crossmodal")  # crossmodal: embedded data only
