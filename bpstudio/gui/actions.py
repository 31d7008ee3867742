"""The window's actions (menu entries, toolbar buttons, shortcuts), created in one place.

The main window connects them to what they do; tests trigger them through their shortcuts.
Undo and Redo come from the undo stack so that their text names the action they undo.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import QStyle, QWidget


@dataclass
class Actions:
    new: QAction
    open: QAction
    import_onnx: QAction
    save: QAction
    save_as: QAction
    export_onnx: QAction
    export_numpy: QAction
    export_torch: QAction
    export_png: QAction
    export_svg: QAction
    quit: QAction
    undo: QAction
    redo: QAction
    cut: QAction
    copy: QAction
    paste: QAction
    duplicate: QAction
    delete: QAction
    select_all: QAction
    rename: QAction
    add_node: QAction
    group_as_layer: QAction
    ungroup: QAction
    zoom_in: QAction
    zoom_out: QAction
    zoom_reset: QAction
    frame_all: QAction
    frame_selected: QAction
    auto_layout: QAction
    forward: QAction
    backward: QAction
    clear_values: QAction
    wire_gradients: QAction
    compare_runs: QAction
    guided_tour: QAction
    check_gradients: QAction
    walk_through: QAction
    choose_rows: QAction
    export_walk: QAction

    def all(self) -> list[QAction]:
        return [getattr(self, f.name) for f in fields(self)]

    def editing(self) -> list[QAction]:
        """The actions that change the graph (disabled while editing is locked)."""
        return [self.cut, self.paste, self.duplicate, self.delete, self.rename, self.add_node,
                self.group_as_layer, self.ungroup, self.auto_layout, self.undo, self.redo, self.new, self.open, self.import_onnx]


def _keys(shortcuts) -> list[QKeySequence]:
    """The key sequences, each once: a platform's standard key (Quit, Redo) is often the same
    as the explicit one listed beside it for other platforms."""
    unique: dict[str, QKeySequence] = {}
    for shortcut in shortcuts:
        key = QKeySequence(shortcut)
        unique.setdefault(key.toString(), key)
    return list(unique.values())


def _action(parent: QWidget, text: str, shortcuts=(), tip: str = "",
            icon: QStyle.StandardPixmap | None = None) -> QAction:
    action = QAction(text, parent)
    keys = _keys(shortcuts)
    if keys:
        action.setShortcuts(keys)
    if tip:
        action.setStatusTip(tip)
        action.setToolTip(tip + (f" ({keys[0].toString(QKeySequence.NativeText)})" if keys else ""))
    if icon is not None:
        action.setIcon(parent.style().standardIcon(icon))
    return action


def create_actions(window: QWidget, undo_stack: QUndoStack) -> Actions:
    K = QKeySequence
    undo = undo_stack.createUndoAction(window, "Undo")
    undo.setShortcuts([K(K.Undo)])
    undo.setIcon(window.style().standardIcon(QStyle.SP_ArrowBack))
    redo = undo_stack.createRedoAction(window, "Redo")
    redo.setShortcuts(_keys([K("Ctrl+Shift+Z"), K.Redo]))
    redo.setIcon(window.style().standardIcon(QStyle.SP_ArrowForward))
    # The toolbar shows the short word (the menu and the tooltip say what would be undone):
    # "Undo Train 20000 steps" beside the other buttons pushed the toolbar past 1280 px.
    undo.setIconText("Undo")
    redo.setIconText("Redo")
    actions = Actions(
        new=_action(window, "&New", [K.New], "Start an empty graph", QStyle.SP_FileIcon),
        open=_action(window, "&Open…", [K.Open], "Open a project file or an ONNX model",
                     QStyle.SP_DialogOpenButton),
        import_onnx=_action(window, "&Import ONNX…", [],
                            "Open an ONNX model made elsewhere as a new graph"),
        save=_action(window, "&Save", [K.Save], "Save the project", QStyle.SP_DialogSaveButton),
        save_as=_action(window, "Save &As…", [K("Ctrl+Shift+S")], "Save the project under a new name"),
        export_onnx=_action(window, "&ONNX…", [], "Export the trained model as an ONNX file"),
        export_numpy=_action(window, "&NumPy Code…", [],
                             "Export a standalone predict() in NumPy, with its weights"),
        export_torch=_action(window, "P&yTorch Module…", [],
                             "Export a torch.nn.Module, with its weights, to train further in "
                             "PyTorch"),
        export_png=_action(window, "Canvas as &PNG…", [], "Save a picture of the canvas"),
        export_svg=_action(window, "Canvas as S&VG…", [], "Save the canvas as a vector drawing"),
        quit=_action(window, "&Quit", [K.Quit, K("Ctrl+Q")], "Quit Backprop Studio"),
        undo=undo,
        redo=redo,
        cut=_action(window, "Cu&t", [K.Cut], "Cut the selected nodes"),
        copy=_action(window, "&Copy", [K.Copy], "Copy the selected nodes"),
        paste=_action(window, "&Paste", [K.Paste], "Paste nodes"),
        duplicate=_action(window, "&Duplicate", [K("Ctrl+D")], "Duplicate the selected nodes"),
        delete=_action(window, "De&lete", [K(K.Delete), K("Backspace")],
                       "Delete the selected nodes and wires", QStyle.SP_TrashIcon),
        select_all=_action(window, "Select &All", [K.SelectAll], "Select every node"),
        rename=_action(window, "&Rename", [K("F2")], "Rename the selected node"),
        add_node=_action(window, "Add &Node…", [], "Search for an op to add (Tab on the canvas)"),
        group_as_layer=_action(window, "&Group as Layer", [K("Ctrl+Shift+G")],
                               "Make one layer of the selected nodes, shown as one block"),
        ungroup=_action(window, "&Ungroup", [K("Ctrl+Shift+U")],
                        "Dissolve the selected layers into their ops"),
        zoom_in=_action(window, "Zoom &In", [K.ZoomIn, K("Ctrl+=")], "Zoom in"),
        zoom_out=_action(window, "Zoom &Out", [K.ZoomOut], "Zoom out"),
        zoom_reset=_action(window, "&Actual Size", [K("Ctrl+0")], "Zoom to 100%"),
        frame_all=_action(window, "Frame &All", [K("Home"), K("A")], "Fit every node in view"),
        frame_selected=_action(window, "&Frame Selected", [K("F")], "Fit the selection in view"),
        auto_layout=_action(window, "Auto &Layout", [K("Ctrl+L")],
                            "Arrange the graph left to right by depth"),
        forward=_action(window, "&Forward", [K("F5")],
                        "Run the graph forward on its sample and show every value",
                        QStyle.SP_MediaPlay),
        backward=_action(window, "&Backward", [K("F6")],
                         "Run forward, then backward from a gradient of 1 at the loss, and show "
                         "every gradient", QStyle.SP_MediaSeekBackward),
        clear_values=_action(window, "&Clear Values", [K("Shift+F5")],
                             "Hide the values and gradients", QStyle.SP_DialogResetButton),
        wire_gradients=_action(window, "Colour &Wires by Gradient", [K("Ctrl+G")],
                               "Colour each wire by the size of the gradient it carries back"),
        compare_runs=_action(window, "Compare &Runs…", [K("Ctrl+Shift+K")],
                             "Train this graph beside a variant of it and overlay their curves"),
        guided_tour=_action(window, "Guided &Tour…", [],
                            "A short tour of three lessons: one neuron, a fan-out, vanishing "
                            "gradients"),
        check_gradients=_action(window, "Check &Gradients…", [K("F7")],
                                "Compare backprop's gradients with nudging each weight, and "
                                "nudge one weight by hand"),
        walk_through=_action(window, "Wal&k Through…", [K("F8")],
                             "Step through the forward and backward pass one node at a time"),
        choose_rows=_action(window, "Choose &Rows…", [K("Ctrl+Shift+R")],
                            "Choose which rows of the training data Forward, Backward, the "
                            "walkthrough and the gradient check run on"),
        export_walk=_action(window, "&Walkthrough Page…", [],
                            "Save every step of the walk as an HTML or Markdown handout"),
    )
    actions.wire_gradients.setCheckable(True)
    for action in actions.all():
        window.addAction(action)
    return actions
