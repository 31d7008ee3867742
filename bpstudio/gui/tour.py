"""Help > Guided Tour: three lessons on the bundled examples, a page each. A page opens its
lesson, says what to look at, and its "Show Me" button does the step (so the tour works the
same whether the learner presses the app's own controls or lets the tour press them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from bpstudio.core.examples import example_folder

from .actions import Actions


@dataclass(frozen=True)
class Lesson:
    example: str                               # the bundled example the page opens
    title: str
    text: str                                  # what to look at (HTML)
    show: Callable[["TourDialog"], None]       # what "Show Me" does


def _backward_and_select(node: str) -> Callable[["TourDialog"], None]:
    def show(tour: "TourDialog") -> None:
        tour.actions.backward.trigger()
        tour.actions.wire_gradients.setChecked(True)
        tour.select_node(node)
    return show


def _compare(tour: "TourDialog") -> None:
    tour.actions.compare_runs.trigger()


GAP = 12  # between the dialog and the nodes it stands beside


LESSONS = (
    Lesson("single_neuron", "1 · One neuron",
           "The input x = 2 goes through z = w·x + b, a ReLU and a squared error against "
           "y = 1. <b>Backward</b> (F6) starts with a gradient of 1 at the loss; each node "
           "multiplies what reaches it by its own local derivative and hands the product on. "
           "Read <i>∇</i> on each card: 0.2 at a, then 0.4 at w (0.2 times x = 2) and 0.2 at "
           "b.", _backward_and_select("w")),
    Lesson("fan_out", "2 · A value used twice",
           "Here d = w·x − y feeds both inputs of one multiply. On the way back each wire "
           "brings d its own part of the gradient, and d adds them: 2 + 2 = 4, which is "
           "exactly the slope of d² at d = 2. The wires' colours show what each one carries.",
           _backward_and_select("d")),
    Lesson("deep_sigmoid", "3 · Vanishing gradients",
           "Ten sigmoid layers. A sigmoid's slope is at most ¼, and the backward pass picks up "
           "one such factor per layer, so the first layers hear almost nothing. <b>Show Me</b> "
           "trains this stack beside the same stack made of ReLU units with He "
           "initialisation and overlays their gradients, layer by layer.", _compare),
)


class TourDialog(QDialog):
    """The tour's pages, with Back, Show Me and Next. It is given what it uses: a way to open
    a lesson's file, the window's actions (Backward, Colour Wires, Compare Runs), a way to
    select a node by name, and where the nodes are on screen (so it can stand beside them)."""

    def __init__(self, open_file: Callable[[Path], bool], actions: Actions,
                 select_node: Callable[[str], None], nodes_on_screen: Callable[[], QRect],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.open_file, self.actions = open_file, actions
        self.select_node, self.nodes_on_screen = select_node, nodes_on_screen
        self.setWindowTitle("Guided Tour")
        self.setModal(False)
        self.resize(460, 240)
        self.index = -1
        layout = QVBoxLayout(self)
        self.title_label = QLabel()
        self.title_label.setObjectName("tour_title")
        self.text_label = QLabel()
        self.text_label.setObjectName("tour_text")
        self.text_label.setWordWrap(True)
        self.text_label.setTextFormat(Qt.RichText)
        layout.addWidget(self.title_label)
        layout.addWidget(self.text_label, 1)
        buttons = QHBoxLayout()
        self.back_button = QPushButton("Back")
        self.show_button = QPushButton("Show Me")
        self.next_button = QPushButton("Next")
        self.back_button.clicked.connect(lambda: self.go(self.index - 1))
        self.show_button.clicked.connect(self.show_me)
        self.next_button.clicked.connect(self.next_or_close)
        for button in (self.back_button, self.show_button, self.next_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)

    def go(self, index: int) -> bool:
        """Open lesson ``index`` (asking first about unsaved changes, as opening any file does)."""
        index = max(0, min(index, len(LESSONS) - 1))
        lesson = LESSONS[index]
        if not self.open_file(example_folder() / f"{lesson.example}.bpg"):
            return False
        self.index = index
        self.title_label.setText(f"<b>{lesson.title}</b>")
        self.text_label.setText(lesson.text)
        self.back_button.setEnabled(index > 0)
        self.next_button.setText("Next" if index < len(LESSONS) - 1 else "Close")
        if self.isVisible():
            self.stand_aside()
        return True

    def show_me(self) -> None:
        LESSONS[self.index].show(self)

    def stand_aside(self) -> None:
        """Move beside the nodes rather than over them: to the first side of their rectangle
        (right, left, below, above) with room on the screen, else to the screen's corner
        farthest from them."""
        nodes = self.nodes_on_screen()
        screen = (self.screen() or self.parentWidget().screen()).availableGeometry()
        size = self.frameGeometry().size()
        middle_y = nodes.center().y() - size.height() // 2
        middle_x = nodes.center().x() - size.width() // 2
        for corner in (QPoint(nodes.right() + GAP, middle_y),
                       QPoint(nodes.left() - GAP - size.width(), middle_y),
                       QPoint(middle_x, nodes.bottom() + GAP),
                       QPoint(middle_x, nodes.top() - GAP - size.height())):
            spot = QRect(corner, size)
            spot.moveTop(max(screen.top(), min(spot.top(), screen.bottom() - size.height())))
            spot.moveLeft(max(screen.left(), min(spot.left(), screen.right() - size.width())))
            if not spot.intersects(nodes):
                self.move(spot.topLeft())
                return
        far_x = screen.left() if nodes.center().x() > screen.center().x() \
            else screen.right() - size.width()
        far_y = screen.top() if nodes.center().y() > screen.center().y() \
            else screen.bottom() - size.height()
        self.move(far_x, far_y)

    def next_or_close(self) -> None:
        if self.index < len(LESSONS) - 1:
            self.go(self.index + 1)
        else:
            self.close()
