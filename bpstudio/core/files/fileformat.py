"""The project file (``.bpg``): a versioned zip container, written atomically, read strictly.

Entries (all described in docs/file-format.md):

- ``manifest.json``: format name and version, app version, size and SHA-256 of the other entries;
- ``graph.json``: nodes, edges, groups (layers), description, training settings, optimiser
  state and history, checked against ``schema/graph.schema.json``;
- ``values/<k>.npy``: the data of parameter and constant nodes;
- ``training/<k>.npy``, ``optimizer/<k>.npy``, ``history/<k>.npy``: arrays inside those trees.

Loading never executes anything from the file: JSON is parsed as data, an array's ``.npy``
header is parsed (never evaluated as code) and checked against the entry's size before its bytes
are read straight into the one array that keeps them, only entries with known names are read
(there is no extraction to disk), and every entry's size and checksum is verified. Every
problem with a file raises :class:`FileFormatError` naming the entry, node and field at fault.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable

import numpy as np

from .atomicfile import atomic_write, check_target
from .. import rules
from ..collector import collector_paused
from ..errors import FileFormatError, GraphError, WiringError
from ..graph import Graph, Node
from ..model import Edge
from ..ops import REGISTRY
from ..ops.base import Op
from ..project import Project
from ..regularfile import open_regular
from ..sample import fill_default_sample
from .schema import SchemaViolation, load_schema, validator
from ...version import __version__

FORMAT_NAME = "bpstudio-project"
FORMAT_VERSION = 3
MANIFEST = "manifest.json"
GRAPH = "graph.json"
TREES = ("training", "optimizer_state", "history")
TREE_FOLDERS = {"training": "training", "optimizer_state": "optimizer", "history": "history"}
_ARRAY_ENTRY = re.compile(r"^(values|training|optimizer|history)/(0|[1-9][0-9]{0,8})\.npy$")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so that saving the same project gives the same bytes
MAX_TREE_DEPTH = 64
_CHUNK = 1 << 20  # arrays are read from the zip in pieces of this many bytes


def _schema_number(*path: str) -> int:
    """A cap written in graph.schema.json, so that the code enforcing it reads the same number."""
    node: Any = load_schema("graph")
    for key in path:
        node = node[key]
    return node


# The history: at most this many points per series (an array or a list)...
MAX_HISTORY_POINTS = _schema_number("$defs", "history", "properties", "max_points", "maximum")
# ... and this many numbers in all its arrays together (a series per parameter, two kinds).
MAX_HISTORY_NUMBERS = 10_000_000

def _whole_number_fields(schema: Any, defs: dict[str, Any], path: tuple[int, ...] = ()) -> Any:
    """Where ``schema`` asks for whole numbers: True (this value), a dict of field -> the same
    ("[]": every item of a list), or None. JSON Schema counts 32.0 as an integer, where the
    training code wants an int: the loader turns such numbers into ints."""
    if not isinstance(schema, dict) or id(schema) in path:  # (the tree refers to itself)
        return None
    path += (id(schema),)
    if "$ref" in schema:
        found = _whole_number_fields(defs[schema["$ref"].rsplit("/", 1)[1]], defs, path)
        if found is not None:
            return found
    if schema.get("type") == "integer":
        return True
    fields: dict[str, Any] = {}
    for option in schema.get("anyOf", []):
        found = _whole_number_fields(option, defs, path)
        if found is True:
            return True
        fields.update(found or {})
    for key, sub in schema.get("properties", {}).items():
        found = _whole_number_fields(sub, defs, path)
        if found is not None:
            fields[key] = found
    if "items" in schema:
        found = _whole_number_fields(schema["items"], defs, path)
        if found is not None:
            fields["[]"] = found
    return fields or None


def _as_whole_numbers(value: Any, fields: Any) -> Any:
    """``value`` with the whole numbers ``fields`` marks made ints (32.0 becomes 32)."""
    if fields is True:
        return int(value) if isinstance(value, float) and value.is_integer() else value
    if isinstance(fields, dict) and isinstance(value, dict):
        for key, inner in fields.items():
            if key in value:
                value[key] = _as_whole_numbers(value[key], inner)
    elif isinstance(fields, dict) and isinstance(value, list) and "[]" in fields:
        value[:] = [_as_whole_numbers(item, fields["[]"]) for item in value]
    return value


_GRAPH_DEFS = load_schema("graph")["$defs"]
_WHOLE_NUMBERS = {key: _whole_number_fields(_GRAPH_DEFS[key], _GRAPH_DEFS) for key in TREES}

# Migrations: MIGRATIONS[v] turns a version-v graph.json document into a version v + 1 one.
# Loading an older file runs the chain from its version up to FORMAT_VERSION.
Migration = Callable[[dict[str, Any]], dict[str, Any]]
MIGRATIONS: dict[int, Migration] = {}


def _add_empty_sample(document: dict[str, Any]) -> dict[str, Any]:
    """Version 2 adds the inputs' sample rows. A version-1 file has none: the loader then
    draws default rows (see :func:`bpstudio.core.sample.default_sample`)."""
    return {**document, "sample": {}}


MIGRATIONS[1] = _add_empty_sample

# The nodes Graph.dense names after its layer: W, b, the product, the pre-activation (then the
# activation itself is called after the layer), or without an activation the sum.
_LAYER_PART = re.compile(r"^(.+)\.(W|b|matmul|z)$")


def _recover_layer_groups(document: dict[str, Any]) -> dict[str, Any]:
    """Version 3 adds groups of nodes (layers). A version-2 file has none, but a layer built
    with ``dense`` is known by its names (``layerN.W``, ``layerN.b``, ``layerN.matmul``,
    ``layerN.z``, ``layerN``) and its wires (W into the product, the product and b into the
    sum, the sum into the activation): each such layer becomes a collapsed group."""
    # Read leniently: what is malformed is left for the schema to name, after the migration.
    def usable(items: Any, keys: tuple[str, ...]) -> list[dict[str, str]]:
        return [x for x in items if isinstance(x, dict)
                and all(isinstance(x.get(k), str) for k in keys)] \
            if isinstance(items, list) else []
    nodes = usable(document.get("nodes"), ("id", "name"))
    edges = usable(document.get("edges"), ("src", "dst", "dst_port"))
    by_name = {raw["name"]: raw for raw in nodes}
    feeds = {(e["dst"], e["dst_port"]): e["src"] for e in edges}
    sources: dict[str, set[str]] = {}
    for e in edges:
        sources.setdefault(e["dst"], set()).add(e["src"])
    stems = dict.fromkeys(m.group(1) for m in map(_LAYER_PART.match, by_name) if m)
    groups = []
    for stem in stems:
        parts = {part: by_name.get(f"{stem}.{part}") for part in ("W", "b", "matmul", "z")}
        out = by_name.get(stem)
        w, b, matmul, z = parts["W"], parts["b"], parts["matmul"], parts["z"]
        if None in (w, b, matmul, out) or feeds.get((matmul["id"], "b")) != w["id"]:
            continue
        total = out if z is None else z
        if sources.get(total["id"]) != {matmul["id"], b["id"]}:
            continue
        if z is not None and sources.get(out["id"]) != {z["id"]}:
            continue
        members = [w, b, matmul] + ([] if z is None else [z]) + [out]
        groups.append({"id": f"#g{len(groups) + 1}", "name": stem, "collapsed": True,
                       "members": [raw["id"] for raw in members]})
    return {**document, "groups": groups}


MIGRATIONS[2] = _recover_layer_groups


@dataclass(frozen=True)
class Limits:
    """Caps that keep a hostile file (a zip bomb, millions of entries) from exhausting memory."""

    max_entries: int = 100_000
    max_json_bytes: int = 64 * 2**20
    max_entry_bytes: int = 2 * 2**30
    max_total_bytes: int = 4 * 2**30


DEFAULT_LIMITS = Limits()


# =========================================================================================== save
def save(graph_or_project: Graph | Project, path: str | os.PathLike[str]) -> None:
    """Write a graph or a project to ``path`` (a ``.bpg`` file), atomically: the previous file
    stays intact until the new one is complete on disk."""
    if isinstance(graph_or_project, Graph):
        project = Project(graph_or_project)
    elif isinstance(graph_or_project, Project):
        project = graph_or_project
    else:
        raise TypeError(f"save() takes a Graph or a Project, not {type(graph_or_project).__name__}")
    check_target(path)  # before the work of encoding: a bad path fails at once, naming itself
    entries = encode(project)
    atomic_write(path, lambda stream: _write_zip(stream, entries))


def encode(project: Project) -> dict[str, bytes]:
    """Every entry of the container, by name, manifest first.

    Refuses (FileFormatError) a project that :func:`load` would refuse: the document is checked
    against the same schema, and the container against the default :class:`Limits`."""
    arrays: dict[str, bytes] = {}
    problem = rules.description_problem(project.description)
    if problem is not None:
        raise FileFormatError(f"cannot save: {problem}")
    document: dict[str, Any] = {
        "description": project.description,
        "nodes": [],
        "edges": [],
    }
    for index, node in enumerate(project.graph.nodes.values()):
        document["nodes"].append(_encode_node(node, index, arrays))
    document["edges"] = [{"src": e.src, "src_port": e.src_port, "dst": e.dst,
                          "dst_port": e.dst_port} for e in project.graph.edges]
    document["groups"] = _encode_groups(project.graph)
    # A few rows per input, kept as text: a teacher can read them in graph.json.
    document["sample"] = {n.id: {"shape": [int(d) for d in n.value.shape],
                                 "rows": [float(v) for v in n.value.ravel()]}
                          for n in project.graph.nodes_of("input") if n.value is not None}
    if not isinstance(project.training, dict):
        raise FileFormatError("cannot save: training settings must be a dict")
    for key in TREES:
        tree = getattr(project, key)
        if tree is None and key != "training":
            document[key] = None
            continue
        writer = _TreeWriter(TREE_FOLDERS[key], arrays, key)
        document[key] = writer.encode(tree, key, 0)
    try:
        validator("graph").validate(document)
    except SchemaViolation as exc:
        raise FileFormatError(f"cannot save: {GRAPH}: {exc}") from None
    graph_json = json.dumps(document, indent=1, allow_nan=False).encode("utf-8")
    contents = {GRAPH: graph_json, **arrays}
    _check_container(contents, DEFAULT_LIMITS)
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "app_version": __version__,
        "entries": {name: {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                    for name, data in contents.items()},
    }
    return {MANIFEST: json.dumps(manifest, indent=1).encode("utf-8"), **contents}


def _write_zip(stream: BinaryIO, entries: dict[str, bytes]) -> None:
    with zipfile.ZipFile(stream, "w") as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)


def _check_container(contents: dict[str, bytes], limits: Limits) -> None:
    """Refuse to write what loading refuses: too many entries, or entries beyond their caps."""
    if len(contents) + 1 > limits.max_entries:
        raise FileFormatError(f"cannot save: the project needs {len(contents) + 1} entries; a "
                              f"project file holds at most {limits.max_entries}")
    if len(contents[GRAPH]) > limits.max_json_bytes:
        raise FileFormatError(f"cannot save: {GRAPH} would be {len(contents[GRAPH]):,} bytes; "
                              f"at most {limits.max_json_bytes:,} are allowed")
    for name, data in contents.items():
        if len(data) > limits.max_entry_bytes:
            raise FileFormatError(f"cannot save: entry '{name}' would be {len(data):,} bytes; at "
                                  f"most {limits.max_entry_bytes:,} are allowed")
    total = sum(len(data) for data in contents.values())
    if total > limits.max_total_bytes:
        raise FileFormatError(f"cannot save: the entries would be {total:,} bytes in all; at "
                              f"most {limits.max_total_bytes:,} are allowed")


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _encode_node(node: Node, index: int, arrays: dict[str, bytes]) -> dict[str, Any]:
    where = f"cannot save node '{node.name}'"
    # The editing API keeps to these rules; a node changed behind its back is caught here,
    # before the person's file is replaced by one that would not open.
    for problem in (rules.name_problem(node.name), rules.id_problem(node.id)):
        if problem is not None:
            raise FileFormatError(f"cannot save node {node.id!r}: {problem}")
    spec = node.spec
    params = {}
    for p in spec.params:
        value = node.params.get(p.name, p.default)
        if p.kind == "shape":
            value = [int(d) for d in value]
        elif isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            raise FileFormatError(f"{where}: parameter '{p.name}' is not a finite number")
        params[p.name] = value
    entry: dict[str, Any] = {"id": node.id, "op": node.op, "name": node.name, "params": params,
                             "position": _encode_position(node, where)}
    if spec.source in ("parameter", "constant"):
        if node.value is None:
            raise FileFormatError(f"{where}: it holds no value")
        name = f"values/{index}.npy"
        arrays[name] = _npy_bytes(np.asarray(node.value, dtype=np.float64))
        entry["value"] = name
    return entry


def _encode_groups(graph: Graph) -> list[dict[str, Any]]:
    members: dict[str, list[str]] = {group_id: [] for group_id in graph.groups}
    for node in graph.nodes.values():  # (one pass, in node order, for every group)
        if node.group is not None and node.group.id in members:
            members[node.group.id].append(node.id)
    return [{"id": g.id, "name": g.name, "collapsed": g.collapsed, "members": members[g.id]}
            for g in graph.groups.values()]


def _encode_position(node: Node, where: str) -> list[float] | None:
    try:
        position = rules.as_position(node.position)
    except GraphError as exc:
        raise FileFormatError(f"{where}: {exc}") from None
    return None if position is None else list(position)


class _TreeWriter:
    """Turns a tree of dicts/lists with number, string, bool and array leaves into JSON,
    moving the arrays into ``<folder>/<k>.npy`` entries."""

    def __init__(self, folder: str, arrays: dict[str, bytes], label: str):
        self.folder, self.arrays, self.label, self.count = folder, arrays, label, 0

    def encode(self, value: Any, path: str, depth: int) -> Any:
        if depth > MAX_TREE_DEPTH:
            shown = path if len(path) <= 80 else path[:77] + "..."
            raise FileFormatError(f"cannot save {shown}: nested more than {MAX_TREE_DEPTH} levels")
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, (int, np.integer)):
            return int(value)
        if isinstance(value, (float, np.floating)):
            number = float(value)
            if math.isfinite(number):
                return number
            return {"$float": "nan" if math.isnan(number) else ("inf" if number > 0 else "-inf")}
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "biufc" or value.dtype.fields is not None:
                raise FileFormatError(f"cannot save {path}: arrays must hold numbers or booleans, "
                                      f"not {value.dtype}")
            name = f"{self.folder}/{self.count}.npy"
            self.count += 1
            self.arrays[name] = _npy_bytes(value)
            return {"$array": name}
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise FileFormatError(f"cannot save {path}: keys must be text, not {key!r}")
                out["$" + key if key.startswith("$") else key] = self.encode(item, f"{path}.{key}",
                                                                              depth + 1)
            return out
        if isinstance(value, (list, tuple)):
            return [self.encode(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
        raise FileFormatError(f"cannot save {path}: {type(value).__name__} values are not "
                              "supported (use numbers, text, booleans, lists, dicts and NumPy "
                              "arrays)")


# =========================================================================================== load
def load(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> Project:
    """Read a project file. Every problem with its content raises :class:`FileFormatError`
    starting with the path; a file that cannot be opened at all, or a path that is not a
    regular file (a device, a FIFO, a folder), raises OSError naming it."""
    with open_regular(path) as stream, collector_paused():
        try:
            return _Reader(stream, limits).read()
        except (FileFormatError, GraphError) as exc:
            raise FileFormatError(f"{os.fspath(path)}: {exc}") from None


def loads(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Project:
    """Read a project from the bytes of a ``.bpg`` file."""
    with collector_paused():
        return _Reader(io.BytesIO(data), limits).read()


# Everything the zip and zlib modules raise for damaged data.
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
               RuntimeError, NotImplementedError, ValueError, struct.error, OverflowError,
               IndexError, KeyError)


class _Reader:
    def __init__(self, stream: BinaryIO, limits: Limits):
        self.stream = stream
        self.limits = limits
        self.infos: dict[str, zipfile.ZipInfo] = {}
        self.entries: dict[str, dict[str, Any]] = {}
        self.unused: set[str] = set()

    def read(self) -> Project:
        try:
            archive = zipfile.ZipFile(self.stream)
        except _ZIP_ERRORS as exc:
            raise FileFormatError("not a Backprop Studio project file (not a readable zip: "
                                  f"{exc})") from None
        with archive:
            self.archive = archive
            self._index()
            manifest = self._read_manifest()
            document = self._read_json(GRAPH, self.limits.max_json_bytes)
            document = migrate(document, manifest["format_version"])
            self.drew_sample = manifest["format_version"] < 2
            try:
                validator("graph").validate(document)
            except SchemaViolation as exc:
                raise FileFormatError(f"{GRAPH}: {exc}") from None
            project = self._build(document)
        if self.unused:
            raise FileFormatError(f"entry '{sorted(self.unused)[0]}' is listed in {MANIFEST} "
                                  "but nothing refers to it")
        return project

    # ----------------------------------------------------------------------- container level
    def _index(self) -> None:
        try:
            infos = self.archive.infolist()
        except _ZIP_ERRORS as exc:
            raise FileFormatError(f"the zip directory cannot be read: {exc}") from None
        if len(infos) > self.limits.max_entries:
            raise FileFormatError(f"the file has {len(infos)} entries; at most "
                                  f"{self.limits.max_entries} are allowed")
        total = 0
        for info in infos:
            name = info.filename
            if name != MANIFEST and name != GRAPH and not _ARRAY_ENTRY.fullmatch(name):
                raise FileFormatError(f"unexpected entry {name!r}: only {MANIFEST}, {GRAPH} and "
                                      "values/, training/, optimizer/, history/<number>.npy belong "
                                      "in a project file")
            if name in self.infos:
                raise FileFormatError(f"entry '{name}' appears twice")
            if info.flag_bits & 0x1:
                raise FileFormatError(f"entry '{name}' is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise FileFormatError(f"entry '{name}' uses an unsupported compression method "
                                      f"({info.compress_type})")
            if info.file_size > self.limits.max_entry_bytes:
                raise FileFormatError(f"entry '{name}' unpacks to {info.file_size} bytes; at most "
                                      f"{self.limits.max_entry_bytes} are allowed")
            total += info.file_size
            self.infos[name] = info
        if total > self.limits.max_total_bytes:
            raise FileFormatError(f"the entries unpack to {total} bytes in total; at most "
                                  f"{self.limits.max_total_bytes} are allowed")

    def _read_raw(self, name: str, limit: int) -> bytes:
        info = self.infos.get(name)
        if info is None:
            raise FileFormatError(f"entry '{name}' is missing")
        if info.file_size > limit:
            raise FileFormatError(f"entry '{name}' is {info.file_size} bytes; at most {limit} "
                                  "are allowed")
        try:
            with self.archive.open(info) as entry:
                # Never trust the declared size: read at most one byte past the cap.
                data = entry.read(limit + 1)
        except _ZIP_ERRORS as exc:
            raise FileFormatError(f"entry '{name}' cannot be read: {exc}") from None
        if len(data) > limit:
            raise FileFormatError(f"entry '{name}' unpacks to more than {limit} bytes")
        return data

    def _read_manifest(self) -> dict[str, Any]:
        data = self._read_raw(MANIFEST, self.limits.max_json_bytes)
        manifest = _parse_json(data, MANIFEST)
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
            raise FileFormatError(f"{MANIFEST}: this is not a Backprop Studio project "
                                  f"(format is not \"{FORMAT_NAME}\")")
        version = manifest.get("format_version")
        if isinstance(version, float) and version.is_integer():
            manifest["format_version"] = version = int(version)  # JSON Schema's integer
        if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
            writer = str(manifest.get("app_version", "unknown"))[:40]
            raise FileFormatError(f"the file was written by a newer version of Backprop Studio "
                                  f"({writer}, format version {version}); this version reads "
                                  f"format versions up to {FORMAT_VERSION}: please update")
        try:
            validator("manifest").validate(manifest)
        except SchemaViolation as exc:
            raise FileFormatError(f"{MANIFEST}: {exc}") from None
        listed = set(manifest["entries"])
        present = set(self.infos) - {MANIFEST}
        for name in sorted(listed - present):
            raise FileFormatError(f"entry '{name}' listed in {MANIFEST} is missing from the file")
        for name in sorted(present - listed):
            raise FileFormatError(f"entry '{name}' is not listed in {MANIFEST}")
        self.entries = manifest["entries"]
        self.unused = listed - {GRAPH}
        return manifest

    def _read_entry(self, name: str, limit: int) -> bytes:
        """An entry's bytes, checked against the size and checksum the manifest gives."""
        expected = self.entries.get(name)
        if expected is None:
            raise FileFormatError(f"entry '{name}' is not listed in {MANIFEST}")
        data = self._read_raw(name, limit)
        if len(data) != expected["size"]:
            raise FileFormatError(f"entry '{name}' is {len(data)} bytes but {MANIFEST} says "
                                  f"{expected['size']}")
        if hashlib.sha256(data).hexdigest() != expected["sha256"]:
            raise FileFormatError(f"entry '{name}' is damaged: its checksum does not match "
                                  f"{MANIFEST}")
        return data

    def _read_json(self, name: str, limit: int) -> Any:
        return _parse_json(self._read_entry(name, limit), name)

    def _read_array(self, name: str, where: str, kinds: str,
                    max_count: int | None = None) -> np.ndarray:
        """The array in entry ``name``, read straight from the zip into the one array that
        keeps it (so loading needs about the array's size in memory, not three times that).
        Its header is checked first: allowed dtype, a plausible shape that accounts for exactly
        the entry's size, at most ``max_count`` numbers. Size and checksum are checked as the
        bytes go by."""
        if name not in self.unused:
            if name in self.entries:
                raise FileFormatError(f"{where}: entry '{name}' is referred to twice")
            raise FileFormatError(f"{where}: entry '{name}' is not in the file")
        self.unused.discard(name)
        expected = self.entries[name]
        size, limit = expected["size"], self.limits.max_entry_bytes
        if size > limit:
            raise FileFormatError(f"entry '{name}' is {size} bytes; at most {limit} are allowed")
        if size != self.infos[name].file_size:
            # The array is allocated from the manifest's size: it must be the size the zip
            # directory gives, which the total cap was judged on (and the zip stream keeps to).
            raise FileFormatError(f"entry '{name}' is {self.infos[name].file_size} bytes but "
                                  f"{MANIFEST} says {size}")
        at = f"{where} (entry '{name}')"
        try:
            with self.archive.open(self.infos[name]) as entry:
                stream = _HashingReader(entry, name)
                array = _read_npy(stream, size, at, kinds, max_count)
                stream.fill(array)
                surplus = len(stream.read(1))  # reading to the end also checks the zip's CRC
        except FileFormatError:  # (a ValueError, which the zip errors include)
            raise
        except _ZIP_ERRORS as exc:
            raise FileFormatError(f"entry '{name}' cannot be read: {exc}") from None
        if surplus or stream.count != size:
            raise FileFormatError(f"entry '{name}' is {'more than ' if surplus else ''}"
                                  f"{stream.count} bytes but {MANIFEST} says {size}")
        if stream.digest.hexdigest() != expected["sha256"]:
            raise FileFormatError(f"entry '{name}' is damaged: its checksum does not match "
                                  f"{MANIFEST}")
        return array

    # --------------------------------------------------------------------------- the project
    def _build(self, document: dict[str, Any]) -> Project:
        graph = Graph()
        for index, raw in enumerate(document["nodes"]):
            self._add_node(graph, index, raw)
        self._add_edges(graph, document["edges"])
        self._add_groups(graph, document["groups"])
        self._add_sample(graph, document["sample"])
        trees = {}
        for key in TREES:
            reader = _TreeReader(self, TREE_FOLDERS[key])
            if key == "history":
                reader = _TreeReader(self, TREE_FOLDERS[key], MAX_HISTORY_POINTS,
                                     MAX_HISTORY_NUMBERS)
            if document[key] is not None:
                trees[key] = _as_whole_numbers(reader.decode(document[key], key),
                                               _WHOLE_NUMBERS[key])
            else:
                trees[key] = None
        return Project(graph, description=document["description"], training=trees["training"],
                       optimizer_state=trees["optimizer_state"], history=trees["history"])

    def _add_groups(self, graph: Graph, raws: list[dict[str, Any]]) -> None:
        for index, raw in enumerate(raws):
            where = f"{GRAPH}: groups[{index}] ('{raw['name']}')"
            for node_id in raw["members"]:
                if node_id not in graph.nodes:
                    raise FileFormatError(f"{where}: member '{node_id}' is not a node id")
            if len(set(raw["members"])) != len(raw["members"]):
                raise FileFormatError(f"{where}: a member is listed twice")
            try:
                graph.add_group(raw["name"], raw["members"], collapsed=raw["collapsed"],
                                group_id=raw["id"])
            except GraphError as exc:
                raise FileFormatError(f"{where}: {exc}") from None

    def _add_sample(self, graph: Graph, sample: dict[str, Any]) -> None:
        for node_id, raw in sample.items():
            where = f"{GRAPH}: sample['{node_id}']"
            node = graph.nodes.get(node_id)
            if node is None or node.spec.source != "input":
                raise FileFormatError(f"{where}: there is no input node with this id")
            shape = tuple(raw["shape"])
            if math.prod(shape) != len(raw["rows"]):
                raise FileFormatError(f"{where}: {len(raw['rows'])} numbers do not fill the "
                                      f"shape {shape}")
            try:
                graph.set_value(node, np.array(raw["rows"], dtype=np.float64).reshape(shape))
            except (ValueError, TypeError, OverflowError) as exc:  # GraphError: rows, shape
                raise FileFormatError(f"{where}: {exc}") from None
        if self.drew_sample:
            fill_default_sample(graph)

    def _add_node(self, graph: Graph, index: int, raw: dict[str, Any]) -> None:
        where = f"{GRAPH}: nodes[{index}] ('{raw['name']}')"
        spec = REGISTRY.get(raw["op"])
        if spec is None:
            raise FileFormatError(f"{where}: unknown op '{raw['op']}'")
        params = {key: _check_param(spec, key, value, where)
                  for key, value in raw["params"].items()}
        value = None
        holds_value = spec.source in ("parameter", "constant")
        if holds_value:
            if "value" not in raw:
                raise FileFormatError(f"{where}: the {spec.name} has no value entry "
                                      "(missing weights)")
            value = self._read_array(raw["value"], where, "f")
            at = f"{where} (entry '{raw['value']}')"
            if value.dtype.itemsize != 8:
                raise FileFormatError(f"{at}: values must be float64, not {value.dtype}")
            if not value.dtype.isnative:  # in place: a copy would need the memory twice
                value = value.byteswap(inplace=True).view(value.dtype.newbyteorder("="))
            if spec.source == "parameter" and "shape" in params \
                    and tuple(params["shape"]) != value.shape:
                raise FileFormatError(f"{at}: parameter 'shape' is {tuple(params['shape'])} but "
                                      f"the stored weights have shape {value.shape}")
        elif "value" in raw:
            raise FileFormatError(f"{where}: a {spec.name} node holds no value, but one is given")
        position = raw["position"]
        if position is not None:
            try:
                position = tuple(float(v) for v in position)
            except OverflowError:  # an integer of hundreds of digits
                position = (math.inf, math.inf)
        try:
            # The stored array goes in as it is (it may hold the NaNs of a diverged run).
            graph.add_node(raw["op"], name=raw["name"], params=params, value=value,
                           position=position, node_id=raw["id"], stored_value=True)
        except (ValueError, TypeError, OverflowError) as exc:  # GraphError, or a number too large
            raise FileFormatError(f"{where}: {exc}") from None

    def _add_edges(self, graph: Graph, raws: list[dict[str, Any]]) -> None:
        """Every wire at once: one pass over the graph looks for cycles, whatever the order of
        the wires in the file (a search per wire can make loading quadratic)."""
        wires = []
        for index, raw in enumerate(raws):
            for end in ("src", "dst"):
                if raw[end] not in graph.nodes:
                    raise FileFormatError(f"{GRAPH}: edges[{index}]: '{end}' refers to node id "
                                          f"'{raw[end]}', which does not exist (dangling edge)")
            wires.append(Edge(raw["src"], raw["dst"], raw["dst_port"], raw["src_port"]))
        try:
            graph.connect_all(wires)
        except WiringError as exc:
            raw = raws[exc.index]
            src, dst = graph.nodes[raw["src"]], graph.nodes[raw["dst"]]
            raise FileFormatError(f"{GRAPH}: edges[{exc.index}] ('{src.name}' -> '{dst.name}'."
                                  f"{raw['dst_port']}): {exc}") from None


def _check_param(spec: type[Op], key: str, value: Any, where: str) -> Any:
    """The JSON type each parameter kind must have; Param.coerce then checks the range."""
    try:
        param = spec.param(key)
    except KeyError:
        raise FileFormatError(f"{where}: {spec.name} has no parameter '{key}'") from None
    kind = param.kind
    is_int = isinstance(value, int) and not isinstance(value, bool)
    ok = {
        "float": is_int or isinstance(value, float),
        "int": is_int,
        "bool": isinstance(value, bool),
        "choice": isinstance(value, str),
        "shape": isinstance(value, list) and all(isinstance(d, int) and not isinstance(d, bool)
                                                 for d in value),
        "axis": value is None or is_int,
    }.get(kind, False)
    if not ok:
        expected = {"float": "a number", "int": "a whole number", "bool": "true or false",
                    "choice": "text", "shape": "a list of whole numbers",
                    "axis": "a whole number or null"}.get(kind, kind)
        raise FileFormatError(f"{where}: parameter '{key}' must be {expected}, not "
                              f"{json.dumps(value)[:40]}")
    return value


class _TreeReader:
    """Turns a stored tree back into dicts, lists, numbers, strings and arrays. Each array may
    hold at most ``max_count`` numbers, and all of them together ``max_total`` (checked from
    their headers, before anything is allocated)."""

    def __init__(self, reader: _Reader, folder: str, max_count: int | None = None,
                 max_total: int | None = None):
        self.reader, self.folder = reader, folder
        self.max_count, self.left = max_count, max_total

    def decode(self, value: Any, path: str) -> Any:
        if isinstance(value, list):
            return [self.decode(item, f"{path}[{i}]") for i, item in enumerate(value)]
        if not isinstance(value, dict):
            return value
        if len(value) == 1 and "$array" in value:
            name = value["$array"]
            if not isinstance(name, str) or not name.startswith(self.folder + "/") \
                    or not _ARRAY_ENTRY.fullmatch(name):
                raise FileFormatError(f"{GRAPH}: {path}: $array must name a {self.folder}/"
                                      f"<number>.npy entry, not {json.dumps(name)[:60]}")
            cap = self.max_count
            if self.left is not None:
                cap = self.left if cap is None else min(cap, self.left)
            array = self.reader._read_array(name, f"{GRAPH}: {path}", "biufc", cap)
            if self.left is not None:
                self.left -= array.size
            return array
        if len(value) == 1 and "$float" in value:
            special = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
            if not isinstance(value["$float"], str) or value["$float"] not in special:
                raise FileFormatError(f"{GRAPH}: {path}: $float must be \"nan\", \"inf\" or "
                                      "\"-inf\"")
            return special[value["$float"]]
        out = {}
        for key, item in value.items():
            if key.startswith("$$"):
                key = key[1:]
            elif key.startswith("$"):
                raise FileFormatError(f"{GRAPH}: {path}: unknown tag '{key[:40]}'")
            out[key] = self.decode(item, f"{path}.{key}")
        return out


def _reject_constant(token: str) -> Any:
    raise ValueError(f"{token} is not allowed in JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) < len(pairs):  # a key given twice: name the first one met again
        seen = set()
        for key, _value in pairs:
            if key in seen:
                raise ValueError(f"the field {key!r} appears twice")
            seen.add(key)
    return out


def _parse_json(data: bytes, name: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_reject_constant,
                          object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError) as exc:  # includes UnicodeDecodeError, JSONDecodeError
        raise FileFormatError(f"entry '{name}' is not valid JSON: {str(exc)[:200]}") from None


class _HashingReader:
    """A zip entry read through: counts and hashes every byte that goes by. A damaged zip
    stream raises FileFormatError naming the entry."""

    def __init__(self, stream: BinaryIO, name: str):
        self.stream, self.name = stream, name
        self.count = 0
        self.digest = hashlib.sha256()

    def _failed(self, exc: BaseException) -> FileFormatError:
        return FileFormatError(f"entry '{self.name}' cannot be read: {exc}")

    def read(self, size: int = -1) -> bytes:
        try:
            data = self.stream.read(size)
        except _ZIP_ERRORS as exc:
            raise self._failed(exc) from None
        self.count += len(data)
        self.digest.update(data)
        return data

    def fill(self, array: np.ndarray) -> None:
        """Read the array's bytes into it, a piece at a time (no second copy of the data)."""
        if array.size == 0:
            return
        # (Bytes seen through NumPy: memoryview cannot cast big-endian or complex formats.)
        view = memoryview(array.reshape(-1, order="A").view(np.uint8))
        done = 0
        while done < len(view):
            try:
                got = self.stream.readinto(view[done:done + _CHUNK])
            except _ZIP_ERRORS as exc:
                raise self._failed(exc) from None
            if not got:
                break  # shorter than its header says: the size check reports it
            self.digest.update(view[done:done + got])
            done += got
            self.count += got


def _read_npy(stream: _HashingReader, size: int, where: str, kinds: str,
              max_count: int | None) -> np.ndarray:
    """Parse a .npy header (NumPy parses its text as a literal; nothing is evaluated) and check
    it before allocating: allowed dtype, a plausible shape, at most ``max_count`` numbers, and
    exactly ``size`` bytes in the entry. Returns the empty array to fill."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except FileFormatError:  # the zip stream itself is damaged
        raise
    except Exception as exc:  # noqa: BLE001  NumPy tokenizes the header text: any error it
        # meets in a hostile header (TokenError, SyntaxError, ValueError...) means "bad".
        raise FileFormatError(f"{where}: not a valid .npy array ({str(exc)[:200]})") from None
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None \
            or dtype.kind not in kinds:
        raise FileFormatError(f"{where}: arrays of type {dtype} are not allowed here")
    if len(shape) > rules.MAX_RANK or any(d < 0 or d > rules.MAX_DIMENSION for d in shape):
        raise FileFormatError(f"{where}: the array header gives an impossible shape {shape}")
    count = math.prod(shape)
    data_bytes = size - stream.count
    if count * dtype.itemsize != data_bytes:
        raise FileFormatError(f"{where}: the array header says shape {shape} of {dtype}, which "
                              f"does not match the {data_bytes} bytes of data")
    if max_count is not None and count > max_count:
        raise FileFormatError(f"{where}: the array holds {count:,} numbers; at most "
                              f"{max_count:,} are allowed here")
    try:
        flat = np.empty(count, dtype=dtype)
    except MemoryError:
        raise FileFormatError(f"{where}: not enough memory for an array of {count:,} numbers "
                              f"of {dtype}") from None
    return flat.reshape(shape, order="F" if fortran else "C")


# ====================================================================================== migration
def migrate(document: Any, version: int) -> Any:
    """Bring a graph.json document written in format ``version`` up to FORMAT_VERSION."""
    while version < FORMAT_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise FileFormatError(f"format version {version} can no longer be read "
                                  f"(no migration to version {version + 1})")
        try:
            document = step(document)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise FileFormatError(f"{GRAPH}: cannot be upgraded from format version {version}: "
                                  f"{exc}") from None
        version += 1
    return document


__all__ = ["DEFAULT_LIMITS", "FORMAT_NAME", "FORMAT_VERSION", "FileFormatError", "Limits",
           "MIGRATIONS", "Project", "encode", "load", "loads", "migrate", "save"]
