"""python -m core: everything the dashboard does, headless."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

from core.config import DATASETS, ACTIVATIONS, OPTIMIZERS, DataConfig, ModelConfig, RunConfig, TrainingConfig
from core.errors import ConfigError, TrainscopeError
from core.store import RunStore
from core.summary import training_story

EXIT_USAGE = 2
EXIT_INTERNAL = 3


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line, as every other error here."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"error: {message} (see {self.prog} --help)\n")


RUNS_DIR_HELP = "runs directory (default $TRAINSCOPE_RUNS_DIR or ./runs)"


class _Subcommands:
    """Subparsers that all accept --runs-dir, before or after the subcommand."""

    def __init__(self, parser: argparse.ArgumentParser, dest: str):
        self.group = parser.add_subparsers(dest=dest, required=True, parser_class=ArgumentParser)
        self.choices = self.group.choices

    def add_parser(self, name: str, **kwargs) -> argparse.ArgumentParser:
        sub = self.group.add_parser(name, **kwargs)
        sub.add_argument("--runs-dir", default=argparse.SUPPRESS, help=RUNS_DIR_HELP)
        return sub


def _hidden_units(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hidden takes sizes separated by commas like 64,32, got {text!r}") from None


def _add_train_parser(commands) -> None:
    data, model, training = DataConfig(), ModelConfig(), TrainingConfig()
    train = commands.add_parser("train", help="train one run and record it in the runs directory")
    train.add_argument("--config", type=Path, help="a config.json (e.g. from a run folder); flags given override it")
    train.add_argument("--dataset", choices=DATASETS, help=f"(default {data.dataset})")
    train.add_argument("--samples", type=int, dest="n_samples", help=f"synthetic samples (default {data.n_samples})")
    train.add_argument("--features", type=int, dest="n_features", help=f"synthetic features (default {data.n_features})")
    train.add_argument("--informative", type=int, dest="n_informative", help=f"informative features (default {data.n_informative})")
    train.add_argument("--class-sep", type=float, dest="class_sep", help=f"class separation (default {data.class_sep})")
    train.add_argument("--label-noise", type=float, dest="flip_y", help=f"fraction of flipped labels (default {data.flip_y})")
    train.add_argument("--train-size", type=int, dest="train_size", help="use this many training images (image datasets)")
    train.add_argument("--validation-fraction", type=float, dest="validation_fraction",
                       help=f"share of the training images kept for validation (default {data.validation_fraction})")
    train.add_argument("--data-dir", dest="data_dir", help="folder with the dataset's files (IDX or mnist.npz)")
    train.add_argument("--hidden", type=_hidden_units, dest="hidden_units", help="layer sizes, e.g. 64,32 (default 64,32)")
    train.add_argument("--activation", choices=ACTIVATIONS, help=f"(default {model.activation})")
    train.add_argument("--dropout", type=float, help=f"dropout rate 0-0.9 (default {model.dropout})")
    train.add_argument("--optimizer", choices=OPTIMIZERS, help=f"(default {training.optimizer})")
    train.add_argument("--learning-rate", type=float, dest="learning_rate", help=f"(default {training.learning_rate})")
    train.add_argument("--batch-size", type=int, dest="batch_size", help=f"(default {training.batch_size})")
    train.add_argument("--epochs", type=int, help=f"(default {training.epochs})")
    train.add_argument("--patience", type=int, help=f"early-stopping patience in epochs (default {training.patience})")
    train.add_argument("--no-early-stopping", action="store_false", dest="early_stopping", default=None)
    train.add_argument("--seed", type=int, help="seed for the data split and the training (default 42)")
    train.add_argument("--background", action="store_true", help="start a worker process and print the run id at once")
    train.add_argument("--json", action="store_true", help="print one JSON object with the results")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m core", description="Trainscope: train and inspect neural-network runs.")
    parser.add_argument("--runs-dir", help=RUNS_DIR_HELP)
    commands = _Subcommands(parser, "command")
    _add_train_parser(commands)
    runs = commands.add_parser("runs", help="list, show, stop, delete or export recorded runs")
    runs_commands = _Subcommands(runs, "runs_command")
    listing = runs_commands.add_parser("list", help="all runs, newest first")
    listing.add_argument("--json", action="store_true")
    for name, text in (("show", "one run's settings and results"), ("stop", "ask a running run to stop after this epoch"),
                       ("delete", "delete a finished run")):
        sub = runs_commands.add_parser(name, help=text)
        sub.add_argument("run_id")
    runs_commands.choices["show"].add_argument("--json", action="store_true")
    export = runs_commands.add_parser("export", help="write a run's bundle (.zip with model, preprocessing, predict.py)")
    export.add_argument("run_id")
    export.add_argument("--output", type=Path, help="zip file to write (default trainscope-RUN_ID.zip)")
    predict = commands.add_parser("predict", help="predict with a recorded run's model")
    source = predict.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", dest="run_id", help="a run in the runs directory")
    source.add_argument("--bundle", type=Path, help="a bundle .zip (its pickles are never loaded)")
    predict.add_argument("--input", required=True, type=Path, help="a .csv or .npy file, one sample per row")
    predict.add_argument("--json", action="store_true")
    subset = commands.add_parser("make-mnist-folder", help="build a four-file MNIST folder from slices of another")
    subset.add_argument("--source", required=True, type=Path, help="folder with t10k (and optionally train) IDX files")
    subset.add_argument("--output", required=True, type=Path)
    subset.add_argument("--train", type=int, default=8000, help="images for training (default 8000)")
    subset.add_argument("--test", type=int, default=2000, help="images for testing (default 2000)")
    worker = commands.add_parser("worker", help=argparse.SUPPRESS)
    worker.add_argument("run_id", nargs="?")
    worker.add_argument("--wait", action="store_true", help="import TensorFlow, then take a run id from stdin")
    return parser


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """Defaults, then a config file, then the flags given."""
    base = RunConfig.from_json(_read_text(args.config)).to_dict() if args.config else RunConfig().to_dict()
    for section, cls in (("data", DataConfig), ("model", ModelConfig), ("training", TrainingConfig)):
        for name in cls.__dataclass_fields__:
            value = getattr(args, name, None)
            if value is not None:
                base[section][name] = value
    if args.seed is not None:
        base["data"]["seed"] = base["training"]["seed"] = args.seed
    return RunConfig.from_dict(base)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TrainscopeError(f"cannot read {path}: {exc.strerror or exc}") from None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("config", f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None


def _print_epoch(planned: int):
    def show(row: dict) -> None:
        parts = [f"{key} {row[key]:.4f}" for key in ("loss", "accuracy", "val_loss", "val_accuracy") if key in row]
        print(f"epoch {row['epoch']}/{planned}  " + "  ".join(parts), flush=True)

    return show


def command_train(args, store: RunStore) -> int:
    config = config_from_args(args)
    store.ensure_writable()
    if args.background:
        from core.worker import start_background_run

        run_id = start_background_run(config, store)
        _emit(args.json, {"run_id": run_id, "run_dir": str(store.run_path(run_id).resolve()), "status": "queued"})
        return 0
    from core.experiment import run_experiment

    # --json promises one JSON object on stdout; keras prints its download progress there
    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
        summary = run_experiment(config, store, on_epoch=None if args.json else _print_epoch(config.training.epochs))
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"run {summary['run_id']} {summary['status']}: test accuracy {summary['test_accuracy']:.4f}, "
            f"test loss {summary['test_loss']:.4f}, best epoch {summary['best_epoch']} of {summary['epochs_run']}"
            f"{' (stopped early)' if summary['stopped_early'] else ''}\nsaved in {summary['run_dir']}"
        )
        print(training_story(store.load_run(summary["run_id"]).metrics, config.training.early_stopping,
                             config.training.patience))
    return 0


def _emit(as_json: bool, data: dict) -> None:
    print(json.dumps(data) if as_json else "\n".join(f"{key}: {value}" for key, value in data.items()))


def command_runs(args, store: RunStore) -> int:
    if args.runs_command == "list":
        frame = store.list_runs()
        if args.json:
            print(frame.to_json(orient="records", date_format="iso"))
        elif frame.empty:
            print(f"no runs in {store.root}")
        else:
            shown = frame.drop(columns=["activation", "batch_size"])
            shown["error"] = shown["error"].str.slice(0, 60)
            shown = shown.astype(object)
            print(shown.where(shown.notna(), "-").to_string(index=False))
        return 0
    if args.runs_command == "show":
        return _show_run(args, store)
    if args.runs_command == "stop":
        store.request_stop(args.run_id)
        print(f"asked run {args.run_id} to stop after its current epoch")
        return 0
    if args.runs_command == "delete":
        store.delete_run(args.run_id)
        print(f"deleted run {args.run_id}")
        return 0
    from core.bundle import export_bundle

    output = args.output or Path(f"trainscope-{args.run_id}.zip")
    output.write_bytes(export_bundle(store.load_run(args.run_id)))
    print(f"wrote {output}")
    return 0


def _show_run(args, store: RunStore) -> int:
    run = store.load_run(args.run_id)
    details = {
        "run_id": run.run_id, "status": run.state, "problem": run.problem, "error": run.status.get("error"),
        "config": run.config.to_dict() if run.config else None, "epochs_recorded": len(run.history),
        "metrics": {k: v for k, v in (run.metrics or {}).items() if k not in ("roc",)},
    }
    if args.json:
        print(json.dumps(details, default=str))
        return 0
    print(json.dumps({k: v for k, v in details.items() if k != "metrics"}, indent=2, default=str))
    if run.metrics:
        print("report:")
        import pandas as pd

        print(pd.DataFrame(run.metrics["report"]).to_string(index=False, float_format="%.4f"))
    return 0


def command_predict(args, store: RunStore) -> int:
    from core.predict import predict_with_bundle, predict_with_run

    if args.bundle:
        frame = predict_with_bundle(_read_bytes(args.bundle), args.input)
    else:
        frame = predict_with_run(store, args.run_id, args.input)
    print(frame.to_json(orient="records") if args.json else frame.to_csv(index_label="sample", float_format="%.6f"), end="")
    return 0


def command_make_mnist_folder(args, store: RunStore) -> int:
    from core.idx import write_mnist_subset

    write_mnist_subset(args.source, args.output, args.train, args.test)
    print(f"wrote {args.train} training and {args.test} test images to {args.output}")
    return 0


def command_worker(args, store: RunStore) -> int:
    from core.worker import run_worker, wait_for_run

    if args.wait:
        return wait_for_run(store)
    run_worker(store, args.run_id)
    return 0


COMMANDS = {
    "train": command_train, "runs": command_runs, "predict": command_predict,
    "make-mnist-folder": command_make_mnist_folder, "worker": command_worker,
}


def main(argv: list[str] | None = None) -> int:
    """Exit 0 on success, 2 for anything the user can fix, 3 for an internal error."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    store = RunStore(getattr(args, "runs_dir", None))
    try:
        return COMMANDS[args.command](args, store)
    except TrainscopeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # a path the user gave cannot be read or written
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the CLI promises no traceback; the run folder keeps the details
        print(f"error: internal error: {exc!r}", file=sys.stderr)
        return EXIT_INTERNAL
