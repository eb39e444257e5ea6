"""Data sets: toy 2-D tasks with known densities, image loaders and imbalance makers."""

from ._cifar import CIFAR10_CLASSES, CIFAR10_MD5, CIFAR10_URL, UnsafePickleError, load_cifar10
from ._image_folder import IMG_EXTENSIONS, DatasetFileError, load_image_folder
from ._imbalance import long_tailed_counts, make_imbalance, make_long_tailed
from ._pool import downsample_images
from ._toy import ToyTask, make_toy_2d

__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR10_MD5",
    "CIFAR10_URL",
    "DatasetFileError",
    "IMG_EXTENSIONS",
    "ToyTask",
    "UnsafePickleError",
    "downsample_images",
    "load_cifar10",
    "load_image_folder",
    "long_tailed_counts",
    "make_imbalance",
    "make_long_tailed",
    "make_toy_2d",
]
