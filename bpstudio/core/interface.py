"""What a trained model expects and returns outside the app: which input takes the features and
how they are standardised first, what the data's columns and classes are called, and how the
graph's output is read (scores turned into probabilities as the app turns them).

:class:`ModelInterface` is plain data. ``training/`` fills it from a project's data (see
:func:`bpstudio.core.training.interface.model_interface`) and ``files/`` writes it into the
exports (ONNX, NumPy code, PyTorch code), so that neither room needs the other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

CLASSIFICATION = "classification"
REGRESSION = "regression"

# How an export reads the graph's output (its ``readout``): what the app shows for it.
SOFTMAX = "softmax"          # scores, one per class, under softmax_ce: softmax over the last axis
SIGMOID = "sigmoid"          # one score (a logit) under bce_logits: the probability of class 1
AS_IS = "as_is"              # probabilities already (bce, mse on classes) or values (regression)

# The loss a prediction feeds -> how its output becomes what the app shows.
READOUT_BY_LOSS = {"softmax_ce": SOFTMAX, "bce_logits": SIGMOID}


@dataclass(frozen=True, eq=False)
class ModelInterface:
    """The outside of a trained model.

    ``feature_input`` is the name of the input node the features go to; ``mean`` and ``std``
    (one per feature, or None) are the standardisation training applied, which an export puts
    in front of the graph so that the exported model takes raw rows."""

    feature_input: str
    feature_names: tuple[str, ...]
    target_name: str
    task: str                                  # CLASSIFICATION or REGRESSION
    class_names: tuple[str, ...] = ()
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    readout: str = AS_IS                       # SOFTMAX, SIGMOID or AS_IS
    data_name: str = ""

    @property
    def standardised(self) -> bool:
        return self.mean is not None

    def standardise(self, features: Any) -> np.ndarray:
        """Raw rows as training saw them."""
        x = np.asarray(features, dtype=np.float64)
        return x if self.mean is None else (x - self.mean) / self.std

    def read_output(self, output: np.ndarray) -> np.ndarray:
        """The graph's output as the app shows it: probabilities for scores, else as it is."""
        z = np.asarray(output, dtype=np.float64)
        if self.readout == SOFTMAX:
            e = np.exp(z - z.max(axis=-1, keepdims=True))
            return e / e.sum(axis=-1, keepdims=True)
        if self.readout == SIGMOID:
            e = np.exp(-np.abs(z))
            return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return z

    @property
    def output_name(self) -> str:
        """The exported output's name, saying what it holds."""
        if self.task == REGRESSION:
            return "predicted_value"
        return "probability" if self.readout == SIGMOID else "probabilities"

    def output_text(self) -> str:
        """One sentence on what the exported output holds."""
        if self.task == REGRESSION:
            return f"the predicted '{self.target_name}', in its own units"
        if self.readout == SIGMOID or len(self.class_names) == 2 and self.readout == AS_IS:
            positive = self.class_names[1] if len(self.class_names) > 1 else "1"
            return f"the probability of class '{positive}' (of '{self.target_name}')"
        classes = ", ".join(self.class_names)
        return f"one probability per class of '{self.target_name}' ({classes})"

    def input_text(self) -> str:
        names = ", ".join(self.feature_names)
        how = ("raw, in the data's own units (the model standardises them)" if self.standardised
               else "as they are (training used no standardisation)")
        return f"one row per sample of the features {names}: {how}"

    def metadata(self, version: str) -> dict[str, str]:
        """Key -> text, for ONNX ``metadata_props`` (JSON where a value is a list or a table)."""
        stats = None if self.mean is None else {"mean": [float(v) for v in self.mean],
                                                "std": [float(v) for v in self.std]}
        return {"feature_names": json.dumps(list(self.feature_names)),
                "target_name": self.target_name, "class_names": json.dumps(list(self.class_names)),
                "task": self.task, "standardisation": json.dumps(stats),
                "input": self.input_text(), "output": self.output_text(),
                "data": self.data_name, "bpstudio_version": version}


def readout_for(loss_op: str | None, task: str) -> str:
    """How an export reads a prediction fed to ``loss_op`` for ``task``."""
    return READOUT_BY_LOSS.get(loss_op or "", AS_IS) if task == CLASSIFICATION else AS_IS


__all__ = ["AS_IS", "ModelInterface", "SIGMOID", "SOFTMAX", "readout_for"]
