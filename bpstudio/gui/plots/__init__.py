"""Live training plots (pyqtgraph): loss and accuracy, per-parameter gradient norms and update
ratios, the latest norms as bars, and the model's prediction over its data. The training dock
embeds :class:`TrainingPlots` and feeds it history trees and prediction fields."""

from .gradients import GradientBarPlot, GradientNormPlot, LayerHealthPlot, UpdateRatioPlot
from .loss import AccuracyPlot, LossPlot
from .prediction import PredictionPlot
from .training_plots import GRADIENTS_TAB, LOSS_TAB, PREDICTION_TAB, TrainingPlots

__all__ = ["AccuracyPlot", "GRADIENTS_TAB", "GradientBarPlot", "GradientNormPlot", "LOSS_TAB",
           "LayerHealthPlot", "LossPlot", "PREDICTION_TAB", "PredictionPlot", "TrainingPlots", "UpdateRatioPlot"]
