"""Resident memory of one long-lived process training many runs in a row (core, no app).

    python -m benchmarks.memory_bench --runs 20
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    from core.config import DataConfig, ModelConfig, RunConfig, TrainingConfig
    from core.experiment import run_experiment
    from core.store import RunStore

    config = RunConfig(DataConfig(), ModelConfig(), TrainingConfig(epochs=3, batch_size=32))
    readings = {}
    with tempfile.TemporaryDirectory() as folder:
        store = RunStore(folder)
        for index in range(1, args.runs + 1):
            run_experiment(config, store)
            if index in (1, args.runs):
                readings[index] = rss_mb()
    print(json.dumps({"rss_after_1_mb": readings[1], f"rss_after_{args.runs}_mb": readings[args.runs]}))


if __name__ == "__main__":
    main()
