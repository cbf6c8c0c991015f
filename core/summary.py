"""Plain-language sentences about a run, for people who do not program."""
from __future__ import annotations

from core.config import RunConfig
from core.data import DATASET_LABELS

SPLIT_NOTE = "split 70/15/15"  # synthetic and digits: train / validation / test


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


def data_line(config: RunConfig) -> str:
    """The data settings that matter for this dataset, in one line."""
    data = config.data
    if data.dataset == "synthetic":
        return (f"{data.n_samples:,} samples, {data.n_features} features ({data.n_informative} useful), "
                f"class separation {data.class_sep:g}, label noise {data.flip_y:.0%}, data seed {data.seed}, {SPLIT_NOTE}")
    if data.dataset == "digits":
        return f"data seed {data.seed}, {SPLIT_NOTE}"
    images = f"{data.train_size:,}" if data.train_size else "all"
    return f"{images} training images, {data.validation_fraction:.0%} of them for validation, data seed {data.seed}"


def settings_line(config: RunConfig) -> str:
    """What a run trains, in one line: data, model and training settings."""
    model, training = config.model, config.training
    stopping = f"early stopping after {training.patience}" if training.early_stopping else "no early stopping"
    return (f"{DATASET_LABELS[config.data.dataset]}: {data_line(config)} · layers {'-'.join(map(str, model.hidden_units))}, "
            f"{model.activation}, dropout {model.dropout:g} · {training.optimizer}, learning rate "
            f"{training.learning_rate:g}, batch {training.batch_size} · up to {training.epochs} epochs, {stopping}, "
            f"seed {training.seed}")


def duration_words(seconds: float) -> str:
    """e.g. '40 s', '12 min', '2 h 53 min'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes} min"
