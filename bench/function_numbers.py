"""Whole numbers read by the function, and what reading them costs, in one run.

    .venv/bin/python bench/function_numbers.py [--numbers 1000] [--singles 10000] [--seed 7]

1. Numbers written with MNIST's test digits (model/written_numbers.py): 2-5 digits,
   each its own size and height on the line, all thickened alike, in three kinds: apart,
   close (gaps of 2-6 % of the line's height) and touching (overlapping by up to a tenth
   of it). Each sent as a PNG through the function's stages (decode, segment, preprocess,
   predict, choose, judge), per kind:
   - whole number right: every digit read, in order, nothing more;
   - split right: one digit read per placed digit, each read digit's box centred on its own;
   - wrong, said so: the number read wrong, but some digit of it answered "not sure" (the
     honest failure); the rest of the wrong ones were answered sure;
   - ceiling: every digit read right when each is sent alone (the model's own bound on the
     whole-number figure: a perfect split cannot beat it);
   - among the candidates: some reading of the candidates the picture was cut into spells
     the number, digit by digit as the model reads each (the bound of the choice: what a
     perfect choice between readings would get, with these cuts, a second look's included);
   - second look: the share read with a second model call (segmentation.py, step 8).
2. Single digits: MNIST test digits written the same way, alone: read as one digit (no split),
   and among them those whose ink is in several pieces (broken strokes); the drawn hard cases
   (tests/support/hard_cases.py) read right as one digit.
   Non-digits: drawings of model/outliers.py's two sets (letters, symbols, scribbles, zigzags;
   draws of their own, none the model or the choice's weights were fitted on), on the page's
   canvas: read as one answer the model is not sure of, not as a number of digits it is.
3. Cost, warm (median of repeats): a single digit read as a number against the same picture
   read as one digit (`?read=digit`, what the function did before numbers), as a whole
   request through app.handler (an API Gateway event, as Lambda runs it) and as the CPU
   stages alone (PNG in, answer out), the median and the mean over the pictures: a digit
   at least segmentation.SPLIT_RATIO as wide as tall is also read cut, so a few cost many
   times the rest; then numbers of 2-5 touching digits against that single digit, CPU stages.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import time

import numpy as np

import classifier
import pipeline
import preprocessing
import segmentation
from input_errors import BlankImageError, TooManyDigits
from model.data import load_mnist
from model.written_numbers import GAPS, single_digit, written_number
from tests.support import hard_cases
from tests.support.events import LambdaContext, post_event
from tests.support.hard_cases import HARD_CASES
from tests.support.images import encode

GOALS = {"apart": (0.98, 0.995), "close": (0.98, 0.995), "touching": (0.90, 0.95)}  # whole, split


def read(model: classifier.Classifier, body: bytes, one_digit: bool = False) -> pipeline.Reading:
    return pipeline.picture_stages(model, "image/png", body, one_digit)


def read_with_digits(model: classifier.Classifier, body: bytes) -> tuple[pipeline.Reading, pipeline.Digits]:
    """A PNG read as a number, as picture_stages reads it, with the candidates behind the
    reading (after any second look)."""
    picture = pipeline.decode("image/png", body, model.size)
    digits = pipeline.find_digits(model, picture.pixels, picture.grid)
    return pipeline.answer_of(model, digits, picture), digits


def split_right(reading: pipeline.Reading, spans: list[tuple[int, int]]) -> bool:
    if len(reading.digits) != len(spans):
        return False
    return all(left <= answer.box[0] + answer.box[2] / 2 < right
               for answer, (left, right) in zip(reading.digits, spans, strict=True))


def segmented(model: classifier.Classifier, body: bytes) -> segmentation.Found:
    """A PNG's pieces and candidates, as the function finds them when it reads a number."""
    return pipeline.segment(pipeline.decode("image/png", body, model.size).pixels, False)


def among_candidates(found: segmentation.Found, probabilities: np.ndarray, text: str) -> bool:
    """Whether some reading of the picture's candidates spells `text`: a run of candidates
    from the first slice to the last, each the next digit of `text` as the model reads it."""
    digits = probabilities.argmax(axis=1)
    spelt = [set() for _ in range(len(found.slices) + 1)]  # slices covered -> digits of text spelt
    spelt[0].add(0)
    for (first, last), digit in sorted(zip(found.candidates, digits, strict=True), key=lambda pair: pair[0][1]):
        spelt[last + 1] |= {count + 1 for count in spelt[first]
                            if count < len(text) and text[count] == str(int(digit))}
    return len(text) in spelt[-1]


def alone(model: classifier.Classifier, number) -> str:
    """Each placed digit read on a picture of its own, as one digit."""
    images = [preprocessing.to_mnist(picture) for picture in number.alone]
    return "".join(str(int(index)) for index in model.predict(np.stack(images)).argmax(axis=1))


def numbers_table(model, mnist, count: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    print(f"Numbers of 2-5 MNIST test digits, {count:,} of each kind (seed {seed}), model {model.version}")
    print(f"  {'kind':10s}{'whole right':>13s}{'goal':>7s}{'split right':>13s}{'goal':>7s}{'ceiling':>10s}"
          f"{'wrong, said so':>16s}{'wrong, sure':>13s}{'among candidates':>18s}{'second look':>13s}"
          f"{'digits/number':>15s}")
    for kind in GAPS:
        whole = split = ceiling = digits = unsure = reachable = looked = 0
        for _ in range(count):
            indices = rng.choice(len(mnist.x_test), int(rng.integers(2, 6)), replace=False)
            number = written_number(rng, indices, mnist.x_test, mnist.y_test, kind)
            body = encode(number.picture)
            try:
                reading, seen = read_with_digits(model, body)
            except TooManyDigits:
                continue
            reachable += among_candidates(seen.found, seen.probabilities, number.text)
            looked += seen.looked_again
            right = reading.number == number.text
            whole += right
            unsure += not right and any(answer.judgement.uncertain for answer in reading.digits)
            split += split_right(reading, number.spans)
            ceiling += alone(model, number) == number.text
            digits += len(number.text)
        whole_goal, split_goal = GOALS[kind]
        print(f"  {kind:10s}{whole / count:12.1%} {whole_goal:6.1%}{split / count:12.1%} {split_goal:6.1%}"
              f"{ceiling / count:10.1%}{unsure / count:16.1%}{(count - whole - unsure) / count:13.1%}"
              f"{reachable / count:18.1%}{looked / count:13.1%}{digits / count:15.2f}")


def singles_table(model, mnist, count: int, seed: int) -> None:
    rng = np.random.default_rng(seed + 1)
    one = right = broken = broken_one = looked = 0
    for index in range(count):
        picture = single_digit(rng, index, mnist.x_test)
        body = encode(picture)
        reading, seen = read_with_digits(model, body)
        looked += seen.looked_again
        is_one = len(reading.digits) == 1
        one += is_one
        right += reading.number == str(int(mnist.y_test[index]))
        ink = preprocessing.ink_levels(picture)
        grid, _ = segmentation.grid_of(ink)
        if len(segmentation.boxes(segmentation.pieces(grid))) > 1:
            broken += 1
            broken_one += is_one
    print(f"\nSingle MNIST test digits written alone ({count:,})")
    print(f"  {'read as one digit (goal 99.5 %)':46s}{one / count:9.2%}")
    print(f"  {'  of which in several pieces (broken strokes)':46s}{broken_one:>6,} of {broken:,}")
    print(f"  {'read right':46s}{right / count:9.2%}")
    print(f"  {'read with a second look (a second model call)':46s}{looked / count:9.2%}")
    total = correct = 0
    for case in HARD_CASES:
        for digit, picture in enumerate(hard_cases.pictures(case)):
            total += 1
            correct += read(model, encode(picture)).number == str(digit)
    print(f"  {'drawn hard cases read right, as one digit':46s}{correct:>6} of {total}")


def non_digits_table(model, count: int, seed: int) -> None:
    from model import outliers

    print(f"\nNon-digits, {count:,} of each set of model/outliers.py, read as one unsure answer")
    for number, which in enumerate(("training", "held_out")):
        kinds, characters, fonts = outliers.SETS[which]
        rng = np.random.default_rng([seed, 10 + number])  # draws of their own
        one = 0
        for _ in range(count):
            kind = kinds[rng.integers(len(kinds))]
            drawing = 255 - np.asarray(outliers.draw(kind, rng, characters, fonts).convert("L"))
            try:
                reading = read(model, encode(drawing))
            except (TooManyDigits, BlankImageError):
                one += 1  # refused: no number either
                continue
            one += len(reading.digits) == 1 and reading.digits[0].judgement.uncertain
        print(f"  {which.replace('_', '-') + ' kinds':46s}{one / count:9.1%}")


def timed(model, body: bytes, one_digit: bool, repeats: int) -> float:
    read(model, body, one_digit)  # warm
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        read(model, body, one_digit)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def timed_handler(body: bytes, one_digit: bool, repeats: int) -> float:
    """The whole request as Lambda runs it: an API Gateway event through app.handler."""
    import app

    event = post_event("/predict", body, {"content-type": "image/png"})
    if one_digit:
        event = {**event, "rawQueryString": "read=digit", "queryStringParameters": {"read": "digit"}}
    context = LambdaContext()
    with contextlib.redirect_stdout(io.StringIO()):  # the log line and metrics of each request
        app.handler(event, context)  # warm
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            app.handler(event, context)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def cost_table(model, mnist, seed: int, repeats: int, pictures: int) -> None:
    rng = np.random.default_rng(seed + 2)
    singles = [encode(single_digit(rng, index, mnist.x_test)) for index in range(pictures)]
    cut = sum(len(segmented(model, body).candidates) > 1 for body in singles)
    baseline = [timed(model, body, True, repeats) for body in singles]
    as_number = [timed(model, body, False, repeats) for body in singles]
    handler_digit = [timed_handler(body, True, repeats) for body in singles]
    handler_number = [timed_handler(body, False, repeats) for body in singles]
    print(f"\nCost of a request, warm (median of {repeats} repeats of each picture; {pictures} single digits,"
          f" {cut} of them also read cut)")
    print(f"  {'what':46s}{'median ms':>10s}{'x':>7s}{'mean ms':>9s}{'x':>7s}{'goal':>7s}")

    def row(what: str, spent: list[float], before: list[float], goal: str = "") -> None:
        median, mean = statistics.median(spent), statistics.fmean(spent)
        print(f"  {what:46s}{median * 1000:10.2f}{median / statistics.median(before):7.2f}"
              f"{mean * 1000:9.2f}{mean / statistics.fmean(before):7.2f}{goal:>7s}")

    row("app.handler, single digit as one (before)", handler_digit, handler_digit)
    row("app.handler, single digit as a number", handler_number, handler_digit, "1.10")
    row("CPU stages, single digit as one (before)", baseline, baseline)
    row("CPU stages, single digit as a number", as_number, baseline, "1.10")
    for length in (2, 3, 4, 5):
        bodies = [encode(written_number(rng, rng.choice(len(mnist.x_test), length, replace=False), mnist.x_test,
                                     mnist.y_test, "touching").picture) for _ in range(10)]
        row(f"CPU stages, {length} touching digits", [timed(model, body, False, repeats) for body in bodies],
            baseline, "10" if length == 5 else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--numbers", type=int, default=1000, help="numbers of each kind (0: none)")
    parser.add_argument("--singles", type=int, default=10_000, help="single digits (at most 10,000; 0: none)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--non-digits", type=int, default=500, help="non-digits of each set (0: none)")
    parser.add_argument("--pictures", type=int, default=40, help="single digits timed (0: no cost table)")
    options = parser.parse_args()
    model = classifier.load()
    mnist = load_mnist(allow_download=False)
    if options.numbers > 0:
        numbers_table(model, mnist, options.numbers, options.seed)
    if options.singles > 0:
        singles_table(model, mnist, min(options.singles, len(mnist.x_test)), options.seed)
    if options.non_digits > 0:
        non_digits_table(model, options.non_digits, options.seed)
    if options.pictures > 0:
        cost_table(model, mnist, options.seed, options.repeats, options.pictures)


if __name__ == "__main__":
    main()
