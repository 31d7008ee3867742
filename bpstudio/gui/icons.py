"""The app's icon, from the PNGs packaging/make_icons.py renders from bpstudio.svg."""

from __future__ import annotations

from PySide6.QtGui import QIcon

from bpstudio.core.resources import resources_dir

ICON_SIZES = (16, 32, 48, 64, 128, 256)


def app_icon() -> QIcon:
    """The icon at every rendered size: window managers and task bars pick the nearest, which
    stays sharp where a scaled single image would blur."""
    icon = QIcon()
    for size in ICON_SIZES:
        path = resources_dir() / "icons" / f"bpstudio-{size}.png"
        if path.is_file():
            icon.addFile(str(path))
    return icon
