"""Finding the digits of a written number: which ink belongs to which digit, left to right.

    found = segmentation.find(ink)                    # ink: preprocessing.ink_levels(pixels)
    images = [found.digit_image(candidate) for candidate in found.candidates]
    probabilities = model.predict(np.stack(images))   # one batch: every candidate at once
    digits, confidences, seconds = segmentation.answers(probabilities)   # likeliest, its probability, the next
    reading = segmentation.choose(found, digits, confidences, seconds, card.uncertainty.threshold,
                                  card.uncertainty.not_a_digit_below)
    again = segmentation.look_again(found, reading, confidences, card.uncertainty.threshold)
    # if not None: read again.candidates whose again.key is new (a second batch), choose on `again`

`find` is geometry on exact integers, so the page's JavaScript (web/js/segmentation.js)
makes the same pieces and candidates, held to the same test vectors (tests/vectors/numbers/);
`choose` is a small dynamic programme over the model's answers, the same on both sides.

1. grid: the picture's strong ink (at least preprocessing.INK_THRESHOLD) in the window where
   the picture differs from its paper, pooled (any ink in a block) to at most GRID_SIDE
   cells a side, so a big photo costs no more than a canvas from here on;
2. pieces: the grid's 8-connected pieces of ink, from the runs of ink on each row, joined
   where runs on consecutive rows touch;
3. marks: a piece under MARK_AREA of the largest's area or MARK_HEIGHT of the tallest's
   height (a dot, a speck, a stray tick) is never a digit alone: it joins the part nearest it
   (the largest piece is never a mark). A faint hairline (a scratch, or the stray line some
   scanned MNIST digits carry beside them, which reads as a sure 1) is left out of every
   part, as ink under the threshold is: a piece whose strongest ink is under SLIVER_PEAK of
   the picture's strongest, whose runs of ink are on average under SLIVER_RUN of the median
   over the pieces that are not faint (far thinner than the pen that wrote the rest), and
   which is a line, at most SLIVER_WIDTH as wide as tall (`slivers`). A 1 written with the
   same pen is as strong and as wide; a digit of another shape, faint and fine, stays;
4. parts: pieces whose columns overlap by at least half of the narrower one's width are one
   part (the detached bar of a 5, the two strokes of a 4, a 7's crossbar);
5. cuts: a part at least SPLIT_RATIO times as wide as it is tall may be digits that touch
   or cross (a narrower one is cut only if the model is not sure of it whole: step 8; a
   single digit that wide is common, and the model is nearly always sure of it). Its
   candidate cuts start at the columns where it holds least ink (local minima
   of the ink in three columns, at least MIN_PIECE of its height from either side and from
   each other, the emptiest first, at most CUTS_PER_HEIGHT per height of width) and follow
   the gap between strokes from its top row to its bottom one (`cut_paths`);
6. candidates: the slices (parts, cut along their paths) in order from left to right; a
   candidate digit is a run of 1 to MAX_SLICES_PER_DIGIT consecutive slices, or a whole part,
   unless it joins parts across gaps that cost more than JOIN_LIMIT (step 7): no reading
   would keep it; or it lies inside a part narrower than MIDDLE_RATIO times its height and
   touches neither end of it: such a part holds at most two digits, so each digit read in
   it starts or ends it (a wide single digit cut four times is read in 9 candidates, not 15;
   three digits that narrow, two of them 1s, are rare enough to give up);
7. choose: the model reads every candidate in one batch; the reading kept maximises the sum
   over its digits of log(top probability) plus a weighted sum (the *_WEIGHT constants, in
   units of log-probability) of what else tells a digit from a fragment or from two digits
   read as one: the second likeliest digit's probability (the model torn between two is
   often reading two), whether the model is sure of it (the card's rule) and, if not,
   whether that is an honest answer (exactly a part no wider than WIDE heights, or one the
   card calls no digit at all) or a fragment, its width beyond WIDE heights, the gaps it
   joins (GAP_PENALTY and GAP_WIDTH_PENALTY per height of gap), the slices it spans and the
   cuts and strokes inside it, whether it is a whole part that was cut, its height against
   the tallest part's, the cut before it (the first stroke it crosses and each other),
   whether it is a 1 inside a part the card calls no digit read whole (a scribbled W's
   strokes are sure 1s: the W stays one answer, not 1111), and whether it is a 1 at all (a
   stroke cut off a digit, the side of a loop or the bar of a 5, reads as a sure 1 far more
   often than as any other digit). The weights are fitted, not set
   by hand: an averaged structured perceptron (scripts/fit_choice.py, `make fit-choice`) on
   numbers written with MNIST's held-out validation digits and on non-digits, never the
   test digits the benchmark writes. The calibrated probabilities are what make candidates
   of any shape comparable;
8. look again: a part that the model is not sure of whole and that was too narrow to cut
   (under SPLIT_RATIO), read alone or inside a digit read unsure that joins it to other
   parts, is cut as well if it is at least LOOK_AGAIN_RATIO as wide as tall (`look_again`),
   its new candidates read in a second batch, and the choice made again over all of them.
   Touching digits as narrow as a 1 and its neighbour get candidates, and a single digit the
   model is sure of (nearly all) costs no second call.

The other constants (the ratios, the limits, the gaps' penalties) were chosen on numbers
written with MNIST's test digits (bench/function_numbers.py): single digits must stay whole
first, then numbers with gaps split right, then touching ones.

A reading of all the ink as one digit reads it exactly as a single digit always was read
(preprocessing.to_mnist on the whole ink), so a drawing of one digit answers as it did.

Cost: steps 1-2 are linear in the grid's cells; a picture with more than MAX_PIECES pieces
or MAX_PARTS parts is refused before any model call; there are at most MAX_SLICES slices,
so at most MAX_SLICES x MAX_SLICES_PER_DIGIT candidates (plus the whole parts), each a
small crop; step 8 reads at most as many again, once.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, field

import numpy as np

import preprocessing
from input_errors import BlankImageError, TooManyDigits
from preprocessing import INK_THRESHOLD, Ink, least_level

MAX_DIGITS = 12  # digits in one number; more is refused (422)
MAX_PARTS = 2 * MAX_DIGITS  # separate parts before any model call (a broken digit has two)
MAX_PIECES = 2000  # separate pieces of ink, marks included
MAX_SLICES = 4 * MAX_DIGITS  # slices after cutting: bounds the candidates
MAX_SLICES_PER_DIGIT = 5  # a digit crossed by its neighbour may be cut into five
GRID_SIDE = 1024  # cells; the page's pad (a few hundred pixels) is never pooled
MARK_AREA = 1 / 25  # of the largest piece's area
MARK_HEIGHT = 0.4  # of the tallest piece's height
SLIVER_PEAK = 0.9  # of the strongest ink: a fainter piece ...
SLIVER_RUN = 0.5  # ... whose runs of ink are this much shorter than the others' ...
SLIVER_WIDTH = 0.35  # ... and which is at most this much as wide as tall is a hairline
SPLIT_RATIO = 1.2  # a part at least this much wider than tall may hold more than one digit
LOOK_AGAIN_RATIO = 0.35  # ... and one this wide, if the model is not sure of it whole (step 8)
MIDDLE_RATIO = 1.2  # ... and more than two: only then may a digit lie in its middle
MIN_PIECE = 0.1  # of the part's height: the narrowest slice a cut may leave
CUTS_PER_HEIGHT = 4  # candidate cuts per height of a part's width, at most
# The reading's score (step 7), in units of log-probability: weights fitted by scripts/fit_choice.py.
WIDE = 1.0  # heights: a part no wider than this may be an honest unsure answer
DIGIT_WEIGHT = -0.3856  # each digit
SECOND_WEIGHT = -0.2196  # x log(the second likeliest digit's probability)
UNSURE_WEIGHT = -0.1597  # not sure of it, and no honest answer
HONEST_UNSURE_WEIGHT = 0.0817  # not sure of it, an honest answer
WIDE_WEIGHT = -0.9632  # x width over height beyond WIDE
JOIN_WEIGHT = -0.4498  # x the gaps it joins (`Found.join_cost`)
SLICE_WEIGHT = 0.357  # x the slices it spans beyond one
INNER_CUT_WEIGHT = 0.6628  # x the cuts inside it
INNER_STROKE_WEIGHT = 0.3047  # x the strokes those cuts cross
HEIGHT_WEIGHT = 0.1414  # x its height over the tallest part's
CUT_PART_WEIGHT = 0.693  # a whole part that was cut
ONE_IN_NO_DIGIT_WEIGHT = -0.5778  # a 1 inside one part the card calls no digit whole (a W's strokes)
CUT_FIRST_WEIGHT = -0.468  # the cut before it, for the first stroke it crosses
CUT_MORE_WEIGHT = 0.0947  # ... and for each other
ONE_WEIGHT = -0.9192  # read as a 1
GAP_PENALTY = 0.5
GAP_WIDTH_PENALTY = 20.0
JOIN_LIMIT = 3.0  # candidates joining parts at a higher cost are not read


@dataclass(frozen=True)
class Slice:
    """A part, or the piece of it between two cut paths: its cells on the grid, in its box
    (`bottom` and `right` exclusive)."""

    part: int
    top: int
    bottom: int
    left: int
    right: int
    cells: np.ndarray | None  # bool (bottom - top, right - left); None: all of its part's cells in the box
    crossed: int  # strokes the path on its left cuts through; 0 at a part's start


@dataclass
class Found:
    """What `find` found: the ink, its pieces on the grid, and the candidate digits."""

    ink: Ink
    factor: int  # grid cell = factor x factor pixels of the ink's window
    grid_shape: tuple[int, int]
    runs: Runs
    parts: list[list[int]]  # the pieces of each part, marks included
    part_boxes: list[Box]
    slices: list[Slice]
    candidates: list[tuple[int, int]]  # (first slice, last slice), inclusive
    # Each candidate's ink, made once: its model input and, if it is read, its box come from it.
    inks: dict[tuple[int, int], Ink] = field(default_factory=dict)

    @classmethod
    def one_digit(cls, ink: Ink) -> Found:
        """All the ink as one digit: one slice, one candidate, the whole."""
        height, width = ink.levels.shape
        nothing = np.zeros(0, dtype=np.int64)
        return cls(ink, 1, (height, width), Runs(nothing, nothing, nothing, nothing, 0), [[0]],
                   [Box(0, height - 1, 0, width - 1, height * width)], [Slice(0, 0, height, 0, width, None, 0)],
                   [(0, 0)])

    @functools.cached_property
    def labels(self) -> np.ndarray:
        """int32 grid: the piece of each cell, -1 where there is no ink; made when a candidate
        other than the whole needs its cells."""
        return labels_of(self.runs, self.grid_shape)

    def key(self, candidate: tuple[int, int]) -> tuple[tuple[int, ...], ...]:
        """What a candidate is made of, the same in any Found of the same ink: its part if it is
        exactly one (however it is cut, its ink is the part's), else its slices' places."""
        if self.is_part(candidate):
            return ((self.slices[candidate[0]].part,),)
        return tuple((piece.part, piece.top, piece.bottom, piece.left, piece.right, piece.crossed)
                     for piece in self.slices[candidate[0]:candidate[1] + 1])

    @property
    def whole(self) -> tuple[int, int]:
        return 0, len(self.slices) - 1

    def is_cut(self, boundary: int) -> bool:
        """Whether slices boundary - 1 and boundary are two sides of one cut."""
        return self.slices[boundary - 1].part == self.slices[boundary].part

    def height(self, candidate: tuple[int, int]) -> int:
        """Rows of the candidate's cells on the grid."""
        chosen = self.slices[candidate[0]:candidate[1] + 1]
        return max(piece.bottom for piece in chosen) - min(piece.top for piece in chosen)

    def aspect(self, candidate: tuple[int, int]) -> float:
        """Width over height of the candidate's cells on the grid."""
        chosen = self.slices[candidate[0]:candidate[1] + 1]
        return (max(piece.right for piece in chosen) - min(piece.left for piece in chosen)) / self.height(candidate)

    def is_part(self, candidate: tuple[int, int]) -> bool:
        """Whether the candidate is exactly one part: all its slices, nothing joined to it."""
        first, last = candidate
        part = self.slices[first].part
        return (all(piece.part == part for piece in self.slices[first:last + 1])
                and (first == 0 or self.slices[first - 1].part != part)
                and (last == len(self.slices) - 1 or self.slices[last + 1].part != part))

    def join_cost(self, candidate: tuple[int, int]) -> float:
        """What it costs to read slices from different parts as one digit: by the gap between them."""
        cost = 0.0
        for boundary in range(candidate[0] + 1, candidate[1] + 1):
            if not self.is_cut(boundary):
                before, after = self.slices[boundary - 1], self.slices[boundary]
                gap = max(0, after.left - before.right)
                height = max(before.bottom - before.top, after.bottom - after.top)
                cost += GAP_PENALTY + GAP_WIDTH_PENALTY * gap / height
        return cost

    def cells(self, candidate: tuple[int, int]) -> tuple[np.ndarray, int, int]:
        """The candidate's cells on the grid, in their box: (mask, top row, left column)."""
        chosen = self.slices[candidate[0]:candidate[1] + 1]
        top, left = min(piece.top for piece in chosen), min(piece.left for piece in chosen)
        bottom, right = max(piece.bottom for piece in chosen), max(piece.right for piece in chosen)
        mask = np.zeros((bottom - top, right - left), dtype=bool)
        for piece in chosen:
            cells = piece.cells
            if cells is None:
                labels = self.labels[piece.top:piece.bottom, piece.left:piece.right]
                cells = np.isin(labels, self.parts[piece.part])
            mask[piece.top - top:piece.bottom - top, piece.left - left:piece.right - left] |= cells
        return mask, top, left

    def candidate_ink(self, candidate: tuple[int, int]) -> Ink:
        """The ink of one candidate digit: its cells' pixels with the faint rim next to them."""
        if candidate == self.whole:
            return self.ink
        if candidate not in self.inks:
            self.inks[candidate] = self._ink_of(candidate)
        return self.inks[candidate]

    def _ink_of(self, candidate: tuple[int, int]) -> Ink:
        levels, factor = self.ink.levels, self.factor
        cells, row, column = self.cells(candidate)
        top, left = row * factor, column * factor
        bottom = min(top + cells.shape[0] * factor, levels.shape[0])
        right = min(left + cells.shape[1] * factor, levels.shape[1])
        mask = cells if factor == 1 else np.repeat(np.repeat(cells, factor, axis=0), factor, axis=1)
        grown = _grown_by_one(mask[:bottom - top, :right - left])
        # Grown by one pixel: the antialiased rim, below the threshold, belongs to its stroke.
        top_, bottom_ = max(top - 1, 0), min(bottom + 1, levels.shape[0])
        left_, right_ = max(left - 1, 0), min(right + 1, levels.shape[1])
        grown = grown[top_ - top + 1:bottom_ - top + 1, left_ - left + 1:right_ - left + 1]
        window = levels[top_:bottom_, left_:right_]
        return Ink(np.where(grown, window, 0), self.ink.span, self.ink.top + top_, self.ink.left + left_)

    def digit_image(self, candidate: tuple[int, int]) -> np.ndarray:
        return preprocessing.digit_image(self.candidate_ink(candidate))

    def box(self, candidate: tuple[int, int]) -> list[int]:
        """[x, y, width, height] of the candidate's ink in the picture."""
        ink = self.candidate_ink(candidate)
        top, bottom, left, right = preprocessing.ink_box(ink)
        return [int(ink.left + left), int(ink.top + top), int(right - left + 1), int(bottom - top + 1)]


def _grown_by_one(mask: np.ndarray) -> np.ndarray:
    """(h, w) bool -> (h + 2, w + 2): every pixel within one (8-connected) of the mask."""
    height, width = mask.shape
    padded = np.zeros((height + 4, width + 4), dtype=bool)
    padded[2:-2, 2:-2] = mask
    rows = padded[:-2] | padded[1:-1] | padded[2:]
    return rows[:, :-2] | rows[:, 1:-1] | rows[:, 2:]


# --- 1-2: the grid and its pieces ------------------------------------------------------------------


def grid_of(ink: Ink) -> tuple[np.ndarray, int]:
    """Strong ink, pooled (any ink in a block) to at most GRID_SIDE a side, and the factor."""
    strong = ink.levels >= least_level(INK_THRESHOLD, ink.span)
    factor = math.ceil(max(strong.shape) / GRID_SIDE)
    if factor > 1:
        strong = preprocessing.pool(strong.view(np.uint8), factor, "max") > 0
    return strong, factor


def grid_levels(ink: Ink, factor: int) -> np.ndarray:
    """The ink on the grid of `grid_of`: each cell's strongest pixel."""
    return ink.levels if factor == 1 else preprocessing.pool(ink.levels, factor, "max")


@dataclass(frozen=True)
class Runs:
    """The runs of ink on each row of the grid, row by row, left to right, and their pieces."""

    rows: np.ndarray
    starts: np.ndarray
    ends: np.ndarray  # exclusive
    piece: np.ndarray  # the piece of each run, numbered in the order of each piece's first run
    count: int  # pieces


def runs(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, start, end) of each run of ink, row by row, left to right; `end` exclusive."""
    height, width = grid.shape
    stride = width + 1
    # The rows read as one line, a blank cell before each row and one at the end, so every
    # run is a change to ink (its start) then a change from it (its end).
    line = np.zeros(height * stride + 1, dtype=bool)
    line[:-1].reshape(height, stride)[:, 1:] = grid
    changes = np.flatnonzero(line[1:] != line[:-1])
    starts, ends = changes[0::2], changes[1::2]
    rows, columns = np.divmod(starts, stride)
    return rows, columns, ends - rows * stride


def pieces(grid: np.ndarray) -> Runs:
    """The grid's 8-connected pieces, as the runs that make them."""
    rows, starts, ends = runs(grid)
    count = len(rows)
    if count == 0:
        return Runs(rows, starts, ends, rows, 0)
    # Run a (row r) touches run b (row r + 1) when b starts at most at a's end and ends after
    # a's start (8-connected). Runs are in row order, so b's are a contiguous range for each a.
    stride = grid.shape[1] + 2
    start_keys, end_keys = rows * stride + starts, rows * stride + ends
    first = np.searchsorted(end_keys, start_keys + stride, side="left")
    after = np.searchsorted(start_keys, end_keys + stride, side="right")
    if _one_piece(rows, start_keys, end_keys, first, after, stride):
        return Runs(rows, starts, ends, np.zeros(count, dtype=np.int64), 1)
    touching = np.maximum(after - first, 0)
    above = np.repeat(np.arange(count), touching)
    below = np.repeat(first - np.cumsum(touching) + touching, touching) + np.arange(len(above))
    # Each edge both ways: hook every root under the smallest root next to it, then flatten,
    # until both ends of every edge have one root (which is then its piece's first run).
    # Pointers only go to smaller runs, so count.bit_length() jumps, each doubling how far a
    # pointer reaches, flatten any tree without a test after each.
    one_end, other_end = np.concatenate([above, below]), np.concatenate([below, above])
    root = np.arange(count)
    jumps = count.bit_length()
    while True:
        hooked = root.copy()
        np.minimum.at(hooked, root[one_end], root[other_end])
        for _ in range(jumps):
            hooked = hooked[hooked]
        root = hooked
        if (root[above] == root[below]).all():
            break
    is_root = root == np.arange(count)  # each piece's root is its first run
    numbers = np.cumsum(is_root) - 1
    return Runs(rows, starts, ends, numbers[root], int(numbers[-1]) + 1)


def _one_piece(rows: np.ndarray, start_keys: np.ndarray, end_keys: np.ndarray, first: np.ndarray,
               after: np.ndarray, stride: int) -> bool:
    """Whether the runs are surely one piece, without joining them: the last row holds one
    run and every other run touches one on the row below (so each leads down to that run), or
    the same upwards. Most single digits are one or the other; `pieces` joins the rest."""
    if len(rows) == 1:
        return True
    if rows[-2] != rows[-1] and (after[:-1] > first[:-1]).all():
        return True
    if rows[0] == rows[1]:
        return False
    above_first = np.searchsorted(end_keys, start_keys[1:] - stride, side="left")
    above_after = np.searchsorted(start_keys, end_keys[1:] - stride, side="right")
    return bool((above_after > above_first).all())


def labels_of(found: Runs, shape: tuple[int, int]) -> np.ndarray:
    """int32 grid: the piece of each cell, -1 where there is no ink."""
    labels = np.full(shape, -1, dtype=np.int32)
    lengths = found.ends - found.starts
    cells = np.repeat(np.arange(len(lengths)), lengths)
    columns = np.repeat(found.starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
    labels[found.rows[cells], columns] = found.piece[cells]
    return labels


@dataclass(frozen=True)
class Box:
    top: int
    bottom: int  # inclusive
    left: int
    right: int  # inclusive
    area: int

    @property
    def width(self) -> int:
        return self.right - self.left + 1

    @property
    def height(self) -> int:
        return self.bottom - self.top + 1


def boxes(found: Runs) -> list[Box]:
    """Each piece's box and area, from its runs."""
    count = found.count
    if count == 1:
        return [Box(int(found.rows[0]), int(found.rows[-1]), int(found.starts.min()), int(found.ends.max()) - 1,
                    int((found.ends - found.starts).sum()))]
    top, left = np.full(count, np.iinfo(np.int64).max), np.full(count, np.iinfo(np.int64).max)
    bottom, right = np.full(count, -1), np.full(count, -1)
    np.minimum.at(top, found.piece, found.rows)
    np.maximum.at(bottom, found.piece, found.rows)
    np.minimum.at(left, found.piece, found.starts)
    np.maximum.at(right, found.piece, found.ends - 1)
    area = np.bincount(found.piece, weights=found.ends - found.starts, minlength=count).astype(np.int64)
    return [Box(*(int(value) for value in values)) for values in zip(top, bottom, left, right, area, strict=True)]


# --- 3-4: marks and parts ----------------------------------------------------------------------------


def slivers(found: Runs, boxes_: list[Box], levels: np.ndarray) -> np.ndarray:
    """Step 3's faint hairlines, per piece: its strongest ink under SLIVER_PEAK of the
    strongest of all, its runs of ink, on average, under SLIVER_RUN of the median of the
    pieces that are not faint, and its box at most SLIVER_WIDTH as wide as tall (a line, not
    a digit written with a finer pen). `levels`: the ink on the grid (a cell's strongest pixel)."""
    # Between two runs there is only ink under the threshold, weaker than any run's, so the
    # strongest from one run's start to the next one's is that run's.
    strongest = np.maximum.reduceat(levels.ravel(), found.rows * levels.shape[1] + found.starts)
    peaks = np.zeros(found.count, dtype=strongest.dtype)
    np.maximum.at(peaks, found.piece, strongest)
    faint = peaks < SLIVER_PEAK * peaks.max()
    if not faint.any():
        return faint
    areas = np.array([box.area for box in boxes_])
    across = areas / np.bincount(found.piece, minlength=found.count)  # the mean run of each piece
    lines = np.array([box.width <= SLIVER_WIDTH * box.height for box in boxes_])
    return faint & lines & (across < SLIVER_RUN * np.median(across[~faint]))


def parts_of(found: list[Box], hairlines: np.ndarray | None = None) -> tuple[list[list[int]], list[Box]]:
    """Steps 3-4: the pieces of each part, left to right, and each part's box. Refuses more
    than MAX_PARTS parts before joining the marks to them. `hairlines`: the pieces left out of
    every part (`slivers`), or None for none."""
    if len(found) == 1:  # one stroke, as most single digits are: no marks, one part
        return [[0]], found
    areas = np.array([box.area for box in found])
    heights = np.array([box.height for box in found])
    marks = (areas < MARK_AREA * areas.max()) | (heights < MARK_HEIGHT * heights.max())
    dropped = np.zeros(len(found), dtype=bool) if hairlines is None else hairlines.copy()
    largest = int(np.argmax(areas))
    marks[largest] = dropped[largest] = False  # the largest piece is never a mark: a part needs one
    marks &= ~dropped
    order = sorted(np.flatnonzero(~marks & ~dropped).tolist(), key=lambda index: found[index].left)
    parts: list[list[int]] = []
    spans: list[list[int]] = []  # [left, right] of each part
    for index in order:
        box = found[index]
        if spans:
            left, right = spans[-1]
            overlap = min(right, box.right) - max(left, box.left) + 1
            if 2 * overlap >= min(right - left + 1, box.width):
                parts[-1].append(index)
                spans[-1][1] = max(right, box.right)
                continue
        parts.append([index])
        spans.append([box.left, box.right])
    if len(parts) > MAX_PARTS:
        raise TooManyDigits(len(parts), MAX_DIGITS, "marks")
    # Each mark joins the part whose columns are nearest its own (the first of equals).
    lefts, rights = np.array(spans).T
    for index in np.flatnonzero(marks).tolist():
        box = found[index]
        distances = np.maximum(np.maximum(lefts - box.right, box.left - rights), 0)
        parts[int(np.argmin(distances))].append(index)
    return parts, [_union([found[index] for index in part]) for part in parts]


def _union(pieces_: list[Box]) -> Box:
    return Box(min(box.top for box in pieces_), max(box.bottom for box in pieces_),
               min(box.left for box in pieces_), max(box.right for box in pieces_), sum(box.area for box in pieces_))


# --- 5-6: cuts and slices ----------------------------------------------------------------------------


def cut_columns(profile: np.ndarray, height: int) -> list[int]:
    """Candidate cuts of a part, given its ink per column: the local minima of the ink in
    three columns (a flat minimum at its middle column), at least MIN_PIECE x height from
    either side and from each other, the emptiest first, at most CUTS_PER_HEIGHT x width /
    height of them, for a part that `may_hold_several`. A cut at column c puts c on the right."""
    width = len(profile)
    margin = narrowest_slice(height)
    summed = np.convolve(profile, np.ones(3, dtype=np.int64), mode="same")
    minima = []
    column = 1
    while column < width - 1:
        end = column
        while end + 1 < width - 1 and summed[end + 1] == summed[column]:
            end += 1
        if summed[column - 1] > summed[column] and summed[end + 1] > summed[column]:
            minima.append((int(summed[column]), (column + end) // 2))
        column = end + 1
    chosen: list[int] = []
    most = math.ceil(CUTS_PER_HEIGHT * width / height)
    for _, cut in sorted(minima):
        if margin <= cut <= width - margin and all(abs(cut - other) >= margin for other in chosen):
            chosen.append(cut)
            if len(chosen) == most:
                break
    return sorted(chosen)


def cut_paths(inside: np.ndarray, cuts: list[int], band: int) -> np.ndarray:
    """For each cut column c, the path from the part's top row to its bottom row that crosses
    least ink, moving at most one column a row and staying within `band` of c: int (cuts,
    rows), the first column right of the path on each row. Each row costs 2 x band + 1 for
    ink, plus the distance from c, so the path goes round a stroke where it can and runs
    straight down the gap otherwise. Of equal paths, the one nearest c, then the leftmost."""
    height, width = inside.shape
    offsets = np.arange(-band, band + 1)
    columns = np.array(cuts)[:, None] + offsets[None, :]  # (cuts, 2 band + 1)
    valid = (columns >= 0) & (columns < width)
    clipped = np.clip(columns, 0, width - 1)
    ink = 2 * band + 1
    far = (ink + band + 1) * (height + 1)  # more than any path inside the part costs
    # Each row's cost at each place of each path, and the cost so far between two sentinels.
    costs = np.where(valid, np.abs(offsets)[None, :], far)[None] + ink * inside[:, clipped]
    total = np.full((len(cuts), len(offsets) + 2), far * (height + 1))
    total[:, 1:-1] = costs[0]
    moves = np.empty((height, len(cuts), len(offsets)), dtype=np.int8)
    stay, from_left, from_right = total[:, 1:-1], total[:, :-2], total[:, 2:]
    for row in range(1, height):
        # Stay, from the left, from the right: of equal costs, the first of these.
        side = np.minimum(from_left, from_right)
        moves[row] = np.where(side < stay, np.where(from_right < from_left, 1, -1), 0)
        np.add(np.minimum(stay, side), costs[row], out=stay)
    total = total[:, 1:-1]
    # Of the ends of equal cost, the one nearest c, then the leftmost.
    preference = np.argsort(np.abs(offsets) * 2 + (offsets > 0), kind="stable")
    ordered = total[:, preference]
    position = preference[np.argmin(ordered, axis=1)]
    paths = np.empty((len(cuts), height), dtype=np.int64)
    rows = np.arange(len(cuts))
    for row in range(height - 1, -1, -1):
        paths[:, row] = columns[rows, position]
        position = position + moves[row][rows, position]
    return paths


def narrowest_slice(height: int) -> int:
    """Columns a cut must leave on either side of it, and between two cuts, in a part this tall."""
    return max(1, math.ceil(MIN_PIECE * height))


def may_hold_several(box: Box, looked_again: bool = False) -> bool:
    """Whether a part is wide enough to be cut (step 5), or, on a second look, cut again (step 8)."""
    ratio = LOOK_AGAIN_RATIO if looked_again else SPLIT_RATIO
    return box.width >= ratio * box.height and box.width >= 2 * narrowest_slice(box.height)


def slices_of(found: Found, looked_again: frozenset[int] = frozenset()) -> list[Slice]:
    slices = []
    budget = MAX_SLICES - len(found.parts)
    for index, (part, box) in enumerate(zip(found.parts, found.part_boxes, strict=True)):
        if not may_hold_several(box, index in looked_again) or budget <= 0:
            slices.append(Slice(index, box.top, box.bottom + 1, box.left, box.right + 1, None, 0))
            continue
        inside = np.isin(found.labels[box.top:box.bottom + 1, box.left:box.right + 1], part)
        cuts = cut_columns(inside.sum(axis=0), box.height)[:budget]
        budget -= len(cuts)
        height, width = inside.shape
        if cuts:
            band = max(1, narrowest_slice(box.height) // 2)
            paths = cut_paths(inside, cuts, band)
        else:
            paths = np.empty((0, height), dtype=np.int64)
        edges = [np.zeros(height, dtype=np.int64), *paths, np.full(height, width)]
        columns = np.arange(width)[None, :]
        for left, right in itertools.pairwise(edges):
            cells = inside & (columns >= left[:, None]) & (columns < right[:, None])
            rows, used = np.flatnonzero(cells.any(axis=1)), np.flatnonzero(cells.any(axis=0))
            if rows.size == 0:
                continue
            on_path = inside[np.arange(height), np.minimum(left, width - 1)].view(np.int8) if left.any() else None
            crossed = 0 if on_path is None else int(on_path[0]) + int(np.count_nonzero(np.diff(on_path) == 1))
            slices.append(Slice(index, box.top + int(rows[0]), box.top + int(rows[-1]) + 1,
                                box.left + int(used[0]), box.left + int(used[-1]) + 1,
                                cells[rows[0]:rows[-1] + 1, used[0]:used[-1] + 1], crossed))
    return slices


def find(ink: Ink) -> Found:
    grid, factor = grid_of(ink)
    runs_ = pieces(grid)
    if runs_.count == 0:  # faint marks only
        raise BlankImageError
    if runs_.count > MAX_PIECES:  # dust, a texture: no number has this many strokes
        raise TooManyDigits(runs_.count, MAX_DIGITS, "marks")
    boxes_ = boxes(runs_)
    hairlines = slivers(runs_, boxes_, grid_levels(ink, factor)) if runs_.count > 1 else None
    parts, part_boxes = parts_of(boxes_, hairlines)
    return _sliced(Found(ink, factor, grid.shape, runs_, parts, part_boxes, [], []))


def _sliced(found: Found, looked_again: frozenset[int] = frozenset()) -> Found:
    """Steps 5-6: the found parts cut, and the candidate digits their slices make."""
    found.slices = slices = slices_of(found, looked_again)
    spans = whole_parts(found)
    two_at_most = [box.width < MIDDLE_RATIO * box.height for box in found.part_boxes]
    # Runs of slices that join parts across a gap no digit could make up for are never read,
    # nor a run in the middle of a part with room for two digits only.
    found.candidates = candidates = [
        (first, last) for last in range(len(slices))
        for first in range(max(0, last - MAX_SLICES_PER_DIGIT + 1), last + 1)
        if found.join_cost((first, last)) <= JOIN_LIMIT
        and not _in_middle(spans, two_at_most, slices, first, last)]
    # A part cut into more slices than one digit may span can still be read whole.
    candidates.extend((first, last) for first, last in spans.values() if last - first + 1 > MAX_SLICES_PER_DIGIT)
    return found


def _in_middle(spans: dict[int, tuple[int, int]], two_at_most: list[bool], slices: list[Slice],
               first: int, last: int) -> bool:
    """Whether slices first..last lie inside one part that holds at most two digits, touching
    neither of its ends."""
    part = slices[first].part
    return (two_at_most[part] and slices[last].part == part
            and spans[part][0] < first and last < spans[part][1])


# --- 7: the reading kept -------------------------------------------------------------------------------


def whole_parts(found: Found) -> dict[int, tuple[int, int]]:
    """Each part's candidate of all its slices (a part's slices are consecutive)."""
    spans: dict[int, tuple[int, int]] = {}
    for index, piece in enumerate(found.slices):
        spans[piece.part] = (spans.get(piece.part, (index, index))[0], index)
    return spans


def answers(probabilities: np.ndarray) -> tuple[list[int], list[float], list[float]]:
    """What `choose` takes of the model's answers (candidates, classes): each candidate's
    likeliest digit, its probability and the second highest."""
    ranked = np.sort(probabilities, axis=1)
    return probabilities.argmax(axis=1).tolist(), ranked[:, -1].tolist(), ranked[:, -2].tolist()


def score_weights() -> dict[str, float]:
    """The reading score's weights by name, in the order of `candidate_features` after its
    first feature, log(confidence), which weighs 1."""
    return {"DIGIT_WEIGHT": DIGIT_WEIGHT, "SECOND_WEIGHT": SECOND_WEIGHT, "UNSURE_WEIGHT": UNSURE_WEIGHT,
            "HONEST_UNSURE_WEIGHT": HONEST_UNSURE_WEIGHT, "WIDE_WEIGHT": WIDE_WEIGHT, "JOIN_WEIGHT": JOIN_WEIGHT,
            "SLICE_WEIGHT": SLICE_WEIGHT, "INNER_CUT_WEIGHT": INNER_CUT_WEIGHT,
            "INNER_STROKE_WEIGHT": INNER_STROKE_WEIGHT, "HEIGHT_WEIGHT": HEIGHT_WEIGHT,
            "CUT_PART_WEIGHT": CUT_PART_WEIGHT, "ONE_IN_NO_DIGIT_WEIGHT": ONE_IN_NO_DIGIT_WEIGHT,
            "CUT_FIRST_WEIGHT": CUT_FIRST_WEIGHT, "CUT_MORE_WEIGHT": CUT_MORE_WEIGHT, "ONE_WEIGHT": ONE_WEIGHT}


_WEIGHTS = tuple(score_weights().values())


def candidate_features(found: Found, digits: list[int], confidences: list[float], seconds: list[float], sure: float,
                       not_a_digit: float) -> dict[tuple[int, int], tuple[float, ...]]:
    """Each candidate's features (step 7), the cut before it included: log(confidence), then
    one for each of `score_weights`. The arguments are `choose`'s."""
    tallest = max(box.height for box in found.part_boxes)
    confidence_of = dict(zip(found.candidates, confidences, strict=True))
    no_digit = {part for part, whole in whole_parts(found).items() if confidence_of[whole] < not_a_digit}
    features = {}
    for candidate, digit, confidence, second in zip(found.candidates, digits, confidences, seconds, strict=True):
        first, last = candidate
        aspect = found.aspect(candidate)
        is_part = found.is_part(candidate)
        # Unsure of exactly one part no wider than tall, or sure it is no digit: an honest
        # answer. Unsure of anything else: a fragment, or digits that touch.
        honest = is_part and (aspect <= WIDE or confidence < not_a_digit)
        unsure = confidence < sure
        inner = [boundary for boundary in range(first + 1, last + 1) if found.is_cut(boundary)]
        part = found.slices[first].part
        in_no_digit = part in no_digit and found.slices[last].part == part and not is_part
        crossed = found.slices[first].crossed if first > 0 and found.is_cut(first) else 0
        features[candidate] = (
            math.log(max(confidence, 1e-12)), 1.0, math.log(max(second, 1e-12)),
            float(unsure and not honest), float(unsure and honest), max(0.0, aspect - WIDE),
            found.join_cost(candidate), float(last - first), float(len(inner)),
            float(sum(found.slices[boundary].crossed for boundary in inner)), found.height(candidate) / tallest,
            float(is_part and last > first), float(in_no_digit and digit == 1),
            float(min(crossed, 1)), float(max(0, crossed - 1)), float(digit == 1))
    return features


def candidate_score(features: tuple[float, ...], weights: tuple[float, ...]) -> float:
    """One candidate's part of a reading's score: its features (`candidate_features`) weighed."""
    score = features[0]
    for weight, feature in zip(weights, features[1:], strict=True):
        score += weight * feature
    return score


def choose(found: Found, digits: list[int], confidences: list[float], seconds: list[float], sure: float,
           not_a_digit: float = 0.0) -> list[tuple[int, int]]:
    """The candidates, left to right, of the best reading: see step 7. For found.candidates[i],
    `digits[i]` is the model's likeliest digit, `confidences[i]` its probability and
    `seconds[i]` the second likeliest's (`answers`); `sure`, the card's threshold below which
    an answer is not sure, and `not_a_digit` the level below which it is no digit at all (0:
    the card states none). Of equal readings, the one with fewer digits."""
    count = len(found.slices)
    best = [0.0] + [-math.inf] * count
    came_from: list[tuple[int, int] | None] = [None] * (count + 1)
    scores = {candidate: candidate_score(features, _WEIGHTS) for candidate, features
              in candidate_features(found, digits, confidences, seconds, sure, not_a_digit).items()}
    ending = [[] for _ in range(count)]
    for candidate in sorted(found.candidates):  # longest first: of equal readings, fewer digits
        ending[candidate[1]].append(candidate)
    for end in range(1, count + 1):
        for candidate in ending[end - 1]:
            first = candidate[0]
            score = best[first] + scores[candidate]
            if score > best[end]:
                best[end], came_from[end] = score, candidate
    reading = []
    end = count
    while end > 0:
        candidate = came_from[end]
        reading.append(candidate)
        end = candidate[0]
    reading.reverse()
    if len(reading) > MAX_DIGITS:
        raise TooManyDigits(len(reading), MAX_DIGITS)
    return reading


# --- 8: a second look ----------------------------------------------------------------------------------


def look_again(found: Found, reading: list[tuple[int, int]], confidences: list[float], sure: float) -> Found | None:
    """Step 8: the same ink with the parts the reading kept whole but the model is not sure of
    cut as well, if they are at least LOOK_AGAIN_RATIO as wide as tall, or None if there are
    none: the reading stands. A 1 touching its neighbour, or "11", makes a part too narrow to
    be cut at once (a single digit that narrow would pay for candidates it never needs), and
    the model reads it as one unsure digit or as none. Such a part is looked at again whether
    the reading kept it alone or inside a digit read unsure that joins it to other parts (the
    model may call each of two touching pairs no digit, and one unsure answer for both may
    then score best). Only the new candidates need reading (`Found.key` tells which are new);
    `choose` then weighs the whole part against its cuts."""
    if min(confidences) >= sure:  # sure of every candidate, so of every digit read (a single digit, mostly)
        return None
    index = {candidate: number for number, candidate in enumerate(found.candidates)}
    wholes = whole_parts(found)
    # Each part of a digit read unsure that is one slice (not cut yet) and read unsure whole.
    parts = frozenset(part for first, last in reading if confidences[index[first, last]] < sure
                      for part in range(found.slices[first].part, found.slices[last].part + 1)
                      if wholes[part][0] == wholes[part][1] and confidences[index[wholes[part]]] < sure
                      and may_hold_several(found.part_boxes[part], looked_again=True))
    if not parts:
        return None
    again = _sliced(Found(found.ink, found.factor, found.grid_shape, found.runs, found.parts, found.part_boxes,
                          [], []), parts)
    return again if len(again.slices) > len(found.slices) else None
