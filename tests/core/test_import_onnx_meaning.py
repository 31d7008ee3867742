"""What the importer runs is what the model means. A model that lists a domain twice in its
opset_import is ambiguous (the checker and onnxruntime read the last entry, the importer read
the first: a Softmax then computed differently, silently): it is refused with one line naming
the file. A description the importer writes keeps to the app's own limit however many inputs
the model has (1,200 unused inputs were refused), and every refusal names the file."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from onnx import helper

from bpstudio import load, save
from bpstudio.cli import main
from bpstudio.core import rules
from bpstudio.core.errors import OnnxImportError
from bpstudio.core.files import import_onnx as importer
from bpstudio.core.files.import_onnx import import_onnx

from onnxmodels import make_model, max_difference, run_graph, run_onnxruntime, value_info


def softmax_model(opsets: list[tuple[str, int]], axis: int = 1):
    """Softmax over (N, 2, 3) at axis 1: before opset 13 it normalised the flattened (2, 3)
    block, from 13 on the one axis. Which opset is read changes the numbers."""
    model = make_model([helper.make_node("Softmax", ["x"], ["y"], axis=axis)],
                       [value_info("x", ["N", 2, 3])], "y", opset=opsets[-1][1])
    del model.opset_import[:]
    model.opset_import.extend(helper.make_opsetid(d, v) for d, v in opsets)
    return model


DOUBLED = [
    [("", 17), ("", 11)],
    [("", 11), ("", 17)],
    [("", 17), ("ai.onnx", 11)],
    [("ai.onnx", 12), ("", 13)],
    [("", 13), ("", 13)],
    [("", 11), ("", 12), ("", 13)],
    [("", 17), ("ai.onnx.ml", 3), ("ai.onnx.ml", 2)],
]


@pytest.mark.parametrize("opsets", DOUBLED, ids=lambda o: "+".join(f"{d or '-'}{v}" for d, v in o))
def test_a_domain_listed_twice_is_refused_with_one_line(tmp_path, capsys, opsets):
    path = tmp_path / "doubled.onnx"
    path.write_bytes(softmax_model(opsets).SerializeToString())
    with pytest.raises(OnnxImportError) as info:
        import_onnx(path)
    message = str(info.value)
    assert message.startswith(f"{path}: opset_import lists the domain ")
    assert "ambiguous" in message and "\n" not in message
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == f"bpstudio-cli: error: {message}\n"


@pytest.mark.parametrize("opset", [11, 12, 13, 17])
def test_one_entry_per_domain_computes_what_onnxruntime_computes(tmp_path, opset):
    # (Before opset 13 the importer takes a softmax over the last axis only.)
    model = softmax_model([("", opset)], axis=1 if opset >= 13 else 2)
    x = np.random.default_rng(opset).normal(size=(4, 2, 3))
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    project = import_onnx(path)
    assert max_difference(run_graph(project, {"x": x}), run_onnxruntime(model, {"x": x})) < 1e-5


def many_inputs_model(unused: int, used: int, name_length: int):
    """``used`` inputs summed into the output, and ``unused`` more that nothing reads, their
    names ``name_length`` characters long."""
    def name(kind: str, k: int) -> str:
        return (f"{kind}{k}_" + "n" * name_length)[:name_length]
    inputs = [name("u", k) for k in range(used)]
    nodes, last = [], inputs[0]
    for k, x in enumerate(inputs[1:]):
        nodes.append(helper.make_node("Add", [last, x], [f"s{k}"]))
        last = f"s{k}"
    nodes.append(helper.make_node("Relu", [last], ["y"]))
    infos = [value_info(x, ["N", 2]) for x in inputs]
    infos += [value_info(name("z", k), ["N", 2]) for k in range(unused)]
    return make_model(nodes, infos, "y")


@pytest.mark.parametrize("unused, used, name_length", [
    (1_200, 1, 10), (1_200, 3, 100), (5_000, 2, 100), (30, 400, 60), (0, 2_000, 8),
])
def test_a_model_with_many_inputs_imports_with_a_description_that_fits(tmp_path, unused, used,
                                                                       name_length):
    model = many_inputs_model(unused, used, name_length)
    path = tmp_path / "many.onnx"
    path.write_bytes(model.SerializeToString())
    project = import_onnx(path)
    assert len(project.graph.nodes_of("input")) == used
    text = project.description
    assert len(text) <= rules.MAX_DESCRIPTION_LENGTH
    assert rules.description_problem(text) is None
    if unused:
        assert f"{unused:,} input{'s' if unused != 1 else ''} the output does not use" in text
    if unused > importer.SHOWN_IN_A_LIST:
        assert f"and {unused - importer.SHOWN_IN_A_LIST:,} more" in text
    save(project, tmp_path / "many.bpg")
    assert load(tmp_path / "many.bpg").description == text
    x = {n: np.full((2, 2), k, dtype=np.float32) for k, n in
         enumerate(i.name for i in model.graph.input[:used])}
    assert max_difference(run_graph(project, x), run_onnxruntime(model, {
        **x, **{i.name: np.zeros((2, 2), np.float32) for i in model.graph.input[used:]}})) < 1e-4


def test_a_long_doc_string_is_cut_and_the_rest_still_fits(tmp_path):
    model = many_inputs_model(3_000, 1, 100)
    model.doc_string = "about the model " * 20_000
    path = tmp_path / "doc.onnx"
    path.write_bytes(model.SerializeToString())
    text = import_onnx(path).description
    assert len(text) <= rules.MAX_DESCRIPTION_LENGTH
    assert text.endswith("...")


REFUSED = {
    "not a model": b"\x00\x01 not protobuf",
    "no opset": helper.make_model(helper.make_graph([], "g", [], []), opset_imports=[],
                                  ir_version=8).SerializeToString(),
    "doubled opset": softmax_model([("", 17), ("", 11)]).SerializeToString(),
    "two outputs": make_model([helper.make_node("Relu", ["x"], ["a"]),
                               helper.make_node("Neg", ["x"], ["b"])],
                              [value_info("x", ["N", 2])], ["a", "b"]).SerializeToString(),
    "unsupported op": make_model([helper.make_node("Sin", ["x"], ["y"])],
                                 [value_info("x", ["N", 2])], "y").SerializeToString(),
    "no batch": make_model([helper.make_node("Relu", ["x"], ["y"])], [value_info("x", [])],
                           "y").SerializeToString(),
}


@pytest.mark.parametrize("what", REFUSED)
def test_every_refusal_names_the_file(tmp_path, what):
    path = tmp_path / f"{what.replace(' ', '_')}.onnx"
    path.write_bytes(REFUSED[what])
    with pytest.raises(OnnxImportError) as info:
        import_onnx(path)
    assert str(info.value).startswith(f"{path}: ")


@pytest.mark.parametrize("where", ["apply_layout", "fill_default_sample", "_describe"])
def test_a_refusal_from_the_graph_itself_names_the_file_too(tmp_path, monkeypatch, where):
    """Whatever the graph refuses on the way (a GraphError from any step) is said about the
    file, not left as a bare message the person cannot place."""
    from bpstudio.core.errors import GraphError

    def refuse(*args, **kwargs):
        raise GraphError("the graph refused this")
    monkeypatch.setattr(importer, where, refuse)
    path = tmp_path / "m.onnx"
    path.write_bytes(softmax_model([("", 17)]).SerializeToString())
    with pytest.raises(OnnxImportError, match=f"^{path}: the graph refused this$"):
        import_onnx(path)


def test_the_doubled_opsets_are_every_pair_of_the_default_domain():
    """(The refusal does not depend on the order or the spelling of the default domain.)"""
    for first, second in itertools.product(["", "ai.onnx"], repeat=2):
        with pytest.raises(OnnxImportError, match="ambiguous"):
            importer._opset(softmax_model([(first, 13), (second, 12)]), importer._import_onnx())
