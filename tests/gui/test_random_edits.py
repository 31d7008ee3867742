"""200 random edits through the undo commands: after each one the scene's items agree with the
graph; undoing everything gives the empty graph back, and redoing everything the final graph."""

from __future__ import annotations

import json
import random

import pytest

from bpstudio.core.ops import REGISTRY
from bpstudio.gui import clipboard, commands
from bpstudio.core.layout import layered_positions

from guihelpers import assert_scene_matches_graph, snapshot

EDITS = 200
# Past EDITS, edits go on until every kind has happened: which kinds a seed reaches depends on
# how many ops the registry holds (the draw of "add"), and a new op must not starve one.
MAX_EDITS = 1000
KINDS = {"add", "connect", "disconnect", "delete", "move", "drag", "param", "rename", "paste",
         "layout", "value"}


def random_param_value(rng: random.Random, param):
    if param.kind == "float":
        low = param.minimum if param.minimum is not None else -2.0
        return round(rng.uniform(low, low + 3.0), 3)
    if param.kind == "int":
        return rng.choice([-1, 0, 1])
    if param.kind == "bool":
        return rng.random() < 0.5
    if param.kind == "choice":
        return rng.choice(param.choices)
    if param.kind == "shape":
        return tuple(rng.randint(1, 4) for _ in range(rng.randint(0, 2)))
    if param.kind == "axis":
        return rng.choice([None, 0, 1, -1])
    raise AssertionError(param.kind)


def random_edit(rng: random.Random, window) -> str | None:
    """Build one random command (or None when it does not apply now) and push it."""
    g, scene = window.graph, window.scene
    ids = list(g.nodes)
    kind = rng.choice(["add", "add", "add", "connect", "connect", "connect", "disconnect",
                       "delete", "move", "drag", "param", "rename", "paste", "layout", "value"])
    if kind == "add" or not ids:
        op = rng.choice(list(REGISTRY))
        scene.push(commands.AddNodeCommand(g, op, position=(rng.uniform(-800, 800),
                                                             rng.uniform(-600, 600))))
        return "add"
    if kind == "connect":
        for _ in range(20):
            src, dst = rng.choice(ids), rng.choice(ids)
            ports = g.nodes[dst].spec.input_names()
            if not ports:
                continue
            port = rng.choice(ports)
            if g.can_connect(src, dst, port, replacing=True) is None:
                scene.push(commands.ConnectCommand(g, src, dst, port))
                return "connect"
        return None
    if kind == "disconnect":
        if not g.edges:
            return None
        scene.push(commands.DisconnectCommand(g, rng.choice(g.edges)))
        return "disconnect"
    if kind == "delete":
        chosen = rng.sample(ids, k=min(len(ids), rng.randint(1, 3)))
        edges = rng.sample(g.edges, k=min(len(g.edges), rng.randint(0, 2)))
        scene.push(commands.delete_command(g, chosen, edges))
        return "delete"
    if kind in ("move", "drag"):
        chosen = rng.sample(ids, k=min(len(ids), rng.randint(1, 3)))
        drag_id = commands.new_drag_id()
        for _ in range(1 if kind == "move" else rng.randint(2, 5)):  # a drag pushes many moves
            moves = {i: (g.nodes[i].position, (rng.uniform(-900, 900), rng.uniform(-700, 700)))
                     for i in chosen}
            scene.push(commands.MoveNodesCommand(g, moves, drag_id))
        return kind
    if kind == "param":
        with_params = [i for i in ids if g.nodes[i].spec.params]
        if not with_params:
            return None
        node_id = rng.choice(with_params)
        param = rng.choice(g.nodes[node_id].spec.params)
        value = param.coerce(random_param_value(rng, param))
        if value == g.nodes[node_id].params[param.name]:
            return None
        scene.push(commands.SetParamCommand(g, node_id, param.name, value))
        return "param"
    if kind == "rename":
        node_id = rng.choice(ids)
        name = rng.choice(["a", "b", "h", "hidden", "out"]) + str(rng.randint(0, 30))
        if g.name_problem(name, node_id) or name == g.nodes[node_id].name:
            return None
        scene.push(commands.RenameCommand(g, node_id, name))
        return "rename"
    if kind == "paste":
        chosen = rng.sample(ids, k=min(len(ids), rng.randint(1, 4)))
        text = clipboard.copy_nodes(g, chosen)
        scene.push(clipboard.paste_command(g, text, offset=(rng.uniform(20, 80), 40.0)))
        return "paste"
    if kind == "layout":
        if not g.edges:
            return None
        scene.push(commands.layout_command(g, layered_positions(g)))
        return "layout"
    if kind == "value":
        holders = [i for i in ids if g.nodes[i].spec.source in ("parameter", "constant")]
        if not holders:
            return None
        node_id = rng.choice(holders)
        shape = g.nodes[node_id].value.shape
        value = [[rng.uniform(-1, 1) for _ in range(3)] for _ in range(2)] if rng.random() < 0.3 \
            else json.loads(json.dumps(g.nodes[node_id].value.tolist()))
        scene.push(commands.SetValueCommand(g, node_id, value))
        return "value" if shape is not None else None
    raise AssertionError(kind)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_edits_undo_all_and_redo_all(window, seed):
    rng = random.Random(seed)
    stack = window.undo_stack
    applied: dict[str, int] = {}
    while sum(applied.values()) < EDITS or (not KINDS <= set(applied)
                                            and sum(applied.values()) < MAX_EDITS):
        before = stack.index()
        kind = random_edit(rng, window)
        if kind is None:
            continue
        assert stack.index() in (before, before + 1)  # merged drags add nothing new
        applied[kind] = applied.get(kind, 0) + 1
        assert_scene_matches_graph(window)
        if rng.random() < 0.1:  # now and then, undo the edit and redo it
            mid = snapshot(window.graph)
            stack.undo()
            assert_scene_matches_graph(window)
            stack.redo()
            assert snapshot(window.graph) == mid
    # Every kind of edit really happened.
    assert set(applied) >= KINDS
    window.scene.validate_now()
    shapes, problems = window.graph.infer_shapes()
    assert window.scene.problems == {p.node_id: p.message for p in reversed(problems)} or \
        set(window.scene.problems) == {p.node_id for p in problems}
    final = snapshot(window.graph)
    assert final["nodes"]

    while stack.canUndo():
        stack.undo()
    assert window.graph.nodes == {} and window.graph.edges == []
    assert_scene_matches_graph(window)
    assert window.scene.items() == [window.scene.wire_layer]  # no node, port or wire is left

    while stack.canRedo():
        stack.redo()
    assert snapshot(window.graph) == final
    assert_scene_matches_graph(window)
