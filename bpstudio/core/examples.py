"""The example projects shipped in ``resources/examples/``, built with the scripting API.

Each builder returns a laid-out :class:`Project` with a one-paragraph description and a sample
to run it on by hand (the lessons' own numbers; a small random batch for the larger networks).
Inputs are named ``x`` and targets ``y`` so that a trainer can bind them to a data set's columns. ``resources/examples/generate.py`` writes them to disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from .graph import Graph, Node
from .layout import apply_layout
from .project import Project
from .resources import resources_dir
from .sample import default_sample

DEEP_LAYERS = 10
DEEP_WIDTH = 16


def single_neuron() -> Project:
    g = Graph(seed=0)
    x = g.input("x")
    w = g.parameter("w", value=0.5)
    b = g.parameter("b", value=0.1)
    wx = g.mul(w, x, name="wx")
    z = g.add(wx, b, name="z")
    a = g.relu(z, name="a")
    g.mse(a, g.input("y"), name="loss")
    return _project("single_neuron", g, sample={"x": [2.0], "y": [1.0]}, description=(
        "One neuron, the smallest network there is. The input x is scaled by the weight w and "
        "shifted by the bias b (z = w*x + b), passed through a ReLU (a = relu(z)) and compared "
        "with the target y by a squared error, loss = (a - y)^2 averaged over the batch. Run it "
        "forward with x = 2 and y = 1, then backward: the gradient starts as 1 at the loss, and "
        "every node multiplies what arrives by its own local derivative before passing it on, so "
        "you can follow the chain rule from the loss back to w and b one product at a time."))


def fan_out() -> Project:
    g = Graph(seed=0)
    x = g.input("x")
    w = g.parameter("w", value=1.5)
    d = g.sub(g.mul(w, x, name="wx"), g.input("y"), name="d")
    squared = g.mul(d, d, name="d_times_d")
    g.mean(squared, name="loss")
    return _project("fan_out", g, sample={"x": [2.0], "y": [1.0]}, description=(
        "A value used twice. The difference d = w*x - y feeds both inputs of one multiply, so "
        "loss = mean(d*d). Run it with x = 2 and y = 1: d = 1.5*2 - 1 = 2 and the loss is 4. "
        "On the way back d receives two gradients, one through each wire (2 each), "
        "and its own gradient is their sum: 2*d times the gradient of the product, exactly the "
        "derivative of d squared. Step through the backward pass to see the two contributions "
        "arrive separately and add up where the value fanned out."))


def xor() -> Project:
    g = Graph(seed=0)
    x = g.input("x", (2,))
    hidden = g.dense(x, 2, 4, "hidden", activation="tanh")
    p = g.apply("sigmoid", g.dense(hidden, 4, 1, "out"), name="p")
    g.bce(p, g.input("y", (1,)), name="loss")
    corners = {"x": [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]],
               "y": [[0.0], [1.0], [1.0], [0.0]]}
    return _project("xor", g, sample=corners, training={"data": {"source": "xor"}},
                    description=(
        "The XOR problem with a 2-4-1 network. No single straight line separates the points "
        "(0,0) and (1,1), labelled 0, from (0,1) and (1,0), labelled 1, so a network without a "
        "hidden layer cannot learn it. Four tanh units bend the input space until one sigmoid "
        "output can split it; the loss is binary cross-entropy between the probability p and "
        "the label y. Feed x with the four corners and watch the hidden layer's gradients."))


def two_moons() -> Project:
    g = Graph(seed=0)
    x = g.input("x", (2,))
    h1 = g.dense(x, 2, 16, "h1", activation="relu", init="he_normal")
    h2 = g.dense(h1, 16, 16, "h2", activation="relu", init="he_normal")
    logits = g.dense(h2, 16, 1, "logits")
    g.bce_logits(logits, g.input("y", (1,)), name="loss")
    return _project("two_moons", g, (
        "A classifier for the two-moons data set: two interleaved half circles of points in the "
        "plane, one class each, that no straight line separates. Two hidden layers of 16 ReLU "
        "units with He initialisation map the point x to one score; the loss is binary "
        "cross-entropy on that raw score (sigmoid(logits) is the probability of class 1), "
        "computed stably from the logits. Train it and watch the decision boundary curl "
        "around the moons as the loss falls."))


def _deep_stack(stem: str, activation: str, init: str, description: str,
                scale: float = 0.1) -> Project:
    g = Graph(seed=0)
    h: Node = g.input("x", (2,))
    fan_in = 2
    for layer in range(1, DEEP_LAYERS + 1):
        h = g.dense(h, fan_in, DEEP_WIDTH, f"layer{layer}", activation=activation, init=init,
                    scale=scale)
        fan_in = DEEP_WIDTH
    logits = g.dense(h, fan_in, 1, "logits", init=init, scale=scale)
    g.bce_logits(logits, g.input("y", (1,)), name="loss")
    return _project(stem, g, description)


def deep_sigmoid() -> Project:
    return _deep_stack("deep_sigmoid", "sigmoid", "xavier_uniform", (
        f"Vanishing gradients: a stack of {DEEP_LAYERS} layers of {DEEP_WIDTH} sigmoid units. "
        "The slope of a sigmoid is at most 1/4, and the backward pass multiplies one such slope "
        "per layer, so the gradient reaching the first layers is many times smaller than the "
        "one at the top: the early layers barely learn. Compare the per-layer gradient "
        "magnitudes with the same stack built from ReLU units and He initialisation "
        "(deep_relu_he.bpg)."))


def deep_relu_he() -> Project:
    return _deep_stack("deep_relu_he", "relu", "he_normal", (
        f"The same {DEEP_LAYERS}-layer stack of {DEEP_WIDTH} units as deep_sigmoid.bpg, built "
        "from ReLU units with He initialisation. A ReLU's slope is exactly 1 wherever it is "
        "active, and He initialisation scales the weights so that the size of the signal "
        "stays about the same from layer to layer, so the gradient keeps its size all the way "
        "back to the first layer. Compare its per-layer gradient magnitudes with the sigmoid "
        "stack's."))


EXPLODING_SCALE = 1.5


def deep_exploding() -> Project:
    return _deep_stack("deep_exploding", "tanh", "normal", (
        f"Exploding gradients: the same {DEEP_LAYERS}-layer stack of {DEEP_WIDTH} units, tanh "
        f"this time, with every weight drawn from a normal distribution of standard deviation "
        f"{EXPLODING_SCALE}: for {DEEP_WIDTH} inputs per unit that is about six times what "
        "Xavier initialisation would pick. On the way back each layer multiplies the gradient by "
        "its weight matrix, and these matrices stretch it, so the gradient grows layer by layer "
        "and the first layers receive one a hundred times larger than the last: the mirror "
        "image of deep_sigmoid.bpg, with deep_relu_he.bpg the healthy middle."),
        scale=EXPLODING_SCALE)


def iris_classifier() -> Project:
    g = Graph(seed=0)
    x = g.input("x", (4,))
    hidden = g.dense(x, 4, 16, "hidden", activation="tanh")
    logits = g.dense(hidden, 16, 3, "logits")
    g.softmax_ce(logits, g.input("y"), name="loss")
    # Says which bundled data set it learns from, so that it trains without further settings
    # (bpstudio-cli train iris_classifier.bpg --steps 500); standardised on its training rows.
    training = {"data": {"source": "iris"}, "validation": 0.2, "split_seed": 0,
                "optimizer": "adam", "lr": 0.01, "batch_size": 16, "seed": 0,
                "bindings": {"x": "features", "y": "target"}}
    return _project("iris_classifier", g, (
        "A classifier for Fisher's Iris flowers, trained on the bundled Iris table: four "
        "measurements per flower (sepal and petal length and width, standardised) go through "
        "16 tanh units to three raw scores, one per species. The loss is softmax cross-entropy "
        "against the species label y: the scores become probabilities that sum to one, and the "
        "loss is minus the log of the probability given to the right species. Train it and "
        "watch the validation accuracy reach about 90% within a few hundred steps; the "
        "gradient that reaches the scores is simply the probabilities minus the one-hot "
        "label."), training)


# What to try first, shown under each example's description.
NEXT_STEPS: dict[str, str] = {
    "single_neuron": "Press Backward (F6) and read d loss/d w = 0.4 on w and d loss/d b = 0.2 on "
                     "b. Then set w to -0.5 in the inspector: the ReLU turns off and both "
                     "gradients become 0.",
    "fan_out": "Press Backward (F6): d receives 2 through each of its two wires, and its own "
               "gradient is their sum, 4 = 2 * d. Run > Walk Through steps through it.",
    "xor": "Choose the xor data set in the Training dock and press Train, then look at the "
           "Prediction tab: the boundary bends around the corners.",
    "two_moons": "Press Train in the Training dock (moons data) and watch the boundary curl "
                 "around the moons in the Prediction tab.",
    "deep_sigmoid": "Press Train and open the Gradients tab: the first layers' bars sit far "
                    "below the last ones. Run > Compare Runs sets this stack beside "
                    "deep_relu_he.",
    "deep_relu_he": "Press Train and open the Gradients tab: every layer's bar stays in one "
                    "band, from the input side to the loss.",
    "deep_exploding": "Press Train with the sgd optimiser and open the Gradients tab: the "
                      "bars grow towards the input side, the opposite of deep_sigmoid.",
    "iris_classifier": "Press Train (the Iris data is already chosen) and watch the "
                       "validation accuracy in the Loss tab.",
}


def _project(stem: str, graph: Graph, description: str, training: dict | None = None,
             sample: dict | None = None) -> Project:
    """The example ``stem``: laid out, described (then its next step), with its sample."""
    apply_layout(graph)
    description += f"\n\nNext step: {NEXT_STEPS[stem]}"
    project = Project(graph, description=description, training=dict(training or {}))
    # The larger networks get a small batch drawn to suit their inputs (see default_sample).
    project.sample = default_sample(graph, rows=8) if sample is None else sample
    return project


# File stem -> builder, in the order the app lists them; the first opens by default.
EXAMPLES: dict[str, Callable[[], Project]] = {
    "single_neuron": single_neuron,
    "fan_out": fan_out,
    "xor": xor,
    "two_moons": two_moons,
    "deep_sigmoid": deep_sigmoid,
    "deep_relu_he": deep_relu_he,
    "deep_exploding": deep_exploding,
    "iris_classifier": iris_classifier,
}




def example_folder() -> Path:
    """Where the bundled example files are."""
    return resources_dir() / "examples"


def example_files() -> list[Path]:
    """The bundled example files in the order of :data:`EXAMPLES` (the lessons' order, the
    single neuron first), any other files after them."""
    rank = {stem: k for k, stem in enumerate(EXAMPLES)}
    return sorted(example_folder().glob("*.bpg"), key=lambda p: (rank.get(p.stem, len(rank)),
                                                                 p.stem))
