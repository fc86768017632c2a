"""Data: MNIST-format IDX files and data sets (:mod:`~actlab.data.idx`), their download
(:mod:`~actlab.data.download`) and the Playground 2-D sets (:mod:`~actlab.data.playground`).
"""

from .download import Fetched, download
from .idx import (
    ENV_VAR,
    FILES,
    KNOWN,
    MIRRORS,
    SPLITS,
    Dataset,
    IdxFile,
    batches,
    bundled_dir,
    data_shapes,
    find_data,
    idx_header,
    info,
    load_dataset,
    load_idx,
    load_mnist,
    normalize,
    one_hot,
    pixel_stats,
    read_idx,
    train_val_split,
)
from .playground import PLAYGROUND, playground

__all__ = [
    "ENV_VAR", "FILES", "KNOWN", "MIRRORS", "PLAYGROUND", "SPLITS", "Dataset", "Fetched", "IdxFile", "batches",
    "bundled_dir", "data_shapes", "download", "find_data", "idx_header", "info", "load_dataset", "load_idx",
    "load_mnist", "normalize", "one_hot", "pixel_stats", "playground", "read_idx", "train_val_split",
]
