"""The state of an unfinished training run, which `--resume` continues.

Two kinds of file in the work folder (`<output root>/model/checkpoints`):

    resume.json                   the run's settings, its TensorBoard folder, the epochs done
                                  and the weights file that holds them
    resume-epoch-N.weights.h5     Keras's `save_weights` after N epochs: the weights and the
                                  optimizer's variables (momentum, and the step count that
                                  places the learning-rate schedule)

A run writes `resume.json` when it starts and rewrites it after every finished epoch, once
the weights are on disk; `resume.json` is replaced atomically, so an interrupt at any
moment leaves it naming a whole, finished epoch. A finished run deletes both. No TensorFlow
import here: the command line reads the record before TensorFlow loads.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from model.config import TrainingConfig

RECORD = "resume.json"
WEIGHTS_PATTERN = "resume-epoch-*.weights.h5"


class ResumeError(Exception):
    """The resume record exists but cannot be used; the message says why."""


@dataclasses.dataclass
class UnfinishedRun:
    config: TrainingConfig
    log_dir: Path | None  # the TensorBoard folder it logged to, which resuming continues
    epochs_done: int
    weights: Path | None  # weights and optimizer state after `epochs_done` epochs


def read(work_dir: Path) -> UnfinishedRun | None:
    """The run that stopped before its last epoch in `work_dir`, or None."""
    path = work_dir / RECORD
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
        run = UnfinishedRun(config=TrainingConfig.from_dict(record["config"]),
                            log_dir=Path(record["log_dir"]) if record["log_dir"] else None,
                            epochs_done=int(record["epochs_done"]),
                            weights=work_dir / record["weights"] if record["weights"] else None)
    except (ValueError, KeyError, TypeError) as error:
        raise ResumeError(f"{path} is unreadable ({error}); start afresh without --resume") from None
    if run.weights is not None and not run.weights.is_file():
        raise ResumeError(f"{run.weights}, named by {path}, is missing; start afresh without --resume")
    return run


def _write(work_dir: Path, run: UnfinishedRun) -> None:
    record = {"config": dataclasses.asdict(run.config),
              "log_dir": str(run.log_dir) if run.log_dir else None,
              "epochs_done": run.epochs_done,
              "weights": run.weights.name if run.weights else None}
    scratch = work_dir / f".{RECORD}.tmp"
    scratch.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(scratch, work_dir / RECORD)


def start(work_dir: Path, config: TrainingConfig, log_dir: Path | None) -> UnfinishedRun:
    """Record a fresh run, forgetting any earlier unfinished one."""
    finish(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    run = UnfinishedRun(config, log_dir, 0, None)
    _write(work_dir, run)
    return run


def save_epoch(work_dir: Path, run: UnfinishedRun, model, epochs_done: int) -> None:
    """Record that `epochs_done` epochs of `run` are finished, with the model's and optimizer's state."""
    weights = work_dir / f"resume-epoch-{epochs_done}.weights.h5"
    model.save_weights(weights, overwrite=True)
    _write(work_dir, dataclasses.replace(run, epochs_done=epochs_done, weights=weights))
    for older in work_dir.glob(WEIGHTS_PATTERN):
        if older != weights:
            older.unlink()


def restore(model, run: UnfinishedRun) -> None:
    """Put the recorded weights and optimizer state into the compiled `model`."""
    if run.weights is None:
        return  # stopped before its first epoch finished: it starts from the beginning
    # The optimizer creates its variables on first use; they must exist to be loaded.
    model.optimizer.build(model.trainable_variables)
    model.load_weights(run.weights)


def finish(work_dir: Path) -> None:
    """The run is over: nothing is left to resume."""
    (work_dir / RECORD).unlink(missing_ok=True)
    for weights in work_dir.glob(WEIGHTS_PATTERN):
        weights.unlink()
