"""Every stored setting is checked when it is read: a value of the wrong kind or beyond what its
field holds is dropped with a line in the log and the default used, and the app starts."""

from __future__ import annotations

import json
import logging

import pytest
from PySide6.QtCore import QByteArray, QSettings

from bpstudio.gui.main_window import MainWindow
from bpstudio.gui.settings import Settings

GOOD = {"optimizer": "sgd", "lr": 0.05, "weight_decay": 0.001, "batch_size": 16, "seed": 7,
        "validation": 0.3, "length": 40, "unit": "epochs",
        "data": {"source": "blobs", "n": 350, "noise": 0.4, "classes": 4, "seed": 7}}
CSV = {"source": "csv", "path": "/nowhere/t.csv", "target": "y", "features": ["a", "b"],
       "task": "auto"}
# Values no field holds: too large for a 32-bit spin box, not finite, of another kind.
BAD = [2**31, 2**63, 10**30, -1, float("inf"), float("-inf"), float("nan"), 1e308, None, True,
       "12", [], [1, 2], {}, {"n": 3}]


def store_with(tmp_path, training) -> QSettings:
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    # (json.dumps writes Infinity and NaN, as a hand-edited or foreign file may hold)
    store.setValue("training/last", json.dumps(training))
    store.sync()
    return store


def variants():
    for key in [k for k in GOOD if k != "data"]:
        for bad in BAD:
            yield key, None, bad
    for key in [k for k in GOOD["data"] if k != "source"] + ["source"]:
        for bad in BAD:
            yield "data", key, bad
    for key in [k for k in CSV if k != "source"]:
        for bad in [None, 5.5, {}, [[]], float("inf"), True]:
            if key in ("target",) and bad is True:
                continue
            yield "csv", key, bad


@pytest.mark.parametrize("key, sub, bad", list(variants()))
def test_a_bad_value_is_dropped_with_a_log_line_and_the_rest_kept(tmp_path, caplog, key, sub,
                                                                  bad):
    training = json.loads(json.dumps(GOOD))
    if key == "data":
        training["data"][sub] = bad
    elif key == "csv":
        training["data"] = dict(CSV, **{sub: bad})
    else:
        training[key] = bad
    with caplog.at_level(logging.WARNING, logger="bpstudio.gui.settings"):
        read = Settings(store_with(tmp_path, training)).training_settings()
    assert caplog.records, "nothing was logged"
    if key in ("data", "csv"):
        assert {k: v for k, v in read.items() if k != "data"} == \
            {k: v for k, v in GOOD.items() if k != "data"}
        data = read.get("data")
        if sub in ("source", "path"):
            assert data is None  # no data set without its source: the default one
        else:
            assert sub not in data
    else:
        assert key not in read
        assert read["data"] == GOOD["data"]
        assert {k: v for k, v in read.items() if k not in (key, "data")} == \
            {k: v for k, v in GOOD.items() if k not in (key, "data")}


@pytest.mark.parametrize("training", [[], "text", 5, None, [GOOD], {"data": []},
                                      {"data": "moons"}, {"data": {"source": ["moons"]}}])
def test_a_table_of_the_wrong_shape_gives_the_defaults(tmp_path, caplog, training):
    with caplog.at_level(logging.WARNING, logger="bpstudio.gui.settings"):
        read = Settings(store_with(tmp_path, training)).training_settings()
    assert "data" not in read and caplog.records


@pytest.mark.parametrize("key, value", [
    ("recent_files", 5), ("recent_files", {"a": 1}), ("window/geometry", "not bytes"),
    ("window/state", 12), ("last_directory", ["a", "b"]), ("appearance", "purple"),
    ("appearance", 3), ("training/last", 17), ("training/last", "[" * 100000)])
def test_every_other_stored_key_is_checked(tmp_path, caplog, key, value):
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    store.setValue(key, value)
    store.sync()
    settings = Settings(store)
    with caplog.at_level(logging.WARNING, logger="bpstudio.gui.settings"):
        read = {"recent_files": settings.recent_files, "window/geometry": settings.geometry,
                "window/state": settings.window_state, "last_directory": settings.last_directory,
                "appearance": settings.appearance,
                "training/last": settings.training_settings}[key]()
    assert read in ([], None, "", "system", {}) or isinstance(read, (QByteArray, list))
    assert read != value
    assert caplog.records


@pytest.mark.parametrize("bad", BAD)
def test_the_app_starts_whatever_every_field_holds(qtbot, dialogs, tmp_path, bad):
    training = {key: bad for key in GOOD if key != "data"}
    training["data"] = {"source": "blobs", **{key: bad for key in GOOD["data"] if key != "source"}}
    window = MainWindow(Settings(store_with(tmp_path, training)))
    qtbot.addWidget(window)
    window.show()
    panel = window.training_panel
    assert panel.seed_spin.value() == 0 and panel.batch_spin.value() == 32  # the defaults
    assert panel.data_combo.currentText() == "blobs"


@pytest.mark.parametrize("key", [k for k in GOOD if k != "data"] + list(GOOD["data"]))
@pytest.mark.parametrize("bad", [2**31, float("inf"), [3]])
def test_the_app_starts_with_one_bad_field(qtbot, dialogs, tmp_path, key, bad):
    training = json.loads(json.dumps(GOOD))
    if key in GOOD["data"]:
        training["data"][key] = bad
    else:
        training[key] = bad
    if key == "source" and bad == [3]:
        training["data"] = [3]  # "data" given as a list
    window = MainWindow(Settings(store_with(tmp_path, training)))
    qtbot.addWidget(window)
    window.show()
    assert window.training_panel.lr_spin.value() == (0.05 if key != "lr" else 0.01)
