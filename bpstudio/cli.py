"""``bpstudio-cli``: the headless entry point. Imports the core only.

Each subcommand is an ``add_<name>_command(subparsers)`` function that declares its arguments
and sets ``run`` to the function doing the work; :func:`build_parser` calls them in turn. A
user's mistake (a missing or damaged file, a bad node name) ends in one line on stderr and exit
code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable

import numpy as np

from bpstudio import __version__
from bpstudio.core.errors import BPStudioError
from bpstudio.core.ops import GROUPS, REGISTRY
from bpstudio.core.shapes import format_shape

Subparsers = argparse._SubParsersAction  # what add_subparsers() returns


# ------------------------------------------------------------------------------------------ ops
def cmd_ops(args: argparse.Namespace) -> int:
    for group in GROUPS:
        print(group)
        for op in REGISTRY.values():
            if op.group == group:
                print(f"  {op.name:<12} {op.doc}")
    return 0


def add_ops_command(sub: Subparsers) -> None:
    sub.add_parser("ops", help="list every op in the registry").set_defaults(run=cmd_ops)


# ----------------------------------------------------------------------------------------- info
def cmd_info(args: argparse.Namespace) -> int:
    from bpstudio.core.fileformat import load

    project = load(args.file)
    graph = project.graph
    shapes, problems = graph.infer_shapes()
    print(f"{args.file}: {len(graph.nodes)} nodes, {len(graph.edges)} edges")
    if project.description:
        print(f"description: {project.description}")
    print("nodes:")
    for node in graph.nodes.values():
        shape = format_shape(shapes[node.id]) if node.id in shapes else "?"
        params = ", ".join(f"{k}={_show(v)}" for k, v in node.params.items())
        print(f"  {node.id:<5} {node.name:<20} {node.op:<12} {shape:<12} {params}".rstrip())
    parameters = graph.nodes_of("parameter")
    count = sum(int(np.size(n.value)) for n in parameters)
    print(f"parameters: {len(parameters)} arrays, {count} numbers")
    for node in parameters:
        print(f"  {node.name:<20} {format_shape(np.shape(node.value)):<12} "
              f"|w| = {float(np.linalg.norm(node.value)):.4g}")
    for problem in problems:
        print(f"problem: {problem.message}")
    trained = "yes" if project.is_trained else "no"
    print(f"trained: {trained}")
    if project.training:
        settings = ", ".join(f"{k}={_show(v)}" for k, v in project.training.items())
        print(f"training settings: {settings}")
    return 0


def _show(value: object) -> str:
    if isinstance(value, tuple):
        return format_shape(value)
    if isinstance(value, np.ndarray):
        return f"array{format_shape(value.shape)}"
    return repr(value) if isinstance(value, str) else str(value)


def add_info_command(sub: Subparsers) -> None:
    parser = sub.add_parser("info", help="describe a project file: nodes, parameters, shapes, "
                            "whether it is trained")
    parser.add_argument("file", help="a .bpg project file")
    parser.set_defaults(run=cmd_info)


# --------------------------------------------------------------------------------------- export
def cmd_export(args: argparse.Namespace) -> int:
    from bpstudio.core.fileformat import load

    if not args.onnx and not args.numpy:
        raise BPStudioError("say what to export: --onnx OUT.onnx and/or --numpy OUT.py")
    project = load(args.file)
    if args.onnx:
        from bpstudio.core.export_onnx import export_onnx

        export_onnx(project.graph, args.onnx, output=args.output, description=project.description)
        print(f"wrote {args.onnx}")
    if args.numpy:
        from bpstudio.core.export_numpy import export_numpy

        if not args.numpy.endswith(".py"):
            raise BPStudioError(f"--numpy: '{args.numpy}' must end in .py")
        export_numpy(project.graph, args.numpy, output=args.output, description=project.description)
        print(f"wrote {args.numpy} and {args.numpy[:-3]}.npz")
    return 0


def add_export_command(sub: Subparsers) -> None:
    parser = sub.add_parser("export", help="export a project's inference graph to ONNX or to "
                            "NumPy code")
    parser.add_argument("file", help="a .bpg project file")
    parser.add_argument("--onnx", metavar="OUT.onnx", help="write an ONNX model")
    parser.add_argument("--numpy", metavar="OUT.py", help="write a NumPy module with predict() "
                        "and its weights (OUT.npz)")
    parser.add_argument("--output", metavar="NODE", help="the node to compute (default: what the "
                        "loss compares with its target)")
    parser.set_defaults(run=cmd_export)


# ------------------------------------------------------------------------------------------ main
SUBCOMMANDS: list[Callable[[Subparsers], None]] = [add_ops_command, add_info_command,
                                                   add_export_command]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bpstudio-cli", description="Backprop Studio, headless.")
    parser.add_argument("--version", action="version", version=f"bpstudio {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add_command in SUBCOMMANDS:
        add_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (OSError, ValueError, BPStudioError) as exc:  # user mistakes: a message, no traceback
        print(f"bpstudio-cli: error: {_describe(exc)}", file=sys.stderr)
        return 2


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
