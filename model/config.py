"""The training recipe's settings and their defaults (no TensorFlow import, so the command
line and the data checks answer at once)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class TrainingConfig:
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
