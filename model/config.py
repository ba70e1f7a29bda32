"""The training recipe's settings: one list, from which the command line, the card and the
--resume check are all built (no TensorFlow import, so the command line answers at once).

Each field of `TrainingConfig` carries, in its metadata, what the command line needs: the
help text, the bounds of its value and, where the type alone does not say it, how to read
it. The flag is the field's name with dashes (`batch_size` -> `--batch-size`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

ARCHITECTURES = ("cnn", "mlp")
DEFAULT_HIDDEN = (128, 128)  # the MLP's hidden layer sizes unless --hidden says otherwise
WORK_DIR = Path("model/checkpoints")  # under the output root: best epoch, history, resume state, logs


def parse_layer_sizes(text: str) -> tuple[int, ...]:
    """"256,128" -> (256, 128); ValueError with a readable message otherwise."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"expected sizes separated by commas such as 128,128, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise ValueError(f"{text}: every hidden layer needs at least one unit")
    return sizes


EXTRA_AUGMENTATIONS = ("stroke-width", "slant", "elastic")


def parse_augmentations(text: str) -> tuple[str, ...]:
    """"stroke-width,slant" -> ("stroke-width", "slant"); "none" -> (); ValueError otherwise."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if names == ("none",):
        return ()
    unknown = [name for name in names if name not in EXTRA_AUGMENTATIONS]
    if unknown or not names:
        raise ValueError(f"unknown augmentation {', '.join(unknown) or repr(text)}: expected none or "
                         f"a comma-separated list of {', '.join(EXTRA_AUGMENTATIONS)}")
    return tuple(dict.fromkeys(names))


def option(default, help_text: str, **rules):
    """A training setting: its default, its help text, and rules for reading it from the
    command line: `low`/`high` bounds (`low_open`/`high_open` to exclude them), `choices`,
    `parse` (text -> value, ValueError when wrong), `metavar`."""
    return dataclasses.field(default=default, metadata={"help": help_text, **rules})


@dataclasses.dataclass
class TrainingConfig:
    arch: str = option("cnn", "the convolutional network that ships, or a multilayer perceptron",
                       choices=ARCHITECTURES)
    hidden: tuple[int, ...] | None = option(
        None, "with --arch mlp: the hidden layer sizes, e.g. 256,128; omitted: "
              f"{','.join(map(str, DEFAULT_HIDDEN))}",
        parse=parse_layer_sizes, metavar="SIZES")
    epochs: int = option(15, "passes over the training digits", low=1, metavar="N")
    batch_size: int = option(16, "digits per training step", low=1, metavar="N")
    learning_rate: float = option(0.05, "peak learning rate of the schedule", low=0, low_open=True,
                                  metavar="RATE")
    momentum: float = option(0.9, "SGD momentum", low=0, high=1, high_open=True, metavar="M")
    nesterov: bool = option(True, "Nesterov momentum")
    weight_decay: float = option(5e-4, "decoupled weight decay (scaled by the learning rate)", low=0,
                                 metavar="W")
    warmup_epochs: float = option(1.0, "linear learning-rate warm-up before the cosine decay "
                                       "(at most a fifth of the run)", low=0, metavar="EPOCHS")
    validation_split: float = option(0.1, "fraction of the training digits held out to pick the best epoch",
                                     low=0, high=1, low_open=True, high_open=True, metavar="FRACTION")
    augment: bool | None = option(
        None, "random rotations, zooms and shifts of the training digits; omitted: on for the CNN, "
              "off for the MLP (which has no notion of neighbouring pixels and underfits shifted digits)")
    extra_augmentations: tuple[str, ...] = option(
        (), "with --augment, further changes of the training digits, comma-separated: stroke-width "
            "(thicker or thinner pen), slant (shear), elastic (elastic distortion); none: only "
            "rotations, zooms and shifts", parse=parse_augmentations, metavar="NAMES")
    non_digits_per_batch: int = option(
        2, "non-digit drawings (letters, symbols, scribbles, shapes) mixed into every batch of digits, "
           "trained towards the uniform distribution (outlier exposure); 0 turns it off", low=0, metavar="N")
    non_digit_weight: float = option(0.5, "weight of each non-digit in the loss, against 1 for a digit",
                                     low=0, metavar="W")
    touching_pairs: float = option(
        1.0, "with outlier exposure, also pairs of training digits written touching, as in a hurried "
             "number, read as one non-digit: this many per drawing (0.5: half as many). A number is "
             "read by cutting it where digits may touch and keeping the digits the network likes best, "
             "so a network that doubts two digits squeezed into one box splits them more often; "
             "0: none", low=0, metavar="FRACTION")
    seed: int = option(7, "seed of every random choice: the same seed gives the same weights",
                       metavar="N")
    limit: int | None = option(None, "train on N randomly chosen training digits (quick runs); "
                                     "omitted: all 60,000", low=20, metavar="N")

    def __post_init__(self):
        # The settings left to depend on the network get their value here, once.
        if self.hidden is not None:
            self.hidden = tuple(self.hidden)  # a list, when read back from JSON
        elif self.arch == "mlp":
            self.hidden = DEFAULT_HIDDEN
        if self.augment is None:
            self.augment = self.arch == "cnn"
        self.extra_augmentations = tuple(self.extra_augmentations)  # a list, when read back from JSON

    @classmethod
    def from_dict(cls, values: dict) -> TrainingConfig:
        """The config recorded as JSON (`dataclasses.asdict`), read back."""
        return cls(**{name: values[name] for name in cls.names() if name in values})

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(field.name for field in dataclasses.fields(cls))


def flag(name: str) -> str:
    """The command-line flag of a setting: `batch_size` -> `--batch-size`."""
    return "--" + name.replace("_", "-")


def work_dir(output_root: Path) -> Path:
    """Where training keeps its best checkpoint, history, resume state and dashboard logs."""
    return output_root.resolve() / WORK_DIR
