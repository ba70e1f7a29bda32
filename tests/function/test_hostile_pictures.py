"""Pictures made to be expensive cost a bounded amount of memory, whatever their size or mode.

Each picture is decoded and preprocessed in a fresh process, whose peak resident set over
its idle size is what the picture cost (bench/function_hostile.py prints the same with the
time taken). Pillow's own memory is counted too, which tracemalloc would miss.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.support import PROJECT_ROOT
from tests.support.drawing import canvas, crossed_hairlines, enlarged

LIMIT_MB = 100  # over the idle process, for any accepted picture

MEASURE = r"""
import json, re, sys
sys.path.insert(0, sys.argv[1])
import decoding, preprocessing

def status(key):
    return int(re.search(key + r":\s+(\d+)", open("/proc/self/status").read()).group(1)) / 1024

small = open(sys.argv[2], "rb").read()
preprocessing.to_mnist(decoding.decode_image(small))  # every import and plugin loaded
picture = open(sys.argv[3], "rb").read()
idle = status("VmRSS")
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # the peak starts again from the current size
digit = preprocessing.to_mnist(decoding.decode_image(picture))
print(json.dumps({"peak_mb": status("VmHWM") - idle, "ink": float(digit.sum())}))
"""


def png(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    return buffer.getvalue()


def hairlines() -> bytes:
    return png(Image.fromarray(crossed_hairlines(1024, channels=3)))


def rgba() -> bytes:
    return png(Image.fromarray(enlarged(3, 4096, mode="transparent-black"), "RGBA"))


def sixteen_bit() -> bytes:
    return png(Image.fromarray(enlarged(5, 4096).astype(np.uint16) * 257))


def palette() -> bytes:
    return png(Image.fromarray(enlarged(2, 4096)).convert("P"), transparency=0)


def grey_alpha() -> bytes:
    alpha = Image.fromarray(enlarged(9, 4096))
    return png(Image.merge("LA", [Image.new("L", alpha.size, 0), alpha]))


PICTURES = {"hairlines-1024": hairlines, "rgba-4096": rgba, "16-bit-4096": sixteen_bit,
            "palette-4096": palette, "grey-alpha-4096": grey_alpha}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the peak memory from /proc (Linux)")
@pytest.mark.parametrize("name", list(PICTURES))
def test_expensive_pictures_cost_bounded_memory(name, tmp_path):
    small, picture = tmp_path / "small.png", tmp_path / "picture.png"
    small.write_bytes(png(Image.fromarray(canvas(7, mode="transparent-black"), "RGBA")))
    picture.write_bytes(PICTURES[name]())
    completed = subprocess.run([sys.executable, "-c", MEASURE, str(PROJECT_ROOT / "lambda"), str(small), str(picture)],
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["ink"] > 20  # a digit was found and preprocessed
    assert result["peak_mb"] < LIMIT_MB, f"{name}: {result['peak_mb']:.0f} MB over the idle process"
