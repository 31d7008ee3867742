"""Test helpers that take a .bpg container apart and put it back together, so that tests can
damage one entry or field at a time (optionally keeping the manifest's checksums consistent,
so that the damage reaches the checks behind the checksum check)."""

from __future__ import annotations

import hashlib
import io
import json
import random
import zipfile
from typing import Any, Callable

from hypothesis import strategies as st


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


# Random edits of parsed JSON documents, for property-based tests.
NAMES = ["#1", "#2", "#99", "x", "y", "p", "loss", "hidden.W", "out", "a", "b", "relu", "input",
         "parameter", "constant", "matmul", "softmax", "mean", "shape", "init", "axis", "values/1.npy",
         "values/2.npy", "history/0.npy", "optimizer/0.npy", "training/0.npy", "$array", "$float",
         "nan", "xavier_uniform", "",
         # keys the training code reads, so that mutations of the training tree reach it
         "lr", "weight_decay", "optimizer_options", "momentum", "nesterov", "batch_size", "seed",
         "data", "source", "n", "classes", "noise", "progress", "step", "t", "slots", "stride",
         "max_points", "validation", "standardisation", "bindings", "features", "target", "self"]
scalars = (st.none() | st.booleans() | st.integers(-3, 5) | st.integers()
           | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(NAMES) | st.text(max_size=6))
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=5), children, max_size=4),
    max_leaves=8)


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (a tuple of keys and indices) into a parsed JSON document."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += paths(item, prefix + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += paths(item, prefix + (i,))
    return out


def mutate_json(document: Any, data: st.DataObject) -> Any:
    path = data.draw(st.sampled_from(paths(document)), label="path")
    action = data.draw(st.sampled_from(["replace", "delete", "add", "duplicate"]), label="action")
    if not path:
        return data.draw(json_values) if action == "replace" else document
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if action == "replace":
        parent[last] = data.draw(json_values, label="value")
    elif action == "delete":
        del parent[last]
    elif action == "add":
        target = parent[last]
        if isinstance(target, dict):
            target[data.draw(st.sampled_from(NAMES) | st.text(max_size=5))] = data.draw(json_values)
        elif isinstance(target, list):
            target.insert(data.draw(st.integers(0, len(target))), data.draw(json_values))
        else:
            parent[last] = [target, data.draw(json_values)]
    else:
        target = parent[last]
        if isinstance(parent, list):
            parent.insert(last, json.loads(json.dumps(target)))
        else:
            parent[last] = [target, target]
    return document


# Chains whose wires come in a chosen order, for the tests of loading and wiring time.
WIRE_ORDERS = ("forward", "reverse", "interleaved", "shuffled", "halving")


def wire_order(count: int, order: str) -> list[int]:
    """The order in which the ``count`` wires of a chain are made (wire k joins node k to node
    k + 1): from the start, from the end, every other wire then the rest from the end (each of
    those then joins two long pieces), shuffled, or pieces of two, four, eight... joined in turn
    (every wire then joins two pieces of the same length)."""
    if order == "forward":
        return list(range(count))
    if order == "reverse":
        return list(range(count))[::-1]
    if order == "interleaved":
        return list(range(0, count, 2)) + list(range(1, count, 2))[::-1]
    if order == "shuffled":
        wires = list(range(count))
        random.Random(count).shuffle(wires)
        return wires
    if order == "halving":
        wires, step = [], 1
        while step <= count:
            wires += list(range(step - 1, count, 2 * step))
            step *= 2
        return wires
    raise ValueError(order)


def chain_file(nodes: int, order: str) -> bytes:
    """A project file holding a chain of ``nodes`` nodes (an input, then relus) whose wires
    are listed in ``order`` (see :func:`wire_order`)."""
    ids = [f"#{k + 1}" for k in range(nodes)]
    document = {
        "description": "", "training": {}, "optimizer_state": None, "history": None,
        "nodes": [{"id": ids[0], "op": "input", "name": "x", "params": {"shape": [1]},
                   "position": None}]
        + [{"id": ids[k], "op": "relu", "name": f"n{k}", "params": {}, "position": None}
           for k in range(1, nodes)],
        "edges": [{"src": ids[k], "src_port": "out", "dst": ids[k + 1], "dst_port": "x"}
                  for k in wire_order(nodes - 1, order)],
    }
    manifest = {"format": "bpstudio-project", "format_version": 1, "app_version": "test",
                "entries": {}}
    return write_entries([("manifest.json", json.dumps(manifest).encode()),
                          ("graph.json", json.dumps(document).encode())])
