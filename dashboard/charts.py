"""Pure plotly figure builders for the dashboard.

Every public function takes plain data (pandas / numpy / lists) and returns a new
``plotly.graph_objects.Figure``; nothing here calls streamlit, reads files or keeps state,
so the views can rebuild a figure on every rerun and the tests can inspect it directly.
Titles and labels are written for people who do not program (teachers demoing to a
class), and odd inputs (a run that has just started, NaN losses, a class that never
occurs) give a readable figure instead of an exception.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

# --- one look for every chart -------------------------------------------------------------

TEMPLATE = "plotly_white"
TRAIN_COLOR = "#1f77b4"  # blue: always the training data
VAL_COLOR = "#ff7f0e"  # orange: always the validation data
BEST_COLOR = "#2ca02c"  # green: the epoch whose weights were kept
STOP_COLOR = "#d62728"  # red: where training stopped
CHANCE_COLOR = "#9e9e9e"  # grey: "guessing" reference lines
POINT_COLOR = "#4e79a7"  # single-series scatter
# Tableau 10: one colour per run (compare page) or per class (data preview).
SERIES_COLORS = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)
MARGIN = dict(l=60, r=20, t=90, b=55)
LEGEND = dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0)
FONT = dict(size=13)

METRICS = ("loss", "accuracy")
LOG_SETTINGS = frozenset({"learning_rate"})


# --- small helpers --------------------------------------------------------------------------


def _new_figure(title: str, x_title: str = "", y_title: str = "") -> go.Figure:
    """An empty figure already carrying the shared template, margins, legend and titles."""
    fig = go.Figure()
    fig.update_layout(
        template=TEMPLATE,
        title=dict(text=title, x=0.01, xanchor="left"),
        margin=MARGIN,
        legend=LEGEND,
        font=FONT,
        hoverlabel=dict(font_size=13),
    )
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    return fig


def _note(fig: go.Figure, text: str) -> go.Figure:
    """Write a message in the middle of the plot area (used when there is nothing to draw)."""
    fig.add_annotation(
        text=text, xref="paper", yref="paper", x=0.5, y=0.5,
        showarrow=False, font=dict(size=16, color="#666666"),
    )
    return fig


def _column(frame: pd.DataFrame | None, name: str) -> pd.Series | None:
    """The column as floats, or None when it is absent or holds no number at all."""
    if frame is None or name not in frame.columns:
        return None
    values = pd.to_numeric(frame[name], errors="coerce").astype(float)
    return None if values.notna().sum() == 0 else values


def _epochs(frame: pd.DataFrame) -> pd.Series:
    """The 1-based epoch numbers, or 1..n when the column is missing."""
    epochs = _column(frame, "epoch")
    if epochs is None:
        return pd.Series(np.arange(1, len(frame) + 1, dtype=float), index=frame.index)
    return epochs


def _number(value) -> float | None:
    """A finite float, or None for None / NaN / things that are not numbers."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _epoch_axis(fig: go.Figure, last_epoch: float) -> None:
    """Fix the epoch axis to 1..last_epoch with whole-number ticks (at most about 12)."""
    step = next((s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500) if last_epoch / s <= 12), 1000)
    fig.update_xaxes(range=[0.5, last_epoch + 0.5], tick0=1 if step == 1 else 0, dtick=step)


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")


def _percent_axis(fig: go.Figure, fixed: bool = True) -> None:
    """Show a 0..1 axis as percentages (fixed to 0-100 % unless `fixed` is False)."""
    if fixed:
        fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    else:
        fig.update_yaxes(tickformat=".1%")


def _value_format(metric: str) -> str:
    return ".1%" if metric == "accuracy" else ".4f"


# --- 1. training history ------------------------------------------------------------------


def history_figure(
    history: pd.DataFrame | None,
    metric: str,
    best_epoch: int | None = None,
    stopped_epoch: int | None = None,
    epochs_planned: int | None = None,
    best_kept: bool = True,
) -> go.Figure:
    """Training and validation curve of one run, epoch by epoch (live or finished).

    Marks the best epoch (saying whether its weights were kept) and, if later, where
    training stopped; with `epochs_planned` the x axis is fixed so a live curve grows
    without rescaling. The marks' labels go where the curves are not: at the top for loss
    (low by then), at the bottom for accuracy (high by then).
    """
    _check_metric(metric)
    better = "lower" if metric == "loss" else "higher"
    fig = _new_figure(f"{metric.capitalize()} per epoch ({better} is better)", "epoch", metric)
    frame = pd.DataFrame(history if history is not None else None)  # also takes a list of dicts
    epochs = _epochs(frame)
    value_format = _value_format(metric)
    for column, name, color in ((metric, "training", TRAIN_COLOR), (f"val_{metric}", "validation", VAL_COLOR)):
        values = _column(frame, column)
        if values is None:
            continue
        fig.add_trace(go.Scatter(
            x=epochs, y=values, name=name, mode="lines+markers",
            line=dict(color=color, width=2.5), marker=dict(color=color, size=7), cliponaxis=False,
            hovertemplate=f"epoch %{{x:d}}<br>{name} {metric} %{{y:{value_format}}}<extra></extra>",
        ))
    if len(frame) == 0:
        _note(fig, "waiting for the first epoch…")
    elif not fig.data:
        _note(fig, f"no {metric} was recorded for this run")
    best, stopped = _number(best_epoch), _number(stopped_epoch)
    side, row = ("top", -20) if metric == "loss" else ("bottom", 20)
    if best is not None:
        fig.add_vline(
            x=best, line=dict(color=BEST_COLOR, dash="dash", width=2),
            annotation_text=f"best epoch {best:g}{' (kept)' if best_kept else ''}", annotation_position=f"{side} left",
            annotation_font_color=BEST_COLOR, annotation_bgcolor="rgba(255,255,255,0.8)",
        )
    if stopped is not None and stopped != best:
        fig.add_vline(
            x=stopped, line=dict(color=STOP_COLOR, dash="dot", width=2),
            # left of the line and one row further in: it is usually the last epoch, right of it is off the plot
            annotation_text=f"stopped at {stopped:g}", annotation_position=f"{side} left", annotation_yshift=row,
            annotation_font_color=STOP_COLOR, annotation_bgcolor="rgba(255,255,255,0.8)",
        )
    marked = (_number(epochs.max()) if len(epochs) else None, best, stopped, _number(epochs_planned))
    _epoch_axis(fig, max((v for v in marked if v is not None), default=1.0))
    if metric == "accuracy":
        _percent_axis(fig)
    elif not fig.data:
        fig.update_yaxes(range=[0, 1])
    return fig


# --- 2. confusion matrix ------------------------------------------------------------------


def confusion_matrix_figure(matrix, class_names: Sequence[str], normalize: bool = False) -> go.Figure:
    """Which classes the model mixes up: rows are the true class, columns the prediction.

    With `normalize` each row shows percentages of that true class (a class that never
    occurs gets 0 %, not a division by zero).
    """
    what = "% of each true class" if normalize else "number of test examples"
    fig = _new_figure(f"Confusion matrix ({what})", "predicted class", "true class")
    counts = np.nan_to_num(np.asarray(matrix, dtype=float)) if np.size(matrix) else np.zeros((0, 0))
    k = counts.shape[0] if counts.ndim == 2 and counts.shape[0] == counts.shape[1] else 0
    if k == 0:
        return _note(fig, "no confusion matrix yet")
    given = [str(n) for n in class_names] if class_names is not None else []
    names = given if len(given) == k else [str(i) for i in range(k)]
    row_totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, row_totals, out=np.zeros_like(counts), where=row_totals > 0)
    cell_text = [[f"{shares[i, j]:.1%}" if normalize else f"{counts[i, j]:g}" for j in range(k)] for i in range(k)]
    hover = [
        [f"true {names[i]}, predicted {names[j]}: {counts[i, j]:g} ({shares[i, j]:.1%} of true {names[i]})"
         for j in range(k)]
        for i in range(k)
    ]
    z = shares if normalize else counts
    fig.add_trace(go.Heatmap(
        z=z, x=names, y=names, text=cell_text, texttemplate="%{text}",
        customdata=hover, hovertemplate="%{customdata}<extra></extra>",
        colorscale="Blues", zmin=0, zmax=1 if normalize else max(float(counts.max()), 1.0),
        colorbar=dict(title=dict(text="share" if normalize else "count"),
                      tickformat=".0%" if normalize else None),
        xgap=1, ygap=1,
    ))
    fig.update_xaxes(type="category", side="bottom", showgrid=False)
    fig.update_yaxes(type="category", autorange="reversed", showgrid=False)
    fig.update_layout(height=min(320 + 32 * k, 720))
    return fig


# --- 3. ROC curve -------------------------------------------------------------------------


def roc_curve_figure(fpr, tpr, auc) -> go.Figure:
    """ROC curve of a two-class model against the diagonal of pure guessing."""
    auc_value = _number(auc)
    auc_text = f"{auc_value:.3f}" if auc_value is not None else "n/a"
    fig = _new_figure(
        f"ROC curve: AUC {auc_text} (1 is perfect, 0.5 is guessing)",
        "false positive rate (negatives wrongly flagged)",
        "true positive rate (positives correctly found)",
    )
    x, y = (np.asarray([] if v is None else v, dtype=float).ravel() for v in (fpr, tpr))
    n = min(x.size, y.size)
    if n:
        fig.add_trace(go.Scatter(
            x=x[:n], y=y[:n], name=f"model (AUC {auc_text})", mode="lines",
            line=dict(color=TRAIN_COLOR, width=3),
            hovertemplate="false positives %{x:.1%}<br>true positives %{y:.1%}<extra></extra>",
        ))
    else:
        _note(fig, "no ROC curve (only for two-class data)")
    fig.add_trace(go.Scatter(
        x=[0, 1], y=[0, 1], name="guessing (AUC 0.5)", mode="lines",
        line=dict(color=CHANCE_COLOR, dash="dash"), hoverinfo="skip",
    ))
    fig.update_xaxes(range=[0, 1], tickformat=".0%", constrain="domain")
    fig.update_yaxes(range=[0, 1.01], tickformat=".0%", scaleanchor="x", scaleratio=1)
    return fig


# --- 4. comparing runs --------------------------------------------------------------------


def compare_history_figure(histories: Mapping[str, pd.DataFrame], metric: str) -> go.Figure:
    """Validation curve of several runs overlaid, one colour per run label.

    Runs without validation data fall back to their training curve (marked in the legend).
    """
    _check_metric(metric)
    fig = _new_figure(f"Validation {metric} of the selected runs", "epoch", f"validation {metric}")
    value_format, last_epoch = _value_format(metric), 1.0
    for index, (label, frame) in enumerate((histories or {}).items()):
        if frame is None or len(frame) == 0:
            continue
        values, name = _column(frame, f"val_{metric}"), str(label)
        if values is None:
            values, name = _column(frame, metric), f"{label} (training)"
        if values is None:
            continue
        color, epochs = SERIES_COLORS[index % len(SERIES_COLORS)], _epochs(frame)
        last_epoch = max(last_epoch, _number(epochs.max()) or 1.0)
        fig.add_trace(go.Scatter(
            x=epochs, y=values, name=name, mode="lines+markers",
            line=dict(color=color, width=2.5), marker=dict(color=color, size=6),
            hovertemplate=f"{name}<br>epoch %{{x:d}}<br>{metric} %{{y:{value_format}}}<extra></extra>",
        ))
    if not fig.data:
        _note(fig, "pick runs with at least one finished epoch to compare")
    if metric == "accuracy":
        _percent_axis(fig)
    _epoch_axis(fig, last_epoch)
    return fig


# --- 5. one setting against test accuracy -------------------------------------------------


def setting_vs_accuracy_figure(runs: pd.DataFrame, setting: str) -> go.Figure:
    """Test accuracy of each finished run against one setting (e.g. dropout), to spot trends.

    Learning rate is drawn on a log axis; runs without a test accuracy are left out.
    """
    words = setting.replace("_", " ")
    fig = _new_figure(f"Test accuracy by {words}", words, "test accuracy")
    frame = runs if runs is not None else pd.DataFrame()
    if setting not in frame.columns or "test_accuracy" not in frame.columns:
        return _note(fig, f"no finished runs with a '{words}' setting yet")
    data = pd.DataFrame({
        "value": frame[setting],
        "accuracy": pd.to_numeric(frame["test_accuracy"], errors="coerce"),
        "run_id": frame["run_id"].astype(str) if "run_id" in frame.columns else frame.index.astype(str),
    }).dropna(subset=["value", "accuracy"])
    if data.empty:
        return _note(fig, f"no finished runs with a '{words}' setting yet")
    numeric = pd.api.types.is_numeric_dtype(data["value"]) and not pd.api.types.is_bool_dtype(data["value"])
    if not numeric:
        data["value"] = data["value"].astype(str)
        data = data.sort_values("value", kind="stable")
    fig.add_trace(go.Scatter(
        x=data["value"], y=data["accuracy"], customdata=data["run_id"], name="run", mode="markers",
        marker=dict(color=POINT_COLOR, size=12, opacity=0.85, line=dict(color="white", width=1)),
        hovertemplate=f"run %{{customdata}}<br>{words} %{{x}}<br>test accuracy %{{y:.1%}}<extra></extra>",
        showlegend=False,
    ))
    if not numeric:
        fig.update_xaxes(type="category")
    else:
        if setting in LOG_SETTINGS and (data["value"] > 0).all():
            fig.update_xaxes(type="log")
        fig.update_xaxes(exponentformat="none")  # 0.0001, not 100µ
        distinct = np.sort(data["value"].unique())
        if len(distinct) <= 8:  # few settings tried: label exactly those values
            fig.update_xaxes(tickvals=distinct, ticktext=[f"{v:g}" for v in distinct])
    _percent_axis(fig, fixed=False)
    return fig


# --- 6. dataset preview -------------------------------------------------------------------


def projection_figure(points, labels, class_names: Sequence[str]) -> go.Figure:
    """2-D map of a dataset (e.g. PCA), one dot per example coloured by class.

    Classes that sit apart on this map are usually easy for the model to tell apart.
    """
    fig = _new_figure("Data preview: each dot is one example, coloured by its class",
                      "component 1", "component 2")
    xy = np.asarray(points, dtype=float)
    y = np.asarray(labels).ravel()
    if xy.ndim != 2 or xy.shape[0] == 0 or xy.shape[1] < 2 or y.size != xy.shape[0]:
        return _note(fig, "no points to show")
    trace_type = go.Scattergl if len(y) > 5000 else go.Scatter
    names = [str(n) for n in class_names] if class_names is not None else []
    for position, label in enumerate(sorted(pd.unique(y))):
        index = int(label) if isinstance(label, (int, np.integer)) else None
        name = names[index] if index is not None and 0 <= index < len(names) else str(label)
        color = SERIES_COLORS[(position if index is None else index) % len(SERIES_COLORS)]
        mask = y == label
        fig.add_trace(trace_type(
            x=xy[mask, 0], y=xy[mask, 1], name=name, mode="markers",
            marker=dict(color=color, size=6, opacity=0.75),
            hovertemplate=f"class {name}<extra></extra>",
        ))
    return fig


# --- 7. image grid ------------------------------------------------------------------------


def image_grid_figure(images, titles: Sequence[str] | None = None, columns: int = 8) -> go.Figure:
    """A grid of small grayscale images (values 0..1, dark ink on white) with a caption each.

    Drawn as one composite heatmap, which stays crisp and fast for 64 images of 28x28.
    """
    fig = _new_figure("")
    fig.update_layout(margin=dict(l=10, r=10, t=20, b=10))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    stack = np.asarray(images, dtype=float)
    if stack.ndim == 4 and stack.shape[-1] == 1:
        stack = stack[..., 0]
    if stack.size == 0:
        fig.update_layout(height=200)
        return _note(fig, "nothing to show")
    if stack.ndim != 3:
        raise ValueError(f"images must have shape (n, height, width), got {stack.shape}")
    n, h, w = stack.shape
    cols = max(1, min(int(columns), n))
    rows = math.ceil(n / cols)
    gap_x, gap_y = max(2, w // 7), max(4, (h * 3) // 7)  # gap_y leaves room for captions
    cell_w, cell_h = w + gap_x, h + gap_y
    # 0..255 bytes keep the figure JSON small; gaps are 0, i.e. white like the background
    canvas = np.zeros((rows * cell_h, cols * cell_w), dtype=np.uint8)
    pixels = np.rint(np.clip(np.nan_to_num(stack), 0.0, 1.0) * 255).astype(np.uint8)
    captions = list(titles or [])
    notes = []  # collected and set once: add_annotation per image is slow
    for i in range(n):
        top, left = (i // cols) * cell_h + gap_y, (i % cols) * cell_w
        canvas[top:top + h, left:left + w] = pixels[i]
        caption = str(captions[i]) if i < len(captions) else ""
        if caption:
            notes.append(dict(
                text=caption, x=left + (w - 1) / 2, y=top - 1, xref="x", yref="y",
                showarrow=False, yanchor="bottom", font=dict(size=11, color="#333333"),
            ))
    fig.update_layout(annotations=notes)
    fig.add_trace(go.Heatmap(
        z=canvas, colorscale=[[0, "white"], [1, "black"]], zmin=0, zmax=255,
        showscale=False, hoverinfo="skip", zsmooth=False,
    ))
    fig.update_xaxes(range=[-0.5, cols * cell_w - gap_x - 0.5], constrain="domain")
    fig.update_yaxes(range=[rows * cell_h - 0.5, -0.5], scaleanchor="x", scaleratio=1, constrain="domain")
    fig.update_layout(height=40 + rows * (130 if cols > 1 else 220))
    return fig
