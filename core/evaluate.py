"""Test-set evaluation: the numbers, tables and arrays the dashboard and CLI show."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score, roc_curve


@dataclass
class Evaluation:
    test_loss: float
    test_accuracy: float
    probabilities: np.ndarray  # (n, k), one column per class
    y_pred: np.ndarray
    report: list[dict]  # per class, then "macro avg" and "weighted avg"
    confusion_matrix: np.ndarray  # (k, k) counts, rows = true class
    misclassified: np.ndarray  # indices into the test set
    roc: dict | None  # binary only: fpr, tpr, auc

    @property
    def macro_f1(self) -> float:
        return self._average("macro avg")["f1"]

    @property
    def weighted_f1(self) -> float:
        return self._average("weighted avg")["f1"]

    def _average(self, name: str) -> dict:
        return next(row for row in self.report if row["class"] == name)


def class_probabilities(model, x: np.ndarray, num_classes: int) -> np.ndarray:
    """Model output as one probability column per class (a sigmoid unit becomes two)."""
    output = np.asarray(model.predict(x, verbose=0, batch_size=1024), dtype=np.float64)
    if num_classes == 2:
        positive = output.reshape(-1)
        return np.column_stack([1.0 - positive, positive])
    return output


def classification_report_rows(y_true: np.ndarray, y_pred: np.ndarray, class_names) -> list[dict]:
    """Precision, recall, F1 and support for every class, even one never predicted."""
    labels = np.arange(len(class_names))
    rows = []
    per_class = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    for index, name in enumerate(class_names):
        rows.append(_row(str(name), *(values[index] for values in per_class)))
    for average in ("macro", "weighted"):
        precision, recall, f1, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=average, zero_division=0
        )
        rows.append(_row(f"{average} avg", precision, recall, f1, len(y_true)))
    return rows


def _row(name: str, precision, recall, f1, support) -> dict:
    return {"class": name, "precision": float(precision), "recall": float(recall), "f1": float(f1), "support": int(support)}


def evaluate_model(model, x_test: np.ndarray, y_test: np.ndarray, class_names) -> Evaluation:
    """Loss and accuracy from Keras, the rest from the predicted probabilities."""
    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0, batch_size=1024)
    probabilities = class_probabilities(model, x_test, len(class_names))
    y_pred = probabilities.argmax(axis=1)
    labels = np.arange(len(class_names))
    return Evaluation(
        test_loss=float(test_loss),
        test_accuracy=float(test_accuracy),
        probabilities=probabilities,
        y_pred=y_pred,
        report=classification_report_rows(y_test, y_pred, class_names),
        confusion_matrix=confusion_matrix(y_test, y_pred, labels=labels),
        misclassified=np.flatnonzero(y_pred != y_test),
        roc=_binary_roc(y_test, probabilities) if len(class_names) == 2 else None,
    )


def _binary_roc(y_true: np.ndarray, probabilities: np.ndarray) -> dict | None:
    if len(np.unique(y_true)) < 2:
        return None
    fpr, tpr, _ = roc_curve(y_true, probabilities[:, 1])
    return {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "auc": float(roc_auc_score(y_true, probabilities[:, 1]))}
