"""The main window: canvas in the centre, palette and inspector docks, menus, toolbar, status
bar, and the project's life cycle (new, open, save, export, unsaved-changes prompts)."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QMimeData, QPointF, QRect, QSize, Qt, QTimer
from PySide6.QtGui import (QAction, QActionGroup, QCloseEvent, QGuiApplication, QKeySequence)
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QLabel, QMainWindow,
                               QMessageBox, QToolBar)

from bpstudio.core.blas import one_blas_thread
from bpstudio.core.errors import BPStudioError
from bpstudio.core.files.fileformat import load
from bpstudio.core.files.import_onnx import import_onnx, is_onnx_path
from bpstudio.core.graph import Graph
from bpstudio.core.layout import layered_positions
from bpstudio.core.project import Project
from bpstudio.core.examples import example_files, example_folder

from . import clipboard, commands
from .actions import Actions, create_actions
from .canvas import theme
from .canvas.picture import write_picture
from .canvas.scene import GraphScene
from .canvas.view import GraphView
from .document import LOCKED_MESSAGE, Document
from .export_dialog import FORMATS, NUMPY, ONNX, TORCH, ExportDialog, ExportFormat, write_export
from .gradcheck_view import GradientCheckDialog
from .inspector import InspectorWidget
from .palette import DENSE_LAYER, NodeSearchPopup, PaletteWidget
from .rows import RowsDialog, RunRows
from .run_view import RunView
from .tour import TourDialog
from .training.comparison import ComparisonWindow
from .training.panel import TrainingPanel
from .walkthrough import WalkthroughDock, WalkthroughPanel
from . import appearance
from .help import AboutDialog, ShortcutsDialog
from .plots import style as plot_style
from .welcome import WelcomePage, example_title, recent_labels
from .recovery import AUTOSAVE_MS, Recovery, left_behind
from .settings import Settings

APP_NAME = "Backprop Studio"
FILE_FILTER = "Backprop Studio projects (*.bpg)"
ONNX_FILTER = "ONNX models (*.onnx)"
OPEN_FILTER = f"Projects and ONNX models (*.bpg *.onnx);;{FILE_FILTER};;{ONNX_FILTER}"


examples_dir = example_folder  # (the name the window's callers know it by)


def is_bundled_example(path: Path) -> bool:
    """Whether ``path`` is one of the shipped examples, which Save must never overwrite."""
    return path.resolve().parent == examples_dir().resolve()


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings | None = None):
        super().__init__()
        # While a window is open its process keeps to one BLAS thread (see core/blas.py):
        # its own products are small, and an idle thread spins on a core after each one.
        self._blas_hold = one_blas_thread.hold()
        self.settings = settings or Settings()
        self.document = Document(self)
        self.scene = GraphScene(self.document, self)
        self.view = GraphView(self.scene, self)
        self.setCentralWidget(self.view)
        self._paste_count = 0

        self.palette = PaletteWidget()
        self.palette_dock = self._dock("Nodes", self.palette, Qt.LeftDockWidgetArea)
        self.inspector = InspectorWidget(self.scene)
        self.inspector_dock = self._dock("Inspector", self.inspector, Qt.RightDockWidgetArea)
        self.run_rows = RunRows(self.document, self)  # what every pass by hand runs on
        self.run_view = RunView(self.scene, self, rows=self.run_rows)
        self.inspector.set_run_view(self.run_view)
        self.training_panel = TrainingPanel(self.document)
        self.addActions(list(self.training_panel.actions.values()))
        self.training_dock = self._dock("Training", self.training_panel, Qt.RightDockWidgetArea,
                                        beside=self.inspector_dock)
        self.training_dock.setMinimumWidth(420)
        self._build_walkthrough()
        self.comparison_window: ComparisonWindow | None = None  # Run > Compare Runs
        self.tour_dialog: TourDialog | None = None              # Help > Guided Tour
        self.gradient_check: GradientCheckDialog | None = None  # Run > Check Gradients
        self.rows_dialog: RowsDialog | None = None              # Run > Choose Rows
        self.export_dialog: ExportDialog | None = None          # File > Export > a model
        self.search_popup = NodeSearchPopup(self)
        self._popup_scene_pos = QPointF()

        self.actions: Actions = create_actions(self, self.document.undo_stack)
        self._build_menus()
        self._build_help_menu()
        self._build_appearance_menu()
        self._build_toolbar()
        self._connect()
        self.stats_label = QLabel()
        self.stats_label.setObjectName("training_stats")
        self.statusBar().addPermanentWidget(self.stats_label)
        # Opaque, as the docks' widgets are (see _dock): a live run's line repaints the bar
        # alone, not the window under it.
        self.statusBar().setAutoFillBackground(True)
        self.counts_label = QLabel()
        self.statusBar().addPermanentWidget(self.counts_label)
        self.resize(1400, 860)
        self.resizeDocks([self.palette_dock, self.inspector_dock], [220, 440], Qt.Horizontal)
        geometry = self.settings.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.window_state()
        if state is not None:
            self.restoreState(state)
        self.inspector.welcome = self._welcome_page
        self._document_replaced()
        # After the empty document, which would clear a remembered CSV choice.
        self.training_panel.restore_remembered(self.settings.training_settings())
        self.recovery = Recovery(self.settings.state_dir() / "recovery")
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        self.offer_recovery()

    # ------------------------------------------------------------------------------ build
    def _dock(self, title: str, widget, area, beside: QDockWidget | None = None,
              kind: type[QDockWidget] = QDockWidget) -> QDockWidget:
        """A dock holding ``widget``, in ``area`` or as a tab behind ``beside``."""
        dock = kind(title, self)
        dock.setObjectName(title.lower() + "_dock")
        # Opaque: a live run repaints its progress bar and readouts tens of times a second, and
        # through a see-through widget Qt paints the dock under them first, its title bar
        # laid out again (the style's icons looked up) each time, and the window under that.
        widget.setAutoFillBackground(True)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable
                         | QDockWidget.DockWidgetClosable)
        self.addDockWidget(area, dock)
        dock.setMinimumWidth(220)
        if beside is not None:
            self.tabifyDockWidget(beside, dock)
            beside.raise_()  # the one that was there stays in front
        return dock

    def _build_menus(self) -> None:
        a = self.actions
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([a.new, a.open])
        file_menu.addAction(a.import_onnx)
        self.examples_menu = file_menu.addMenu("Open &Example")
        self.examples_menu.aboutToShow.connect(self._fill_examples_menu)
        self._fill_examples_menu()
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._fill_recent_menu()
        file_menu.addSeparator()
        file_menu.addActions([a.save, a.save_as])
        export = file_menu.addMenu("&Export")
        export.addActions([a.export_onnx, a.export_numpy, a.export_torch])
        export.addSeparator()
        export.addActions([a.export_png, a.export_svg])
        export.addSeparator()
        export.addAction(a.export_walk)
        file_menu.addSeparator()
        file_menu.addAction(a.quit)

        edit = bar.addMenu("&Edit")
        edit.addActions([a.undo, a.redo])
        edit.addSeparator()
        edit.addActions([a.cut, a.copy, a.paste, a.duplicate, a.delete])
        edit.addSeparator()
        edit.addActions([a.select_all, a.rename, a.add_node])
        edit.addSeparator()
        edit.addActions([a.group_as_layer, a.ungroup])

        view = bar.addMenu("&View")
        view.addActions([a.zoom_in, a.zoom_out, a.zoom_reset])
        view.addSeparator()
        view.addActions([a.frame_all, a.frame_selected, a.auto_layout])
        view.addSeparator()
        view.addAction(self.palette_dock.toggleViewAction())
        view.addAction(self.inspector_dock.toggleViewAction())
        view.addAction(self.training_dock.toggleViewAction())
        view.addAction(self.walkthrough_dock.toggleViewAction())

        run = bar.addMenu("&Run")
        run.addActions([a.forward, a.backward, a.clear_values])
        run.addSeparator()
        run.addAction(a.wire_gradients)
        run.addAction(a.check_gradients)
        run.addSeparator()
        run.addAction(a.walk_through)
        run.addAction(a.choose_rows)
        run.addSeparator()
        run.addActions([self.training_panel.actions[k]
                        for k in ("train", "pause", "step", "stop", "reset")])
        run.addSeparator()
        run.addAction(a.compare_runs)

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(a.guided_tour)
        self.help_menu = help_menu
        self.run_menu = run

        self.view.node_menu_actions = [a.rename, a.duplicate, a.copy, a.delete,
                                       a.group_as_layer, a.ungroup]
        self.view.edge_menu_actions = [a.delete]

    def _build_help_menu(self) -> None:
        """Help: the examples, Keyboard Shortcuts and About, after the Guided Tour."""
        self.help_examples_menu = self.help_menu.addMenu("&Examples")
        self._add_example_actions(self.help_examples_menu)
        self.help_menu.addSeparator()
        self.shortcuts_action = self.help_menu.addAction("&Keyboard Shortcuts…")
        self.shortcuts_action.setShortcut(QKeySequence("Ctrl+/"))
        self.addAction(self.shortcuts_action)
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        self.about_action = self.help_menu.addAction("&About Backprop Studio")
        self.about_action.setMenuRole(QAction.AboutRole)
        self.about_action.triggered.connect(self.show_about)
        self.shortcuts_dialog = self.about_dialog = None

    def _build_appearance_menu(self) -> None:
        """View > Appearance: follow the system, or always light or dark."""
        view = [a.menu() for a in self.menuBar().actions() if a.text() == "&View"][0]
        view.addSeparator()
        menu = view.addMenu("A&ppearance")
        group = QActionGroup(self)
        self.appearance_actions = {}
        current = self.settings.appearance()
        for key, text in (("system", "&System"), ("light", "&Light"), ("dark", "&Dark")):
            action = menu.addAction(text)
            action.setCheckable(True)
            action.setChecked(key == current)
            group.addAction(action)
            action.triggered.connect(lambda _=False, k=key: self.set_appearance(k))
            self.appearance_actions[key] = action
        if appearance.mode() != current:  # the first window of a run takes the saved choice
            appearance.apply(current)

    def set_appearance(self, mode: str) -> None:
        self.settings.set_appearance(mode)
        self.appearance_actions[mode].setChecked(True)
        appearance.apply(mode)

    def refresh_appearance(self) -> None:
        """Redraw the canvas and restyle the plots in the colours just chosen."""
        self.scene.restyle()
        self.view.resetCachedContent()
        self.view.viewport().update()
        for plot in self.findChildren(pg.PlotWidget):
            plot_style.restyle_plot(plot)
        # The inspector writes theme colours into its labels: build its page again.
        if self.inspector.node_id is not None:
            self.inspector.show_node(self.inspector.node_id)
        else:
            self.inspector.set_description(self.inspector.description)

    def show_shortcuts(self) -> ShortcutsDialog:
        """Made afresh each time from the window's actions, so it cannot fall out of date."""
        if self.shortcuts_dialog is not None:
            self.shortcuts_dialog.close()
        self.shortcuts_dialog = ShortcutsDialog(self)
        self.shortcuts_dialog.show()
        return self.shortcuts_dialog

    def show_about(self) -> AboutDialog:
        if self.about_dialog is None:
            self.about_dialog = AboutDialog(self)
        self.about_dialog.show()
        self.about_dialog.raise_()
        return self.about_dialog

    def _build_toolbar(self) -> None:
        a = self.actions
        bar = QToolBar("Main", self)
        bar.setObjectName("main_toolbar")
        bar.setIconSize(QSize(18, 18))
        bar.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        bar.setMovable(False)
        bar.addActions([a.new, a.open, a.save])
        bar.addSeparator()
        bar.addActions([a.undo, a.redo, a.delete])
        bar.addSeparator()
        bar.addActions([a.frame_all, a.auto_layout])
        bar.addSeparator()
        bar.addActions([a.forward, a.backward, a.clear_values, a.wire_gradients])
        self.addToolBar(Qt.TopToolBarArea, bar)
        self.toolbar = bar

    def _connect(self) -> None:
        a = self.actions
        a.new.triggered.connect(self.new_file)
        a.open.triggered.connect(lambda: self.open_file())
        a.import_onnx.triggered.connect(lambda: self.import_onnx_file())
        a.save.triggered.connect(lambda: self.save())
        a.save_as.triggered.connect(lambda: self.save_as())
        a.export_onnx.triggered.connect(lambda: self.open_export_dialog(ONNX))
        a.export_numpy.triggered.connect(lambda: self.open_export_dialog(NUMPY))
        a.export_torch.triggered.connect(lambda: self.open_export_dialog(TORCH))
        a.choose_rows.triggered.connect(lambda: self.open_rows_dialog())
        a.export_png.triggered.connect(lambda: self.export_image(fmt="png"))
        a.export_svg.triggered.connect(lambda: self.export_image(fmt="svg"))
        a.quit.triggered.connect(self.close)
        a.cut.triggered.connect(self.cut)
        a.copy.triggered.connect(self.copy)
        a.paste.triggered.connect(self.paste)
        a.duplicate.triggered.connect(self.duplicate)
        a.delete.triggered.connect(self.delete_selection)
        a.select_all.triggered.connect(self.select_all)
        a.rename.triggered.connect(self.rename_selected)
        a.add_node.triggered.connect(self.view.request_add_node_at_cursor)
        a.group_as_layer.triggered.connect(self.scene.group_selection)
        a.ungroup.triggered.connect(self.scene.ungroup_selection)
        a.zoom_in.triggered.connect(self.view.zoom_in)
        a.zoom_out.triggered.connect(self.view.zoom_out)
        a.zoom_reset.triggered.connect(lambda: self.view.set_zoom(1.0))
        a.frame_all.triggered.connect(self.view.frame_all)
        a.frame_selected.triggered.connect(self.view.frame_selected)
        a.auto_layout.triggered.connect(self.auto_layout)
        a.forward.triggered.connect(self.run_view.forward)
        a.backward.triggered.connect(self.run_view.backward)
        a.clear_values.triggered.connect(self.run_view.clear)
        a.wire_gradients.toggled.connect(self.run_view.set_wire_gradients)
        a.compare_runs.triggered.connect(lambda: self.open_comparison())
        a.guided_tour.triggered.connect(lambda: self.open_tour())
        a.check_gradients.triggered.connect(self.open_gradient_check)
        a.walk_through.triggered.connect(self.walk_through)
        a.export_walk.triggered.connect(lambda: self.walkthrough.export_walk())
        self.walkthrough.status_message.connect(self.show_status)
        self.run_view.status_message.connect(self.show_status)
        self.training_panel.status_message.connect(self.show_status)
        self.training_panel.stats_changed.connect(lambda text: self.stats_label.setText(text))
        self.training_panel.run_started.connect(self.training_dock.raise_)
        self.training_panel.culprit_found.connect(self.run_view.highlight_culprit)
        self.training_panel.culprit_cleared.connect(self.run_view.clear_culprit)

        d = self.document
        d.replaced.connect(self._document_replaced)
        d.modified_changed.connect(self._update_title)
        d.path_changed.connect(self._update_title)
        d.lock_changed.connect(self._lock_changed)
        d.status_message.connect(self.show_status)
        d.undo_stack.indexChanged.connect(self._update_title)
        self.scene.status_message.connect(self.show_status)
        self.scene.validated.connect(self._update_counts)
        self.inspector.status_message.connect(self.show_status)
        self.view.op_dropped.connect(self.add_node)
        self.view.add_node_requested.connect(self._open_search_popup)
        self.search_popup.chosen.connect(lambda op: self.add_node(op, self._popup_scene_pos))
        self.palette.op_activated.connect(
            lambda op: self.add_node(op, self.view.mapToScene(self.view.viewport().rect().center())))

    # ------------------------------------------------------------------------ walkthrough
    def _build_walkthrough(self) -> None:
        self.walkthrough = WalkthroughPanel(self.scene, self, rows=self.run_rows)
        dock = self._dock("Walkthrough", self.walkthrough, Qt.RightDockWidgetArea,
                          beside=self.inspector_dock, kind=WalkthroughDock)
        dock.closed.connect(self.walkthrough.stop)
        self.walkthrough_dock = dock

    def walk_through(self) -> bool:
        """Show the Walkthrough dock and start at the first step (Run ▸ Walk Through…)."""
        self.run_view.clear()  # the walk paints the canvas step by step
        self.walkthrough_dock.show()
        self.walkthrough_dock.raise_()
        return self.walkthrough.start()

    # ---------------------------------------------------------------------------- status
    def show_status(self, message: str, timeout_ms: int = 8000) -> None:
        self.statusBar().showMessage(message, timeout_ms)

    @property
    def graph(self) -> Graph:
        return self.document.graph

    @property
    def path(self) -> Path | None:
        return self.document.path

    @property
    def undo_stack(self):
        return self.document.undo_stack

    @property
    def is_modified(self) -> bool:
        return self.document.is_modified

    def _update_title(self, *_args) -> None:
        name = self.path.name if self.path is not None else "Untitled"
        star = "*" if self.is_modified else ""
        self.setWindowTitle(f"{name}{star} — {APP_NAME}")

    def _update_counts(self) -> None:
        g = self.graph
        problems = len(self.scene.problems)
        text = f"{len(g.nodes)} nodes · {len(g.edges)} wires"
        if problems:
            text += f" · {problems} problem" + ("s" if problems != 1 else "")
        self.counts_label.setText(text)

    # ------------------------------------------------------------------------- the graph
    def set_graph(self, graph: Graph, path: Path | None = None, description: str = "") -> None:
        """Open ``graph`` as a new project (scripts and tests; the menus open files)."""
        self.document.replace(Project(graph, description), path)

    def _document_replaced(self) -> None:
        """Another project is open: show it from the start, with nothing of the one before."""
        self.run_view.graph_replaced()
        self.walkthrough.stop()
        if self.gradient_check is not None:
            self.gradient_check.stop()
        self._paste_count = 0
        self.stats_label.setText("")
        self.inspector.set_description(self.document.description)
        self._update_title()
        self._update_counts()
        if self.graph.nodes:
            self.view.show_start()
        else:
            self.view.resetTransform()
            self.view.centerOn(0, 0)

    def add_node(self, op: str, scene_pos: QPointF) -> str | None:
        """Add a node of ``op`` centred under ``scene_pos`` (the drop point or the cursor);
        the palette's Dense Layer entry adds a layer's block there."""
        if op == DENSE_LAYER:
            return self.scene.add_dense_layer(scene_pos)
        position = (scene_pos.x() - theme.NODE_WIDTH / 2, scene_pos.y() - theme.NODE_HEADER_HEIGHT / 2)
        built = []

        def add():  # built inside push: a dropped op name comes from anyone's drag data
            built.append(commands.AddNodeCommand(self.graph, op, position=position))
            return built[0]

        if not self.document.push(add, refused="Cannot add a node"):
            return None
        self.scene.select_nodes([built[0].node_id])
        self.view.setFocus()
        return built[0].node_id

    def _open_search_popup(self, scene_pos: QPointF, global_pos) -> None:
        if self.document.locked:
            self.show_status(LOCKED_MESSAGE)
            return
        self._popup_scene_pos = scene_pos
        self.search_popup.open_at(global_pos)

    # ------------------------------------------------------------------------------ edits
    def delete_selection(self) -> None:
        ids = self.scene.selected_node_ids()
        edges = self.scene.selected_edges()
        if not ids and not edges:
            return
        self.document.push(commands.delete_command(self.graph, ids, edges))

    def copy(self) -> bool:
        ids = self.scene.selected_node_ids()
        if not ids:
            self.show_status("Select nodes to copy")
            return False
        data = QMimeData()
        text = clipboard.copy_nodes(self.graph, ids)
        data.setData(clipboard.MIME_TYPE, text.encode("utf-8"))
        QGuiApplication.clipboard().setMimeData(data)
        self._paste_count = 0
        self.show_status(f"Copied {len(ids)} node" + ("s" if len(ids) != 1 else ""))
        return True

    def cut(self) -> None:
        if self.copy():
            ids = self.scene.selected_node_ids()
            self.document.push(commands.delete_command(self.graph, ids, [], text=f"Cut {len(ids)} node"
                                                    + ("s" if len(ids) != 1 else "")))

    def paste(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None or not mime.hasFormat(clipboard.MIME_TYPE):
            self.show_status("The clipboard holds no nodes")
            return
        self._paste_count += 1
        offset = 40.0 * self._paste_count
        self._paste_text(bytes(mime.data(clipboard.MIME_TYPE)).decode("utf-8", "replace"),
                         (offset, offset), "Paste")

    def duplicate(self) -> None:
        ids = self.scene.selected_node_ids()
        if ids:
            self._paste_text(clipboard.copy_nodes(self.graph, ids), (40.0, 40.0), "Duplicate")

    def _paste_text(self, text: str, offset: tuple[float, float], verb: str) -> None:
        built = []

        def paste():  # built inside push: whatever the pasted text makes go wrong is refused
            built.append(clipboard.paste_command(self.graph, text, offset=offset, verb=verb))
            return built[0]

        if self.document.push(paste, refused="Cannot paste"):
            self.scene.select_nodes(clipboard.pasted_node_ids(built[0]))

    def select_all(self) -> None:
        for item in self.scene.node_items.values():
            item.setSelected(True)

    def rename_selected(self) -> None:
        ids = self.scene.selected_node_ids()
        if len(ids) == 1:
            self.scene.start_rename(ids[0])

    def auto_layout(self) -> None:
        if not self.graph.nodes:
            return
        positions = layered_positions(self.graph)
        moves = {i: p for i, p in positions.items() if tuple(self.graph.nodes[i].position or ()) != p}
        if moves:
            self.document.push(commands.layout_command(self.graph, moves))
        self.view.frame_all()

    # --------------------------------------------------------------------- editing lock
    def set_editing_locked(self, locked: bool) -> None:
        """Lock (or unlock) every way of editing the graph, e.g. while training runs."""
        self.document.set_locked(locked)

    def _lock_changed(self, locked: bool) -> None:
        for action in self.actions.editing():
            action.setEnabled(not locked)
        if not locked:
            self.actions.undo.setEnabled(self.undo_stack.canUndo())
            self.actions.redo.setEnabled(self.undo_stack.canRedo())
        self.palette.setEnabled(not locked)
        self.inspector.set_read_only(locked)

    @property
    def editing_locked(self) -> bool:
        return self.document.locked

    # ------------------------------------------------------------------------------ files
    def maybe_save_changes(self) -> bool:
        """Ask Save / Discard / Cancel when there are unsaved changes. True: go ahead."""
        if not self.is_modified:
            return True
        name = self.path.name if self.path else "Untitled"
        answer = QMessageBox.question(
            self, APP_NAME, f"Save the changes to {name} before closing it?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)
        if answer == QMessageBox.Save:
            return self.save()
        return answer == QMessageBox.Discard

    def new_file(self) -> bool:
        if not self.maybe_save_changes():
            return False
        self.document.new()
        return True

    def open_file(self, path: str | Path | None = None) -> bool:
        if not self.maybe_save_changes():
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Open project", self.settings.last_directory(),
                                                  OPEN_FILTER + ";;All files (*)")
            if not path:
                return False
        path = Path(path)
        if is_onnx_path(path):
            return self._open_onnx(path)
        if not self._read(load, path, "open"):
            return False
        self.settings.add_recent_file(path)
        if not is_bundled_example(path):  # dialogs should start in the person's folders
            self.settings.set_last_directory(str(path.parent))
        if is_bundled_example(path):  # its description and a next step, in the side panel
            self.inspector_dock.raise_()
        self.show_status(f"Opened {path.name}")
        return True

    def import_onnx_file(self, path: str | Path | None = None) -> bool:
        """File > Import ONNX: choose a model, which opens as a new, untitled graph."""
        if not self.maybe_save_changes():
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Import ONNX model",
                                                  self.settings.last_directory(),
                                                  ONNX_FILTER + ";;All files (*)")
            if not path:
                return False
        return self._open_onnx(Path(path))

    def _read(self, reader, path: Path, verb: str, keep_path: bool = True) -> bool:
        """Open ``path`` in the document with ``reader``, or say in a dialog why it failed
        (a file that has gone also leaves the recent files) and keep the open project."""
        try:
            self.document.open(path, reader, keep_path=keep_path)
        except (BPStudioError, ValueError, OSError) as exc:
            QMessageBox.critical(self, "Cannot open file", f"Cannot {verb} {path.name}:\n\n{exc}")
            if not path.exists():
                self.settings.remove_recent_file(path)
            return False
        return True

    def _open_onnx(self, path: Path) -> bool:
        """An imported model opens untitled: Save then asks for a project (.bpg) name, so the
        model file is never overwritten by a project."""
        if not self._read(import_onnx, path, "import", keep_path=False):
            return False
        self.settings.add_recent_file(path)
        self.settings.set_last_directory(str(path.parent))
        self.show_status(f"Imported {path.name}: add a loss in the Training dock to train it, "
                         "and save it as a project to keep it")
        return True

    def save(self) -> bool:
        if self.path is None or is_bundled_example(self.path):
            return self.save_as()
        return self._save_to(self.path)

    def save_as(self, path: str | Path | None = None) -> bool:
        if path is None:
            folder = Path(self.settings.last_directory())
            if self.path is None:
                start = str(folder / "untitled.bpg")
            else:  # an example is saved as a copy in the person's own folder
                start = str(folder / self.path.name if is_bundled_example(self.path) else self.path)
            path, _ = QFileDialog.getSaveFileName(self, "Save project", start, FILE_FILTER)
            if not path:
                return False
            if not path.endswith(".bpg"):
                path += ".bpg"
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        try:
            self.document.save(path)
        except (BPStudioError, ValueError, OSError) as exc:
            QMessageBox.critical(self, "Cannot save file", f"Cannot save {path.name}:\n\n{exc}")
            return False
        self.recovery.remove()  # the person's own file now holds this work
        self.settings.add_recent_file(path)
        self.settings.set_last_directory(str(path.parent))
        self._update_title()
        self.show_status(f"Saved {path.name}")
        return True

    def _fill_examples_menu(self) -> None:
        self.examples_menu.clear()
        self.examples_menu.setEnabled(self._add_example_actions(self.examples_menu))

    def _add_example_actions(self, menu) -> bool:
        """One entry per bundled example, in the lessons' order; False when there is none."""
        files = example_files()
        for path in files:
            action = menu.addAction(example_title(path))
            action.setData(str(path))
            action.triggered.connect(lambda _=False, p=path: self.open_file(p))
        return bool(files)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.settings.recent_files()
        for k, (name, label) in enumerate(zip(files, recent_labels(files)), 1):
            action = self.recent_menu.addAction(f"&{k} {label}")
            action.setToolTip(name)
            action.triggered.connect(lambda _=False, p=name: self.open_file(p))
        if files:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear List", self.settings.clear_recent_files)
        self.recent_menu.setEnabled(bool(files))

    # ---------------------------------------------------------------------------- exports
    def _export_path(self, title: str, suffix: str, file_filter: str) -> Path | None:
        stem = self.path.stem if self.path else "graph"
        folder = self.settings.last_directory() or str(Path.cwd())
        path, _ = QFileDialog.getSaveFileName(self, title, str(Path(folder) / f"{stem}{suffix}"),
                                              file_filter)
        if not path:
            return None
        return Path(path if path.endswith(suffix) else path + suffix)

    def open_export_dialog(self, fmt: ExportFormat | str) -> ExportDialog:
        """File > Export > ONNX…, NumPy Code…, PyTorch Module…: the dialog (window-modal, so
        that the project cannot change under it) on the graph up to the selected node."""
        fmt = FORMATS[fmt] if isinstance(fmt, str) else fmt
        if self.export_dialog is not None:
            self.export_dialog.close()
        stem = self.path.stem if self.path else "graph"
        folder = Path(self.settings.last_directory() or Path.cwd())
        dialog = ExportDialog(fmt, self.document.project, self._export_output(),
                              folder / f"{stem}{fmt.suffix}", self)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.exported.connect(self._exported)
        dialog.destroyed.connect(lambda: setattr(self, "export_dialog", None))
        self.export_dialog = dialog
        dialog.open()
        return dialog

    def _exported(self, path: str, message: str) -> None:
        self.settings.set_last_directory(str(Path(path).parent))
        self.show_status(message)

    def export_onnx(self, path: str | Path, bare: bool = False) -> bool:
        """Write the ONNX model to ``path`` without asking (scripts and tests): taking raw
        rows once the project has training data, unless ``bare``."""
        return self._export_to(ONNX, Path(path), bare)

    def export_numpy(self, path: str | Path, bare: bool = False) -> bool:
        return self._export_to(NUMPY, Path(path), bare)

    def export_torch(self, path: str | Path, bare: bool = False) -> bool:
        return self._export_to(TORCH, Path(path), bare)

    def _export_to(self, fmt: ExportFormat, path: Path, bare: bool) -> bool:
        try:
            interface = write_export(fmt, self.document.project, path, self._export_output(),
                                     bare)
        except (BPStudioError, ValueError, OSError, ImportError) as exc:
            QMessageBox.critical(self, "Cannot export", f"Cannot export {path.name}:\n\n{exc}\n\n"
                                 "To export up to a given node, select it and export again.")
            return False
        kind = "the bare graph" if interface is None else "taking raw rows"
        self.show_status(f"Exported {path.name} ({kind})")
        return True

    def _export_output(self) -> str | None:
        """The node to export: the selected one when exactly one is selected, else the graph's
        own output (what its loss compares, or its only sink)."""
        ids = self.scene.selected_node_ids()
        return ids[0] if len(ids) == 1 else None

    def open_rows_dialog(self) -> RowsDialog:
        """Run > Choose Rows…: which rows of the training data the passes run on."""
        if self.rows_dialog is None:
            self.rows_dialog = RowsDialog(self.run_rows, self)
        self.rows_dialog.show()
        self.rows_dialog.raise_()
        self.rows_dialog.activateWindow()
        return self.rows_dialog

    def export_image(self, path: str | Path | None = None, fmt: str = "png") -> bool:
        """Save the nodes and wires (not the grid) as PNG or SVG."""
        if path is None:
            path = self._export_path(f"Export canvas as {fmt.upper()}", f".{fmt}",
                                     f"{fmt.upper()} images (*.{fmt})")
            if path is None:
                return False
        path = Path(path)
        ok = write_picture(self.scene, path, fmt, self.document.name)
        if ok is None:
            self.show_status("The canvas is empty: nothing to export")
            return False
        if not ok:
            QMessageBox.critical(self, "Cannot export", f"Cannot write {path}")
            return False
        self.show_status(f"Exported {path.name}")
        return True

    # --------------------------------------------------------------------- gradient check
    def open_gradient_check(self) -> GradientCheckDialog:
        """Show the gradient check (made on first use) and start checking."""
        dialog = self.gradient_check
        if dialog is None:
            dialog = self.gradient_check = GradientCheckDialog(self.document, self.scene, self,
                                                               rows=self.run_rows)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        dialog.start_check()
        return dialog

    # ------------------------------------------------------------------ windows of lessons
    def open_comparison(self) -> ComparisonWindow:
        """Run > Compare Runs: open (or raise) the comparison; a lesson's preset starts at once."""
        if self.comparison_window is None:
            self.comparison_window = ComparisonWindow(self.document,
                                                      self.training_panel.run_settings, self)
        dialog = self.comparison_window
        start = dialog.prepare()
        dialog.show()
        dialog.raise_()
        if start and not dialog.running:
            dialog.run_both()
        return dialog

    def open_tour(self) -> TourDialog:
        """Help > Guided Tour: its first page, beside the nodes it talks about."""
        if self.tour_dialog is None:
            self.tour_dialog = TourDialog(self.open_file, self.actions, self._select_by_name,
                                          self._nodes_on_screen, self)
        dialog = self.tour_dialog
        if dialog.go(0):
            dialog.show()
            dialog.raise_()
            dialog.stand_aside()
        return dialog

    def _select_by_name(self, name: str) -> None:
        node = self.graph.find(name)
        if node is not None:
            self.scene.select_nodes([node.id])

    def _nodes_on_screen(self) -> QRect:
        """Where the graph's nodes are on the screen (global coordinates), clipped to the view."""
        rect = self.view.mapFromScene(self.scene.nodes_rect()).boundingRect()
        rect = rect.intersected(self.view.viewport().rect())
        return QRect(self.view.viewport().mapToGlobal(rect.topLeft()), rect.size())

    # ------------------------------------------------------------------------ lifecycle
    def closeEvent(self, event: QCloseEvent) -> None:
        if self.gradient_check is not None:
            self.gradient_check.stop()
        self.training_panel.shutdown()  # the run's weights become an edit the prompt can save
        if not self.maybe_save_changes():
            event.ignore()
            return
        self.settings.save_window(self.saveGeometry(), self.saveState())
        self.settings.set_training_settings(self.training_panel.remembered_settings())
        self.autosave_timer.stop()
        self.recovery.remove()  # a clean exit: nothing to recover
        self._blas_hold.release()
        event.accept()

    def _welcome_page(self) -> WelcomePage | None:
        """The examples and recent files, while the graph is empty and untitled."""
        if self.path is not None or self.graph is None or self.graph.nodes:
            return None
        return WelcomePage(self.settings.recent_files(), self.open_file)

    # ------------------------------------------------------------------------- recovery
    def autosave(self) -> bool:
        """Write a modified document to this window's recovery file (the timer calls this)."""
        if not self.is_modified:
            self.recovery.remove()  # e.g. undone back to the saved state
            return False
        try:
            self.recovery.write(self.document.project, self.path)
        except (BPStudioError, ValueError, OSError) as exc:
            self.show_status(f"Cannot autosave: {exc}")
            return False
        return True

    def offer_recovery(self) -> bool:
        """At start: offer the work a crashed window left in the recovery folder."""
        left = left_behind(self.recovery.folder)
        if not left:
            return False
        newest = left[0]
        name = newest.original.name if newest.original is not None else "an untitled graph"
        answer = QMessageBox.question(
            self, APP_NAME, f"Backprop Studio did not close properly last time. Restore the "
            f"unsaved changes to {name}?", QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes)
        restored = False
        if answer == QMessageBox.Yes:
            try:
                project = newest.load()  # (one that cannot be read is kept aside)
            except (BPStudioError, ValueError, OSError) as exc:
                QMessageBox.critical(self, "Cannot restore", f"Cannot restore {name}:\n\n{exc}")
            else:
                # unsaved until the person saves it
                self.document.replace(project, newest.original, modified=True)
                restored = True
        kept = newest.discard()  # offered once; any older ones are offered at the next starts
        if kept is not None and answer != QMessageBox.Yes:
            QMessageBox.critical(self, "Recovery file kept", f"The recovery file of {name} "
                                 f"cannot be read, so it was not deleted: it is kept at {kept}")
        for item in left[1:]:
            item.lock.unlock()
        return restored
