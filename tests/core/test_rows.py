"""Real rows: a project with training data runs by hand on rows of it, as training sees them
(standardised, bound as the trainer binds them), with a label naming them; a row picker
chooses others; a graph without data keeps its sample, called random where it is the default
draw. The handout (and ``bpstudio-cli handout``) says which rows it ran on and draws the graph."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from bpstudio.cli import main
from bpstudio.core.engine import Engine
from bpstudio.core.examples import EXAMPLES
from bpstudio.core.files.fileformat import save
from bpstudio.core.trace import trace
from bpstudio.core.trace_text import to_html, to_markdown
from bpstudio.core.training.datasets import DataError
from bpstudio.core.training.rows import rows_to_run, training_rows

from trained_examples import trained

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def moons(tmp_path_factory):
    return trained("two_moons", tmp_path_factory.mktemp("moons"), steps=600)


def test_a_trained_project_runs_on_its_first_training_rows(moons):
    rows = rows_to_run(moons.project)
    assert rows.label == "rows 1-8 of moons, training split" and not rows.random
    np.testing.assert_array_equal(rows.feeds["x"], moons.data.train.features[:8])
    np.testing.assert_array_equal(rows.feeds["y"][:, 0], moons.data.train.targets[:8])
    assert rows.indices == tuple(range(8)) and rows.total == len(moons.data.train)
    assert rows.description.endswith("standardised as training sees them")
    # The loss on real rows is the trained model's (the random sample's is not).
    real = float(Engine(moons.project.graph).forward(rows.feeds))
    drawn = float(Engine(moons.project.graph).forward(moons.project.sample))
    assert real < 0.05 < drawn


def test_a_row_picker_chooses_rows_by_index(moons):
    rows = training_rows(moons.project, [2, 6, 11, 12, 13])
    assert rows.label == "rows 3, 7, 12-14 of moons, training split"
    np.testing.assert_array_equal(rows.feeds["x"], moons.data.train.features[[2, 6, 11, 12, 13]])
    one = training_rows(moons.project, [0], split="validation")
    assert one.label == "row 1 of moons, validation split"
    np.testing.assert_array_equal(one.feeds["x"], moons.data.validation.features[:1])
    with pytest.raises(DataError, match="row 161 is outside the training split's 160 rows"):
        training_rows(moons.project, [160])


def test_a_graph_without_data_keeps_its_sample_and_says_whether_it_is_random():
    project = EXAMPLES["two_moons"]()
    rows = rows_to_run(project)
    assert rows.random and rows.label == ("8 sample rows drawn at random (the project has no "
                                          "training data)")
    np.testing.assert_array_equal(rows.feeds["x"], project.sample["x"])
    project.sample = {"x": np.zeros((2, 2)), "y": np.ones((2, 1))}
    rows = rows_to_run(project)
    assert not rows.random and rows.label == "the project's 2 sample rows"
    with pytest.raises(DataError, match="no training data"):
        training_rows(project)


def test_the_handout_names_its_rows_and_draws_the_graph_with_the_traces_numbers(moons):
    rows = rows_to_run(moons.project)
    walk = trace(moons.project.graph, rows.feeds)
    page = to_html(walk, "moons", rows=rows.description, graph=moons.project.graph)
    assert "On rows 1-8 of moons, training split, standardised as training sees them:" in page
    svg = page[page.index("<svg"):page.index("</svg>") + 6]
    names = {g.get("data-name") for g in ET.fromstring(svg).iter(f"{SVG}g")}
    assert names == {n.name for n in moons.project.graph.nodes.values()}
    assert f"= {walk.loss.item():.4g}" in svg
    markdown = to_markdown(walk, "moons", rows=rows.description, graph=moons.project.graph)
    assert "On rows 1-8 of moons" in markdown and "<svg" in markdown


def test_cli_handout_on_real_rows_and_on_a_random_sample(moons, tmp_path, capsys):
    save(moons.project, tmp_path / "moons.bpg")
    assert main(["handout", str(tmp_path / "moons.bpg"), str(tmp_path / "p.md"),
                 "--rows", "3,7,12-14"]) == 0
    assert "On rows 3, 7, 12-14 of moons, training split" in (tmp_path / "p.md").read_text()
    save(EXAMPLES["two_moons"](), tmp_path / "fresh.bpg")
    assert main(["handout", str(tmp_path / "fresh.bpg"), str(tmp_path / "q.html")]) == 0
    assert "On 8 sample rows drawn at random" in (tmp_path / "q.html").read_text()
    capsys.readouterr()
    assert main(["handout", str(tmp_path / "moons.bpg"), str(tmp_path / "r.md"),
                 "--rows", "900"]) == 2
    assert "row 900 is outside the training split's 160 rows" in capsys.readouterr().err
