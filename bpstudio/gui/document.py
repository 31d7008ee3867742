"""The open project: one :class:`Project` (graph, description, sample, training settings,
optimiser state, history), the file it came from, its undo stack, the one gate every edit goes
through, and the editing lock.

Panels are handed the document and follow its signals; nothing else holds a piece of the
project. Opening, saving, autosave, recovery and training all read and write this one Project.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from bpstudio.core.collector import collector_paused
from bpstudio.core.errors import BPStudioError
from bpstudio.core.files.fileformat import load, save
from bpstudio.core.graph import Graph
from bpstudio.core.layout import layered_positions
from bpstudio.core.project import Project, TrainingState
from bpstudio.core.training.defaults import default_training

LOCKED_MESSAGE = "Editing is locked while training runs"
# How long a refusal may be: a message quoting a whole pasted document helps nobody.
MAX_REFUSAL_CHARS = 300
_UNEXPLAINED = {RecursionError: "the data is nested too deeply",
                OverflowError: "a number is too large",
                MemoryError: "there is not enough memory for it"}


def _is_explained(exc: BaseException) -> bool:
    """Whether the error's own message is written for people: the project's errors, and the
    ValueErrors of the GUI's own checks (a malformed clipboard)."""
    return isinstance(exc, (BPStudioError, ValueError))


def refusal_reason(exc: BaseException) -> str:
    """Why an edit was refused, from whatever the core raised: its message when it has one
    for people, else what went wrong and the error's kind (the kind, so that a bug report
    says which error it was)."""
    if _is_explained(exc):
        text = str(exc)
    else:
        what = next((text for kind, text in _UNEXPLAINED.items() if isinstance(exc, kind)),
                    "an unexpected error")
        text = f"{what} ({type(exc).__name__}: {exc})"
        logging.getLogger(__name__).warning("an edit was refused by an unexpected error",
                                            exc_info=exc)
    text = " ".join(text.split()) or type(exc).__name__
    if len(text) > MAX_REFUSAL_CHARS:
        text = text[:MAX_REFUSAL_CHARS - 3] + "..."
    return text


def _laid_out(graph: Graph) -> Graph:
    """Files written by scripts may carry no positions: lay those nodes out before showing."""
    if any(n.position is None for n in graph.nodes.values()):
        graph.set_positions({node_id: pos for node_id, pos in layered_positions(graph).items()
                             if graph.nodes[node_id].position is None})
    return graph


class Document(QObject):
    """One open project. Signals:

    - ``replaced``: another project is open (New, Open, Import, Restore); everything shown
      of the old one goes;
    - ``modified_changed(bool)``: the project now differs (or no longer) from its file;
    - ``path_changed``: it was saved under another name;
    - ``training_state_changed``: a run, its undo or Reset Weights replaced the training state;
    - ``lock_changed(bool)``: editing was locked (a run started) or unlocked;
    - ``status_message(str)``: something to say in the status bar (e.g. a refused edit).
    """

    replaced = Signal()
    modified_changed = Signal(bool)
    path_changed = Signal()
    training_state_changed = Signal()
    lock_changed = Signal(bool)
    status_message = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self.project = Project(Graph())
        self.path: Path | None = None
        self.last_refusal: str | None = None  # why the last push was refused, if it was
        self._locked = False

    def _clean_changed(self, clean: bool) -> None:
        self.modified_changed.emit(not clean)

    # ---------------------------------------------------------------------------- reading
    @property
    def graph(self) -> Graph:
        return self.project.graph

    @property
    def description(self) -> str:
        return self.project.description

    @property
    def training_state(self) -> TrainingState:
        return self.project.training_state

    @property
    def training(self) -> dict:
        """The project's training settings (project-file form); a project that names no data
        gets the data set that suits its graph (never the previous document's)."""
        training = dict(self.project.training or {})
        if not training.get("data"):
            training.update(default_training(self.graph))
        return training

    @property
    def name(self) -> str:
        """The file's stem, or "Untitled"."""
        return self.path.stem if self.path is not None else "Untitled"

    @property
    def is_modified(self) -> bool:
        return not self.undo_stack.isClean()

    @property
    def locked(self) -> bool:
        return self._locked

    def copy(self) -> Project:
        """A copy of the project that a run or a comparison may change freely."""
        state = self.training_state
        return Project(self.graph.copy(), self.description, training=dict(state.training),
                       optimizer_state=state.optimizer_state, history=state.history)

    # ---------------------------------------------------------------------- whole project
    def replace(self, project: Project, path: Path | None = None, modified: bool = False) -> None:
        """Make ``project`` the open one (after New, Open, Import or Restore), with a fresh
        undo history: nothing of the previous project stays. (Laid out and shown with the
        garbage collector held off: see :mod:`bpstudio.core.collector`.)"""
        with collector_paused():
            _laid_out(project.graph)
            self.set_locked(False)
            self.undo_stack.clear()
            self.project = project
            self.path = Path(path) if path is not None else None
            self.last_refusal = None
            if modified:
                self.undo_stack.resetClean()  # unsaved until the person saves it
            self.replaced.emit()
            self.modified_changed.emit(self.is_modified)

    def new(self) -> None:
        self.replace(Project(Graph()))

    def open(self, path: Path, reader: Callable[[Path], Project] = load,
             keep_path: bool = True) -> None:
        """Read ``path`` with ``reader`` (raises what the reader raises, changing nothing);
        ``keep_path`` False opens it untitled (an imported model)."""
        with collector_paused():
            project = reader(Path(path))
            self.replace(project, Path(path) if keep_path else None)

    def save(self, path: Path) -> None:
        """Write the project to ``path`` (raises on failure, changing nothing); the document is
        then clean and named after it."""
        save(self.project, Path(path))
        renamed = self.path != Path(path)
        self.path = Path(path)
        self.undo_stack.setClean()
        if renamed:
            self.path_changed.emit()

    def set_description(self, text: str) -> None:
        self.project.description = text

    # ------------------------------------------------------------------- training state
    def set_training_state(self, state: TrainingState) -> None:
        """Replace the training state (a run, its undo, Reset Weights): only commands do this,
        so that Ctrl+Z gives the old state back with the old weights."""
        self.project.training_state = state
        self.training_state_changed.emit()

    # ----------------------------------------------------------------------- editing lock
    def set_locked(self, locked: bool) -> None:
        """Lock (or unlock) every edit, e.g. while training runs."""
        if locked == self._locked:
            return
        self._locked = locked
        self.lock_changed.emit(locked)

    # -------------------------------------------------------------------------- the gate
    def push(self, edit: QUndoCommand | Callable[[], QUndoCommand | None],
             refused: str | None = None) -> bool:
        """The one place where an edit reaches the project: apply it and put it on the undo
        stack, unless editing is locked or the edit is refused; then say why (in
        ``last_refusal`` and ``status_message``) and change nothing.

        ``edit`` is an undo command, or a function that checks what was asked for and builds
        one (or returns None: nothing to change). Whatever building or applying raises, of any
        type, is a refusal: a kind of error the GUI has never heard of must not reach
        sys.excepthook from a keystroke. A refusal while building reads "``refused``: why"
        (just "why" when ``refused`` is None), one while applying "<command> refused: why".
        Returns whether the edit was made."""
        self.last_refusal = None
        if self._locked:
            self._refuse(LOCKED_MESSAGE)
            return False
        command: QUndoCommand | None = None
        try:
            command = edit() if callable(edit) else edit
            if command is None:
                return False
            command.apply_before_push()
        except Exception as exc:  # any: see above; the graph and the stack stay as they were
            if command is not None:
                prefix = f"{command.text() or 'Edit'} refused"
            else:
                prefix = refused if refused is not None or _is_explained(exc) else "Edit refused"
            why = refusal_reason(exc)
            self._refuse(f"{prefix}: {why}" if prefix else why)
            return False
        self.undo_stack.push(command)
        return True

    def _refuse(self, message: str) -> None:
        self.last_refusal = message
        self.status_message.emit(message)
