"""Data sets: toy 2-D tasks with known densities, image loaders and imbalance makers."""

from ._toy import ToyTask, make_toy_2d

__all__ = ["ToyTask", "make_toy_2d"]
