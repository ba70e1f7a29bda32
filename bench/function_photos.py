"""Digits and numbers photographed on paper, read by the function, in one run.

    .venv/bin/python bench/function_photos.py [--count 50] [--seed 20]

1. Photos made by tests/support/photos.py (MNIST's test digits written on paper, in each
   kind of paper and light, the camera's blur, noise and JPEG; half single digits, half
   numbers of 2-4 digits; the sheet's edge and a table in a third of them), --count of
   each kind, each sent as its JPEG through the function's stages (pipeline.picture_stages:
   decode, segment, preprocess, predict, choose, judge), per kind:
   - read whole: the number read right and no digit of it unsure (the goal: 95 % in every
     kind; moonshot 98 %);
   - before: the same stages with the picture's ink taken as preprocessing.ink_levels takes
     it (the function before paper.py), measured in the same run;
   - ceiling: the same digits written as a drawing (dark on white, no photo), read whole:
     what the model and the segmentation make of the writing itself.
   Then the same figures for the photos that show the table, for each ink, and for the
   single digits on plain paper.
2. Pictures that must not change: MNIST's test digits as 28x28 PNGs and the drawn hard cases
   (tests/support/hard_cases.py) through paper.ink_levels against preprocessing.ink_levels:
   how many give the same Ink, bit for bit.
3. Cost per picture, warm: CPU time (median) and the peak of memory NumPy and Pillow hold
   (tracemalloc) of the whole of picture_stages, for a photo of each size against the
   page's canvas (a 280x280 PNG drawing), and of paper.ink_levels alone.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections import defaultdict

import numpy as np

import classifier
import paper
import pipeline
import preprocessing
import segmentation
from input_errors import InputError
from model.data import load_mnist
from tests.support import hard_cases, photos
from tests.support.drawing import canvas
from tests.support.hard_cases import HARD_CASES
from tests.support.images import encode

GOAL, MOONSHOT = 0.95, 0.98
JPEG = "image/jpeg"


def read_with(model: classifier.Classifier, kind: str, body: bytes, ink_levels) -> pipeline.Reading:
    """picture_stages with the picture's ink found by `ink_levels`."""
    picture = pipeline.decode(kind, body, model.size)
    found = segmentation.find(ink_levels(picture.pixels))
    probabilities = pipeline.predict(model, pipeline.preprocess(found))
    return pipeline.Reading([
        pipeline.judge(model, probabilities[index], pipeline.as_sent(found.box(found.candidates[index]), picture))
        for index in pipeline.choose(model, found, probabilities)])


def whole(reading, text: str) -> bool:
    return reading.number == text and not any(answer.judgement.uncertain for answer in reading.digits)


def read_whole(text: str, read, *arguments) -> bool:
    try:
        return whole(read(*arguments), text)
    except InputError:  # no digit found, too many: not read
        return False


def accuracy_table(model, mnist, count: int, seed: int) -> None:
    tallies: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # photos, before, after, ceiling
    started = time.perf_counter()
    for kind, made in photos.photos(seed, count, mnist.x_test, mnist.y_test):
        before = read_whole(made.text, read_with, model, JPEG, made.jpeg, preprocessing.ink_levels)
        after = read_whole(made.text, pipeline.picture_stages, model, JPEG, made.jpeg, False)
        ceiling = read_whole(made.text, pipeline.picture_stages, model, "image/png", encode(made.writing), False)
        groups = [kind, f"ink: {made.ink}", "the table in view" if made.table else "the sheet fills the photo"]
        if kind == "plain" and len(made.text) == 1:
            groups.append("single digits on plain paper")
        groups.append("all")
        for group in groups:
            tally = tallies[group]
            tally[0] += 1
            tally[1] += before
            tally[2] += after
            tally[3] += ceiling
    seconds = time.perf_counter() - started
    print(f"Photos of paper, {count} of each kind (seed {seed}), model {model.version}: read whole "
          "(the number right, no digit unsure)")
    print(f"  {'kind':30s}{'photos':>7s}{'before':>9s}{'after':>9s}{'goal':>7s}{'ceiling':>9s}")
    order = [*photos.KINDS, "single digits on plain paper", "the sheet fills the photo", "the table in view",
             *(f"ink: {ink}" for ink in photos.INKS), "all"]
    for group in order:
        if group not in tallies:
            continue
        total, before, after, ceiling = tallies[group]
        goal = f"{GOAL:.0%}" if group in photos.KINDS else ""
        mark = " !" if group in photos.KINDS and after < GOAL * total else ""
        print(f"  {group:30s}{total:7d}{before / total:9.1%}{after / total:9.1%}{goal:>7s}{ceiling / total:9.1%}"
              f"{mark}")
    print(f"  ({seconds:.0f} s for {tallies['all'][0]} photos, each read three ways)")


def unchanged_table(mnist) -> None:
    """How many pictures the paper stage leaves exactly as they were."""
    print("\nPictures that must go through unchanged: paper.ink_levels against preprocessing.ink_levels")
    from decoding import decode_image

    same = 0
    for digit in mnist.x_test:
        pixels = decode_image(encode(digit))
        same += _same_ink(pixels)
    print(f"  {'MNIST test digits as 28x28 PNGs':44s}{same:>7,} of {len(mnist.x_test):,} the same")
    same = total = 0
    for case in HARD_CASES:
        for picture in hard_cases.pictures(case):
            total += 1
            same += _same_ink(picture)
    print(f"  {'drawn hard cases':44s}{same:>7,} of {total:,} the same")


def _same_ink(pixels: np.ndarray) -> bool:
    try:
        plain = preprocessing.ink_levels(pixels)
    except InputError as error:
        try:
            paper.ink_levels(pixels)
        except InputError as other:
            return type(other) is type(error)
        return False
    ink = paper.ink_levels(pixels)
    return (ink.span, ink.top, ink.left) == (plain.span, plain.top, plain.left) and \
        ink.levels.dtype == plain.levels.dtype and np.array_equal(ink.levels, plain.levels)


def cost(work, repeats: int) -> tuple[float, float]:
    """Median CPU seconds of `work`, warm, and the peak MB tracemalloc saw during one call."""
    work()
    times = []
    for _ in range(repeats):
        started = time.process_time()
        work()
        times.append(time.process_time() - started)
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return statistics.median(times), peak / 2**20


def cost_table(model, mnist, seed: int, repeats: int) -> None:
    print(f"\nCost per picture, warm: CPU ms (median of {repeats}) and peak MB (tracemalloc) of picture_stages")
    drawing = encode(canvas(7))
    canvas_seconds, canvas_mb = cost(lambda: pipeline.picture_stages(model, "image/png", drawing, False), repeats)
    print(f"  {'picture':44s}{'CPU ms':>9s}{'x canvas':>10s}{'peak MB':>9s}{'x canvas':>10s}")
    print(f"  {'the page canvas, 280x280 PNG (the yardstick)':44s}{canvas_seconds * 1000:9.1f}{1:10.1f}"
          f"{canvas_mb:9.1f}{1:10.1f}")
    rng = np.random.default_rng(seed + 1)
    for size in photos.SIZES:
        for kind in ("plain", "shadow", "squared"):
            made = photos.photo(rng, kind, mnist.x_test, mnist.y_test, size=size, digits=3, table=True)
            seconds, megabytes = cost(lambda body=made.jpeg: pipeline.picture_stages(model, JPEG, body, False),
                                      repeats)
            name = f"{kind}, {size[0]}x{size[1]} JPEG, 3 digits"
            print(f"  {name:44s}{seconds * 1000:9.1f}{seconds / canvas_seconds:10.1f}{megabytes:9.1f}"
                  f"{megabytes / canvas_mb:10.1f}")
            pixels = pipeline.decode(JPEG, made.jpeg, model.size).pixels
            seconds, megabytes = cost(lambda pixels=pixels: paper.ink_levels(pixels), repeats)
            name = f"  of which paper.ink_levels ({pixels.shape[1]}x{pixels.shape[0]})"
            print(f"  {name:44s}{seconds * 1000:9.1f}{seconds / canvas_seconds:10.1f}{megabytes:9.1f}"
                  f"{megabytes / canvas_mb:10.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=50, help="photos of each kind")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=10)
    options = parser.parse_args()
    model = classifier.load()
    mnist = load_mnist(allow_download=False)
    accuracy_table(model, mnist, options.count, options.seed)
    unchanged_table(mnist)
    cost_table(model, mnist, options.seed, options.repeats)


if __name__ == "__main__":
    main()
