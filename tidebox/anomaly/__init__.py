"""Anomaly scoring: a streaming random cut forest (Kinesis Analytics' RANDOM_CUT_FOREST)."""

from tidebox.anomaly.forest import ForestError, ForestParams, RandomCutForest

__all__ = ["ForestError", "ForestParams", "RandomCutForest"]
