"""Plain-language sentences about a finished run, for people who do not program."""
from __future__ import annotations


def training_story(metrics: dict, early_stopping: bool, patience: int) -> str:
    """What happened during training and which epoch's weights the model keeps."""
    best, kept, ran = metrics["best_epoch"], metrics.get("kept_epoch", metrics["best_epoch"]), metrics["epochs_run"]
    if metrics.get("stop_requested"):
        return (f"You stopped training after epoch {ran}; the model keeps the weights of epoch {kept}, "
                f"where the validation loss was lowest.")
    if metrics.get("stopped_early"):
        return (f"Validation loss stopped improving after epoch {best}; training stopped at epoch {ran} "
                f"(after {patience} more epochs without improvement) and kept epoch {best}.")
    if not early_stopping:
        return (f"Early stopping was off, so training ran all {ran} epochs and kept the last one "
                f"(validation loss was lowest at epoch {best}).")
    if best == ran:
        return (f"Validation loss was still improving at the last epoch ({ran}), so the model keeps epoch {ran}; "
                f"more epochs might help.")
    return (f"Training ran all {ran} epochs; validation loss was lowest at epoch {best}, "
            f"so the model keeps epoch {kept}.")


def accuracy_story(metrics: dict) -> str:
    """How often the model was right on data it never saw."""
    tested = metrics["sizes"]["test"]
    wrong = metrics.get("n_misclassified", 0)
    return (f"On {tested:,} test samples it never saw during training, the model was right "
            f"{metrics['test_accuracy']:.1%} of the time ({tested - wrong:,} right, {wrong:,} wrong).")
