"""``bpstudio-cli``: the headless entry point. Imports the core only.

Each subcommand is an ``add_<name>_command(subparsers)`` function that declares its arguments
and sets ``run`` to the function doing the work; :func:`build_parser` calls them in turn. A
user's mistake (a missing or damaged file, a bad node name) ends in one line on stderr and exit
code 2, never a traceback. A file a command writes is declared with ``type=output_path(...)``:
:func:`main` checks every such path before the command starts, so that a mistake in an output
never costs the wait for an import or a training run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import threading
import time
from typing import Any, Callable

import numpy as np

from bpstudio.core.attach import LOSS_KINDS, attach_loss, loss_for_task, plan_loss
from bpstudio.core.errors import BPStudioError
from bpstudio.core.files.atomicfile import check_target
from bpstudio.core.files.export_numpy import export_numpy, numpy_targets
from bpstudio.core.files.export_onnx import export_onnx
from bpstudio.core.files.export_torch import export_torch, torch_targets
from bpstudio.core.files.fileformat import load, save
from bpstudio.core.files.import_onnx import import_onnx, is_onnx_path
from bpstudio.core.project import Project
from bpstudio.core.ops import GROUPS, REGISTRY
from bpstudio.core.shapes import format_shape
from bpstudio.core.training import datasets
from bpstudio.core.training.interface import model_interface
from bpstudio.core.training.datasets import DataError
from bpstudio.core.training.rows import TRAINING, VALIDATION, parse_row_numbers, rows_to_run
from bpstudio.core.trace import trace
from bpstudio.core.trace_text import to_html, to_markdown
from bpstudio.core.files.atomicfile import atomic_write_bytes
from bpstudio.core.training.trainer import DivergenceError, Trainer
from bpstudio.version import __version__

Subparsers = argparse._SubParsersAction  # what add_subparsers() returns


class OutputPath(str):
    """A path given for a command to write, with the check that it can be (see main)."""

    check: Callable[[str], object]


def output_path(check: Callable[[str], object] = check_target) -> Callable[[str], OutputPath]:
    """The argparse ``type`` of an output file: ``check(path)`` raises if it cannot be written
    (check_target: a missing folder, a folder, a device in the way...)."""
    def make(text: str) -> OutputPath:
        path = OutputPath(text)
        path.check = check
        return path
    return make


def _suffixed(suffix: str, option: str,
              then: Callable[[str], object] = check_target) -> Callable[[str], object]:
    def check(path: str) -> object:
        if not path.endswith(suffix):
            raise BPStudioError(f"{option}: '{path}' must end in {suffix}")
        return then(path)
    return check


def check_outputs(args: argparse.Namespace) -> None:
    """Every output path of the command line, checked before any work is done for it."""
    for value in vars(args).values():
        if isinstance(value, OutputPath):
            value.check(value)


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


def open_project(path: str) -> Project:
    """A project file, or an ONNX model imported as one (by the .onnx suffix)."""
    return import_onnx(path) if is_onnx_path(path) else load(path)


# ----------------------------------------------------------------------------------------- info
def cmd_info(args: argparse.Namespace) -> int:
    project = open_project(args.file)
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
                            "whether it is trained; or what an ONNX model imports as (or why "
                            "it cannot)")
    parser.add_argument("file", help="a .bpg project file or a .onnx model")
    parser.set_defaults(run=cmd_info)


# --------------------------------------------------------------------------------------- export
def cmd_export(args: argparse.Namespace) -> int:
    if not args.onnx and not args.numpy and not args.torch:
        raise BPStudioError("say what to export: --onnx OUT.onnx, --numpy OUT.py and/or "
                            "--torch OUT.py")
    project = open_project(args.file)
    # A model trained on data takes raw rows and returns what the app shows, unless --raw.
    interface = None if args.raw else model_interface(project, args.output)
    if interface is not None:
        print(f"input: {interface.input_text()}")
        print(f"output: {interface.output_text()}")
    common = {"output": args.output, "description": project.description,
              "interface": interface}
    if args.onnx:
        export_onnx(project.graph, args.onnx, **common)
        print(f"wrote {args.onnx}")
    if args.numpy:
        export_numpy(project.graph, args.numpy, **common)
        print(f"wrote {args.numpy} and {args.numpy[:-3]}.npz")
    if args.torch:
        export_torch(project.graph, args.torch, **common)
        print(f"wrote {args.torch} and {args.torch[:-3]}.npz")
    return 0


def add_export_command(sub: Subparsers) -> None:
    parser = sub.add_parser("export", help="export a project's inference graph to ONNX, NumPy "
                            "code or a PyTorch module",
                            description="A project trained on data exports a model that takes "
                                        "raw feature rows (the standardisation training "
                                        "applied comes first) and returns what the app shows "
                                        "(class probabilities, or values); --raw exports the "
                                        "bare graph.")
    parser.add_argument("file", help="a .bpg project file (or a .onnx model)")
    parser.add_argument("--onnx", metavar="OUT.onnx", type=output_path(),
                        help="write an ONNX model")
    parser.add_argument("--numpy", metavar="OUT.py",
                        type=output_path(_suffixed(".py", "--numpy", numpy_targets)),
                        help="write a NumPy module with predict() and its weights (OUT.npz)")
    parser.add_argument("--torch", metavar="OUT.py",
                        type=output_path(_suffixed(".py", "--torch", torch_targets)),
                        help="write a torch.nn.Module and its weights (OUT.npz, loaded without "
                             "pickle)")
    parser.add_argument("--output", metavar="NODE", help="the node to compute (default: what the "
                        "loss compares with its target)")
    parser.add_argument("--raw", action="store_true", help="the bare graph: no standardisation "
                        "before it, no softmax or sigmoid after it")
    parser.set_defaults(run=cmd_export)


# ---------------------------------------------------------------------------------------- train
PROGRESS_SECONDS = 1.0  # how often a progress line is printed


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be a finite number > 0")
    return value


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _percent(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _progress_line(stats: Any, done: int, total: int, rate: float) -> str:
    parts = [f"step {stats.step} ({done}/{total})", f"loss {stats.loss:.4g}"]
    if stats.accuracy is not None:
        parts.append(f"acc {_percent(stats.accuracy)}")
    if stats.val_loss is not None:
        parts.append(f"val_loss {stats.val_loss:.4g}")
        if stats.val_accuracy is not None:
            parts.append(f"val_acc {_percent(stats.val_accuracy)}")
    parts.append(f"{rate:,.0f} steps/s")
    parts.append(f"ETA {_clock((total - done) / rate) if rate > 0 else '-'}")
    return "  ".join(parts)


def _summary(trainer: Any, stats: Any, done: int, seconds: float) -> dict[str, Any]:
    def num(x: float | None) -> float | None:
        return None if x is None or not math.isfinite(x) else float(x)
    val_loss = val_acc = None
    if trainer.data.validation is not None:
        val_loss, val_acc = trainer.evaluate()
    return {"steps": done, "total_steps": trainer.step, "seconds": round(seconds, 3),
            "steps_per_second": round(done / seconds, 1) if seconds > 0 else None,
            "loss": num(stats.loss) if stats else None,
            "accuracy": num(stats.accuracy) if stats else None,
            "val_loss": num(val_loss), "val_accuracy": num(val_acc)}


def cmd_train(args: argparse.Namespace) -> int:
    project = open_project(args.file)
    saved = project.training or {}
    if args.data is not None:
        split_seed = args.seed if args.seed is not None else saved.get("split_seed", 0)
        data = datasets.prepare(args.data, target=args.target, task=args.task or "auto",
                                seed=split_seed)
    elif "data" in saved:
        if args.target is not None:
            raise ValueError("--target needs --data (the CSV file it names a column of)")
        if args.task is not None:
            # (The project's data already has the task it was trained for.)
            raise ValueError("--task needs --data (the CSV file whose target it reads)")
        data = datasets.from_settings(saved)
    else:
        raise ValueError(f"{args.file} was never trained: say which data to use with --data")
    _ensure_loss(project, args.loss, data.task)
    given = {"optimizer": args.optimizer, "lr": args.lr, "batch_size": args.batch_size,
             "seed": args.seed}
    overrides = {k: v for k, v in given.items() if v is not None}
    if saved:
        trainer = Trainer.from_project(project, data=data, **overrides)
        if trainer.restart_reason:
            print(f"bpstudio-cli: note: {trainer.restart_reason}", file=sys.stderr)
    else:
        trainer = Trainer(project.graph, data, **{"optimizer": "adam", "lr": 0.01,
                                                  "batch_size": 32, "seed": 0, **overrides})
    total = args.steps if args.steps is not None else max(
        1, int(round(args.epochs * trainer.steps_per_epoch)))

    def emit(line: str, record: dict[str, Any]) -> None:
        print(json.dumps(record) if args.json else line, flush=True)

    # Which task the data is read for, and why: a guessed task that is wrong would train
    # without any error, so it is said before training starts.
    reason = data.train.task_reason
    if not args.quiet and not args.json:
        print(f"task: {reason}", flush=True)

    started = time.perf_counter()
    last_print = started
    stats, done, failure = None, 0, None
    # From here on a signal that would end the program stops the training between steps and
    # waits for the save: what was trained is saved whole, or the file is left as it was.
    with Interruptions(on_first=trainer.stop) as interruptions:
        try:
            for stats in trainer.run(steps=total):
                done += 1
                now = time.perf_counter()
                if not args.quiet and now - last_print >= PROGRESS_SECONDS and done < total:
                    last_print = now
                    rate = done / (now - started)
                    emit(_progress_line(stats, done, total, rate),
                         {"event": "progress", "total_steps": total, "steps_per_second": rate,
                          **stats.as_dict()})
        except DivergenceError as exc:
            failure = exc
        except KeyboardInterrupt:  # (where signals cannot be held: not the main thread)
            interruptions.received.append(signal.SIGINT)
        seconds = time.perf_counter() - started
        summary = _summary(trainer, trainer.last if failure is None else stats, done, seconds)
        if args.out is not None:
            save(trainer.to_project(project.description), args.out)
            summary["saved"] = str(args.out)
        summary["task"], summary["task_reason"] = data.task, reason
        if failure is not None:
            summary["error"] = str(failure)
        if interruptions.received:
            summary["interrupted"] = interruptions.name
        if args.json:
            print(json.dumps({"event": "done", **summary}), flush=True)
        else:
            parts = [f"trained {done} steps in {seconds:.1f} s"
                     + (f" ({done / seconds:,.0f} steps/s)" if seconds > 0 else ""),
                     f"loss {summary['loss']:.4g}" if summary["loss"] is not None else "",
                     f"accuracy {_percent(summary['accuracy'])}"
                     if summary["accuracy"] is not None else "",
                     f"val_loss {summary['val_loss']:.4g}"
                     if summary["val_loss"] is not None else "",
                     f"val_accuracy {_percent(summary['val_accuracy'])}"
                     if summary["val_accuracy"] is not None else ""]
            print("  ".join(p for p in parts if p), flush=True)
            if args.out is not None:
                print(f"saved {args.out}", flush=True)
        if failure is not None:
            print(f"bpstudio-cli: error: {failure}", file=sys.stderr)
            return 1
        if interruptions.received:
            kept = (f"the {done} steps completed are saved in {args.out}"
                    if args.out is not None
                    else f"the {done} steps completed are not saved (no --out was given)")
            print(f"bpstudio-cli: interrupted ({interruptions.name}) after {done} of {total} "
                  f"steps; {kept}", file=sys.stderr)
            return 128 + int(interruptions.received[0])
        return 0


class Interruptions:
    """Hold the signals that would end the program (Ctrl-C, a hang-up, kill's default) while
    work they must not cut is done; the first calls ``on_first`` (a request to stop early) and
    all are recorded in ``received``. The handlers are restored on leaving. Where signals
    cannot be handled (a thread other than the main one) it holds nothing."""

    SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                    if hasattr(signal, name))

    def __init__(self, on_first: Callable[[], None] | None = None):
        self.on_first = on_first
        self.received: list[int] = []
        self._previous: dict[int, Any] = {}

    @property
    def name(self) -> str:
        return signal.Signals(self.received[0]).name if self.received else ""

    def _handle(self, signum: int, _frame: Any) -> None:
        self.received.append(signum)
        if len(self.received) == 1 and self.on_first is not None:
            self.on_first()

    def __enter__(self) -> "Interruptions":
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)


def _ensure_loss(project: Project, kind: str | None, task: str) -> None:
    """An inference graph (an imported model) gets the loss ``kind``, or the one the data's
    task calls for; said on stderr, since the saved project then holds it."""
    graph = project.graph
    if any(n.spec.is_loss for n in graph.nodes.values()):
        if kind is not None:
            raise ValueError("--loss adds a loss to a graph without one; this graph has one")
        return
    chosen = kind or loss_for_task(task)
    added = plan_loss(graph, chosen).describe(graph)
    attach_loss(graph, chosen)
    why = f"the data are {LOSS_KINDS[chosen]}" if kind is None else "as asked"
    print(f"bpstudio-cli: note: the graph had no loss: {added} ({why})", file=sys.stderr)


def add_train_command(sub: Subparsers) -> None:
    train = sub.add_parser("train", help="train a project's graph on a data set",
                           description="Train FILE's graph. Without --data, the data set the "
                                       "project was trained on is used, and training resumes "
                                       "where it stopped.")
    train.add_argument("file", metavar="FILE", help="a .bpg project, or a .onnx model (imported "
                       "first)")
    train.add_argument("--data", metavar="NAME|PATH.csv",
                       help="a data set (xor, moons, circles, spirals, blobs, sine, polynomial, "
                            "iris, digits) or a CSV file with a header row")
    train.add_argument("--target", metavar="COL", help="the CSV column to predict (default: last)")
    train.add_argument("--task", choices=datasets.TASKS,
                       help="read the CSV target for classification or regression (default: "
                            "auto, chosen from what the column holds; the choice is printed)")
    length = train.add_mutually_exclusive_group(required=True)
    length.add_argument("--steps", type=_positive_int, metavar="N", help="training steps")
    length.add_argument("--epochs", type=_positive_float, metavar="N",
                        help="passes over the training rows")
    train.add_argument("--lr", type=_positive_float, metavar="X", help="learning rate (0.01)")
    train.add_argument("--optimizer", choices=("sgd", "momentum", "nesterov", "rmsprop", "adam"),
                       help="optimiser (adam)")
    train.add_argument("--batch-size", type=_positive_int, metavar="B", help="rows per step (32)")
    train.add_argument("--seed", type=int, metavar="S",
                       help="seed of the batch order and validation split (0)")
    train.add_argument("--loss", choices=tuple(LOSS_KINDS),
                       help="for a graph without a loss (an imported model): the loss to add "
                            "(default: softmax_ce for classes, mse for values)")
    train.add_argument("--out", metavar="TRAINED.bpg", type=output_path(),
                       help="save the trained project here (weights, optimiser state, history)")
    train.add_argument("--quiet", action="store_true", help="print only the final metrics")
    train.add_argument("--json", action="store_true",
                       help="print JSON lines instead of text (the last has event 'done')")
    train.set_defaults(run=cmd_train)


# --------------------------------------------------------------------------------------- import
def cmd_import(args: argparse.Namespace) -> int:
    project = import_onnx(args.model)
    graph = project.graph
    print(f"imported {args.model}: {len(graph.nodes)} nodes, {len(graph.edges)} edges")
    if args.loss is not None:
        added = plan_loss(graph, args.loss).describe(graph)
        attach_loss(graph, args.loss)
        print(added)
    save(project, args.out)
    print(f"wrote {args.out}")
    return 0


def add_import_command(sub: Subparsers) -> None:
    parser = sub.add_parser("import", help="import an ONNX model as a project (its inference "
                            "graph; --loss adds a loss to train it)")
    parser.add_argument("model", metavar="MODEL.onnx", help="an ONNX model")
    parser.add_argument("--out", metavar="MODEL.bpg", required=True,
                        type=output_path(_suffixed(".bpg", "--out")),
                        help="the project file to write")
    parser.add_argument("--loss", choices=tuple(LOSS_KINDS),
                        help="add this loss with a target input: softmax_ce for classes, mse "
                             "for values")
    parser.set_defaults(run=cmd_import)


# -------------------------------------------------------------------------------------- handout
def _row_numbers(text: str) -> list[int]:
    """ "1-8" or "3,7,12-14" (row numbers from 1) -> 0-based indices."""
    try:
        return parse_row_numbers(text)
    except DataError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _page_target(path: str) -> object:
    if not path.endswith((".md", ".html")):
        raise BPStudioError(f"'{path}': the page ends in .md (Markdown) or .html")
    return check_target(path)


def cmd_handout(args: argparse.Namespace) -> int:
    project = open_project(args.file)
    rows = rows_to_run(project, args.rows, split=args.split)
    walk = trace(project.graph, rows.feeds)
    name = os.path.splitext(os.path.basename(args.file))[0]
    render = to_markdown if args.out.endswith(".md") else to_html
    atomic_write_bytes(args.out, render(walk, name, rows=rows.description,
                                        graph=project.graph).encode("utf-8"))
    print(f"wrote {args.out}: on {rows.description}")
    return 0


def add_handout_command(sub: Subparsers) -> None:
    parser = sub.add_parser("handout", help="write the walkthrough of one forward and backward "
                            "pass as a page (Markdown or HTML), with the graph drawn",
                            description="A project with training data runs on real training "
                                        "rows (the first 8, or --rows); a graph without data "
                                        "on its sample, which the page calls random where it "
                                        "is the default draw.")
    parser.add_argument("file", help="a .bpg project file (or a .onnx model)")
    parser.add_argument("out", metavar="OUT.md|OUT.html", type=output_path(_page_target),
                        help="the page to write")
    parser.add_argument("--rows", type=_row_numbers, metavar="1-8",
                        help="which rows of the data, numbered from 1 (e.g. 1-8 or 3,7,12)")
    parser.add_argument("--split", choices=(TRAINING, VALIDATION), default=TRAINING,
                        help="the rows' split (training)")
    parser.set_defaults(run=cmd_handout)


# ------------------------------------------------------------------------------------------ main
SUBCOMMANDS: list[Callable[[Subparsers], None]] = [add_ops_command, add_info_command,
                                                   add_export_command, add_train_command,
                                                   add_import_command, add_handout_command]


class _Parser(argparse.ArgumentParser):
    """Bad arguments get one line naming the problem (and exit code 2), not a usage screen."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bpstudio-cli", description="Backprop Studio, headless.")
    parser.add_argument("--version", action="version", version=f"bpstudio {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add_command in SUBCOMMANDS:
        add_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        check_outputs(args)
        code = args.run(args)
        sys.stdout.flush()  # here, not at exit, so that a closed pipe is caught below
        return code
    except KeyboardInterrupt:  # Ctrl-C before anything was worth keeping
        print("bpstudio-cli: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`bpstudio-cli info F | head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (OSError, ValueError, BPStudioError) as exc:  # user mistakes: a message, no traceback
        print(f"bpstudio-cli: error: {_describe(exc)}", file=sys.stderr)
        return 2


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
