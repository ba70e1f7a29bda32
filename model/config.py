"""The training recipe's settings and their defaults (no TensorFlow import, so the command
line and the data checks answer at once)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

ARCHITECTURES = ("cnn", "mlp")
DEFAULT_HIDDEN = (128, 128)  # the MLP's hidden layer sizes unless --hidden says otherwise


@dataclasses.dataclass
class TrainingConfig:
    arch: str = "cnn"
    hidden: tuple[int, ...] | None = None  # the MLP's hidden layer sizes
    epochs: int = 15
    batch_size: int = 16
    learning_rate: float = 0.05
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    warmup_epochs: float = 1.0
    validation_split: float = 0.1
    augment: bool = True
    seed: int = 42
    limit: int | None = None


BACKUP_DIR = "backup"  # BackupAndRestore's state of an unfinished run, inside the work folder
RUN_RECORD = "run.json"  # the settings of that run, so --resume can continue it as it was


def backup_dir(work_dir: Path) -> Path:
    return work_dir / BACKUP_DIR


def unfinished_run(work_dir: Path) -> dict | None:
    """The record of the run that stopped before its last epoch in `work_dir`, if any."""
    record = backup_dir(work_dir) / RUN_RECORD
    return json.loads(record.read_text()) if record.is_file() else None
