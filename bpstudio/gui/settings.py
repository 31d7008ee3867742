"""What the app remembers between runs (recent files, window geometry, the training dock's
last choices), kept in QSettings.

Everything is checked when it is read, since the file may have been edited by hand, written by
another version or damaged: a value of the wrong kind or beyond what its widget holds (a seed
past a spin box's range, ``Infinity``, a list where a table belongs) is dropped with a line in
the log, and the default is used. A bad setting never stops the app from starting.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

from bpstudio.core.training import datasets
from bpstudio.core.training.optim import OPTIMIZERS

MAX_RECENT = 8
log = logging.getLogger(__name__)


def _whole(low: int, high: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


def _real(low: float, high: float) -> Callable[[Any], bool]:
    return lambda v: (isinstance(v, (int, float)) and not isinstance(v, bool)
                      and math.isfinite(v) and low <= v <= high)


def _one_of(*choices: Any) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, str) and v in choices


def _text(v: Any) -> bool:
    return isinstance(v, str)


def _column(v: Any) -> bool:
    return _text(v) or _whole(-2**31, 2**31 - 1)(v)


def _columns(v: Any) -> bool:
    return isinstance(v, list) and all(_column(c) for c in v)


# What each remembered training choice may be: the ranges of the training dock's fields (a
# spin box holds a 32-bit integer; these are the dock's own bounds).
TRAINING_FIELDS: dict[str, Callable[[Any], bool]] = {
    "validation": _real(0.0, 0.9), "optimizer": _one_of(*OPTIMIZERS),
    "lr": _real(1e-5, 10.0), "weight_decay": _real(0.0, 1.0),
    "batch_size": _whole(1, 4096), "seed": _whole(0, 2**31 - 1),
    "length": _whole(1, 1_000_000), "unit": _one_of("steps", "epochs"),
}
DATA_FIELDS: dict[str, Callable[[Any], bool]] = {
    "n": _whole(10, 20_000), "noise": _real(0.0, 2.0), "classes": _whole(2, 10),
    "seed": _whole(0, 2**31 - 1), "path": _text, "target": _column, "features": _columns,
    "task": _one_of(*datasets.TASKS),
}


def _checked(table: dict[str, Any], fields: dict[str, Callable[[Any], bool]],
             where: str) -> dict[str, Any]:
    """The entries of ``table`` that ``fields`` allows; each other one is logged and dropped."""
    kept = {}
    for key, value in table.items():
        valid = fields.get(key)
        if valid is not None and valid(value):
            kept[key] = value
        else:
            log.warning("settings: %s%s = %.80r is %s; the default is used", where, key, value,
                        "not a setting" if valid is None else "out of range or of the wrong kind")
    return kept


def checked_training_settings(settings: Any) -> dict[str, Any]:
    """The training dock's remembered choices that are valid (see :data:`TRAINING_FIELDS`)."""
    if not isinstance(settings, dict):
        log.warning("settings: training/last is %.80r, not a table; the defaults are used",
                    settings)
        return {}
    data = settings.get("data")
    kept = _checked({k: v for k, v in settings.items() if k != "data"}, TRAINING_FIELDS, "")
    if data is None:
        return kept
    if not isinstance(data, dict) or not _one_of(*datasets.names(), "csv")(data.get("source")):
        log.warning("settings: data = %.80r is not a data set; the default is used", data)
        return kept
    options = _checked({k: v for k, v in data.items() if k != "source"}, DATA_FIELDS, "data.")
    if data["source"] == "csv" and "path" not in options:
        log.warning("settings: a CSV data set without its path; the default is used")
        return kept
    kept["data"] = {"source": data["source"], **options}
    return kept


def app_data_dir() -> Path:
    """The per-user folder for the app's own files (e.g. ~/.local/share/bpstudio/...)."""
    folder = QStandardPaths.writableLocation(QStandardPaths.AppLocalDataLocation)
    return Path(folder) if folder else Path.home() / ".bpstudio"


class Settings:
    """A thin, typed layer over QSettings. Tests pass their own QSettings (an ini file in a
    temporary folder) so that they never touch the user's."""

    def __init__(self, store: QSettings | None = None, state_dir: str | Path | None = None):
        self.store = store if store is not None else QSettings("bpstudio", "Backprop Studio")
        if state_dir is None and store is not None:  # files the app keeps go beside its settings
            state_dir = Path(store.fileName()).parent
        self._state_dir = Path(state_dir) if state_dir is not None else None

    def state_dir(self) -> Path:
        """Where the app keeps files of its own (recovery files): the per-user data folder."""
        return self._state_dir if self._state_dir is not None else app_data_dir()

    def _value(self, key: str, default: Any, valid: Callable[[Any], bool]) -> Any:
        """The stored ``key``, or ``default`` (with a line in the log) when it is not valid."""
        try:
            value = self.store.value(key, default)
        except Exception as exc:  # a value QSettings itself cannot decode
            log.warning("settings: %s cannot be read (%s); the default is used", key, exc)
            return default
        if value is default or valid(value):
            return value
        log.warning("settings: %s = %.80r is not valid; the default is used", key, value)
        return default

    def recent_files(self) -> list[str]:
        value = self._value("recent_files", [], lambda v: isinstance(v, (str, list)))
        if isinstance(value, str):  # QSettings hands back a lone string for a one-item list
            value = [value]
        return [str(v) for v in (value or []) if isinstance(v, str) and v]

    def add_recent_file(self, path: str | Path) -> list[str]:
        path = str(Path(path).resolve())
        files = [path] + [f for f in self.recent_files() if f != path]
        files = files[:MAX_RECENT]
        self.store.setValue("recent_files", files)
        return files

    def remove_recent_file(self, path: str | Path) -> None:
        path = str(path)
        self.store.setValue("recent_files", [f for f in self.recent_files() if f != path])

    def clear_recent_files(self) -> None:
        self.store.setValue("recent_files", [])

    def geometry(self) -> QByteArray | None:
        return self._value("window/geometry", None, lambda v: isinstance(v, QByteArray))

    def window_state(self) -> QByteArray | None:
        return self._value("window/state", None, lambda v: isinstance(v, QByteArray))

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self.store.setValue("window/geometry", geometry)
        self.store.setValue("window/state", state)
        self.store.sync()

    def last_directory(self) -> str:
        return self._value("last_directory", "", _text)

    def set_last_directory(self, folder: str) -> None:
        self.store.setValue("last_directory", folder)

    def training_settings(self) -> dict:
        """The training dock's last data set and options, as the panel wrote them."""
        value = self._value("training/last", "", _text)
        try:  # kept as JSON text: an ini file would turn numbers into strings
            settings = json.loads(value) if value else {}
        except (ValueError, RecursionError):
            log.warning("settings: training/last is not JSON; the defaults are used")
            return {}
        return checked_training_settings(settings)

    def set_training_settings(self, settings: dict) -> None:
        self.store.setValue("training/last", json.dumps(settings))
        self.store.sync()

    def appearance(self) -> str:
        """"system", "light" or "dark" (View > Appearance)."""
        return self._value("appearance", "system", _one_of("system", "light", "dark"))

    def set_appearance(self, mode: str) -> None:
        self.store.setValue("appearance", mode)
