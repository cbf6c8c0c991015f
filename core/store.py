"""Run folders on disk: the single source of truth for every run, live or finished.

One folder per run, settings written once, history appended one line per epoch, every
other file replaced atomically, so a reader never sees half a file and a killed run
still shows the epochs it finished.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from core.config import RunConfig
from core.errors import RunNotFoundError, TrainscopeError

RUN_ID_PATTERN = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")
ACTIVE_STATES = ("queued", "running")
HISTORY_COLUMNS = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"]
LIST_COLUMNS = [
    "run_id", "created", "dataset", "layers", "dropout", "activation", "optimizer", "learning_rate",
    "batch_size", "epochs_planned", "epochs_run", "best_epoch", "test_accuracy", "test_loss",
    "macro_f1", "status", "problem", "error",
]
WHOLE_NUMBER_COLUMNS = ("batch_size", "epochs_planned", "epochs_run", "best_epoch")


class StoreError(TrainscopeError):
    """The runs directory cannot be used (not writable, a run is busy)."""


def default_runs_dir() -> Path:
    return Path(os.environ.get("TRAINSCOPE_RUNS_DIR") or "runs")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def write_json_atomic(path: Path, data: Any) -> None:
    write_bytes_atomic(path, json.dumps(data, indent=2, allow_nan=False).encode())


def write_bytes_atomic(path: Path, payload: bytes) -> None:
    """Write next to the target, then rename: readers see the old file or the new one."""
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def library_versions() -> dict[str, str]:
    versions = {"python": ".".join(map(str, sys.version_info[:3]))}
    for package in ("tensorflow", "keras", "scikit-learn", "numpy", "pandas", "joblib"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def process_alive(pid: int | None) -> bool:
    """True while pid runs; a zombie (finished, not yet reaped) counts as gone."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


@dataclass
class Run:
    """One run as read from disk; `problem` says why it is broken, if it is."""

    run_id: str
    path: Path
    config: RunConfig | None
    status: dict
    history: pd.DataFrame
    metrics: dict | None
    problem: str | None = None

    @property
    def state(self) -> str:
        return "broken" if self.problem else self.status.get("state", "unknown")

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES


class RunStore:
    """The runs directory: create, append, finish, list, load, delete runs."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root else default_runs_dir()

    # --- paths -------------------------------------------------------------------------
    def run_path(self, run_id: str) -> Path:
        """The folder of run_id; refuses anything that is not a plain run id inside root."""
        if not isinstance(run_id, str) or not RUN_ID_PATTERN.match(run_id):
            raise RunNotFoundError(f"not a valid run id: {run_id!r} (expected like 20260101-120000-a1b2c3)")
        path = self.root / run_id
        if path.is_symlink() or not path.is_dir():
            raise RunNotFoundError(f"no run {run_id} in {self.root}")
        return path

    def ensure_writable(self) -> None:
        """Fail before training starts, with the reason, if runs cannot be saved."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=self.root, prefix=".write-check-", delete=True)
            probe.write(b"x" * 4096)
            probe.flush()
            probe.close()
        except OSError as exc:
            raise StoreError(f"cannot save runs in {self.root}: {exc.strerror or exc}") from None

    # --- writing -----------------------------------------------------------------------
    def create_run(self, config: RunConfig) -> str:
        """A new folder with config and a queued status; ids sort by time and never collide."""
        self.ensure_writable()
        while True:
            run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
            try:
                (self.root / run_id).mkdir()
                break
            except FileExistsError:
                continue
        path = self.root / run_id
        write_json_atomic(path / "config.json", config.to_dict())
        write_json_atomic(path / "versions.json", library_versions())
        self.set_status(run_id, "queued", epochs_planned=config.training.epochs, created=now_iso())
        return run_id

    def set_status(self, run_id: str, state: str, **fields: Any) -> None:
        path = self.run_path(run_id) / "status.json"
        status = self._read_json(path) if path.exists() else {}
        status.update(fields, state=state, updated=now_iso())
        write_json_atomic(path, status)

    def append_epoch(self, run_id: str, row: dict) -> None:
        """One line per epoch, flushed, so a crash keeps every finished epoch."""
        clean = {key: (value if value == value else None) for key, value in row.items()}
        with open(self.run_path(run_id) / "history.jsonl", "a", encoding="utf-8") as stream:
            stream.write(json.dumps(clean) + "\n")
            stream.flush()

    def write_file(self, run_id: str, name: str, payload: bytes) -> None:
        write_bytes_atomic(self.run_path(run_id) / name, payload)

    def write_json(self, run_id: str, name: str, data: Any) -> None:
        write_json_atomic(self.run_path(run_id) / name, data)

    def request_stop(self, run_id: str) -> None:
        (self.run_path(run_id) / "STOP").touch()

    def stop_requested(self, run_id: str) -> bool:
        return (self.root / run_id / "STOP").exists()

    def has_epochs(self, run_id: str) -> bool:
        """Cheap enough to ask many times a second, unlike reading the history."""
        return (self.root / run_id / "history.jsonl").exists()

    def delete_run(self, run_id: str) -> None:
        run = self.load_run(run_id)
        if run.is_active:
            raise StoreError(f"run {run_id} is still training; stop it before deleting it")
        shutil.rmtree(run.path)

    # --- reading -----------------------------------------------------------------------
    def _read_json(self, path: Path) -> Any:
        return json.loads(path.read_text(encoding="utf-8"))

    def read_history(self, run_id: str) -> pd.DataFrame:
        """Every complete epoch line; a torn last line (crash mid-write) is ignored."""
        path = self.run_path(run_id) / "history.jsonl"
        rows = []
        if path.exists():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        frame = pd.DataFrame(rows)
        for column in HISTORY_COLUMNS:
            if column not in frame:
                frame[column] = pd.Series(dtype=float)
        return frame[HISTORY_COLUMNS + [c for c in frame.columns if c not in HISTORY_COLUMNS]]

    def load_run(self, run_id: str) -> Run:
        """Read a run; a missing or corrupt file marks it broken instead of raising."""
        path = self.run_path(run_id)
        config, status, metrics, problem = None, {}, None, None
        try:
            config = RunConfig.from_dict(self._read_json(path / "config.json"))
            status = self._read_json(path / "status.json")
            if (path / "metrics.json").exists():
                metrics = self._read_json(path / "metrics.json")
            elif status.get("state") == "completed":
                problem = "metrics.json is missing"
        except FileNotFoundError as exc:
            problem = f"{Path(exc.filename).name} is missing"
        except (ValueError, TypeError) as exc:
            problem = f"a file is unreadable ({str(exc)[:120]})"
        if status.get("state") in ACTIVE_STATES:
            pid = status.get("pid") or self._worker_pid(path)
            if pid and not process_alive(pid):
                status = {**status, "state": "interrupted", "error": "the training process ended without finishing"}
        history = self.read_history(run_id)
        return Run(run_id, path, config, status, history, metrics, problem)

    def _worker_pid(self, path: Path) -> int | None:
        try:
            return int((path / "worker.pid").read_text())
        except (OSError, ValueError):
            return None

    def run_ids(self) -> list[str]:
        """Run folders, newest first."""
        if not self.root.is_dir():
            return []
        names = [p.name for p in self.root.iterdir() if RUN_ID_PATTERN.match(p.name) and p.is_dir() and not p.is_symlink()]
        return sorted(names, reverse=True)

    def list_runs(self) -> pd.DataFrame:
        """One row per run, newest first; broken runs are rows with a problem, not errors."""
        rows = []
        for run_id in self.run_ids():
            try:
                rows.append(self._summary_row(self.load_run(run_id)))
            except RunNotFoundError:
                continue  # deleted while we were listing

        frame = pd.DataFrame(rows, columns=LIST_COLUMNS)
        frame["created"] = pd.to_datetime(frame["created"], format="%Y%m%d-%H%M%S", errors="coerce")
        return frame.astype({column: "Int64" for column in WHOLE_NUMBER_COLUMNS})

    def _summary_row(self, run: Run) -> dict:
        row = {"run_id": run.run_id, "created": run.run_id[:15], "status": run.state, "problem": run.problem,
               "error": run.status.get("error")}
        row["epochs_run"] = len(run.history)
        if run.config:
            data, model, training = run.config.data, run.config.model, run.config.training
            row.update(
                dataset=data.dataset, layers="-".join(map(str, model.hidden_units)), dropout=model.dropout,
                activation=model.activation, optimizer=training.optimizer, learning_rate=training.learning_rate,
                batch_size=training.batch_size, epochs_planned=training.epochs,
            )
        if run.metrics:
            for key in ("best_epoch", "test_accuracy", "test_loss", "macro_f1", "epochs_run"):
                row[key] = run.metrics.get(key)
        return row
