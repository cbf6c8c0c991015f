"""Several browser sessions on one server: runs that overlap stay apart, closed tabs cost no memory.

Each session is its own browser context (own cookies, own Streamlit session) against the
shared server from conftest.py. Runs train in worker processes and the dashboard keeps
only the run id per session, so two sessions training at once must each see, and
download, only their own run.
"""
from __future__ import annotations

import hashlib
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from e2e_support import (
    DRAWN_CHART, FIRST_RENDER_MS, IDLE, assert_no_exception, browser_skip_reason, click_train, close_session,
    current_run_id, expect, key_css, metric_value, new_session, open_app, read_json, run_folder, set_slider, set_toggle,
    stop_all_active_runs, wait_for_epochs, wait_for_results, wait_idle,
)

_SKIP = browser_skip_reason()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(_SKIP is not None, reason=_SKIP or "")]

# Two sessions, two clearly different settings. A is slow (the most samples and epochs the
# sliders allow, no early stopping: minutes of training) so that B, which waits for a
# worker to warm up, starts and finishes inside it; A is then stopped from its own page.
SETTINGS_A = {"train.n_samples": "20000", "train.epochs": "200", "train.seed": "7"}
AT_SLIDER_END = {"train.n_samples", "train.epochs"}
SETTINGS_B = {"train.n_samples": "400", "train.layers": "1", "train.epochs": "6", "train.seed": "3"}
DEFAULT_LAYERS = 2
TAB_VISITS, TABS_AT_ONCE = 10, 5
RSS_GROWTH_LIMIT_MB = 150


@pytest.fixture
def two_sessions(browser, request):
    """Two separate browser sessions (contexts); screenshots of both if the test fails."""
    pages = [new_session(browser), new_session(browser)]
    yield pages
    report = getattr(request.node, "rep_call", None)
    for label, page in zip("AB", pages):
        close_session(page, failed=report is not None and report.failed, name=f"{request.node.name}-{label}")
    stop_all_active_runs()


class RunWatcher:
    """Samples every run folder's state and epoch count a few times a second, in a thread."""

    def __init__(self, runs_dir: Path, interval: float = 0.2):
        self.runs_dir, self.interval = runs_dir, interval
        self.samples: list[dict[str, tuple[str, int]]] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> "RunWatcher":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._done.is_set():
            sample = {}
            for folder in self.runs_dir.iterdir():
                try:
                    state = read_json(folder / "status.json").get("state", "?")
                    epochs = len((folder / "history.jsonl").read_text().splitlines())
                except (OSError, ValueError):  # not written yet, or replaced mid-read
                    continue
                sample[folder.name] = (state, epochs)
            self.samples.append(sample)
            self._done.wait(self.interval)

    def both_training(self, run_a: str, run_b: str) -> list[dict]:
        """The samples in which both runs were running and each had finished at least one epoch."""
        def training(sample, run_id):
            state, epochs = sample.get(run_id, ("absent", 0))
            return state == "running" and epochs >= 1
        return [s for s in self.samples if training(s, run_a) and training(s, run_b)]


def apply_settings(page, settings: dict[str, str]) -> None:
    for key, value in settings.items():
        set_slider(page, key, value, start="End" if key in AT_SLIDER_END else "Home")


def expected_cards(metrics: dict) -> dict[str, str]:
    """The metric cards as the results view formats them."""
    return {
        "Test accuracy": f"{metrics['test_accuracy']:.1%}", "Test loss": f"{metrics['test_loss']:.4f}",
        "Macro F1": f"{metrics['macro_f1']:.3f}", "Epochs": str(metrics["epochs_run"]),
    }


def chart_traces(page, key: str) -> dict[str, list]:
    """The y values of each named trace of a drawn plotly chart, read from the page's plotly data."""
    plot = page.locator(f"{key_css(key)} .js-plotly-plot").first
    expect(plot).to_be_attached()
    return plot.evaluate("""gd => Object.fromEntries((gd._fullData || []).filter(t => t.name)
        .map(t => [t.name, Array.from(t.y, Number)]))""")


def download(page, label: str) -> tuple[str, bytes]:
    """Click a download button; returns the suggested file name and the bytes."""
    button = page.get_by_test_id("stDownloadButton").filter(has_text=label).get_by_role("button")
    with page.expect_download() as info:
        button.click()
    return info.value.suggested_filename, Path(info.value.path()).read_bytes()


def iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_two_sessions_train_at_once(app_server, two_sessions):
    from core.bundle import history_csv
    from core.store import RunStore

    page_a, page_b = two_sessions
    open_app(page_a, app_server.url)
    open_app(page_b, app_server.url)
    apply_settings(page_a, SETTINGS_A)
    set_toggle(page_a, "train.early_stopping", False)

    with RunWatcher(app_server.runs_dir) as watcher:
        run_a = click_train(page_a)
        apply_settings(page_b, SETTINGS_B)  # while A starts: B's controls are B's alone
        wait_for_epochs(page_a, 1, 200)
        run_b = click_train(page_b)  # A is training: its 200 slow epochs take far longer than B's 6
        assert run_b != run_a
        wait_for_epochs(page_b, 1, 6, timeout_s=150)
        wait_for_results(page_b)
        # B has finished; A must still be training (its page still offers Stop), then stop it there
        stop_a = page_a.locator(key_css("train.stop")).get_by_role("button")
        expect(stop_a).to_be_visible()
        stop_a.click()
        wait_for_results(page_a, timeout=90_000)

    store = RunStore(app_server.runs_dir)
    status_a, status_b = (read_json(run_folder(app_server, r) / "status.json") for r in (run_a, run_b))
    assert (status_a["state"], status_b["state"]) == ("stopped", "completed"), (status_a, status_b)
    assert status_a["pid"] != status_b["pid"], "both runs trained in the same worker process"

    # the runs overlapped: at some moment both folders said running with epochs done, and B's
    # whole run lies inside A's (started/finished have one-second resolution, hence <=)
    overlap = watcher.both_training(run_a, run_b)
    assert overlap, f"never saw both runs training at once; {len(watcher.samples)} samples, last: {watcher.samples[-1:]}"
    assert iso(status_a["started"]) <= iso(status_b["started"]) <= iso(status_b["finished"]) <= iso(status_a["finished"])

    # stopping A from its page did not stop B
    assert not store.stop_requested(run_b)
    assert read_json(run_folder(app_server, run_b) / "metrics.json")["stop_requested"] is False

    runs = {run_a: (page_a, SETTINGS_A, run_b), run_b: (page_b, SETTINGS_B, run_a)}
    model_hashes = set()
    for run_id, (page, settings, other) in runs.items():
        assert_no_exception(page)
        folder = run_folder(app_server, run_id)

        # the subheader names this page's run, and the other run's id is nowhere on the page
        assert current_run_id(page) == run_id
        expect(page.get_by_text(other)).to_have_count(0)
        expect(page.locator(key_css(f"train.{other}.loss"))).to_have_count(0)

        # the run's config holds this page's settings, not the other page's
        config = read_json(folder / "config.json")
        assert config["data"]["n_samples"] == int(settings["train.n_samples"])
        assert config["training"]["epochs"] == int(settings["train.epochs"])
        assert config["training"]["seed"] == int(settings["train.seed"])
        assert len(config["model"]["hidden_units"]) == int(settings.get("train.layers", DEFAULT_LAYERS))
        assert config["training"]["early_stopping"] is (run_id == run_b)

        # metric cards are this run's metrics
        metrics = read_json(folder / "metrics.json")
        shown = {label: metric_value(page, label) for label in expected_cards(metrics)}
        assert shown == expected_cards(metrics), f"run {run_id}: cards {shown}, metrics.json {expected_cards(metrics)}"

        # the curves drawn are this run's history
        run = store.load_run(run_id)
        assert len(run.history) == metrics["epochs_run"]
        traces = chart_traces(page, f"train.{run_id}.loss")
        assert traces["training"] == pytest.approx(run.history["loss"].tolist(), rel=1e-6), run_id
        assert traces["validation"] == pytest.approx(run.history["val_loss"].tolist(), rel=1e-6), run_id

        # downloads: this run's history (one row per epoch) and this run's model file
        name, content = download(page, "History (.csv)")
        assert name == f"trainscope-{run_id}-history.csv"
        assert content == history_csv(run)
        assert len(content.decode().strip().splitlines()) == metrics["epochs_run"] + 1
        name, content = download(page, "Model (.keras)")
        assert name == f"trainscope-{run_id}.keras"
        assert content == (folder / "model.keras").read_bytes()
        model_hashes.add(hashlib.sha256(content).hexdigest())
        wait_idle(page)
        assert current_run_id(page) == run_id  # the download clicks kept the page on its run
    assert len(model_hashes) == 2, "both pages handed out the same model file"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024  # kB
    raise AssertionError(f"no VmRSS for pid {pid}")


def open_and_close_tabs(browser, url: str, count: int) -> None:
    """`count` tabs (separate sessions) that load the Train page, button and preview chart drawn, then close."""
    pages = [new_session(browser) for _ in range(count)]
    try:
        for page in pages:
            page.goto(url, wait_until="commit")
        for page in pages:
            expect(page.locator(key_css("train.start")).get_by_role("button")).to_be_visible(timeout=FIRST_RENDER_MS)
            expect(page.locator(DRAWN_CHART).first).to_be_visible(timeout=FIRST_RENDER_MS)
            page.wait_for_selector(IDLE)
            assert_no_exception(page)
    finally:
        for page in pages:
            page.context.close()


def test_closed_tabs_do_not_grow_server_memory(app_server, browser):
    pid = app_server.process.pid
    assert "streamlit" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    open_and_close_tabs(browser, app_server.url, 1)  # first render: imports and caches are paid here
    time.sleep(1)
    before = rss_mb(pid)
    started = time.monotonic()
    for _ in range(TAB_VISITS // TABS_AT_ONCE):
        open_and_close_tabs(browser, app_server.url, TABS_AT_ONCE)
    time.sleep(2)  # let the server notice the closed websockets
    after = rss_mb(pid)
    print(f"\nstreamlit server RSS: {before:.1f} MB before, {after:.1f} MB after {TAB_VISITS} opened and closed "
          f"tabs ({after - before:+.1f} MB, {time.monotonic() - started:.0f} s)")
    assert after - before < RSS_GROWTH_LIMIT_MB, (
        f"server RSS grew {after - before:.0f} MB ({before:.0f} -> {after:.0f} MB) over {TAB_VISITS} closed tabs")
