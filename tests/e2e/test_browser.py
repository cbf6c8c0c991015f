"""The dashboard in a real browser: Playwright (sync API) driving Debian's Chromium.

Each test opens its own browser context, i.e. its own Streamlit session, against a
server started by conftest.py with a temporary TRAINSCOPE_RUNS_DIR. Widgets are found
by the `st-key-<key>` classes Streamlit puts on keyed elements (dots become dashes).
"""
from __future__ import annotations
import os

import re
import time
from pathlib import Path

import pytest

from e2e_support import (
    ARTIFACTS, PROJECT_ROOT, assert_no_exception, browser_skip_reason, click_train, current_run_id, expect, key_css,
    metric_value, open_app, read_json, run_folder, set_slider, set_toggle, slider_input, slider_value, start_server,
    wait_for_epochs, wait_for_results, wait_idle,
)

_SKIP = browser_skip_reason()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(_SKIP is not None, reason=_SKIP or "")]

DOWNLOADS = ("Model (.keras)", "Preprocessing (.joblib)", "Bundle (.zip)", "History (.csv)", "Report (.csv)")


# --- helpers ------------------------------------------------------------------------------

def wait_for_file_state(path: Path, state: str, timeout_s: float = 30) -> dict:
    deadline = time.monotonic() + timeout_s
    status = {}
    while time.monotonic() < deadline:
        try:
            status = read_json(path)
        except (OSError, ValueError):
            status = {}
        if status.get("state") == state:
            return status
        time.sleep(0.25)
    raise AssertionError(f"{path} never said state={state!r}; last: {status}")


def wait_for_charts_drawn(page, keys: list[str]) -> None:
    """Wait until the charts with these keys are drawn, then let plotly settle before a screenshot."""
    for key in keys:
        expect(page.locator(f"{key_css(key)} .main-svg").first).to_be_visible(timeout=30_000)
    page.wait_for_timeout(1_000)


def screenshot(page, path: str | Path, max_height: int = 3000) -> Path:
    """The whole app in one picture.

    Streamlit scrolls inside its main area and sidebar, not the document, so
    full_page=True only captures the viewport: grow the viewport to the taller of the
    two (capped), take the picture, then put the viewport back.
    """
    path = Path(path)
    if not path.is_absolute():
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / path
    size = page.viewport_size
    height = page.evaluate("""() => Math.max(...['stMain', 'stSidebarContent'].map(
        id => document.querySelector(`[data-testid="${id}"]`)?.scrollHeight || 0))""")
    page.mouse.move(size["width"] - 5, 5)  # no tooltip or hover outline in the picture
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(height) + 40, max_height))})
    try:
        page.wait_for_timeout(1_200)  # plotly redraws on resize
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(size)
    return path


# --- tests --------------------------------------------------------------------------------

def test_train_synthetic_in_browser(app_server, page):
    open_app(page, app_server.url)
    assert_no_exception(page)
    # 20 epochs: after the first (which builds the graph) an epoch takes ~0.3 s here, so
    # fewer epochs may finish between two polls of the live view and never be seen.
    epochs = 20
    set_slider(page, "train.epochs", str(epochs))
    run_id = click_train(page)

    # live view: progress text and growing curves
    wait_for_epochs(page, 1, epochs)
    expect(page.locator(key_css('train.stop')).get_by_role("button")).to_be_visible()
    expect(page.locator(f"{key_css(f'live.{run_id}.loss')} .main-svg").first).to_be_visible()
    expect(page.locator(f"{key_css(f'live.{run_id}.accuracy')} .main-svg").first).to_be_visible()
    screenshot(page, "train-live.png")

    # results
    wait_for_results(page)
    assert_no_exception(page)
    folder = run_folder(app_server, run_id)
    config = read_json(folder / "config.json")
    assert config["training"]["epochs"] == epochs, "the Epochs slider value did not reach the run's config"
    assert config["data"]["dataset"] == "synthetic"
    assert read_json(folder / "status.json")["state"] == "completed"
    metrics = read_json(folder / "metrics.json")
    assert metric_value(page, "Test accuracy") == f"{metrics['test_accuracy']:.1%}"
    assert metric_value(page, "Epochs") == str(metrics["epochs_run"])
    assert 1 <= metrics["epochs_run"] <= epochs
    assert metrics["test_accuracy"] > 0.7, f"a synthetic run should beat guessing (0.5): {metrics['test_accuracy']}"
    expect(page.get_by_test_id("stAlertContentInfo").filter(has_text="test samples it never saw")).to_be_visible()
    expect(page.get_by_test_id("stProgress")).to_have_count(0)
    expect(page.locator(key_css('train.stop')).get_by_role("button")).to_have_count(0)
    expect(page.locator(f"{key_css(f'train.{run_id}.loss')} .main-svg").first).to_be_visible()
    expect(page.locator(f"{key_css(f'train.{run_id}.accuracy')} .main-svg").first).to_be_visible()

    buttons = page.get_by_test_id("stDownloadButton")
    expect(buttons).to_have_count(len(DOWNLOADS))
    for label in DOWNLOADS:
        expect(buttons.filter(has_text=label)).to_have_count(1)

    with page.expect_download() as info:
        buttons.filter(has_text="History (.csv)").get_by_role("button").click()
    download = info.value
    assert download.suggested_filename == f"trainscope-{run_id}-history.csv"
    content = Path(download.path()).read_text()
    lines = content.strip().splitlines()
    assert content.startswith("epoch,"), content[:200]
    assert len(lines) == metrics["epochs_run"] + 1, content
    assert [int(line.split(",")[0]) for line in lines[1:]] == list(range(1, metrics["epochs_run"] + 1))

    # the click must not throw the results away
    page.wait_for_timeout(1_500)
    wait_idle(page)
    assert_no_exception(page)
    expect(page.get_by_test_id("stMetricLabel").filter(has_text="Test accuracy")).to_be_visible()
    expect(buttons).to_have_count(len(DOWNLOADS))
    assert current_run_id(page) == run_id

    # with a run on screen the data preview is folded away, one click from sight
    expect(page.get_by_test_id("stExpander").filter(has_text="Look at the data")).to_be_visible()
    expect(page.locator(key_css("preview.synthetic"))).to_be_hidden()
    wait_for_charts_drawn(page, [f"train.{run_id}.loss", f"train.{run_id}.accuracy", f"train.{run_id}.confusion"])
    screenshot(page, "train-results.png")
    if os.environ.get("TRAINSCOPE_UPDATE_DOCS_SCREENSHOT"):  # refresh the README's picture on request
        screenshot(page, PROJECT_ROOT / "docs" / "train-page.png")

    # an ordinary rerun (a control moved for the next run) keeps the results on screen
    set_slider(page, "train.seed", "1")
    assert_no_exception(page)
    assert current_run_id(page) == run_id
    expect(page.get_by_test_id("stMetricLabel").filter(has_text="Test accuracy")).to_be_visible()
    expect(buttons).to_have_count(len(DOWNLOADS))


def test_stop_button(app_server, page):
    open_app(page, app_server.url)
    set_slider(page, "train.epochs", "200", start="End")
    set_toggle(page, "train.early_stopping", False)
    expect(slider_input(page, "train.patience")).to_be_disabled()
    run_id = click_train(page)

    epoch = wait_for_epochs(page, 2, 200)
    stop = page.locator(key_css('train.stop')).get_by_role("button")
    stop.click()
    wait_for_results(page, timeout=90_000)
    assert_no_exception(page)

    story = page.get_by_test_id("stAlertContentInfo").filter(has_text="You stopped training")
    expect(story).to_be_visible()
    folder = run_folder(app_server, run_id)
    status = wait_for_file_state(folder / "status.json", "stopped")
    assert status["state"] == "stopped"
    metrics = read_json(folder / "metrics.json")
    assert metrics["stop_requested"] is True
    assert epoch <= metrics["epochs_run"] < 200
    assert f"after epoch {metrics['epochs_run']}" in story.inner_text()
    assert metric_value(page, "Epochs") == str(metrics["epochs_run"])
    assert read_json(folder / "config.json")["training"]["early_stopping"] is False
    expect(page.locator(key_css('train.start')).get_by_role("button")).to_be_enabled()
    screenshot(page, "stopped.png")


def go_to(page, title: str) -> None:
    """Switch pages through the sidebar navigation, as a user would."""
    page.get_by_test_id("stSidebarNavLink").filter(has_text=title).click()
    if title == "Train":
        expect(page.get_by_role("heading", name="Train a neural network")).to_be_visible()
    else:
        page.wait_for_url(re.compile(rf"/{title.lower()}$"))
        expect(page.locator(key_css("train.epochs"))).to_have_count(0)
    wait_idle(page, settle_ms=1_000)
    assert_no_exception(page)


def test_page_switch_keeps_the_run(app_server, page):
    open_app(page, app_server.url)
    set_slider(page, "train.n_samples", "300")
    set_slider(page, "train.epochs", "30")
    set_slider(page, "train.seed", "3")
    run_id = click_train(page)
    wait_for_epochs(page, 1, 30)

    go_to(page, "Runs")
    go_to(page, "Train")
    assert current_run_id(page) == run_id
    # the controls keep their values even though the page was left while the run trained
    values = {key: slider_value(page, key) for key in ("train.epochs", "train.seed", "train.n_samples")}
    assert values == {"train.epochs": "30", "train.seed": "3", "train.n_samples": "300"}
    # still training (progress of the same run) or already finished (its results)
    progress_or_results = page.get_by_test_id("stProgress").or_(
        page.get_by_test_id("stMetricLabel").filter(has_text="Test accuracy"))
    expect(progress_or_results.first).to_be_visible(timeout=30_000)
    wait_for_results(page)
    assert_no_exception(page)
    assert current_run_id(page) == run_id
    assert read_json(run_folder(app_server, run_id) / "config.json")["training"]["epochs"] == 30

    # with the finished run on screen, changed controls survive a visit to another page
    set_slider(page, "train.epochs", "7")
    set_slider(page, "train.seed", "5")
    go_to(page, "Runs")
    go_to(page, "Train")
    assert current_run_id(page) == run_id
    expect(page.get_by_test_id("stMetricLabel").filter(has_text="Test accuracy")).to_be_visible()
    assert slider_value(page, "train.epochs") == "7"
    assert slider_value(page, "train.seed") == "5"


@pytest.fixture(scope="module")
def mnist_server(tmp_path_factory, mnist_t10k_dir):
    from core.idx import write_mnist_subset

    folder = tmp_path_factory.mktemp("mnist-3k")
    write_mnist_subset(mnist_t10k_dir, folder, n_train=3000, n_test=500)
    server = start_server(tmp_path_factory, "mnist-app", {"MNIST_DIR": str(folder)})
    yield server
    server.stop()


def test_mnist_from_local_folder(mnist_server, page):
    open_app(page, mnist_server.url)
    page.locator(key_css("train.dataset")).get_by_role("combobox").click()
    page.get_by_role("option", name="MNIST digits").click()
    wait_idle(page)
    # the folder holds 3,000 training images: ask for 2,000 (the default, 5,000, is too many)
    set_slider(page, "train.train_size", "2,000")
    expect(page.locator(key_css("preview.mnist")).locator(".main-svg").first).to_be_visible(timeout=60_000)
    assert_no_exception(page)
    expect(page.get_by_text("1,600 training, 400 validation, 500 test samples")).to_be_visible()

    set_slider(page, "train.epochs", "3")
    set_slider(page, "train.batch_size", "32")
    run_id = click_train(page)
    wait_for_results(page)
    assert_no_exception(page)

    folder = run_folder(mnist_server, run_id)
    config = read_json(folder / "config.json")
    assert config["data"]["dataset"] == "mnist"
    assert config["data"]["train_size"] == 2000
    assert config["training"]["epochs"] == 3
    metrics = read_json(folder / "metrics.json")
    assert metrics["sizes"]["test"] == 500
    assert metrics["test_accuracy"] > 0.7, metrics["test_accuracy"]
    assert metric_value(page, "Test accuracy") == f"{metrics['test_accuracy']:.1%}"

    tabs = page.get_by_role("tab")
    tabs.filter(has_text="Confusion matrix").click()
    expect(page.locator(f"{key_css(f'train.{run_id}.confusion')} .main-svg").first).to_be_visible()
    tabs.filter(has_text="Mistakes").click()
    mistakes = page.locator(f"{key_css(f'train.{run_id}.mistakes')} .main-svg").first
    expect(mistakes).to_be_visible()
    expect(page.get_by_text(re.compile(r"Test images the model got wrong \(first \d+ of "
                                       + str(metrics["n_misclassified"]) + r"\)"))).to_be_visible()
    page.wait_for_timeout(700)
    screenshot(page, "mnist-results.png")
