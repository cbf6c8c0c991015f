"""Tests for dashboard/charts.py: the figures carry the right data, labels and edge-case notes."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from dashboard import charts


# --- helpers ----------------------------------------------------------------------------------


def make_history(epochs: int = 17, validation: bool = True, accuracy: bool = True) -> pd.DataFrame:
    """A plausible history.jsonl as a DataFrame: loss falls, accuracy rises."""
    e = np.arange(1, epochs + 1)
    data = {"epoch": e, "loss": 1.0 / e, "seconds": np.full(epochs, 1.5)}
    if accuracy:
        data["accuracy"] = 1 - 0.5 / e
    if validation:
        data["val_loss"] = 1.2 / e + 0.01 * e
        if accuracy:
            data["val_accuracy"] = 1 - 0.6 / e
    return pd.DataFrame(data)


def annotation_texts(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def vline_xs(fig: go.Figure) -> list[float]:
    return [s.x0 for s in fig.layout.shapes if s.type == "line" and s.x0 == s.x1]


def assert_renders(build) -> go.Figure:
    """Build twice (the app shows figures twice): both serialise and are equal but distinct."""
    first, second = build(), build()
    assert first is not second
    text = first.to_json()
    assert json.loads(text)["layout"]["template"]  # template survived serialisation
    assert text == second.to_json()
    return first


def assert_common_style(fig: go.Figure) -> None:
    assert fig.layout.template == pio.templates["plotly_white"]
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.y > 1  # above the plot
    assert fig.layout.margin.t >= 40


# --- palette ----------------------------------------------------------------------------------


def test_palette_constants_are_distinct():
    assert charts.TRAIN_COLOR != charts.VAL_COLOR
    assert len(set(charts.SERIES_COLORS)) == len(charts.SERIES_COLORS) >= 10


# --- 1. history_figure ------------------------------------------------------------------------


def test_history_loss_has_train_and_validation_lines_and_markers():
    history = make_history()
    fig = assert_renders(lambda: charts.history_figure(history, "loss", best_epoch=12, stopped_epoch=17))
    assert [t.name for t in fig.data] == ["training", "validation"]
    train, val = fig.data
    assert train.line.color == charts.TRAIN_COLOR and val.line.color == charts.VAL_COLOR
    assert train.mode == "lines+markers"
    np.testing.assert_allclose(train.x, history["epoch"])
    np.testing.assert_allclose(train.y, history["loss"])
    np.testing.assert_allclose(val.y, history["val_loss"])
    assert fig.layout.xaxis.title.text == "epoch"
    assert fig.layout.yaxis.title.text == "loss"
    assert "Loss" in fig.layout.title.text
    assert_common_style(fig)


def test_history_marks_best_and_stopped_epochs():
    fig = charts.history_figure(make_history(), "loss", best_epoch=12, stopped_epoch=17)
    assert sorted(vline_xs(fig)) == [12, 17]
    texts = annotation_texts(fig)
    assert "best epoch 12 (kept)" in texts
    assert "stopped at 17" in texts
    best_line = next(s for s in fig.layout.shapes if s.x0 == 12)
    assert best_line.line.dash == "dash"


def test_history_stopped_equal_to_best_draws_one_line():
    fig = charts.history_figure(make_history(), "loss", best_epoch=17, stopped_epoch=17)
    assert vline_xs(fig) == [17]
    assert not any("stopped" in t for t in annotation_texts(fig))


def test_history_without_markers_has_no_lines():
    fig = charts.history_figure(make_history(), "loss")
    assert vline_xs(fig) == []
    assert annotation_texts(fig) == []


def test_history_x_range_fixed_to_planned_epochs():
    fig = charts.history_figure(make_history(5), "loss", epochs_planned=30)
    lo, hi = fig.layout.xaxis.range
    assert lo <= 1 < 30 <= hi < 31
    # without a plan the range follows the data (and includes the marked epochs)
    fig = charts.history_figure(make_history(5), "loss", best_epoch=4, stopped_epoch=8)
    lo, hi = fig.layout.xaxis.range
    assert lo <= 1 and 8 <= hi < 9


def test_history_never_hides_epochs_beyond_the_plan_and_takes_records():
    fig = charts.history_figure(make_history(12), "loss", epochs_planned=10)
    assert fig.layout.xaxis.range[1] >= 12
    records = make_history(3).to_dict("records")  # history.jsonl rows as read
    fig = charts.history_figure(records, "loss")
    np.testing.assert_allclose(fig.data[0].y, [1, 1 / 2, 1 / 3])


def test_history_accuracy_axis_is_percent_0_to_1():
    fig = charts.history_figure(make_history(), "accuracy")
    assert [t.name for t in fig.data] == ["training", "validation"]
    np.testing.assert_allclose(fig.data[1].y, make_history()["val_accuracy"])
    lo, hi = fig.layout.yaxis.range
    assert lo == 0 and 1 <= hi <= 1.05
    assert "%" in fig.layout.yaxis.tickformat
    assert "%" in fig.data[0].hovertemplate  # hover shows e.g. 91.2%


def test_history_empty_shows_waiting_note_and_axes():
    for empty in (pd.DataFrame(), None, pd.DataFrame(columns=["epoch", "loss", "val_loss"])):
        fig = assert_renders(lambda: charts.history_figure(empty, "loss", epochs_planned=20))
        assert len(fig.data) == 0
        assert any("waiting for the first epoch" in t for t in annotation_texts(fig))
        assert fig.layout.xaxis.title.text == "epoch"
        assert fig.layout.xaxis.range[1] >= 20


def test_history_single_epoch():
    fig = assert_renders(lambda: charts.history_figure(make_history(1), "accuracy", best_epoch=1))
    assert len(fig.data) == 2 and len(fig.data[0].x) == 1
    lo, hi = fig.layout.xaxis.range
    assert lo < 1 < hi
    assert not any("waiting" in t for t in annotation_texts(fig))


def test_history_nan_loss_is_kept_as_gap_and_serialises():
    history = make_history(6)
    history.loc[2, "loss"] = np.nan
    history.loc[3, "val_loss"] = np.inf
    fig = assert_renders(lambda: charts.history_figure(history, "loss"))
    assert len(fig.data) == 2
    assert np.isnan(fig.data[0].y[2])
    assert fig.data[0].y[3] == pytest.approx(0.25)


def test_history_missing_accuracy_columns():
    history = make_history(accuracy=False)
    fig = assert_renders(lambda: charts.history_figure(history, "accuracy", best_epoch=3))
    assert len(fig.data) == 0
    assert any("no accuracy" in t for t in annotation_texts(fig))
    assert not any("waiting" in t for t in annotation_texts(fig))
    # loss still works on the same history
    assert len(charts.history_figure(history, "loss").data) == 2


def test_history_without_validation_or_epoch_column():
    history = make_history(4, validation=False).drop(columns=["epoch"])
    fig = charts.history_figure(history, "loss")
    assert [t.name for t in fig.data] == ["training"]
    np.testing.assert_allclose(fig.data[0].x, [1, 2, 3, 4])


def test_history_rejects_unknown_metric():
    with pytest.raises(ValueError):
        charts.history_figure(make_history(), "f1")


# --- 2. confusion_matrix_figure ---------------------------------------------------------------


MATRIX = [[50, 2, 0], [3, 40, 7], [0, 0, 0]]  # class "2" never occurs in the test set
NAMES = ("cat", "dog", "bird")


def test_confusion_counts_cells_axes_and_order():
    fig = assert_renders(lambda: charts.confusion_matrix_figure(MATRIX, NAMES))
    (heat,) = fig.data
    assert isinstance(heat, go.Heatmap)
    np.testing.assert_array_equal(np.asarray(heat.z), MATRIX)
    assert list(heat.x) == list(NAMES) and list(heat.y) == list(NAMES)
    assert heat.text[1][2] == "7" and heat.text[0][0] == "50"
    assert fig.layout.xaxis.title.text == "predicted class"
    assert fig.layout.yaxis.title.text == "true class"
    assert fig.layout.yaxis.autorange == "reversed"  # first true class at the top
    assert fig.layout.xaxis.type == "category" and fig.layout.yaxis.type == "category"
    assert heat.colorscale == go.Heatmap(colorscale="Blues").colorscale
    assert_common_style(fig)


def test_confusion_hover_text():
    fig = charts.confusion_matrix_figure(MATRIX, NAMES)
    assert fig.data[0].customdata[1][2] == "true dog, predicted bird: 7 (14.0% of true dog)"
    assert fig.data[0].customdata[2][0] == "true bird, predicted cat: 0 (0.0% of true bird)"
    assert "customdata" in fig.data[0].hovertemplate


def test_confusion_normalized_rows_and_zero_row():
    fig = assert_renders(lambda: charts.confusion_matrix_figure(MATRIX, NAMES, normalize=True))
    z = np.asarray(fig.data[0].z, dtype=float)
    np.testing.assert_allclose(z[0], [50 / 52, 2 / 52, 0])
    np.testing.assert_allclose(z[1], [3 / 50, 40 / 50, 7 / 50])
    np.testing.assert_array_equal(z[2], [0, 0, 0])  # no division by zero
    assert np.isfinite(z).all()
    assert fig.data[0].text[1][1] == "80.0%"
    assert fig.data[0].text[2][2] == "0.0%"
    assert fig.data[0].zmax == 1


def test_confusion_two_and_ten_classes():
    fig = charts.confusion_matrix_figure([[9, 1], [2, 8]], ["no", "yes"], normalize=True)
    np.testing.assert_allclose(np.asarray(fig.data[0].z), [[0.9, 0.1], [0.2, 0.8]])
    rng = np.random.default_rng(1)
    m10 = rng.integers(0, 30, (10, 10))
    names = [str(i) for i in range(10)]
    fig = assert_renders(lambda: charts.confusion_matrix_figure(m10, names))
    assert np.asarray(fig.data[0].z).shape == (10, 10)
    assert list(fig.data[0].y) == names
    assert fig.data[0].customdata[3][5].startswith(f"true 3, predicted 5: {m10[3, 5]} (")


def test_confusion_wrong_names_fall_back_to_numbers_and_empty_matrix_notes():
    fig = charts.confusion_matrix_figure([[1, 0], [0, 1]], ["only one"])
    assert list(fig.data[0].x) == ["0", "1"]
    fig = assert_renders(lambda: charts.confusion_matrix_figure([], []))
    assert len(fig.data) == 0 and annotation_texts(fig)


# --- 3. roc_curve_figure ----------------------------------------------------------------------


def test_roc_curve_with_chance_line_and_auc():
    fpr, tpr = [0, 0.1, 0.4, 1], [0, 0.7, 0.9, 1]
    fig = assert_renders(lambda: charts.roc_curve_figure(fpr, tpr, 0.8734))
    names = [t.name for t in fig.data]
    assert names == ["model (AUC 0.873)", "guessing (AUC 0.5)"]
    np.testing.assert_allclose(fig.data[0].x, fpr)
    np.testing.assert_allclose(fig.data[0].y, tpr)
    assert list(fig.data[1].x) == [0, 1] and list(fig.data[1].y) == [0, 1]
    assert fig.data[1].line.dash == "dash"
    assert "0.873" in fig.layout.title.text
    assert "false positive rate" in fig.layout.xaxis.title.text


def test_roc_curve_empty_and_missing_auc():
    fig = assert_renders(lambda: charts.roc_curve_figure([], [], None))
    assert [t.name for t in fig.data] == ["guessing (AUC 0.5)"]
    assert annotation_texts(fig) and "n/a" in fig.layout.title.text
    fig = charts.roc_curve_figure(None, None, float("nan"))
    assert len(fig.data) == 1


# --- 4. compare_history_figure ----------------------------------------------------------------


def test_compare_overlays_validation_metric_per_run():
    histories = {"run A": make_history(10), "run B": make_history(5)}
    fig = assert_renders(lambda: charts.compare_history_figure(histories, "loss"))
    assert [t.name for t in fig.data] == ["run A", "run B"]
    np.testing.assert_allclose(fig.data[0].y, histories["run A"]["val_loss"])
    np.testing.assert_allclose(fig.data[1].x, [1, 2, 3, 4, 5])
    colors = [t.line.color for t in fig.data]
    assert colors == list(charts.SERIES_COLORS[:2])
    assert "validation" in fig.layout.yaxis.title.text


def test_compare_falls_back_to_training_and_skips_empty_runs():
    histories = {
        "with val": make_history(4),
        "no val": make_history(4, validation=False),
        "just started": pd.DataFrame(),
    }
    fig = charts.compare_history_figure(histories, "accuracy")
    assert [t.name for t in fig.data] == ["with val", "no val (training)"]
    np.testing.assert_allclose(fig.data[1].y, make_history(4)["accuracy"])
    assert fig.layout.yaxis.range[0] == 0 and "%" in fig.layout.yaxis.tickformat


def test_compare_colour_stays_with_run_position():
    # the third run keeps the third colour even when the second has nothing to draw
    histories = {"a": make_history(3), "b": pd.DataFrame(), "c": make_history(3)}
    fig = charts.compare_history_figure(histories, "loss")
    assert [t.line.color for t in fig.data] == [charts.SERIES_COLORS[0], charts.SERIES_COLORS[2]]


def test_compare_nothing_to_show():
    for histories in ({}, {"a": pd.DataFrame()}, {"a": make_history(3, accuracy=False)}):
        fig = assert_renders(lambda: charts.compare_history_figure(histories, "accuracy"))
        assert len(fig.data) == 0 and annotation_texts(fig)


# --- 5. setting_vs_accuracy_figure ------------------------------------------------------------


RUNS = pd.DataFrame({
    "run_id": ["r1", "r2", "r3", "r4", "r5"],
    "learning_rate": [1e-4, 1e-3, 1e-2, 1e-1, 3e-3],
    "dropout": [0.0, 0.2, 0.2, 0.5, 0.3],
    "layers": [1, 2, 3, 2, 1],
    "optimizer": ["adam", "sgd", "adam", "rmsprop", "sgd"],
    "test_accuracy": [0.81, 0.92, 0.94, 0.55, np.nan],  # r5 has not finished
})


def test_setting_learning_rate_log_axis_and_hover_run_id():
    fig = assert_renders(lambda: charts.setting_vs_accuracy_figure(RUNS, "learning_rate"))
    (trace,) = fig.data
    assert fig.layout.xaxis.type == "log"
    assert list(trace.customdata) == ["r1", "r2", "r3", "r4"]  # r5 dropped
    np.testing.assert_allclose(trace.x, [1e-4, 1e-3, 1e-2, 1e-1])
    np.testing.assert_allclose(trace.y, [0.81, 0.92, 0.94, 0.55])
    assert "%{customdata}" in trace.hovertemplate and "run" in trace.hovertemplate
    assert fig.layout.xaxis.title.text == "learning rate"
    assert "0.0001" in list(fig.layout.xaxis.ticktext)


def test_setting_numeric_axis_is_linear():
    fig = charts.setting_vs_accuracy_figure(RUNS, "dropout")
    assert fig.layout.xaxis.type in (None, "linear", "-")
    np.testing.assert_allclose(fig.data[0].x, [0.0, 0.2, 0.2, 0.5])
    fig = charts.setting_vs_accuracy_figure(RUNS, "layers")
    assert list(fig.layout.xaxis.tickvals) == [1, 2, 3]


def test_setting_categorical_axis():
    fig = charts.setting_vs_accuracy_figure(RUNS, "optimizer")
    assert fig.layout.xaxis.type == "category"
    pairs = sorted(zip(fig.data[0].customdata, fig.data[0].x))
    assert pairs == [("r1", "adam"), ("r2", "sgd"), ("r3", "adam"), ("r4", "rmsprop")]


def test_setting_missing_column_or_no_finished_runs():
    fig = assert_renders(lambda: charts.setting_vs_accuracy_figure(RUNS, "batch_size"))
    assert len(fig.data) == 0 and annotation_texts(fig)
    unfinished = RUNS.assign(test_accuracy=np.nan)
    fig = charts.setting_vs_accuracy_figure(unfinished, "dropout")
    assert len(fig.data) == 0 and annotation_texts(fig)
    fig = charts.setting_vs_accuracy_figure(pd.DataFrame(), "dropout")
    assert len(fig.data) == 0 and annotation_texts(fig)


# --- 6. projection_figure ---------------------------------------------------------------------


def test_projection_one_trace_per_class_with_names():
    rng = np.random.default_rng(0)
    labels = np.array([0, 1, 2, 1, 0, 2, 2])
    points = rng.normal(size=(7, 2))
    fig = assert_renders(lambda: charts.projection_figure(points, labels, ["setosa", "versicolor", "virginica"]))
    assert [t.name for t in fig.data] == ["setosa", "versicolor", "virginica"]
    assert [len(t.x) for t in fig.data] == [2, 2, 3]
    np.testing.assert_allclose(fig.data[2].x, points[labels == 2, 0])
    np.testing.assert_allclose(fig.data[2].y, points[labels == 2, 1])
    assert fig.layout.xaxis.title.text == "component 1"
    assert fig.layout.yaxis.title.text == "component 2"
    assert len({t.marker.color for t in fig.data}) == 3


def test_projection_colour_follows_class_not_presence():
    fig = charts.projection_figure(np.zeros((2, 2)), [3, 3], [str(i) for i in range(10)])
    assert fig.data[0].name == "3" and fig.data[0].marker.color == charts.SERIES_COLORS[3]


def test_projection_empty():
    fig = assert_renders(lambda: charts.projection_figure(np.zeros((0, 2)), [], ["a", "b"]))
    assert len(fig.data) == 0 and annotation_texts(fig)


# --- 7. image_grid_figure ---------------------------------------------------------------------


def grid_images(n: int, h: int = 28, w: int = 28) -> np.ndarray:
    """Image i is filled with the value (i + 1) / (n + 1), so each can be found in the canvas."""
    return np.stack([np.full((h, w), (i + 1) / (n + 1)) for i in range(n)]) if n else np.zeros((0, h, w))


def test_image_grid_places_every_image_with_its_title():
    n, columns = 11, 4
    titles = [f"true {i} → {(i + 1) % 10} ({80 + i}%)" for i in range(n)]
    fig = assert_renders(lambda: charts.image_grid_figure(grid_images(n), titles, columns=columns))
    (heat,) = fig.data
    canvas = np.asarray(heat.z, dtype=float)  # grey levels 0 (white) .. 255 (black)
    levels = np.rint((np.arange(n) + 1) / (n + 1) * 255)
    for level in levels:  # every image appears as one 28x28 block
        assert (canvas == level).sum() == 28 * 28
    assert (canvas[:, 28] == 0).all()  # white gap between the first two columns
    assert canvas[-1, -1] == 0  # unused cell of the last row stays white
    assert annotation_texts(fig) == titles
    # 11 images in 4 columns -> 3 rows; first image top-left, fifth starts row 2
    xs = sorted({round(a.x, 3) for a in fig.layout.annotations})
    ys = sorted({round(a.y, 3) for a in fig.layout.annotations})
    assert len(xs) == columns and len(ys) == 3
    assert fig.layout.annotations[0].x == fig.layout.annotations[4].x
    assert fig.layout.annotations[0].y < fig.layout.annotations[4].y
    assert heat.showscale is False and heat.zmin == 0 and heat.zmax == 255
    assert canvas.max() == levels[-1]  # brightest image is the last one, not clipped
    assert fig.layout.xaxis.visible is False and fig.layout.yaxis.visible is False


def test_image_grid_height_grows_with_rows():
    small = charts.image_grid_figure(grid_images(8), [""] * 8)
    large = charts.image_grid_figure(grid_images(64), [str(i) for i in range(64)])
    assert large.layout.height > small.layout.height
    assert len(large.layout.annotations) == 64
    assert np.asarray(large.data[0].z).shape[1] == np.asarray(small.data[0].z).shape[1]  # 8 columns


def test_image_grid_single_image_and_values_clipped():
    image = np.full((1, 5, 6), 2.0)
    image[0, 0, 0], image[0, 0, 1] = -1.0, np.nan
    fig = assert_renders(lambda: charts.image_grid_figure(image, ["7"]))
    canvas = np.asarray(fig.data[0].z, dtype=float)
    assert canvas.max() == fig.data[0].zmax == 255 and (canvas == 255).sum() == 28
    assert canvas.min() == 0 and np.isfinite(canvas).all()
    assert canvas.shape[1] < 2 * 6  # one column wide, not eight mostly empty ones
    assert annotation_texts(fig) == ["7"]


def test_image_grid_empty_and_missing_titles():
    fig = assert_renders(lambda: charts.image_grid_figure(np.zeros((0, 28, 28)), []))
    assert len(fig.data) == 0
    assert any("nothing to show" in t for t in annotation_texts(fig))
    fig = charts.image_grid_figure(grid_images(3), ["a"])  # fewer titles than images
    assert annotation_texts(fig) == ["a"]


def test_image_grid_rejects_flat_rows():
    with pytest.raises(ValueError):
        charts.image_grid_figure(np.zeros((4, 784)), [])


# --- purity -----------------------------------------------------------------------------------


def test_module_is_pure_and_exports_the_seven_builders():
    tree = ast.parse(Path(charts.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "plotly.graph_objects" in imported  # the check sees real imports
    assert not any(name.split(".")[0] == "streamlit" for name in imported)
    public = [name for name in dir(charts) if name.endswith("_figure") and not name.startswith("_")]
    assert sorted(public) == sorted([
        "history_figure", "confusion_matrix_figure", "roc_curve_figure", "compare_history_figure",
        "setting_vs_accuracy_figure", "projection_figure", "image_grid_figure",
    ])


def test_inputs_are_not_mutated():
    history = make_history(5)
    before = history.copy()
    charts.history_figure(history, "loss", best_epoch=3)
    charts.compare_history_figure({"a": history}, "loss")
    pd.testing.assert_frame_equal(history, before)
    runs = RUNS.copy()
    charts.setting_vs_accuracy_figure(runs, "optimizer")
    pd.testing.assert_frame_equal(runs, RUNS)


def test_best_epoch_label_says_whether_it_was_kept():
    history = pd.DataFrame({"epoch": [1, 2, 3], "loss": [0.9, 0.5, 0.6], "val_loss": [0.8, 0.4, 0.7]})
    kept = charts.history_figure(history, "loss", best_epoch=2)
    not_kept = charts.history_figure(history, "loss", best_epoch=2, best_kept=False)
    assert [a.text for a in kept.layout.annotations] == ["best epoch 2 (kept)"]
    assert [a.text for a in not_kept.layout.annotations] == ["best epoch 2"]


def test_the_stop_label_stays_inside_the_plot_and_clear_of_the_best_label():
    fig = charts.history_figure(make_history(19), "loss", best_epoch=13, stopped_epoch=19)
    best, stop = (next(a for a in fig.layout.annotations if a.text.startswith(w)) for w in ("best", "stopped"))
    assert stop.xanchor == "right"  # the label ends at the line, which is the right edge of the plot
    assert stop.yshift != best.yshift  # two rows: the labels cannot overlap


def test_mark_labels_sit_where_the_curves_are_not():
    """Loss is low by the best epoch, accuracy high: labels at the top for loss, bottom for accuracy."""
    for metric, anchor in (("loss", "top"), ("accuracy", "bottom")):
        fig = charts.history_figure(make_history(19), metric, best_epoch=13, stopped_epoch=19)
        assert {a.yanchor for a in fig.layout.annotations} == {anchor}, metric
