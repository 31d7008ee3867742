"""Data that lies: targets checked like features, a task choice that one bad cell cannot flip
(and that says why it was made), columns that cannot be standardised refused when read, and
the generated sets' own arguments bounded before anything is allocated."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from bpstudio import cli
from bpstudio.core.training import datasets
from bpstudio.core.training.datasets import (CLASSIFICATION, REGRESSION, DataError, Dataset,
                                             Standardizer)


def write_table(tmp_path, header: list[str], rows: list[list[str]], name="table.csv"):
    path = tmp_path / name
    path.write_text(",".join(header) + "\n" + "".join(",".join(r) + "\n" for r in rows))
    return path


def regression_rows(rng: np.random.Generator, n: int) -> list[list[str]]:
    x = rng.normal(size=(n, 2))
    y = 3.0 * x[:, 0] - x[:, 1] + 0.1 * rng.normal(size=n)
    return [[f"{a:.5f}", f"{b:.5f}", f"{t:.5f}"] for (a, b), t in zip(x, y)]


# ----------------------------------------------------------------------------- targets
BAD_NUMBERS = ["inf", "-inf", "Infinity", "nan", "NaN", "1e999", "-1e400"]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("task", ["auto", REGRESSION, CLASSIFICATION])
def test_one_non_finite_target_is_refused_naming_file_line_and_column(tmp_path, seed, task):
    rng = np.random.default_rng(seed)
    rows = regression_rows(rng, int(rng.integers(5, 60)))
    at = int(rng.integers(len(rows)))
    bad = BAD_NUMBERS[seed % len(BAD_NUMBERS)]
    rows[at][2] = bad
    path = write_table(tmp_path, ["p", "q", "y"], rows, f"run{seed}.csv")
    with pytest.raises(DataError) as info:
        datasets.load_csv(path, task=task)
    assert str(info.value) == f"run{seed}.csv, line {at + 2}, column 'y': '{bad}' is not a " \
                              "finite number"


@pytest.mark.parametrize("seed", range(6))
def test_one_text_cell_cannot_flip_a_numeric_target_to_classification(tmp_path, seed):
    rng = np.random.default_rng(seed)
    rows = regression_rows(rng, int(rng.integers(5, 60)))
    at = int(rng.integers(len(rows)))
    rows[at][2] = ["oops", "n/a", "?", "1.2.3"][seed % 4]
    path = write_table(tmp_path, ["p", "q", "y"], rows)
    with pytest.raises(DataError) as info:
        datasets.load_csv(path)
    message = str(info.value)
    assert message.startswith(f"table.csv, line {at + 2}, column 'y': '{rows[at][2]}' is not a "
                              f"number, but {len(rows) - 1} of the {len(rows)} targets are")
    assert "ask for classification to read every target as a class name" in message
    with pytest.raises(DataError, match=f"line {at + 2}, column 'y'"):
        datasets.load_csv(path, task=REGRESSION)
    # Asked for, classification reads every cell as a class name.
    data = datasets.load_csv(path, task=CLASSIFICATION)
    assert data.task == CLASSIFICATION and rows[at][2] in data.class_names
    assert data.task_reason == "classification, as asked"


@pytest.mark.parametrize("cells, task, reason", [
    (["0.25", "1.5", "-3", "2"], REGRESSION,
     "regression, because the target 'y' holds numbers with fractions (e.g. 0.25)"),
    ([str(v) for v in range(25)], REGRESSION,
     "regression, because the target 'y' holds 25 distinct whole numbers (more than 20 are "
     "not read as classes)"),
    (["2", "10", "1", "2", "10"], CLASSIFICATION,
     "classification, because the target 'y' holds 3 distinct whole numbers (at most 20 are "
     "read as classes; ask for regression to predict them as numbers)"),
    (["cat", "dog", "cat", "7"], CLASSIFICATION,
     "classification, because most of the target 'y' is text (e.g. 'cat')"),
    (["cat", "dog", "emu"], CLASSIFICATION,
     "classification, because the target 'y' holds text (e.g. 'cat')"),
])
def test_the_automatic_task_follows_what_the_column_holds_and_says_why(tmp_path, cells, task,
                                                                      reason):
    rows = [[str(i), str(i * i % 7), c] for i, c in enumerate(cells)]
    data = datasets.load_csv(write_table(tmp_path, ["a", "b", "y"], rows))
    assert (data.task, data.task_reason) == (task, reason)
    forced = datasets.load_csv(write_table(tmp_path, ["a", "b", "y"], rows, "again.csv"),
                               task=CLASSIFICATION)
    assert forced.task == CLASSIFICATION and forced.task_reason == "classification, as asked"


def test_numeric_classes_are_ordered_as_numbers_in_a_file(tmp_path):
    rows = [[str(i), str(i), c] for i, c in enumerate(["10", "2", "1", "2", "10", "1"])]
    data = datasets.load_csv(write_table(tmp_path, ["a", "b", "y"], rows))
    assert data.class_names == ("1", "2", "10")
    assert data.targets.tolist() == [2, 1, 0, 1, 2, 0]


def test_named_sets_refuse_the_other_task_and_bad_task_names():
    assert datasets.prepare("moons", task=CLASSIFICATION).task == CLASSIFICATION
    with pytest.raises(DataError, match="'sine' is a regression data set: it cannot be read "
                                        "for classification"):
        datasets.prepare("sine", task=CLASSIFICATION)
    for task in ("regresion", None, 1, ["auto"]):
        with pytest.raises(DataError, match="task must be 'classification', 'regression' or "
                                            "'auto', not"):
            datasets.prepare("moons", task=task)
    table = datasets.Dataset("made", np.ones((4, 1)), np.arange(4.0), REGRESSION, ("x",))
    with pytest.raises(DataError, match="'made' is a regression data set: it cannot be read "
                                        "for classification"):
        datasets.prepare(table, task=CLASSIFICATION)
    assert datasets.moons().task_reason == \
        "classification, because 'moons' is a classification data set (2 classes)"


@pytest.mark.parametrize("array, where", [
    ("features", "row 3, column 'x2'"), ("targets", "row 3, column 'target'"),
])
@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_a_data_set_built_by_code_is_checked_like_a_file(array, where, bad):
    features, targets = np.ones((5, 2)), np.zeros(5)
    {"features": features, "targets": targets}[array][(2, 1) if array == "features" else 2] = bad
    with pytest.raises(DataError, match=f"data set 'mine', {where}: {bad} is not a finite number"):
        Dataset("mine", features, targets, REGRESSION, ("x1", "x2"))


# ------------------------------------------------------------------------ standardising
@pytest.mark.parametrize("magnitude", [1.0, 1e100, 1e150, 1e153, 1e154, 1e155, 1e200, 1e300,
                                       1.7e308])
def test_a_column_that_cannot_be_standardised_is_refused_when_read(tmp_path, magnitude):
    """Whatever the magnitude: the file is refused naming the column, or the data train on
    finite standardised features whose saved statistics load again (resume works)."""
    rng = np.random.default_rng(0)
    rows = regression_rows(rng, 40)
    for row in rows:
        row[1] = repr(float(rng.uniform(-1.0, 1.0)) * magnitude)
    rows[7][1] = repr(magnitude)
    path = write_table(tmp_path, ["p", "big", "y"], rows)
    try:
        data = datasets.prepare(str(path), seed=0)
    except DataError as exc:
        assert str(exc).startswith("table.csv, column 'big': its values (as large as ")
        assert "cannot be standardised, because their spread overflows a float" in str(exc)
        assert ", line " in str(exc)
        with np.errstate(over="ignore", invalid="ignore"):
            column = np.array([float(r[1]) for r in rows])
            assert not (np.isfinite(column.std()) and np.isfinite(column.mean()))
        return
    assert magnitude < 1e155
    assert np.all(np.isfinite(data.train.features)) and np.all(data.standardizer.std > 0)
    Standardizer.from_dict(data.settings["standardisation"], 2)  # what resuming reads
    rebuilt = datasets.from_settings(data.settings)
    assert np.array_equal(rebuilt.train.features, data.train.features)


def test_a_data_set_built_by_code_with_huge_features_is_refused_naming_the_column():
    features = np.column_stack([np.arange(6.0), np.array([1, -1, 1, -1, 1, -1]) * 1e200])
    with pytest.raises(DataError, match=r"data set 'huge', column 'b': its values \(as large as "
                                        r"1e\+200, row 1\) cannot be standardised"):
        Dataset("huge", features, np.zeros(6), REGRESSION, ("a", "b"))


def test_the_training_rows_are_checked_too():
    with pytest.raises(DataError, match="the training rows, column 'w': its values"):
        Standardizer.fit(np.array([[1e300], [-1e300], [1e300]]), ["w"])
    with pytest.raises(DataError, match="column '#1'"):
        Standardizer.fit(np.array([[1e300], [-1e300]]))


# ------------------------------------------------------------------ generated arguments
GENERATED_ARGS = {
    "xor": ["n", "noise", "seed"], "moons": ["n", "noise", "seed"],
    "circles": ["n", "noise", "seed", "factor"],
    "spirals": ["n", "noise", "seed", "classes", "turns"],
    "blobs": ["n", "noise", "seed", "classes"], "sine": ["n", "noise", "seed"],
    "polynomial": ["n", "noise", "seed"],
}
BAD_ARGS = [True, "100", None, math.nan, math.inf, -1, -0.5, 10**12, 10**400, 1e300, [3],
            np.float64(math.nan)]


def test_every_generated_set_and_argument_is_covered():
    import inspect
    for name, function in datasets.GENERATORS.items():
        takes = set(inspect.signature(function).parameters) - {"coefficients"}
        assert takes == set(GENERATED_ARGS[name]), name


@pytest.mark.parametrize("name, arg", [(n, a) for n, args in GENERATED_ARGS.items()
                                       for a in args])
def test_bad_generator_arguments_are_refused_before_anything_is_allocated(monkeypatch, name,
                                                                          arg):
    def no_allocation(*args, **kwargs):
        raise AssertionError("allocated before checking the arguments")

    # Every generator draws through a seeded Generator first: refusing before it is made
    # means refusing before any array is.
    monkeypatch.setattr(np.random, "default_rng", no_allocation)
    for value in BAD_ARGS:
        if arg in ("noise", "factor", "turns") and isinstance(value, float) \
                and 0 <= value <= 100:
            continue
        if arg == "seed" and value == 10**12:  # a fine seed
            continue
        with pytest.raises(DataError) as info:
            datasets.by_name(name, **{arg: value})
        assert str(info.value).startswith(f"data set '{name}': {arg} must be ")
        assert len(str(info.value)) < 200


@pytest.mark.parametrize("name", ["spirals", "blobs"])
def test_class_counts_are_bounded_and_fit_in_the_rows(name):
    with pytest.raises(DataError, match=f"data set '{name}': classes must be from 2 to 100, "
                                        "not 101"):
        datasets.by_name(name, classes=101)
    with pytest.raises(DataError, match=f"data set '{name}': n must be from 7 to 1,000,000, "
                                        "not 5"):
        datasets.by_name(name, classes=7, n=5)
    assert datasets.by_name(name, classes=7, n=7).n_classes == 7


@pytest.mark.parametrize("coefficients, message", [
    ([], "coefficients must be a list of 1 to 20 numbers"),
    ([1.0] * 21, "coefficients must be a list of 1 to 20 numbers"),
    ("1, 2", "coefficients must be a list of 1 to 20 numbers"),
    ([1.0, math.inf], "coefficient c1 must be from -1e+06 to 1e+06, not inf"),
    ([1.0, 10**400], "coefficient c1 must be from -1e+06 to 1e+06, not a whole number of 401"),
    ([True], "coefficient c0 must be a number, not True"),
])
def test_polynomial_coefficients_are_bounded(coefficients, message):
    with pytest.raises(DataError, match=re.escape(f"data set 'polynomial': {message}")):
        datasets.polynomial(coefficients=coefficients)


def test_good_arguments_still_make_the_same_sets():
    a = datasets.by_name("spirals", n=np.int64(90), noise=0, seed=np.int32(3), classes=3,
                         turns=2)
    b = datasets.spirals(n=90, noise=0.0, seed=3, classes=3, turns=2.0)
    assert np.array_equal(a.features, b.features) and a.spec == b.spec
    assert type(a.spec["n"]) is int and type(a.spec["noise"]) is float  # plain JSON


@pytest.mark.parametrize("kwargs, message", [
    ({"validation": True}, "the validation fraction must be a number in [0, 1), not True"),
    ({"validation": "0.2"}, "the validation fraction must be a number in [0, 1), not '0.2'"),
    ({"seed": -1}, "the split seed must be a whole number from 0 to"),
    ({"seed": 1.5}, "the split seed must be a whole number from 0 to"),
])
def test_prepare_checks_its_own_arguments(kwargs, message):
    with pytest.raises(DataError) as info:
        datasets.prepare("moons", **kwargs)
    assert str(info.value).startswith(message)


# ---------------------------------------------------------------------------------- CLI
@pytest.fixture
def regression_model(tmp_path):
    import bpstudio
    from training_graphs import mlp
    path = tmp_path / "reg.bpg"
    bpstudio.save(mlp((2, 8, 1), "tanh", "mse"), path)
    return path


def run(capsys, *args):
    try:
        code = cli.main([str(a) for a in args])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_says_which_task_it_chose_and_task_forces_it(capsys, tmp_path, regression_model):
    rows = [[str(i % 5), str(i % 3), str(i % 4)] for i in range(40)]  # 4 whole numbers
    path = write_table(tmp_path, ["a", "b", "y"], rows)
    code, out, err = run(capsys, "train", regression_model, "--data", path, "--steps", 3)
    assert code == 0, err  # (a (1,) target takes class indices as numbers: no error to see)
    assert out.splitlines()[0] == "task: classification, because the target 'y' holds 4 " \
        "distinct whole numbers (at most 20 are read as classes; ask for regression to " \
        "predict them as numbers)"
    code, out, err = run(capsys, "train", regression_model, "--data", path, "--steps", 3,
                         "--task", "regression")
    assert code == 0, err
    assert out.splitlines()[0] == "task: regression, as asked"
    code, out, err = run(capsys, "train", regression_model, "--data", path, "--steps", 3,
                         "--task", "regression", "--json", "--quiet")
    import json
    record = json.loads(out)
    assert (record["task"], record["task_reason"]) == ("regression", "regression, as asked")
    code, _, err = run(capsys, "train", regression_model, "--data", path, "--steps", 3,
                       "--task", "guess")
    assert code == 2 and "argument --task: invalid choice: 'guess'" in err


def test_cli_refuses_an_infinite_target_with_exit_2(capsys, tmp_path, regression_model):
    rows = regression_rows(np.random.default_rng(1), 30)
    rows[11][2] = "inf"
    path = write_table(tmp_path, ["a", "b", "y"], rows)
    code, out, err = run(capsys, "train", regression_model, "--data", path, "--steps", 3)
    assert code == 2 and out == ""
    assert err == "bpstudio-cli: error: table.csv, line 13, column 'y': 'inf' is not a finite " \
                  "number\n"
