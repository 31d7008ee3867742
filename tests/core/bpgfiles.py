"""Test helpers that take a .bpg container apart and put it back together, so that tests can
damage one entry or field at a time (optionally keeping the manifest's checksums consistent,
so that the damage reaches the checks behind the checksum check)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any, Callable


def read_entries(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def write_entries(entries: list[tuple[str, bytes]], fix_manifest: bool = True,
                  compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of ``entries`` (duplicates allowed); with ``fix_manifest``, manifest.json lists the
    size and SHA-256 of every other entry as they now are."""
    entries = list(entries)
    if fix_manifest:
        for i, (name, content) in enumerate(entries):
            if name == "manifest.json":
                manifest = json.loads(content)
                manifest["entries"] = {n: {"size": len(c), "sha256": hashlib.sha256(c).hexdigest()}
                                       for n, c in entries if n != "manifest.json"}
                entries[i] = (name, json.dumps(manifest).encode())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in entries:
            archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), content,
                             compress_type=compression)
    return buffer.getvalue()


def edit_json(data: bytes, entry: str, edit: Callable[[Any], Any], fix_manifest: bool = True) -> bytes:
    """Apply ``edit`` to the parsed JSON of ``entry`` (it may change the object in place or
    return a new one) and rebuild the container."""
    out = []
    for name, content in read_entries(data):
        if name == entry:
            document = json.loads(content)
            result = edit(document)
            content = json.dumps(document if result is None else result).encode()
        out.append((name, content))
    return write_entries(out, fix_manifest)


def replace_entry(data: bytes, entry: str, content: bytes, fix_manifest: bool = True) -> bytes:
    return write_entries([(n, content if n == entry else c) for n, c in read_entries(data)],
                         fix_manifest)
