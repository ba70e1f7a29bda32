"""A request's way through the function: each stage once, in this order, called from here.

    read -> decode -> segment -> preprocess -> predict -> choose (-> look again) -> judge

* read: the body, refused past the size limit (reading.py; body_limits.py bounds how long it
  may take and the bytes all requests hold at once); a multipart form's file.
* decode: the body into what the model's input is made of: a picture's pixels (decoding.py,
  the JSON forms through reading.py), or, for the model-serving protocols, their document's
  batch of model inputs (serving.py), which need no preprocessing and stop at predict.
* segment: the picture's ink, a photo's light and paper taken out first (paper.py; any
  other picture's ink is preprocessing.py's, unchanged), and the candidate digits a number
  may be made of (segmentation.py); all the ink as one digit when the caller says it sends
  one digit, or for the 28 x 28 `pixels` grid.
* preprocess: each candidate made MNIST-like (preprocessing.py).
* predict: one batched model call for all of them (classifier.py); a second, smaller one on
  a second look (below).
* choose: which candidates the number is made of, left to right (segmentation.py).
* look again: if the model is not sure of a part kept whole that was too narrow to cut (a 1
  touching its neighbour), that part is cut, only the new candidates are preprocessed and
  read in a second batch, and the choice is made again (segmentation.py, step 8). A request
  makes at most two model calls; a digit the model is sure of, one.
* judge: whether each digit read is sure, by the card's rule (uncertainty.py).

Routes parse what is particular to their protocol, call `recognise` or `infer`, and shape
the answer. The model and the running of CPU-bound stages beside the event loop are the two
dependencies every route shares; both are here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, NamedTuple, Protocol, TypeVar

import anyio
import anyio.to_thread
import numpy as np
from fastapi import Depends, Request

import classifier
import decoding
import paper
import reading
import segmentation
import uncertainty
from decoding import IMAGE_TYPES
from input_errors import InvalidInput, UnsupportedFormat
from settings import settings

JSON = "application/json"
MULTIPART = "multipart/form-data"
PICTURE_TYPES = [MULTIPART, *IMAGE_TYPES, JSON]  # what POST /predict takes

Result = TypeVar("Result")


class ModelInputs(Protocol):
    batch: np.ndarray  # float32 [N, size, size, 1] in [0, 1]


Inputs = TypeVar("Inputs", bound=ModelInputs)


# --- what every route shares --------------------------------------------------------------------


async def current_classifier() -> classifier.Classifier:
    """The process's model (loaded at import). Async, so FastAPI does not hop to a thread for it."""
    return classifier.load()


Model = Annotated[classifier.Classifier, Depends(current_classifier)]


@functools.cache
def _cpu_slots() -> anyio.CapacityLimiter:
    return anyio.CapacityLimiter(settings.cpu_workers)


async def off_the_loop(request: Request, work: Callable[..., Result], *args: object) -> Result:
    """Run CPU-bound work in a worker thread, so the event loop stays free for other requests
    (under uvicorn); requests beyond cpu_workers wait their turn.

    On Lambda (Mangum puts the event in the scope) a container serves one request at a time,
    so there is nothing for the loop to serve meanwhile: the work runs in place. A thread would
    only add its start, since anyio stops its workers when each invocation's task ends."""
    if "aws.event" in request.scope:
        return work(*args)
    return await anyio.to_thread.run_sync(work, *args, limiter=_cpu_slots())


# --- the stages ---------------------------------------------------------------------------------


async def read(request: Request, kind: str = JSON) -> bytes:
    """The body, or for a multipart form the file in its field `file`."""
    body = await reading.read_body(request)
    return await reading.form_file(request.headers, body) if kind == MULTIPART else body


class Picture(NamedTuple):
    pixels: np.ndarray  # upright, at most decoding.MAX_SIDE a side
    grid: bool  # the 28 x 28 `pixels` grid: always one digit
    sent: tuple[int, int]  # (width, height) of the picture as sent, upright: what boxes are given in


def decode(kind: str, body: bytes, size: int) -> Picture:
    """A picture: an image file, `{"image": "<data URL or base64>"}`, or `{"pixels": [[...]]}`
    (the grid: one digit, as MNIST stores it)."""
    if kind != JSON:
        pixels, sent = decoding.decode_picture(body)
        return Picture(pixels, False, sent)
    document = reading.parse_json(body)
    if not isinstance(document, dict) or ("image" in document) == ("pixels" in document):
        raise InvalidInput('expected a JSON object with either "image" (a data URL or base64 image) '
                           f'or "pixels" ({size} x {size} numbers 0-255), not both')
    if "pixels" in document:
        grid = reading.pixels(document["pixels"], size)
        return Picture(grid, True, (grid.shape[1], grid.shape[0]))
    image = document["image"]
    if not isinstance(image, str):
        raise InvalidInput(f'"image" must be a string: a data URL or base64; got {reading.describe(image)}')
    pixels, sent = decoding.decode_picture(decoding.decode_base64_image(image))
    return Picture(pixels, False, sent)


def decode_inputs(body: bytes, read_document: Callable[[bytes], Inputs]) -> Inputs:
    """A model-serving request's batch of model inputs, as its protocol reads the body."""
    return read_document(body)


def segment(pixels: np.ndarray, one_digit: bool) -> segmentation.Found:
    ink = paper.ink_levels(pixels)
    return segmentation.Found.one_digit(ink) if one_digit else segmentation.find(ink)


def preprocess(found: segmentation.Found, candidates: list[tuple[int, int]] | None = None) -> np.ndarray:
    """Every candidate digit (or the ones given), MNIST-like: float32 (candidates, size, size)."""
    return np.stack([found.digit_image(candidate)
                     for candidate in (found.candidates if candidates is None else candidates)])


def predict(model: classifier.Classifier, batch: np.ndarray) -> np.ndarray:
    return model.predict(batch)


def choose(model: classifier.Classifier, found: segmentation.Found, probabilities: np.ndarray) -> list[int]:
    """The indices in found.candidates of the digits read, left to right."""
    if len(found.candidates) == 1:  # one digit, or a single part too narrow to cut: nothing to choose
        return [0]
    index = {candidate: number for number, candidate in enumerate(found.candidates)}
    rule = model.uncertainty
    return [index[candidate] for candidate in segmentation.choose(
        found, *segmentation.answers(probabilities), rule.threshold, rule.not_a_digit_below)]


def look_again(model: classifier.Classifier, found: segmentation.Found, probabilities: np.ndarray,
               chosen: list[int]) -> tuple[segmentation.Found, np.ndarray, list[int]]:
    """The candidates, their probabilities and the digits read, after a second look at the
    parts read whole but unsure; as they were if there is none."""
    confidences = probabilities.max(axis=1).tolist()
    again = segmentation.look_again(found, [found.candidates[index] for index in chosen], confidences,
                                    model.uncertainty.threshold)
    if again is None:
        return found, probabilities, chosen
    known = {found.key(candidate): row for candidate, row in zip(found.candidates, probabilities, strict=True)}
    new = [candidate for candidate in again.candidates if again.key(candidate) not in known]
    known.update(zip((again.key(candidate) for candidate in new), predict(model, preprocess(again, new)), strict=True))
    probabilities = np.stack([known[again.key(candidate)] for candidate in again.candidates])
    return again, probabilities, choose(model, again, probabilities)


@dataclass(frozen=True)
class Answer:
    """One digit's answer: the digit, its probability, all ten, whether the model is sure, and
    where it is in the picture ([x, y, width, height])."""

    digit: int
    confidence: float
    probabilities: list[float]
    judgement: uncertainty.Judgement
    box: list[int]


@dataclass(frozen=True)
class Reading:
    """A picture's answer: its digits, left to right."""

    digits: list[Answer]

    @property
    def number(self) -> str:
        return "".join(str(answer.digit) for answer in self.digits)

    @property
    def least_sure(self) -> Answer:
        """The digit with the lowest confidence (the first of equals)."""
        return min(self.digits, key=lambda answer: answer.confidence)


def judge(model: classifier.Classifier, probabilities: np.ndarray, box: list[int]) -> Answer:
    listed = probabilities.tolist()
    digit = int(probabilities.argmax())
    return Answer(digit=digit, confidence=listed[digit], probabilities=listed,
                  judgement=uncertainty.judge(listed, model.uncertainty), box=box)


# --- the two ways through -------------------------------------------------------------------------


def picture_kind(request: Request) -> str:
    """The request's media type, if POST /predict takes it."""
    kind = decoding.media_type(request.headers.get("content-type"))
    if kind not in PICTURE_TYPES:
        raise unsupported(kind)
    return kind


def unsupported(kind: str | None) -> UnsupportedFormat:
    return UnsupportedFormat(f"Content-Type {kind or '(none)'} is not supported; "
                             f"send one of {', '.join(PICTURE_TYPES)}")


async def recognise(request: Request, model: classifier.Classifier, *, one_digit: bool = False) -> Reading:
    """One picture, in any form POST /predict takes: read, then the CPU-bound stages off the
    loop. A number's digits, or with `one_digit` all the ink as one digit."""
    kind = picture_kind(request)
    body = await read(request, kind)
    return await off_the_loop(request, picture_stages, model, kind, body, one_digit)


def picture_stages(model: classifier.Classifier, kind: str, body: bytes, one_digit: bool) -> Reading:
    """The CPU-bound stages of a picture, from its body (of media type `kind`) to its reading."""
    picture = decode(kind, body, model.size)
    return answer_of(model, find_digits(model, picture.pixels, one_digit or picture.grid), picture)


class Digits(NamedTuple):
    """What the model made of a picture's ink: the candidates, their probabilities, the ones
    read (indices into found.candidates, left to right), and whether it took a second look."""

    found: segmentation.Found
    probabilities: np.ndarray
    chosen: list[int]
    looked_again: bool


def find_digits(model: classifier.Classifier, pixels: np.ndarray, one_digit: bool) -> Digits:
    """segment, preprocess, predict, choose and look again: a picture's digits, before judging."""
    found = segment(pixels, one_digit)
    probabilities = predict(model, preprocess(found))
    chosen = choose(model, found, probabilities)
    if one_digit:  # all the ink read as one digit is never cut
        return Digits(found, probabilities, chosen, False)
    again, probabilities, chosen = look_again(model, found, probabilities, chosen)
    return Digits(again, probabilities, chosen, again is not found)


def answer_of(model: classifier.Classifier, digits: Digits, picture: Picture) -> Reading:
    """Each digit read, judged, with its box in the picture as sent."""
    found, answers = digits.found, []
    for index in digits.chosen:
        answers.append(judge(model, digits.probabilities[index], as_sent(found.box(found.candidates[index]), picture)))
    return Reading(answers)


def as_sent(box: list[int], picture: Picture) -> list[int]:
    """A box on the decoded pixels, in the picture as sent (larger pictures were shrunk):
    the smallest box of whole pixels there that covers it."""
    height, width = picture.pixels.shape[:2]
    sent_width, sent_height = picture.sent
    if (sent_width, sent_height) == (width, height):
        return box
    x, y, box_width, box_height = box
    left, top = x * sent_width // width, y * sent_height // height
    right = min(sent_width, -(-(x + box_width) * sent_width // width))
    bottom = min(sent_height, -(-(y + box_height) * sent_height // height))
    return [left, top, right - left, bottom - top]


async def infer(request: Request, model: classifier.Classifier,
                read_document: Callable[[bytes], Inputs]) -> tuple[Inputs, np.ndarray]:
    """A model-serving request: read, then decode its inputs with the protocol's reader, and
    predict, off the loop. Returns the inputs (for the answer's shape) and the probabilities."""
    body = await read(request)
    return await off_the_loop(request, _inference_stages, model, body, read_document)


def _inference_stages(model: classifier.Classifier, body: bytes,
                      read_document: Callable[[bytes], Inputs]) -> tuple[Inputs, np.ndarray]:
    inputs = decode_inputs(body, read_document)
    return inputs, predict(model, inputs.batch)
