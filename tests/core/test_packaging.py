"""The desktop integration files are well-formed and agree with each other."""

import configparser
import re
import runpy
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

import pytest
from PySide6.QtGui import QImage

from bpstudio.gui.icons import ICON_SIZES, app_icon

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"


def test_desktop_entry_names_the_mime_type_the_mime_file_defines():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(PACKAGING / "bpstudio.desktop")
    desktop = entry["Desktop Entry"]
    assert desktop["Exec"].split()[0] == "bpstudio"
    mime = ET.parse(PACKAGING / "bpstudio-mime.xml").getroot()
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    types = [t.get("type") for t in mime.findall("m:mime-type", ns)]
    assert desktop["MimeType"].rstrip(";") in types
    assert mime.find("m:mime-type/m:glob", ns).get("pattern") == "*.bpg"


def test_metainfo_launches_the_desktop_entry():
    root = ET.parse(PACKAGING / "io.github.bpstudio.BackpropStudio.metainfo.xml").getroot()
    assert root.findtext("launchable") == "bpstudio.desktop"


def run_validator(tool: str, *args: str) -> subprocess.CompletedProcess:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (packaging/install-system-deps.sh names its "
                    "package); the file was not checked")
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=60)


def test_desktop_file_validate_accepts_the_desktop_entry():
    result = run_validator("desktop-file-validate", str(PACKAGING / "bpstudio.desktop"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout.lower()


def test_appstreamcli_accepts_the_metainfo():
    result = run_validator("appstreamcli", "validate", "--no-net",
                           str(PACKAGING / "io.github.bpstudio.BackpropStudio.metainfo.xml"))
    assert result.returncode == 0, result.stdout + result.stderr


def channel_difference(a: QImage, b: QImage) -> int:
    """The largest difference of one colour or alpha channel between two images of one size."""
    def channels(image: QImage) -> np.ndarray:
        image = image.convertToFormat(QImage.Format_ARGB32)
        data = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes())
        return data.reshape(image.height(), image.bytesPerLine()).astype(int)
    assert a.size() == b.size()
    return int(np.abs(channels(a) - channels(b)).max())


def test_the_icon_pngs_are_the_svg_rendered_at_each_size(tmp_path, qapp):
    make_icons = runpy.run_path(str(PACKAGING / "make_icons.py"))
    icons = PACKAGING.parent / "resources" / "icons"
    fresh = make_icons["render"](icons / "bpstudio.svg", tmp_path)
    assert [p.name for p in fresh] == [f"bpstudio-{s}.png" for s in ICON_SIZES]
    for path in fresh:
        committed, rendered = QImage(str(icons / path.name)), QImage(str(path))
        size = int(path.stem.split("-")[1])
        assert committed.width() == committed.height() == size
        # Unchanged since the SVG was last rendered (run make_icons.py after editing it), to
        # within the rounding of Qt's rasteriser, which differs by one level in a few pixels
        # from one machine's vector instructions to another's.
        assert channel_difference(committed, rendered) <= 2, path.name
        corner, middle = committed.pixelColor(0, 0), committed.pixelColor(size // 2, size // 2)
        assert corner.alpha() == 0 and middle.alpha() == 255  # a rounded shape, not a square


def test_the_app_icon_offers_every_size(qapp):
    assert sorted(s.width() for s in app_icon().availableSizes()) == list(ICON_SIZES)


def test_the_bundle_spec_leaves_out_no_qt_module_the_app_imports():
    spec = (PACKAGING / "bpstudio.spec").read_text()
    namespace: dict = {}
    exec(spec.split("a = Analysis(")[0], {"SPECPATH": str(PACKAGING)}, namespace)
    excluded = set(namespace["QT_UNUSED"]) | set(namespace["PY_UNUSED"])
    assert "PySide6.QtWebEngineCore" in excluded and "PySide6.QtQuick" in excluded
    source = PACKAGING.parent / "bpstudio"
    imported = set()
    for path in source.rglob("*.py"):
        imported |= set(re.findall(r"(PySide6\.Qt\w+|pyqtgraph\.\w+)", path.read_text()))
    assert imported, "the scan found no Qt imports at all"
    assert not imported & excluded
