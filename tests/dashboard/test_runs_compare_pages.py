"""Runs and Compare pages through the real app navigation (streamlit AppTest).

Real runs are trained once per module into a temporary runs folder; tests that delete
work on a copy of it.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.config import DataConfig, ModelConfig, RunConfig, TrainingConfig
from core.store import RunStore
from dashboard import state
from tests.conftest import tiny_config

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
RUNS_PAGE, COMPARE_PAGE = "views/runs.py", "views/compare.py"
BROKEN_ID = "20200101-000000-abcdef"
DOWNLOADS = ["Model (.keras)", "Preprocessing (.joblib)", "Bundle (.zip)", "History (.csv)", "Report (.csv)"]


def synthetic(hidden=(8,), dropout=0.0, learning_rate=0.001) -> RunConfig:
    config = tiny_config()
    return RunConfig(config.data, ModelConfig(hidden_units=hidden, dropout=dropout),
                     TrainingConfig(batch_size=32, epochs=3, patience=2, seed=1, learning_rate=learning_rate))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two synthetic runs, one digits run, one broken folder and one queued run."""
    from core.experiment import run_experiment

    root = tmp_path_factory.mktemp("runs")
    store = RunStore(root)
    ids = {
        "a": run_experiment(synthetic(), store)["run_id"],
        "b": run_experiment(synthetic(hidden=(16, 8), dropout=0.3, learning_rate=0.01), store)["run_id"],
        "digits": run_experiment(RunConfig(DataConfig(dataset="digits"), ModelConfig(hidden_units=(8,)),
                                           TrainingConfig(batch_size=32, epochs=2, seed=1)), store)["run_id"],
    }
    (root / BROKEN_ID).mkdir()
    (root / BROKEN_ID / "config.json").write_text("{not json")
    ids["queued"] = store.create_run(tiny_config())
    return root, ids


@pytest.fixture
def runs_copy(runs, tmp_path):
    """A private copy for tests that delete runs."""
    root, ids = runs
    copy = tmp_path / "runs"
    shutil.copytree(root, copy)
    return copy, ids


def open_page(monkeypatch, root: Path, page: str, run_id: str | None = None) -> AppTest:
    monkeypatch.setenv("TRAINSCOPE_RUNS_DIR", str(root))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    if run_id is not None:
        at.query_params["run"] = run_id
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> str:
    return " | ".join(str(e.value) for e in elements)


def runs_table(at: AppTest):
    return next(df for df in at.dataframe if df.key == state.RUNS_TABLE)


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def selected_rows(at: AppTest) -> list[int]:
    return list(at.session_state[state.RUNS_TABLE]["selection"]["rows"])


# --- Runs page ----------------------------------------------------------------------------


def test_runs_page_lists_every_run_newest_first(monkeypatch, runs):
    root, ids = runs
    at = open_page(monkeypatch, root, RUNS_PAGE)
    table = runs_table(at).value
    assert list(table["run_id"]) == sorted(ids.values(), reverse=True) + [BROKEN_ID]
    by_id = table.set_index("run_id")
    assert by_id.loc[ids["a"], "status"] == "completed"
    assert by_id.loc[ids["b"], "layers"] == "16-8" and by_id.loc[ids["b"], "dropout"] == pytest.approx(0.3)
    assert 0 <= by_id.loc[ids["digits"], "test_accuracy"] <= 1
    assert by_id.loc[ids["queued"], "status"] == "queued"
    assert by_id.loc[BROKEN_ID, "status"] == "broken" and by_id.loc[BROKEN_ID, "problem"]
    assert "percent" in runs_table(at).proto.columns  # test accuracy shown as a percentage
    assert not at.metric and not at.download_button  # nothing selected yet
    assert "Select a run" in texts(at.caption)


def test_run_from_query_param_shows_full_results(monkeypatch, runs):
    root, ids = runs
    at = open_page(monkeypatch, root, RUNS_PAGE, ids["b"])
    assert [m.label for m in at.metric] == ["Test accuracy", "Test loss", "Macro F1", "Epochs"]
    keys = [chart.proto.id for chart in at.get("plotly_chart")]
    assert len(keys) >= 3 and any("confusion" in k for k in keys)
    assert any("Precision" in df.value.columns for df in at.dataframe)  # the report
    assert [b.label for b in at.download_button] == DOWNLOADS
    assert f"Run {ids['b']}" in texts(at.subheader)
    settings = pd.concat([df.value for df in at.dataframe if list(df.value.columns) == ["setting", "value"]])
    settings = settings.set_index("setting")["value"]
    assert settings["units per layer"] == "16-8" and settings["dropout"] == "0.3"  # the settings tables
    assert settings["dataset"] == "synthetic" and settings["learning rate"] == "0.01"
    rows = list(runs_table(at).value["run_id"])
    assert selected_rows(at) == [rows.index(ids["b"])]  # the table highlights the same run
    assert at.query_params["run"] == ids["b"]


def test_selecting_a_row_shows_that_run_and_updates_the_link(monkeypatch, runs):
    root, ids = runs
    at = open_page(monkeypatch, root, RUNS_PAGE, ids["a"])
    rows = list(runs_table(at).value["run_id"])
    at.session_state[state.RUNS_TABLE] = {"selection": {"rows": [rows.index(ids["digits"])], "columns": []}}
    at.run()
    assert not at.exception
    assert f"Run {ids['digits']}" in texts(at.subheader)
    assert at.query_params["run"] == ids["digits"]
    assert [t.label for t in at.tabs][-1] == "Mistakes"  # digits are images
    at.session_state[state.RUNS_TABLE] = {"selection": {"rows": [], "columns": []}}  # deselect
    at.run()
    assert not at.exception and not at.metric and "run" not in at.query_params


def test_same_figure_twice_on_one_page_does_not_raise(monkeypatch, runs):
    """Reruns (a toggle) redraw every chart with the same keys."""
    root, ids = runs
    at = open_page(monkeypatch, root, RUNS_PAGE, ids["a"])
    at.toggle(key=state.RESULTS_NORMALIZE.format(f"runs.{ids['a']}")).set_value(True).run()
    assert not at.exception
    assert any("% of each true class" in json.dumps(spec["layout"]["title"]) for spec in chart_specs(at))


def test_broken_run_is_listed_and_selecting_it_shows_its_problem(monkeypatch, runs):
    root, _ = runs
    at = open_page(monkeypatch, root, RUNS_PAGE, BROKEN_ID)
    assert "damaged" in texts(at.warning) and "unreadable" in texts(at.warning)
    assert not at.metric and not at.download_button
    assert at.button(key=state.RUNS_DELETE)  # a broken run can still be deleted


@pytest.mark.parametrize("bad", ["bad-id", "20990101-000000-aaaaaa", "../../etc", "![x](http://e.com/a.png)"])
def test_invalid_query_param_shows_an_error(monkeypatch, runs, bad):
    root, _ = runs
    at = open_page(monkeypatch, root, RUNS_PAGE, bad)
    message = texts(at.error)
    assert "cannot be shown" in message and "no such run" in message
    assert (bad in message) == bad.startswith("2099")  # odd URL text is never echoed as markdown
    assert not at.metric and "run" not in at.query_params and selected_rows(at) == []


def test_run_still_training_offers_stop_not_delete(monkeypatch, runs_copy):
    root, ids = runs_copy
    at = open_page(monkeypatch, root, RUNS_PAGE, ids["queued"])
    assert "still training" in texts(at.info)
    at.button(key=state.RUNS_REFRESH).click().run()
    assert not at.exception and "still training" in texts(at.info)
    assert not [b for b in at.button if b.key == state.RUNS_DELETE]
    at.button(key=state.RUNS_STOP).click().run()
    assert not at.exception and "will stop after its current epoch" in texts(at.info)
    assert RunStore(root).stop_requested(ids["queued"]) and (root / ids["queued"]).is_dir()


def test_a_run_that_started_training_after_the_page_was_drawn_is_not_deleted(monkeypatch, runs_copy):
    root, ids = runs_copy
    at = open_page(monkeypatch, root, RUNS_PAGE, ids["a"])
    at.button(key=state.RUNS_DELETE).click().run()
    RunStore(root).set_status(ids["a"], "running")  # e.g. retrained into the same folder meanwhile
    at.button(key=state.RUNS_CONFIRM).click().run()
    assert not at.exception
    assert "not deleted" in texts(at.error) and "still training" in texts(at.error)
    assert (root / ids["a"]).is_dir()


def test_delete_asks_for_confirmation_then_removes_the_folder(monkeypatch, runs_copy):
    root, ids = runs_copy
    at = open_page(monkeypatch, root, RUNS_PAGE, ids["a"])
    at.button(key=state.RUNS_DELETE).click().run()
    assert not at.exception and (root / ids["a"]).is_dir()  # nothing deleted yet
    confirm = at.button(key=state.RUNS_CONFIRM)
    assert confirm.label == f"Yes, delete run {ids['a']}"
    confirm.click().run()
    assert not at.exception
    assert not (root / ids["a"]).exists()
    assert "deleted" in texts(at.success)
    assert ids["a"] not in set(runs_table(at).value["run_id"])
    assert not at.metric and "run" not in at.query_params


def test_cancel_keeps_the_run(monkeypatch, runs_copy):
    root, ids = runs_copy
    at = open_page(monkeypatch, root, RUNS_PAGE, ids["a"])
    at.button(key=state.RUNS_DELETE).click().run()
    at.button(key=state.RUNS_CANCEL).click().run()
    assert not at.exception and (root / ids["a"]).is_dir()
    assert at.button(key=state.RUNS_DELETE) and not [b for b in at.button if b.key == state.RUNS_CONFIRM]


def test_delete_of_a_run_removed_underneath_shows_a_message(monkeypatch, runs_copy):
    root, ids = runs_copy
    at = open_page(monkeypatch, root, RUNS_PAGE, ids["a"])
    at.button(key=state.RUNS_DELETE).click().run()
    shutil.rmtree(root / ids["a"])  # e.g. `python -m core runs delete` meanwhile
    at.button(key=state.RUNS_CONFIRM).click().run()
    assert not at.exception
    assert "already deleted" in texts(at.warning)
    assert ids["a"] not in set(runs_table(at).value["run_id"]) and not at.metric


def test_run_removed_while_shown_clears_the_selection(monkeypatch, runs_copy):
    root, ids = runs_copy
    at = open_page(monkeypatch, root, RUNS_PAGE, ids["b"])
    shutil.rmtree(root / ids["b"])
    at.run()
    assert not at.exception
    assert "cannot be shown" in texts(at.error) and not at.metric
    assert "run" not in at.query_params and selected_rows(at) == []
    at.run()  # the message was about one click; the page is usable again
    assert not at.exception and not at.error


def test_list_shows_runs_made_elsewhere_without_restart(monkeypatch, runs_copy):
    root, ids = runs_copy
    at = open_page(monkeypatch, root, RUNS_PAGE, ids["a"])
    new_id = RunStore(root).create_run(tiny_config())  # as `python -m core train` would
    at.run()
    assert not at.exception
    rows = list(runs_table(at).value["run_id"])
    assert rows[0] == new_id
    assert f"Run {ids['a']}" in texts(at.subheader) and selected_rows(at) == [rows.index(ids["a"])]


# --- Compare page -------------------------------------------------------------------------


def test_compare_overlays_the_two_newest_runs_and_marks_differences(monkeypatch, runs):
    root, ids = runs
    at = open_page(monkeypatch, root, COMPARE_PAGE)
    picker = at.multiselect(key=state.COMPARE_RUNS)
    assert picker.value == [ids["digits"], ids["b"]]  # the two newest with results
    assert len(picker.options) == 3  # broken and queued runs are not offered
    assert any(ids["a"][:15] in option and "synthetic" in option and "%" in option for option in picker.options)
    skipped = texts(at.caption)
    assert "Left out 2 runs" in skipped and "1 damaged" in skipped and "1 still training" in skipped

    picker.set_value([ids["a"], ids["b"]]).run()
    assert not at.exception
    charts_ = chart_specs(at)
    assert len(charts_) == 3
    titles = [spec["layout"]["title"]["text"] for spec in charts_]
    assert titles[:2] == ["Validation loss of the selected runs", "Validation accuracy of the selected runs"]
    assert all(len(spec["data"]) == 2 for spec in charts_[:2])

    element = at.table[0]
    table = element.value
    assert list(table.columns) == ["Difference", ids["a"][:15], ids["b"][:15]]
    marks = table["Difference"].to_dict()
    for setting in ("Layers", "Dropout", "Learning rate"):
        assert marks[setting] == "differs", setting
    for setting in ("Dataset", "Data options", "Activation", "Optimizer", "Batch size", "Seed", "Early stopping"):
        assert marks[setting] == "", setting
    for result in ("Test accuracy", "Test loss", "Macro F1", "Best epoch", "Epochs run"):
        assert marks[result] == "result"
    assert table.loc["Layers", ids["b"][:15]] == "16-8" and table.loc["Dropout", ids["b"][:15]] == "0.3"
    styled = element.proto.arrow_data.styler.styles
    assert "#fff3bf" in styled  # differing rows are highlighted


def test_setting_chart_follows_the_selectbox(monkeypatch, runs):
    root, _ = runs
    at = open_page(monkeypatch, root, COMPARE_PAGE)
    before = chart_specs(at)[-1]
    assert before["layout"]["title"]["text"] == "Test accuracy by dropout"
    assert len(before["data"][0]["customdata"]) == 3  # every run with test results
    at.selectbox(key=state.COMPARE_SETTING).set_value("layers").run()
    assert not at.exception
    after = chart_specs(at)[-1]
    assert after["layout"]["title"]["text"] == "Test accuracy by layers"
    assert sorted(after["data"][0]["x"]) == ["16-8", "8", "8"]


def test_compare_with_fewer_than_two_picked_gives_a_hint(monkeypatch, runs):
    root, ids = runs
    at = open_page(monkeypatch, root, COMPARE_PAGE)
    at.multiselect(key=state.COMPARE_RUNS).set_value([ids["a"]]).run()
    assert not at.exception
    assert "at least two" in texts(at.info)
    assert len(at.get("plotly_chart")) == 1  # only the setting chart


def test_compare_survives_a_picked_run_deleted_meanwhile(monkeypatch, runs_copy):
    root, ids = runs_copy
    at = open_page(monkeypatch, root, COMPARE_PAGE)
    at.multiselect(key=state.COMPARE_RUNS).set_value([ids["a"], ids["b"], ids["digits"]]).run()
    assert len(chart_specs(at)[0]["data"]) == 3
    shutil.rmtree(root / ids["b"])
    at.run()
    assert not at.exception
    assert at.multiselect(key=state.COMPARE_RUNS).value == [ids["a"], ids["digits"]]
    assert len(chart_specs(at)[0]["data"]) == 2


def test_compare_with_one_finished_run_says_so(monkeypatch, runs_copy):
    root, ids = runs_copy
    for key in ("a", "b"):
        shutil.rmtree(root / ids[key])
    at = open_page(monkeypatch, root, COMPARE_PAGE)
    assert "Only one finished run" in texts(at.info) and not at.get("plotly_chart")


@pytest.mark.parametrize("page", [RUNS_PAGE, COMPARE_PAGE])
def test_empty_runs_dir_gives_a_friendly_note(monkeypatch, tmp_path, page):
    at = open_page(monkeypatch, tmp_path / "no-runs-yet", page)
    assert "No " in texts(at.info) and "Train" in texts(at.info)
    assert at.get("page_link") and not at.get("plotly_chart") and not at.exception


def test_pages_do_not_import_tensorflow():
    """The pages must render fast: heavy work happens in worker processes."""
    for page in ("runs.py", "compare.py"):
        source = (Path(APP).parent / "views" / page).read_text()
        assert "tensorflow" not in source and "keras" not in source and "unsafe_allow_html" not in source
