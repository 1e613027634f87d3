"""The command line, run as users run it: a subprocess, one-line errors, exit codes."""

import csv
import re
import subprocess
import sys

import numpy as np
import pytest

from skddpm import DiffusionGenerator
from skddpm.__main__ import demo, main

TINY = ["--param", "timesteps=25", "--param", "hidden_layer_sizes=(16,)",
        "--param", "max_iter=3", "--param", "random_state=0"]  # fmt: skip


def run(*args):
    return subprocess.run([sys.executable, "-m", "skddpm", *map(str, args)],
                          capture_output=True, text=True)  # fmt: skip


def write(path, header, rows):
    with open(path, "w", newline="") as file:
        csv.writer(file).writerows([header, *rows])
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2)) + np.repeat([[0, 0], [6, 6]], 100, axis=0)
    rows = [
        [f"{a:.6f}", f"{b:.6f}", kind] for (a, b), kind in zip(X, ["low"] * 100 + ["high"] * 100)
    ]
    return write(tmp_path_factory.mktemp("cli") / "data.csv", ["width", "height", "kind"], rows)


@pytest.fixture(scope="module")
def model(data):
    path = data.parent / "model.skddpm"
    assert main(["fit", str(data), "-o", str(path), "--labels", "kind", *TINY]) == 0
    return path


def test_fit_writes_a_safe_model_with_the_csv_columns(model, capsys):
    gen = DiffusionGenerator.load(model)
    assert gen.feature_names_in_.tolist() == ["width", "height"]
    assert gen.classes_.tolist() == ["high", "low"]
    assert gen.timesteps == 25 and gen.hidden_layer_sizes == (16,) and gen.verbose is False


def test_sample_keeps_the_column_names_and_the_class(model, tmp_path):
    out = tmp_path / "samples.csv"
    assert main(["sample", str(model), "-n", "50", "-o", str(out), "--y", "high",
                 "--random-state", "1"]) == 0  # fmt: skip
    with open(out) as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["width", "height"] and len(rows) == 51
    values = np.array(rows[1:], dtype=float)
    expected = DiffusionGenerator.load(model).sample(50, y="high", random_state=1)
    np.testing.assert_allclose(values, expected)
    assert main(["sample", str(model), "-n", "5", "-o", str(out), "--method", "ddim",
                 "--steps", "3"]) == 0  # fmt: skip


def test_score_prints_the_mean_bound_and_writes_rows(model, data, tmp_path, capsys):
    out = tmp_path / "scores.csv"
    assert main(["score", str(model), str(data), "--labels", "kind", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "mean log-likelihood bound:" in printed and "over 200 rows" in printed
    with open(out) as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["log_likelihood_bound"] and len(rows) == 201


def test_score_matches_columns_by_name(model, data, tmp_path, capsys):
    with open(data) as file:
        rows = list(csv.reader(file))
    swapped = write(tmp_path / "swapped.csv", ["kind", "height", "width"],
                    [[k, h, w] for w, h, k in rows[1:]])  # fmt: skip
    main(["score", str(model), str(data), "--labels", "kind"])
    main(["score", str(model), str(swapped), "--labels", "kind"])
    first, second = capsys.readouterr().out.splitlines()[-2:]
    assert first == second


@pytest.mark.slow
def test_demo_writes_pictures_and_prints_quality(tmp_path, capsys):
    demo(tmp_path / "out", n_samples=400, hidden_layer_sizes=(32, 32), max_iter=20)
    printed = capsys.readouterr().out
    for name in ("samples.png", "loss.png", "reverse.gif"):
        assert (tmp_path / "out" / name).stat().st_size > 1000
    assert "classifier two-sample test accuracy" in printed
    assert "two real samples give" in printed


def test_help_and_a_round_trip_as_a_subprocess(data, tmp_path):
    ok = run("--help")
    assert ok.returncode == 0 and all(c in ok.stdout for c in ("demo", "fit", "sample", "score"))
    out = tmp_path / "s.csv"
    done = run("sample", data.parent / "model.skddpm", "-n", 7, "-o", out)
    assert done.returncode == 0, done.stderr
    assert out.read_text().count("\n") == 8


def one_line_error(result):
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(lines) == 1, result.stderr
    return lines[0]


BAD_INPUTS = {
    "a missing file": (("fit", "{tmp}/missing.csv", "-o", "{tmp}/m"), "no file at '.*missing.csv'"),
    "an unknown categorical column": (
        ("fit", "{dates}", "-o", "{tmp}/m", "--param", "categorical_features=['c']"),
        "categorical_features names 'c', which is not a column of X",
    ),
    "a misspelt parameter": (
        ("fit", "{data}", "-o", "{tmp}/m", "--param", "timestep=4"),
        "no parameter 'timestep'; did you mean 'timesteps'",
    ),
    "a parameter of the wrong type": (
        ("fit", "{data}", "-o", "{tmp}/m", "--labels", "kind", "--param", "timesteps=abc"),
        "The 'timesteps' parameter of DiffusionGenerator must be",
    ),
    "a table for a model": (
        ("sample", "{data}", "-o", "{tmp}/s.csv"),
        "is not a skddpm model file",
    ),
    "no model file": (("score", "{tmp}/nowhere.skddpm", "{data}"), "No model file at"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_inputs_give_one_line_errors(case, tmp_path, data, capsys):
    dates = write(tmp_path / "dates.csv", ["a", "b"], [["1", "2"], ["2", "3"]])
    args, pattern = BAD_INPUTS[case]
    args = [a.format(tmp=tmp_path, dates=dates, data=data) for a in args]
    assert main(args) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    assert re.search(pattern, lines[0]), (pattern, lines[0])


def test_a_subprocess_error_is_one_line_without_a_traceback(tmp_path):
    line = one_line_error(run("fit", tmp_path / "missing.csv", "-o", tmp_path / "m"))
    assert re.search("no file at '.*missing.csv'", line)


def test_in_process_errors_name_the_problem(model, tmp_path, capsys):
    assert main(["sample", str(model), "-o", str(tmp_path / "s.csv"), "--y", "medium"]) == 1
    assert "--y 'medium' is not one of the classes ['high', 'low']" in capsys.readouterr().err
    assert main(["sample", str(model), "-o", str(tmp_path / "s.csv"), "--steps", "3"]) == 1
    assert "--steps applies to --method ddim or dpm only" in capsys.readouterr().err
    assert main(["fit", str(model), "-o", str(tmp_path / "m"), "--param", "oops"]) == 1
    assert "--param expects name=value, got 'oops'" in capsys.readouterr().err
    short = write(tmp_path / "short.csv", ["width"], [["1.0"]])
    assert main(["score", str(model), str(short)]) == 1
    assert "has no column 'height', which the model was fitted with" in capsys.readouterr().err


def test_malformed_csv_files_are_named(model, tmp_path, capsys):
    header_only = write(tmp_path / "empty.csv", ["a", "b"], [])
    ragged = write(tmp_path / "ragged.csv", ["a", "b"], [["1", "2"], ["3", "4", "5"]])
    out = str(tmp_path / "m.skddpm")
    assert main(["fit", str(header_only), "-o", out]) == 1
    assert "needs a header row and at least one data row" in capsys.readouterr().err
    assert main(["fit", str(ragged), "-o", out]) == 1
    assert "Expected 2 fields in line 3, saw 3" in capsys.readouterr().err
    good = write(tmp_path / "good.csv", ["a", "b"], [["1", "2"], ["3", "4"]])
    assert main(["fit", str(good), "-o", out, "--labels", "kind"]) == 1
    assert "has no column 'kind'; its columns: ['a', 'b']" in capsys.readouterr().err


def test_a_class_for_a_model_without_labels(data, tmp_path, capsys):
    plain = tmp_path / "plain.skddpm"
    with open(data) as file:
        rows = list(csv.reader(file))
    numeric = write(tmp_path / "numeric.csv", rows[0][:2], [r[:2] for r in rows[1:]])
    assert main(["fit", str(numeric), "-o", str(plain), *TINY]) == 0
    assert main(["sample", str(plain), "-o", str(tmp_path / "s.csv"), "--y", "low"]) == 1
    assert "--y 'low' needs a model fitted with labels (fit --labels)" in capsys.readouterr().err


def test_text_missing_and_whole_number_columns_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(120):
        colour = ["red", "green", ""][i % 3]  # an empty field is a missing cell
        count = "" if i % 10 == 0 else str(rng.poisson(4))
        rows.append([f"{rng.normal():.4f}", colour, count, str(i % 2 == 0)])
    data = write(tmp_path / "mixed.csv", ["x", "colour", "count", "flag"], rows)
    model, out = tmp_path / "mixed.skddpm", tmp_path / "samples.csv"
    assert main(["fit", str(data), "-o", str(model), *TINY]) == 0
    assert main(["sample", str(model), "-n", "40", "-o", str(out)]) == 0
    with open(out, newline="") as file:
        header, *body = list(csv.reader(file))
    assert header == ["x", "colour", "count", "flag"] and len(body) == 40
    assert {row[1] for row in body} <= {"red", "green", ""}
    assert all(row[2] == "" or row[2].isdigit() for row in body)  # no "4.0"
    assert {row[3] for row in body} <= {"True", "False"}
