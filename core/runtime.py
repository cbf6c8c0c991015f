"""TensorFlow's process-wide set-up: a quiet first import and the thread count.

Both must happen before TensorFlow runs its first op, and both hold for the whole process.
"""
from __future__ import annotations

import contextlib
import os
import sys

SINGLE_THREAD_FLOPS = 1e8  # below this per step, thread hand-offs cost more than they save


@contextlib.contextmanager
def _stderr_to_devnull():
    """TensorFlow's C++ start-up logs (oneDNN, CUDA) ignore TF_CPP_MIN_LOG_LEVEL: hide fd 2 meanwhile."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow without its banner; Python errors still surface once stderr is back."""
    if "tensorflow" in sys.modules or "keras" in sys.modules:  # keras imports TensorFlow first
        return
    with _stderr_to_devnull():
        import tensorflow as tf

        tf.config.list_physical_devices()  # device discovery logs "no CUDA" errors on CPU machines


def configure_threads(step_flops: float) -> None:
    """One TensorFlow thread for small steps; must run before TensorFlow's first op.

    A process that already ran TensorFlow keeps its setting (the call is then a no-op).
    """
    import_tensorflow_quietly()
    import tensorflow as tf

    if step_flops >= SINGLE_THREAD_FLOPS:
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass
