"""Keep TensorFlow's start-up chatter off the terminal, and everything else on it.

On a machine without a GPU, TensorFlow 2.19 and the converters print a screenful of lines
that say nothing about the user's run. Where each comes from, and what quiets it:

* TensorFlow's own C++ logging (``2026-... : I/W/E file.cc:12] ...``: the oneDNN and CPU
  instruction notices, most of the rest) honours ``TF_CPP_MIN_LOG_LEVEL``; 2 keeps its
  errors and drops its information and warnings.
* XLA registers its cuFFT, cuDNN and cuBLAS plugins twice and logs an error each time, and
  the CUDA platform logs ``failed call to cuInit`` where there is no GPU driver: harmless,
  but logged as errors, so they are dropped by name.
* Code that logs through absl before ``absl::InitializeLog()`` (XLA at import, the TFLite
  converter, Grappler under the TF.js converter) writes every message to stderr whatever
  ``TF_CPP_MIN_LOG_LEVEL`` says, after ``WARNING: All log messages before
  absl::InitializeLog() is called are written to STDERR``; Python cannot initialise absl's
  C++ logging, so its lines are held to the same level here. LiteRT's interpreter logs
  ``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.`` the same way.
* TensorFlow Decision Forests, which the TF.js converter imports, advertises ydf unless
  ``TFDF_DISABLE_WELCOME_MESSAGE`` is set.

So `configure` sets the two environment variables before TensorFlow is imported, and the
few calls that write from C++ (the import and the first device query, the TFLite and TF.js
converters, the LiteRT interpreter) run inside `native_logs_filtered`: file descriptor 2
is captured while they run and written back afterwards without the lines above. Python
warnings, Keras's warnings and real errors still reach stderr, in order.

``TF_CPP_MIN_LOG_LEVEL=0 python generator.py`` shows everything TensorFlow logs.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile

LOG_LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
QUIET_LOG_LEVEL = "2"  # errors only
SEVERITIES = "IWEF"  # info, warning, error, fatal: TF_CPP_MIN_LOG_LEVEL 1 drops I, 2 also W, 3 also E

# A log record's severity letter, in the formats of TensorFlow's logging, absl's and TFLite's.
_RECORD = re.compile(
    r"^(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: (?P<tsl>[IWEF]) \S+:\d+\]"  # TensorFlow (TSL)
    r"|(?P<absl>[IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]"  # absl (before InitializeLog: "0000 00:00:<epoch>")
    r"|(?P<tflite>INFO): )"  # TFLite's minimal logging
)
# Logged as errors or warnings, yet only about GPU support on a machine without a GPU, or
# about absl's own set-up.
KNOWN_NOISE = re.compile(
    r"Unable to register cu(?:FFT|DNN|BLAS) factory"
    r"|failed call to cuInit"
    r"|computation placer already registered"
    r"|All log messages before absl::InitializeLog\(\) is called are written to STDERR"
)


def configure() -> None:
    """Before TensorFlow is imported: C++ logging keeps errors only, and no advertisement."""
    os.environ.setdefault(LOG_LEVEL_VARIABLE, QUIET_LOG_LEVEL)
    os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")


def _log_level() -> int:
    try:
        return int(os.environ.get(LOG_LEVEL_VARIABLE, "0"))
    except ValueError:
        return 0


def is_noise(line: str, level: int | None = None) -> bool:
    """Whether TF_CPP_MIN_LOG_LEVEL `level` would have hidden this line, had its library asked."""
    level = _log_level() if level is None else level
    if level <= 0:
        return False
    if KNOWN_NOISE.search(line):
        return True
    record = _RECORD.match(line)
    if record is None:
        return False
    severity = (record["tsl"] or record["absl"] or record["tflite"])[0]
    return SEVERITIES.index(severity) < level


@contextlib.contextmanager
def native_logs_filtered():
    """Run the block with file descriptor 2 captured, then write back all but the noise.

    The capture goes to a temporary file (a pipe could fill up and block the writer), and
    fd 2 is restored however the block ends, before an exception propagates.
    """
    if _log_level() <= 0:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode(errors="replace")
            kept = "".join(line for line in text.splitlines(keepends=True) if not is_noise(line))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


def import_tensorflow():
    """Import TensorFlow and Keras quietly, and let TensorFlow find its devices now, while
    its start-up messages are filtered (the CUDA platform's cuInit error comes then)."""
    configure()
    with native_logs_filtered():
        import keras  # noqa: F401 (imported here, filtered, so later imports are silent)
        import tensorflow as tf

        tf.config.list_physical_devices()
    return tf
