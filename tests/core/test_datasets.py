"""Data sets: generated sets, the bundled tables, CSV import and its errors, the split and the
standardisation."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from bpstudio.core.training import datasets
from bpstudio.version import __version__
from bpstudio.core.training.datasets import CLASSIFICATION, REGRESSION, DataError, Standardizer

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", list(datasets.GENERATORS))
def test_generated_sets_are_seeded_sized_and_noisy(name):
    a = datasets.by_name(name, n=120, noise=0.1, seed=3)
    b = datasets.by_name(name, n=120, noise=0.1, seed=3)
    c = datasets.by_name(name, n=120, noise=0.1, seed=4)
    quiet = datasets.by_name(name, n=120, noise=0.0, seed=3)
    assert a.features.shape == (120, a.n_features) and a.targets.shape == (120,)
    assert np.array_equal(a.features, b.features) and np.array_equal(a.targets, b.targets)
    assert not np.array_equal(a.features, c.features)
    # Noise moves the points (classification) or the targets (regression).
    noisy, clean = (np.column_stack([d.features, d.targets]) for d in (a, quiet))
    assert not np.allclose(np.sort(noisy, axis=0), np.sort(clean, axis=0))
    assert a.spec["source"] == name and a.spec["seed"] == 3
    if a.task == CLASSIFICATION:
        assert set(np.unique(a.targets)) == set(range(a.n_classes))
        counts = np.bincount(a.targets.astype(int))
        assert counts.max() - counts.min() <= 1  # balanced classes


def test_blobs_and_spirals_take_a_class_count():
    assert datasets.blobs(n=100, classes=5).n_classes == 5
    assert set(datasets.spirals(n=90, classes=3).targets) == {0.0, 1.0, 2.0}
    with pytest.raises(DataError, match="classes must be from 2 to 100, not 1"):
        datasets.blobs(classes=1)


def test_regression_sets_follow_their_function():
    sine = datasets.sine(n=500, noise=0.0)
    assert sine.task == REGRESSION
    assert np.allclose(sine.targets, np.sin(sine.features[:, 0]))
    poly = datasets.polynomial(n=50, noise=0.0, coefficients=(1.0, 0.0, 2.0))
    assert np.allclose(poly.targets, 1.0 + 2.0 * poly.features[:, 0] ** 2)


def test_bundled_iris_and_digits():
    iris = datasets.iris()
    assert iris.features.shape == (150, 4) and iris.n_classes == 3
    assert iris.class_names == ("setosa", "versicolor", "virginica")
    assert np.array_equal(np.bincount(iris.targets.astype(int)), [50, 50, 50])
    assert iris.features[0].tolist() == [5.1, 3.5, 1.4, 0.2]
    digits = datasets.digits()
    assert digits.features.shape == (1797, 64) and digits.n_classes == 10
    assert digits.features.min() == 0 and digits.features.max() == 16
    assert (REPO / "resources" / "DATA.md").read_text().count("CC BY 4.0") >= 2


def test_unknown_name_and_bad_options_are_named():
    with pytest.raises(DataError, match="unknown data set 'mons'.*moons"):
        datasets.by_name("mons")
    with pytest.raises(DataError, match="moons"):
        datasets.by_name("moons", colour="red")
    with pytest.raises(DataError, match="bundled"):
        datasets.by_name("iris", n=10)


def write(tmp_path, text, name="table.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_with_text_classes_and_chosen_columns(tmp_path):
    path = write(tmp_path, "a,b,c,kind\n1,2,3,cat\n4,5,6,dog\n7,8,9,cat\n")
    data = datasets.load_csv(path, target="kind")
    assert data.task == CLASSIFICATION and data.class_names == ("cat", "dog")
    assert data.features.tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert data.targets.tolist() == [0, 1, 0]
    picked = datasets.load_csv(path, target="kind", features=["c", "a"])
    assert picked.feature_names == ("c", "a") and picked.features[1].tolist() == [6, 4]
    regress = datasets.load_csv(path, target="c", features=["a"], task="regression")
    assert regress.task == REGRESSION and regress.targets.tolist() == [3, 6, 9]


def test_csv_auto_task_and_semicolons(tmp_path):
    many = "x;y\n" + "".join(f"{i};{i * 0.37:.3f}\n" for i in range(40))
    assert datasets.load_csv(write(tmp_path, many)).task == REGRESSION
    few = "x,label\n" + "".join(f"{i},{i % 3}\n" for i in range(12))
    data = datasets.load_csv(write(tmp_path, few, "few.csv"))
    assert data.task == CLASSIFICATION and data.class_names == ("0", "1", "2")


@pytest.mark.parametrize("text, kwargs, message", [
    ("a,b,y\n1,2,0\n3,oops,1\n", {}, r"line 3, column 'b': 'oops' is not a finite number"),
    ("a,b,y\n1,2,0\n3,,1\n", {}, r"line 3, column 'b': is empty"),
    ("a,b,y\n1,2,0\n3,nan,1\n", {}, r"line 3, column 'b': 'nan' is not a finite number"),
    ("a,b,y\n1,2,0\n\n3,4\n", {}, r"line 4: 2 cells, but the header names 3 columns"),
    ("1,2,3\n4,5,6\n", {}, r"line 1 must be a header"),
    ("a,b,y\n", {}, r"no data rows"),
    ("", {}, r"is empty"),
    ("a,a,y\n1,2,0\n", {}, r"'a' appears twice"),
    ("a,b,y\n1,2,0\n", {"target": "z"}, r"no column named 'z' for the target; columns: a, b, y"),
    ("a,b,y\n1,2,0\n", {"features": ["a", "y"], "target": "y"}, r"both a feature and the target"),
    ("a,b,y\n1,2,0\n3,4,0\n", {"task": "classification"}, r"only one class"),
    ("a,b,y\n1,2,0\n3,4,big\n", {"task": "regression"}, r"line 3, column 'y': 'big'"),
    ("a,y\n1,\n", {}, r"line 2, column 'y': the target is empty"),
])
def test_csv_errors_name_line_and_column(tmp_path, text, kwargs, message):
    with pytest.raises(DataError, match=message):
        datasets.load_csv(write(tmp_path, text), **kwargs)


def test_csv_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="cannot read"):
        datasets.load_csv(tmp_path / "nope.csv")


def test_split_is_seeded_disjoint_and_stratified():
    iris = datasets.iris()
    train, val = datasets.split(iris, 0.2, seed=5)
    again, val_again = datasets.split(iris, 0.2, seed=5)
    other, val_other = datasets.split(iris, 0.2, seed=6)
    assert len(train) == 120 and len(val) == 30
    assert np.array_equal(val.features, val_again.features)
    assert not np.array_equal(val.features, val_other.features)
    rows = {tuple(r) + (t,) for r, t in zip(train.features, train.targets)}
    assert not any(tuple(r) + (t,) in rows for r, t in zip(val.features, val.targets)
                   if sum(1 for q, s in zip(iris.features, iris.targets)
                          if tuple(q) == tuple(r) and s == t) == 1)
    assert np.array_equal(np.bincount(val.targets.astype(int)), [10, 10, 10])
    assert datasets.split(iris, 0.0)[1] is None
    with pytest.raises(DataError, match="validation fraction"):
        datasets.split(iris, 1.0)


def test_standardizer_uses_training_statistics_only():
    data = datasets.prepare("iris", seed=2)
    assert np.allclose(data.train.features.mean(axis=0), 0.0, atol=1e-12)
    assert np.allclose(data.train.features.std(axis=0), 1.0)
    assert not np.allclose(data.validation.features.mean(axis=0), 0.0, atol=1e-3)
    stats = data.settings["standardisation"]
    back = Standardizer.from_dict(stats, 4)
    raw_train, _ = datasets.split(datasets.iris(), 0.2, seed=2)
    assert np.array_equal(back.apply(raw_train.features), data.train.features)


def test_standardizer_keeps_constant_columns_finite():
    data = datasets.prepare("digits", seed=0)
    assert np.all(np.isfinite(data.train.features))
    assert np.all(np.isfinite(data.validation.features))


@pytest.mark.parametrize("stats, message", [
    ({"mean": [0, 0]}, "need 'mean' and 'std'"),
    ({"mean": [0, 0], "std": [1]}, "same length"),
    ({"mean": [0, 0], "std": [1, 0]}, "std > 0"),
    ({"mean": [0, 0, 0], "std": [1, 1, 1]}, "for 3 features, but the data has 2"),
])
def test_bad_standardization_statistics(stats, message):
    with pytest.raises(DataError, match=message):
        Standardizer.from_dict(stats, 2)


def test_settings_rebuild_the_same_data(tmp_path):
    csv_path = write(tmp_path, "p,q,r,label\n" + "".join(
        f"{i},{i * i % 7},{(3 * i) % 5},{'ab'[i % 2]}\n" for i in range(30)))
    for data in (datasets.prepare("moons", options={"n": 80, "noise": 0.2}, seed=4),
                 datasets.prepare(str(csv_path), target="label", validation=0.3, seed=1)):
        again = datasets.from_settings(data.settings)
        assert np.array_equal(again.train.features, data.train.features)
        assert np.array_equal(again.validation.targets, data.validation.targets)
        assert again.settings == data.settings


def test_a_named_set_refuses_csv_columns():
    with pytest.raises(DataError, match="CSV files only"):
        datasets.prepare("iris", target="species")


def test_installed_package_finds_the_bundled_data(tmp_path):
    """Build a wheel, install it into a bare folder, and read both tables from there."""
    wheel_dir, target, source = tmp_path / "wheel", tmp_path / "site", tmp_path / "source"
    # Build from a copy: an in-place build would leave build/ and *.egg-info in the checkout.
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "tests",
        ".pytest_cache"))
    # Built in isolation, as pip builds for users: the venv's own setuptools may be too old.
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    str(source), "-w", str(wheel_dir)],
                   check=True, capture_output=True, cwd=tmp_path)
    wheel = next(wheel_dir.glob("bpstudio-*.whl"))
    assert wheel.name.startswith(f"bpstudio-{__version__}-")  # pyproject reads bpstudio/version.py
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(target)  # a wheel is a zip laid out as site-packages
    code = ("import bpstudio.core.training.datasets as d, bpstudio.core.resources as r; "
            "print(r.resources_dir()); print(len(d.iris()), len(d.digits()))")
    result = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, "
                             f"{str(target)!r}); {code}"], capture_output=True, text=True,
                            cwd=tmp_path, check=True)
    where, sizes = result.stdout.split("\n")[:2]
    assert where == str(target / "bpstudio" / "resources")
    assert sizes == "150 1797"
