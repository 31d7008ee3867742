"""The desktop integration files are well-formed and agree with each other."""

import configparser
import xml.etree.ElementTree as ET
from pathlib import Path

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
