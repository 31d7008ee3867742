"""What the app remembers between runs (recent files, window geometry, the training dock's
last choices), kept in QSettings."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

MAX_RECENT = 8


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

    def recent_files(self) -> list[str]:
        value = self.store.value("recent_files", [])
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
        value = self.store.value("window/geometry")
        return value if isinstance(value, QByteArray) else None

    def window_state(self) -> QByteArray | None:
        value = self.store.value("window/state")
        return value if isinstance(value, QByteArray) else None

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self.store.setValue("window/geometry", geometry)
        self.store.setValue("window/state", state)
        self.store.sync()

    def last_directory(self) -> str:
        value = self.store.value("last_directory", "")
        return value if isinstance(value, str) else ""

    def set_last_directory(self, folder: str) -> None:
        self.store.setValue("last_directory", folder)

    def training_settings(self) -> dict:
        """The training dock's last data set and options, as the panel wrote them."""
        value = self.store.value("training/last", "")
        try:  # kept as JSON text: an ini file would turn numbers into strings
            settings = json.loads(value) if isinstance(value, str) and value else {}
        except ValueError:
            return {}
        return settings if isinstance(settings, dict) else {}

    def set_training_settings(self, settings: dict) -> None:
        self.store.setValue("training/last", json.dumps(settings))
        self.store.sync()

    def appearance(self) -> str:
        """"system", "light" or "dark" (View > Appearance)."""
        value = self.store.value("appearance", "system")
        return value if value in ("system", "light", "dark") else "system"

    def set_appearance(self, mode: str) -> None:
        self.store.setValue("appearance", mode)
