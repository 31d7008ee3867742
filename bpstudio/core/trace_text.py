"""Words for a :class:`~bpstudio.core.trace.Trace`: each step's lines (for the walkthrough
panel), the explanation of a node's gradient (for practice), and a whole walk as a handout page
in Markdown or HTML. Every number is read from the trace; nothing is computed here but sums of
display (a mean, a minimum and a maximum over several numbers).
"""

from __future__ import annotations

import html
import re
from typing import Collection

import numpy as np

from .graph import Graph
from .number_text import number, pick
from .svg import render_svg
from .trace import BackwardStep, ForwardStep, Step, Trace

# Kinds of line: a heading, plain text, a line of arithmetic, and a warning (a gradient stops).
HEAD, TEXT, MATH, WARN = "head", "text", "math", "warn"
HIDDEN = "?"

Line = tuple[str, str]


def title(step: Step) -> str:
    """A step's heading: "Forward: wx (Multiply)"."""
    return f"{step.phase.capitalize()}: {step.name} ({step.title})"


def describe(step: Step, trace: Trace, row: int | None = None,
             hidden: Collection[str] = ()) -> list[Line]:
    """What the walkthrough says at ``step``, following sample ``row`` (None: all rows).
    ``hidden`` holds node ids whose gradient the learner has still to work out: those numbers
    read "?"."""
    if isinstance(step, ForwardStep):
        return _forward(step, row)
    return _backward(step, trace, row, set(hidden))


def _forward(step: ForwardStep, row: int | None) -> list[Line]:
    value = number(step.value, step.batched, row)
    if step.source == "input":
        return [(HEAD, title(step)),
                (TEXT, f"{step.name} is an input: it holds the rows this pass runs on."),
                (MATH, f"{step.name} = {value}")]
    if step.source == "parameter":
        return [(HEAD, title(step)),
                (TEXT, f"{step.name} is a parameter, a number that training adjusts."),
                (MATH, f"{step.name} = {value}")]
    if step.source == "constant":
        return [(HEAD, title(step)), (TEXT, f"{step.name} is a constant."),
                (MATH, f"{step.name} = {value}")]
    ports = ", ".join(f"{r.port} = {r.source_name}" for r in step.inputs)
    lines = [(HEAD, title(step)), (MATH, f"{step.name} = {step.op}({ports})"),
             (TEXT, "It keeps its inputs for the way back:")]
    lines += [(MATH, f"  {r.port} ({r.source_name}) = {number(r.value, r.batched, row)}")
              for r in step.inputs]
    lines.append((MATH, f"{step.name} = {value}"))
    return lines


def _grad(array: np.ndarray, batched: bool, row: int | None, node_id: str,
          hidden: set[str]) -> str:
    return HIDDEN if node_id in hidden else number(array, batched, row)


def _backward(step: BackwardStep, trace: Trace, row: int | None,
              hidden: set[str]) -> list[Line]:
    out = trace.output_name
    lines: list[Line] = [(HEAD, title(step))]
    mine = _grad(step.gradient, step.batched, row, step.node_id, hidden)
    if step.is_output:
        lines.append((TEXT, f"The backward pass starts here: {out} changes exactly as fast as "
                            "itself, so its gradient is 1."))
        lines.append((MATH, f"d {out}/d {step.name} = {mine}"))
    elif not step.reached:
        lines.append((TEXT, f"No gradient reaches {step.name}: it only feeds ports that take "
                            "none (such as class labels)."))
        return lines
    elif step.fans_out:
        lines.append((TEXT, f"{step.name} was used in {len(step.arrivals)} places, so its "
                            "gradient is the sum of what comes back along each wire:"))
        for part in step.arrivals:
            shown = _grad(part.gradient, step.batched, row, step.node_id, hidden)
            lines.append((MATH, f"  from {part.consumer_name} (port {part.port}): {shown}"))
        lines.append((MATH, f"  sum: d {out}/d {step.name} = {mine}"))
    else:
        part = step.arrivals[0]
        lines.append((TEXT, f"Incoming gradient, from {part.consumer_name} (port {part.port}):"))
        lines.append((MATH, f"d {out}/d {step.name} = {mine}"))
    if step.source == "parameter":
        lines.append((TEXT, f"This is the gradient of {step.name}: an optimiser steps against "
                            "it to lower the loss."))
        return lines
    if step.source is not None:
        lines.append((TEXT, f"An {step.source} hands the gradient on to nothing."))
        return lines
    lines.append((TEXT, f"Local derivative: {step.derivative}"))
    for part in step.handoffs:
        target = f"to {part.source_name} (port {part.port})"
        if part.gradient is None:
            lines.append((MATH, f"{target}: nothing (this port takes no gradient)"))
            continue
        handed = _grad(part.gradient, part.batched, row, part.source_id, hidden)
        if part.local is not None:
            local = number(part.local, part.batched, row)
            lines.append((MATH, f"{target}: {mine} × {local} = {handed}"))
        else:
            lines.append((MATH, f"{target}: {handed}  ({mine} through the formula above)"))
    if step.stopped is not None and step.stopped.any():
        lines.append((WARN, _stopped_text(step, trace, row)))
    return lines


def _stopped_text(step: BackwardStep, trace: Trace, row: int | None) -> str:
    """Why a ReLU passes nothing back where its input was <= 0."""
    received = trace.forward_step(step.node_id).inputs[0]
    stopped = np.asarray(pick(step.stopped, step.batched, row))
    inputs = number(received.value, received.batched, row)
    if stopped.all():
        return (f"The ReLU is off: its input {received.source_name} = {inputs} is <= 0, where "
                f"its slope is 0, so the gradient stops here and {received.source_name} "
                "receives 0.")
    if not stopped.any():
        return "The ReLU is on here (input > 0): it passes the gradient through unchanged."
    return (f"The ReLU is off for {int(stopped.sum())} of {stopped.size} values (input <= 0, "
            "slope 0): the gradient stops there and passes through the others.")


def explain(trace: Trace, node_id: str, row: int | None = None) -> str:
    """How a node's gradient comes about, without giving its value away: what reaches it along
    each wire is the consumer's gradient times that consumer's local derivative."""
    step = trace.backward_step(node_id)
    out = trace.output_name
    if step.is_output:
        return f"The backward pass starts at {out} with a gradient of 1 (d {out}/d {out} = 1)."
    if not step.reached:
        return f"No gradient reaches {step.name}: it is 0."
    parts = []
    for arrival in step.arrivals:
        consumer = trace.backward_step(arrival.consumer_id)
        handoff = next(h for h in consumer.handoffs if h.port == arrival.port)
        incoming = number(consumer.gradient, consumer.batched, row)
        if handoff.local is not None:
            local = f"its local derivative here, {number(handoff.local, handoff.batched, row)}"
        else:
            local = "its local derivative"
        parts.append(f"{consumer.name}'s gradient {incoming} times {local} "
                     f"({consumer.derivative}, port {arrival.port})")
    text = f"d {out}/d {step.name} is "
    if len(parts) == 1:
        return text + parts[0] + "."
    return (text + f"the sum over the {len(parts)} wires {step.name} feeds: "
            + "; plus ".join(parts) + ".")


# --------------------------------------------------------------------------- handouts
def trace_svg(graph: Graph, trace: Trace) -> str:
    """The graph drawn with the trace's numbers: each node's value and gradient, each wire
    shaded by the gradient it carried back (see :func:`bpstudio.core.svg.render_svg`)."""
    values = {step.node_id: step.value for step in trace.forward}
    grads = {step.node_id: step.gradient for step in trace.backward}
    wires = {(part.consumer_id, part.port): part.gradient
             for step in trace.backward for part in step.arrivals}
    return render_svg(graph, values, grads, wires)


def to_markdown(trace: Trace, name: str = "graph", row: int | None = None,
                rows: str | None = None, graph: Graph | None = None) -> str:
    """The whole walk as a Markdown page. ``rows`` says which rows the trace ran on (see
    :class:`~bpstudio.core.sample.SampleRows`); with ``graph`` the page starts with its
    drawing (inline SVG, which Markdown passes through as HTML). Every text in it (the file's
    name, node names, the numbers, the rows' label) goes through :func:`markdown_text`, so that
    none of it becomes markup."""
    m = markdown_text
    lines = [f"# Backpropagation, step by step: {m(name)}", "",
             m(_intro(trace, row, rows)), ""]
    if graph is not None:
        lines += [trace_svg(graph, trace).rstrip("\n"), ""]
    for phase, steps in (("Forward pass", trace.forward), ("Backward pass", trace.backward)):
        lines += [f"## {phase}", ""]
        for step in steps:
            for kind, text in describe(step, trace, row):
                if kind == HEAD:
                    lines += [f"### {m(text)}", ""]
                elif kind == MATH:  # an indented code block shows its text as it is
                    lines.append(f"    {one_line(text)}")
                elif kind == WARN:
                    lines += ["", f"> **{m(text)}**", ""]
                else:
                    lines += ["", m(text), ""]
            lines.append("")
    return "\n".join(_squeeze(lines)) + "\n"


# CommonMark lets a backslash escape any ASCII punctuation, which then stands for itself.
# These are the characters that start markup inside a line (emphasis, code, links, raw HTML,
# entities, GitHub's tables and strike-through); _LINE_START those that start a block at the
# beginning of one (headings, lists, quotes, rules, setext underlines).
_INLINE = re.compile(r"([\\`*_\[\]<>&~|!])")
_LINE_START = re.compile(r"^(\s*)([#+\-=>]|\d+(?=[.)]))")


def one_line(text: str) -> str:
    """``text`` on one line: every line break (CR, LF, and the others Unicode knows) a space,
    so that a name cannot end the block it is in and start another."""
    return " ".join(text.splitlines())


def markdown_text(text: str) -> str:
    """``text`` as Markdown that renders as exactly this text, on one line."""
    line = _INLINE.sub(r"\\\1", one_line(text))
    return _LINE_START.sub(lambda m: m.group(1) + (m.group(2) + "\\" if m.group(2).isdigit()
                                                   else "\\" + m.group(2)), line)


def to_html(trace: Trace, name: str = "graph", row: int | None = None,
            rows: str | None = None, graph: Graph | None = None) -> str:
    """The whole walk as one self-contained HTML page (its style inline, nothing to fetch);
    ``rows`` and ``graph`` as for :func:`to_markdown`."""
    e = html.escape
    body = [f"<h1>Backpropagation, step by step: {e(name)}</h1>",
            f"<p>{e(_intro(trace, row, rows))}</p>"]
    if graph is not None:
        body.append(f'<figure class="graph">{trace_svg(graph, trace)}</figure>')
    for phase, steps in (("Forward pass", trace.forward), ("Backward pass", trace.backward)):
        body.append(f"<h2>{phase}</h2>")
        for step in steps:
            body.append(f'<section class="{step.phase}">')
            for kind, text in describe(step, trace, row):
                if kind == HEAD:
                    body.append(f"<h3>{e(text)}</h3>")
                elif kind == MATH:
                    body.append(f"<pre>{e(text)}</pre>")
                elif kind == WARN:
                    body.append(f'<p class="warn">{e(text)}</p>')
                else:
                    body.append(f"<p>{e(text)}</p>")
            body.append("</section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{e(name)}: backpropagation step by step</title><style>{_STYLE}</style>"
            "</head><body>\n" + "\n".join(body) + "\n</body></html>\n")


_STYLE = ("body{font-family:sans-serif;max-width:46em;margin:2em auto;color:#222}"
          "section{border-left:4px solid #7aa6d8;padding:0 1em;margin:1em 0}"
          "section.backward{border-color:#d8a27a}pre{margin:.2em 0;font-size:1em}"
          ".warn{color:#a33;font-weight:bold}figure.graph{margin:1em 0;overflow-x:auto}"
          "figure.graph svg{max-width:100%;height:auto}")


def _intro(trace: Trace, row: int | None, rows: str | None = None) -> str:
    which = rows or f"{trace.rows} sample row" + ("s" if trace.rows != 1 else "")
    if row is not None:
        which = f"sample row {row + 1} of {trace.rows}" + (f" ({rows})" if rows else "")
    return (f"On {which}: {len(trace.forward)} nodes compute forward, then the gradient of "
            f"{trace.output_name} = {number(trace.loss)} flows back, starting from 1.")


def _squeeze(lines: list[str]) -> list[str]:
    kept: list[str] = []
    for line in lines:
        if line == "" and kept and kept[-1] == "":
            continue
        kept.append(line)
    return kept


__all__ = ["HEAD", "HIDDEN", "MATH", "TEXT", "WARN", "describe", "explain", "markdown_text",
           "number", "one_line", "pick", "title", "to_html", "to_markdown", "trace_svg"]
