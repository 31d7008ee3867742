"""Loading a project and wiring a graph take work in proportion to nodes + wires, whatever the
order of the wires (a search per wire for cycles made a chain listed from its end back
quadratic: a 200,000-node file did not load in 120 s). Work is counted in calls (see
worktally), not timed; benchmarks/loading.py gives the times."""

from __future__ import annotations

import pytest

from bpstudio import FileFormatError, Graph, GraphError
from bpstudio.core.errors import WiringError
from bpstudio.core.files.fileformat import loads
from bpstudio.core.model import Edge

from bpgfiles import WIRE_ORDERS, chain_file, edit_json, wire_order
from worktally import calls

SMALL, LARGE = 1500, 3000  # twice the nodes: linear work doubles, quadratic work quadruples


def load_work(nodes: int, order: str) -> int:
    data = chain_file(nodes, order)
    return calls(lambda: loads(data))


@pytest.mark.parametrize("order", WIRE_ORDERS)
def test_loading_work_is_linear_in_any_wire_order(order):
    small, large = load_work(SMALL, order), load_work(LARGE, order)
    assert large / small < 2.3, f"{order}: {small} -> {large} calls"


def test_loading_work_does_not_depend_on_the_wire_order():
    forward = load_work(LARGE, "forward")
    for order in WIRE_ORDERS:
        assert load_work(LARGE, order) / forward < 1.2, order


def chain_graph(nodes: int) -> Graph:
    g = Graph()
    g.add_node("input", name="x", params={"shape": (1,)})
    for k in range(1, nodes):
        g.add_node("relu", name=f"n{k}")
    return g


def wiring_work(nodes: int, order: str) -> int:
    """Calls made wiring a chain one wire at a time through the editing API."""
    g = chain_graph(nodes)
    ids = list(g.nodes)

    def wire() -> None:
        for k in wire_order(nodes - 1, order):
            g.connect(ids[k], ids[k + 1], "x")
    work = calls(wire)
    g.topological_order()  # one chain, no cycle
    assert len(g.edges) == nodes - 1
    return work


@pytest.mark.parametrize("order", WIRE_ORDERS)
def test_wiring_one_wire_at_a_time_is_near_linear_in_any_order(order):
    """connect's cycle test searches from both ends and stops when one side runs out: a chain
    costs O(n log n) in any order ("halving" is the worst: every wire joins equal pieces)."""
    small, large = wiring_work(SMALL, order), wiring_work(LARGE, order)
    assert large / small < 2.5, f"{order}: {small} -> {large} calls"


@pytest.mark.parametrize("order", WIRE_ORDERS)
def test_wiring_all_at_once_is_linear_in_any_order(order):
    def work(nodes: int) -> int:
        g = chain_graph(nodes)
        ids = list(g.nodes)
        wires = [Edge(ids[k], ids[k + 1], "x") for k in wire_order(nodes - 1, order)]
        return calls(lambda: g.connect_all(wires))
    assert work(LARGE) / work(SMALL) < 2.2


# ------------------------------------------------------------------- what the single pass says
def test_connect_all_refuses_a_cycle_naming_a_wire_on_it_and_changes_nothing():
    g = chain_graph(6)
    ids = list(g.nodes)
    g.connect(ids[0], ids[1], "x")
    events = []
    g.subscribe(events.append)
    # 2 -> 3 -> 4 -> 5 -> 2: a cycle only once all four are in
    with pytest.raises(GraphError) as info:
        g.connect_all([Edge(ids[2], ids[3], "x"), Edge(ids[3], ids[4], "x"),
                       Edge(ids[4], ids[5], "x"), Edge(ids[5], ids[2], "x")])
    assert isinstance(info.value, WiringError) and "would close a cycle" in str(info.value)
    assert info.value.index in (0, 1, 2, 3)  # every one of them is on the cycle
    assert events == [] and len(g.edges) == 1


def test_connect_all_names_the_wire_at_fault():
    g = chain_graph(4)
    ids = list(g.nodes)
    with pytest.raises(WiringError, match="input 'x' of relu 'n2' is already connected") as info:
        g.connect_all([Edge(ids[0], ids[1], "x"), Edge(ids[1], ids[2], "x"),
                       Edge(ids[0], ids[2], "x")])
    assert info.value.index == 2 and g.edges == []
    with pytest.raises(WiringError, match="no input port 'y'") as info:
        g.connect_all([Edge(ids[0], ids[1], "y")])
    assert info.value.index == 0


def test_a_cycle_in_a_file_is_refused_naming_a_node_on_it():
    """Whatever the size, the one pass finds a cycle and names a wire (and its nodes) on it."""
    data = chain_file(50, "shuffled")

    def close(document):
        ids = [n["id"] for n in document["nodes"]]
        # n10's input now comes from n40, downstream of it: n10 .. n40 form a cycle
        for edge in document["edges"]:
            if edge["dst"] == ids[10]:
                edge["src"] = ids[40]
    with pytest.raises(FileFormatError, match=r"edges\[\d+\] \('n\d+' -> 'n\d+'\.x\): wiring "
                                              r"relu 'n\d+' into relu 'n\d+' would close a "
                                              r"cycle") as info:
        loads(edit_json(data, "graph.json", close))
    names = [int(part.split("'")[0]) for part in str(info.value).split("'n")[1:]]
    assert all(10 <= k <= 40 for k in names), str(info.value)
