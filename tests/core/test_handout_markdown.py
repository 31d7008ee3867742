"""The Markdown handout escapes every string it embeds: the file's name, node names, op titles,
numbers. Rendered by a CommonMark parser (markdown-it-py, with GitHub's tables and
strikethrough), a hostile name gives no tag, no link, no emphasis and no new block: every line
of the walk reads back as the text the walkthrough panel shows. (A file named
``<img src=x onerror=alert(1)>.bpg`` gave a live tag; a newline in a name started a block.)"""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from bpstudio import Graph
from bpstudio.core.trace import trace
from bpstudio.core.trace_text import HEAD, MATH, WARN, describe, to_markdown

MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "a\nb",
    "x\n# Injected heading\n\n<b>bold</b>",
    "x\r\n---\r\ny",
    "line\u2028sep\u2029para\x0bvt\x0cff\x1cfs\x85nel",
    "*em* _em_ **strong** __strong__ ~~gone~~",
    "[link](javascript:alert(1)) ![img](x.png) <http://example.com>",
    "`code` ``more``",
    "&lt;entity&gt; &amp; &#60;",
    "| a | b |\n|---|---|",
    "1. list\n- item\n+ plus\n> quote",
    "\\*escaped\\* trailing\\",
    "~~~\nfence\n~~~",
    "    indented code",
    "#hash ## mid",
    "=====",
]

# Node names may hold letters, digits, _ . and - (and start with a letter or _): enough for
# emphasis (_w_), strong (__init__) or a strike-through-like run of -.
NODE_NAMES = ["_w_", "__init__", "a_b_c_", "_x", "x-1.2", "w__", "b_-_c"]


def chain(names: list[str]) -> Graph:
    """An input, then a ReLU, a scaled sum and an MSE loss, named from ``names``."""
    g = Graph()
    x = g.add_node("input", name=names[0], params={"shape": (2,)}, value=[[0.5, -1.0]])
    w = g.add_node("parameter", name=names[1], params={"shape": (2, 1)}, value=[[1.0], [-2.0]])
    h = g.add_node("matmul", name=names[2])
    g.connect(x, h, "a")
    g.connect(w, h, "b")
    r = g.add_node("relu", name=names[3])
    g.connect(h, r, "x")
    t = g.add_node("input", name=names[4], params={"shape": (1,)}, value=[[0.25]])
    loss = g.add_node("mse", name=names[5])
    g.connect(r, loss, "prediction")
    g.connect(t, loss, "target")
    return g


def inline_texts(tokens) -> list[str]:
    """The plain text of each inline run, and the kinds of markup found in it."""
    out = []
    for token in tokens:
        if token.type == "inline":
            out.append("".join(c.content for c in token.children
                               if c.type in ("text", "softbreak", "hardbreak")))
    return out


def check_page(page: str, walk, name: str) -> None:
    tokens = MARKDOWN.parse(page)
    kinds = {t.type for t in tokens} | {c.type for t in tokens for c in (t.children or [])}
    assert not kinds & {"html_block", "html_inline", "link_open", "image", "code_inline",
                        "em_open", "s_open", "table_open", "hr", "bullet_list_open",
                        "ordered_list_open", "fence"}, kinds
    # The walk, line by line, as the panel shows it: headings, paragraphs, code, warnings.
    expected = [("h1", f"Backpropagation, step by step: {' '.join(name.splitlines())}")]
    for step in walk.forward + walk.backward:
        expected += [({HEAD: "h3", MATH: "code", WARN: "warn"}.get(kind, "p"), text)
                     for kind, text in describe(step, walk)]
    found = []
    quote = 0
    for i, token in enumerate(tokens):
        if token.type == "blockquote_open":
            quote += 1
        elif token.type == "blockquote_close":
            quote -= 1
        elif token.type == "heading_open" and token.tag in ("h1", "h3"):
            found.append((token.tag, inline_texts([tokens[i + 1]])[0]))
        elif token.type == "paragraph_open":
            text = inline_texts([tokens[i + 1]])[0]
            found.append(("warn" if quote else "p", text))
        elif token.type == "code_block":
            found += [("code", line.removeprefix("    ").rstrip("\n"))
                      for line in token.content.splitlines()]
    intro = found.pop(1)  # the sentence under the title
    assert intro[0] == "p" and intro[1].startswith("On ")
    # (A renderer drops the spaces at either end of a heading or a paragraph.)
    expected = [(k, " ".join(t.splitlines()) if k == "code" else " ".join(t.splitlines()).strip(" \t"))
                for k, t in expected]
    assert found == expected


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_file_name_stays_text(name):
    walk = trace(chain(["x", "w", "h", "r", "t", "loss"]))
    page = to_markdown(walk, name)
    check_page(page, walk, name)
    assert page.splitlines()[0].startswith("# Backpropagation, step by step: ")


@pytest.mark.parametrize("names", [NODE_NAMES[:6], NODE_NAMES[1:] + NODE_NAMES[:1]])
def test_node_names_that_look_like_markup_stay_text(names):
    walk = trace(chain(names))
    check_page(to_markdown(walk, "graph"), walk, "graph")


def test_a_relu_that_stops_the_gradient_warns_in_bold_only_there():
    names = ["x", "w", "h", "_r_", "t", "loss"]
    g = chain(names)
    g.set_value(g.node("x"), [[-3.0, 1.0]])  # h = -3 - 2 < 0: the ReLU is off
    walk = trace(g)
    page = to_markdown(walk, "<b>")
    check_page(page, walk, "<b>")
    tokens = MARKDOWN.parse(page)
    inside = [c.type for t in tokens if t.type == "inline" for c in t.children]
    assert inside.count("strong_open") == sum(
        kind == WARN for s in walk.forward + walk.backward for kind, _ in describe(s, walk))


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(string.printable + "\u2028\x85é<>&"), max_size=40))
def test_any_file_name_reads_back_as_itself(name):
    walk = trace(chain(["x", "w", "h", "r", "t", "loss"]))
    check_page(to_markdown(walk, name), walk, name)
