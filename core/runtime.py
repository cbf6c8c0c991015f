"""TensorFlow's process-wide state: a quiet first import, the thread and graph-optimizer
settings (both before its first op, for the whole process), and the custom-gradient
registry that each run must leave as it found it.
"""
from __future__ import annotations

import sys

from core.bundle_predict import import_tensorflow_quietly

SMALL_STEP_FLOPS = 1e8  # a training step below this many multiply-adds counts as small


def configure_tensorflow(step_flops: float) -> None:
    """Small steps: one thread and no graph optimizer; must run before TensorFlow's first op.

    For these tiny layers thread hand-offs cost more than they save, and Grappler's passes
    add about 0.3 s to the first epoch while making later ones no faster (benchmarks/run.py).
    Large steps keep TensorFlow's defaults. A process that already ran TensorFlow keeps its
    settings (the call is then a no-op).
    """
    import_tensorflow_quietly()
    import tensorflow as tf

    if step_flops >= SMALL_STEP_FLOPS:
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        return
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})


CUSTOM_GRADIENT_PREFIX = "CustomGradient-"


def custom_gradient_names() -> frozenset[str]:
    """The custom gradients TensorFlow has registered so far (none before it is imported)."""
    if "tensorflow" not in sys.modules:
        return frozenset()
    from tensorflow.python.framework import ops

    return frozenset(name for name in ops._gradient_registry.list() if name.startswith(CUSTOM_GRADIENT_PREFIX))


def forget_custom_gradients(keep: frozenset[str]) -> None:
    """Drop the custom gradients registered since `keep` was read.

    Keras' optimizer registers one per traced training step in a global TensorFlow registry
    that nothing empties (tensorflow/tensorflow#80895); each pins its run's whole graph,
    about 16 MB a run, after the model is gone. A TensorFlow without that registry is left be.
    """
    if "tensorflow" not in sys.modules:
        return
    from tensorflow.python.framework import ops

    registry = getattr(ops._gradient_registry, "_registry", None)
    if isinstance(registry, dict):
        for name in custom_gradient_names() - keep:
            registry.pop(name, None)
