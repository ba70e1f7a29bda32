"""The command line, the settings it is built from, the resume record and the quiet start-up:
everything here runs without TensorFlow, in a second or two."""

import dataclasses
import json
import os
import re
import subprocess
import sys

import pytest

from model import cli, quiet, resume
from model.config import TrainingConfig, flag
from tests.support.generator import run_generator


def option_help(help_text: str) -> dict[str, str]:
    """Each option's entry in --help, its lines joined: "--epochs" -> "--epochs N passes ... (default: 15)"."""
    entries, current = {}, None
    for line in help_text.splitlines():
        started = re.match(r"  (-[-\w]+|[A-Z]+)\b", line)
        if started:
            current = started[1]
            entries[current] = line.strip()
        elif current and line.startswith("    "):
            entries[current] += " " + line.strip()
        else:
            current = None
    return {name: " ".join(entry.split()) for name, entry in entries.items()}


@pytest.mark.parametrize("command", [[], ["evaluate"]])
def test_help_shows_every_default_and_says_what_an_omitted_option_means(command, project_root):
    completed = run_generator(*command, "--help", timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert "(default: None)" not in completed.stdout and "(default: False)" not in completed.stdout
    entries = option_help(completed.stdout)
    assert len(entries) > (20 if not command else 4), entries
    for name, entry in entries.items():
        if name != "-h":
            assert "(default: " in entry or "omitted" in entry, entry


def test_help_shows_the_recipe_defaults_from_the_config(project_root):
    entries = option_help(run_generator("--help", timeout=60).stdout)
    for field in dataclasses.fields(TrainingConfig):
        entry = next(text for name, text in entries.items() if name == flag(field.name)
                     or text.startswith(f"{flag(field.name)}, "))  # --nesterov, --no-nesterov
        if field.default is None:
            assert "omitted: " in entry, entry
        elif isinstance(field.default, tuple):  # as typed on the command line
            assert f"(default: {','.join(map(str, field.default)) or 'none'})" in entry, entry
        else:
            assert f"(default: {field.default})" in entry, entry
    for text in ("--epochs N passes over the training digits (default: 15)",
                 "--extra-augmentations NAMES with --augment, further changes of the training digits, "
                 "comma-separated: stroke-width (thicker or thinner pen), slant (shear), elastic (elastic "
                 "distortion); none: only rotations, zooms and shifts (default: none)",
                 "--batch-size N digits per training step (default: 16)",
                 "--momentum M SGD momentum (default: 0.9)"):
        assert text in entries[text.split()[0]]


def test_every_setting_is_an_option_and_the_defaults_are_the_config(tmp_path):
    args = cli.parse_args(["--output-root", str(tmp_path)])
    assert args.command == "train" and args.config == TrainingConfig()
    assert args.config.augment is True and args.config.hidden is None
    given = cli.parse_args(["--arch", "mlp", "--epochs", "3", "--no-augment", "--hidden", "64,32",
                            "--limit", "100", "--output-root", str(tmp_path)]).config
    assert given == TrainingConfig(arch="mlp", epochs=3, augment=False, hidden=(64, 32), limit=100)
    # The MLP's own defaults: its hidden layers, and no augmentation.
    mlp = cli.parse_args(["--arch", "mlp", "--output-root", str(tmp_path)]).config
    assert mlp.hidden == (128, 128) and mlp.augment is False


def test_the_command_line_does_not_load_tensorflow(project_root):
    script = ("import sys; from model import cli; cli.parse_args(['--epochs', '3']); "
              "cli.parse_args(['evaluate']); print(sorted(m for m in sys.modules if 'tensorflow' in m "
              "or m == 'keras'))")
    completed = subprocess.run([sys.executable, "-c", script], cwd=project_root, capture_output=True,
                               text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


# --- the resume record -----------------------------------------------------------------


def test_resume_record_reads_back_what_was_started(tmp_path):
    assert resume.read(tmp_path) is None
    config = TrainingConfig(arch="mlp", hidden=(32,), epochs=3)
    resume.start(tmp_path, config, tmp_path / "logs")
    run = resume.read(tmp_path)
    assert run == resume.UnfinishedRun(config, tmp_path / "logs", 0, None)
    resume.finish(tmp_path)
    assert resume.read(tmp_path) is None and not list(tmp_path.iterdir())


def test_resume_refuses_a_damaged_record_in_plain_words(tmp_path):
    work = tmp_path / "model/checkpoints"
    work.mkdir(parents=True)
    (work / resume.RECORD).write_text("{not json")
    completed = run_generator("--resume", "--output-root", tmp_path, timeout=60)
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    assert "--resume: " in completed.stderr and "is unreadable" in completed.stderr

    record = {"config": dataclasses.asdict(TrainingConfig()), "log_dir": None, "epochs_done": 2,
              "weights": "resume-epoch-2.weights.h5"}
    (work / resume.RECORD).write_text(json.dumps(record))
    completed = run_generator("--resume", "--output-root", tmp_path, timeout=60)
    assert completed.returncode == 2 and "resume-epoch-2.weights.h5" in completed.stderr
    assert "is missing" in completed.stderr


# --- quiet start-up --------------------------------------------------------------------

# Lines TensorFlow 2.19, the converters and LiteRT write on a machine without a GPU.
NOISE = [
    "2026-11-21 14:38:48.594366: E external/local_xla/xla/stream_executor/cuda/cuda_fft.cc:467] Unable to "
    "register cuFFT factory: Attempting to register factory for plugin cuFFT when one has already been registered",
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "E0000 00:00:1795271928.746691    8883 cuda_dnn.cc:8579] Unable to register cuDNN factory: Attempting to "
    "register factory for plugin cuDNN when one has already been registered",
    "W0000 00:00:1795271928.982969    8883 computation_placer.cc:177] computation placer already registered. "
    "Please check linkage and avoid linking the same target more than once.",
    "2026-11-21 14:38:54.234636: E external/local_xla/xla/stream_executor/cuda/cuda_platform.cc:51] failed call "
    "to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
    "2026-11-21 14:38:48.600000: I tensorflow/core/util/port.cc:153] oneDNN custom operations are on.",
    "W0000 00:00:1795272350.034651     940 tf_tfl_flatbuffer_helpers.cc:365] Ignored output_format.",
    "I0000 00:00:1795272350.078695     940 mlir_graph_optimization_pass.cc:425] MLIR V1 optimization pass "
    "is not enabled",
    "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
]
KEPT = [
    "/work/main/model/training.py:12: UserWarning: something about the user's model",
    "  warnings.warn(",
    "2026-11-21 14:40:00.000000: E tensorflow/core/framework/op_kernel.cc:1857] OP_REQUIRES failed: out of memory",
    "E0000 00:00:1795272350.034651     940 saver.cc:12] Could not write the checkpoint",
    "Traceback (most recent call last):",
    "ValueError: Input 0 of layer is incompatible with the layer",
]


@pytest.mark.parametrize("line", NOISE)
def test_start_up_chatter_is_noise(line):
    assert quiet.is_noise(line, level=2)
    assert not quiet.is_noise(line, level=0)  # TF_CPP_MIN_LOG_LEVEL=0 shows everything


@pytest.mark.parametrize("line", KEPT)
def test_warnings_and_errors_are_kept(line):
    assert not quiet.is_noise(line, level=2)


def test_filtered_block_writes_back_all_but_the_noise_in_order(capfd, monkeypatch):
    monkeypatch.setenv(quiet.LOG_LEVEL_VARIABLE, "2")
    with quiet.native_logs_filtered():
        os.write(2, ("\n".join([NOISE[0], KEPT[0], NOISE[1], KEPT[2], NOISE[-1]]) + "\n").encode())
    assert capfd.readouterr().err == f"{KEPT[0]}\n{KEPT[2]}\n"


def test_filtered_block_restores_stderr_when_it_fails(capfd, monkeypatch):
    monkeypatch.setenv(quiet.LOG_LEVEL_VARIABLE, "2")
    with pytest.raises(RuntimeError, match="converter failed"), quiet.native_logs_filtered():
        raise RuntimeError("converter failed")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"
