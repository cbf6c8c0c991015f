"""Shared fixtures: tiny configs and one finished run reused by many tests."""
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from core.config import DataConfig, ModelConfig, RunConfig, TrainingConfig  # noqa: E402


def tiny_config(dataset: str = "synthetic", **training) -> RunConfig:
    """A run that trains in about a second."""
    settings = {"batch_size": 32, "epochs": 3, "patience": 2, "seed": 1, **training}
    return RunConfig(
        DataConfig(dataset=dataset, n_samples=300, n_features=6, n_informative=3),
        ModelConfig(hidden_units=(8,), dropout=0.0),
        TrainingConfig(**settings),
    )


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
    """One completed synthetic run: (store, run_id, summary)."""
    from core.experiment import run_experiment
    from core.store import RunStore

    store = RunStore(tmp_path_factory.mktemp("runs"))
    summary = run_experiment(tiny_config(), store)
    return store, summary["run_id"], summary


@pytest.fixture(scope="session")
def mnist_t10k_dir() -> Path:
    folder = os.environ.get("MNIST_T10K_DIR")
    if not folder or not Path(folder).is_dir():
        pytest.skip("MNIST_T10K_DIR is not set to the folder with the official t10k IDX files")
    return Path(folder)
