"""Numbers through the API: `number` and `digits` for one digit and several, one-digit mode,
the 28 x 28 grid, too many digits, and what a number costs before any model call."""

from __future__ import annotations

import base64
import itertools
import json

import numpy as np
import pytest

import segmentation
from tests.support.drawing import canvas, number_canvas
from tests.support.images import encode

DIGIT_FIELDS = {"digit", "confidence", "probabilities", "uncertain", "box"}


def post_png(client, pixels: np.ndarray, query: str = ""):
    return client.post(f"/predict{query}", content=encode(pixels), headers={"Content-Type": "image/png"})


def read(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def test_a_number_is_read_digit_by_digit_left_to_right_with_boxes(client):
    picture = number_canvas("2024")
    body = read(post_png(client, picture))
    assert body["number"] == "2024"
    assert [entry["digit"] for entry in body["digits"]] == [2, 0, 2, 4]
    boxes = [entry["box"] for entry in body["digits"]]
    height, width = picture.shape[:2]
    for x, y, box_width, box_height in boxes:
        assert x >= 0 and y >= 0 and x + box_width <= width and y + box_height <= height
        assert box_height > 0.5 * 120  # each box holds a whole digit, drawn 120 pixels tall
    # Left to right, and apart: no box reaches into the next one's columns.
    assert all(left[0] + left[2] <= right[0] for left, right in itertools.pairwise(boxes))
    for entry in body["digits"]:
        assert set(entry) - {"alternatives"} == DIGIT_FIELDS
        assert ("alternatives" in entry) is entry["uncertain"]
        assert entry["confidence"] == max(entry["probabilities"]) == entry["probabilities"][entry["digit"]]


def test_with_several_digits_the_one_digit_fields_are_the_least_sure_digit_and_unsure(client):
    body = read(post_png(client, number_canvas("2024")))
    least_sure = min(body["digits"], key=lambda entry: entry["confidence"])
    assert (body["digit"], body["confidence"], body["probabilities"]) == (
        least_sure["digit"], least_sure["confidence"], least_sure["probabilities"])
    # So a client written for one digit says "not sure" instead of naming one digit of four.
    assert body["uncertain"] is True
    assert body["alternatives"][0]["digit"] == body["digit"]


def test_one_digit_answers_as_before_plus_number_and_its_box(client, seven_png):
    body = read(client.post("/predict", content=seven_png, headers={"Content-Type": "image/png"}))
    assert body["number"] == "7"
    [entry] = body["digits"]
    assert {key: entry[key] for key in entry if key != "box"} == {
        key: body[key] for key in ("digit", "confidence", "probabilities", "uncertain", "alternatives") if key in body}
    x, y, width, height = entry["box"]
    ink = np.argwhere(canvas(7, mode="transparent-black")[:, :, 3] > 0)
    assert (y, x) == tuple(ink.min(axis=0)) and (y + height - 1, x + width - 1) == tuple(ink.max(axis=0))


def test_a_number_in_every_picture_form(client):
    png = encode(number_canvas("58", mode="transparent-black"))
    answers = [
        client.post("/predict", files={"file": ("number.png", png, "image/png")}),
        client.post("/predict", content=png, headers={"Content-Type": "image/png"}),
        client.post("/predict", json={"image": "data:image/png;base64," + base64.b64encode(png).decode()}),
    ]
    assert [read(answer)["number"] for answer in answers] == ["58", "58", "58"]


def test_read_digit_reads_all_the_ink_as_one_digit(client):
    picture = number_canvas("42")
    body = read(post_png(client, picture, "?read=digit"))
    assert len(body["number"]) == 1 and len(body["digits"]) == 1
    x, y, width, height = body["digits"][0]["box"]
    ink = np.argwhere(picture[:, :, 0] < 255)
    assert (y, x) == tuple(ink.min(axis=0)) and (y + height - 1, x + width - 1) == tuple(ink.max(axis=0))


def test_read_takes_number_or_digit_and_says_so_otherwise(client, seven_png):
    assert read(client.post("/predict?read=number", content=seven_png,
                            headers={"Content-Type": "image/png"}))["number"] == "7"
    response = client.post("/predict?read=digits", content=seven_png, headers={"Content-Type": "image/png"})
    assert response.status_code == 422
    assert "'number' or 'digit'" in response.json()["detail"]


def test_the_28_by_28_grid_is_always_one_digit(client):
    # Two strokes side by side in the grid: a picture would read "11", the grid is one digit.
    grid = np.zeros((28, 28))
    grid[4:24, 6:9] = grid[4:24, 19:22] = 255
    body = read(client.post("/predict", json={"pixels": grid.tolist()}))
    assert len(body["digits"]) == 1 and len(body["number"]) == 1
    assert read(post_png(client, 255 - grid.astype(np.uint8)))["number"] == "11"


def test_digits_of_different_sizes_and_heights_are_one_number_read_left_to_right(client):
    picture = number_canvas("472", sizes=[80, 150, 110], tops=[10, 30, 70], height=220)
    assert read(post_png(client, picture))["number"] == "472"


def test_touching_digits_are_split(client):
    assert read(post_png(client, number_canvas("305", gap=-4)))["number"] == "305"


def test_a_speck_beside_a_digit_is_not_a_digit(client):
    picture = number_canvas("58")
    picture[150:156, 20:26] = 0
    assert read(post_png(client, picture))["number"] == "58"


@pytest.mark.parametrize(("level", "width", "number"), [
    (150, 2, "17"),  # faint and far thinner than the pen: a hairline, no digit's ink
    (100, 4, "17"),
    (0, 2, "171"),  # as strong as the digits: a thin 1
    (150, 14, "171"),  # as wide as the pen: a faint 1
])
def test_a_faint_hairline_beside_a_digit_is_not_a_digit(client, level, width, number):
    picture = number_canvas("17")  # RGB, dark on light
    right = int(np.flatnonzero((picture < 128).any(axis=(0, 2))).max())  # the 7's last column
    line = picture[70:150, right + 14:right + 14 + width]
    np.minimum(line, level, out=line)
    assert read(post_png(client, picture))["number"] == number


def test_a_faint_digit_written_with_a_finer_pen_is_still_a_digit(client):
    """As faint and as fine as a hairline, but no line: a digit of its own shape."""
    faint_four = np.maximum(number_canvas("4", stroke=3), 150)
    picture = np.concatenate([number_canvas("17"), faint_four], axis=1)
    assert read(post_png(client, picture))["number"] == "174"


def test_more_than_twelve_digits_is_refused_with_what_is_accepted(client):
    picture = number_canvas("1234567890123", size=60, gap=14, height=100, stroke=7)
    response = post_png(client, picture)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "13" in detail and "at most 12 digits" in detail and "read=digit" in detail
    assert read(post_png(client, number_canvas("123456789012", size=60, gap=14, height=100,
                                               stroke=7)))["number"] == "123456789012"


def test_a_picture_of_many_marks_is_refused_before_any_model_call(client, monkeypatch):
    import classifier

    def never(*_arguments):
        raise AssertionError("the model was called")

    monkeypatch.setattr(classifier.Classifier, "predict", never)
    dots = np.full((60, 1200), 255, dtype=np.uint8)
    for left in range(10, 1190, 40):  # 30 dots, each its own part
        dots[20:40, left:left + 20] = 0
    response = post_png(client, dots)
    assert response.status_code == 422
    assert "30 separate marks" in response.json()["detail"]


def test_candidates_stay_bounded_for_the_widest_scribble():
    """A zigzag as wide as a picture may be: one part, cut at most MAX_SLICES times."""
    import preprocessing

    width = 8000
    picture = np.full((120, width), 255, dtype=np.uint8)
    columns = np.arange(width)
    rows = (10 + 100 * np.abs((columns / 40) % 2 - 1)).astype(int)
    for offset in range(4):
        picture[np.minimum(rows + offset, 119), columns] = 0
    found = segmentation.find(preprocessing.ink_levels(picture))
    assert len(found.slices) <= segmentation.MAX_SLICES
    assert len(found.candidates) <= segmentation.MAX_SLICES * segmentation.MAX_SLICES_PER_DIGIT + len(found.parts)


def test_candidates_stay_bounded_on_a_second_look_at_every_part():
    """As many narrow parts as a picture may hold, every one read unsure: the second look cuts
    them all, within the same bounds as the first."""
    import preprocessing

    picture = np.full((140, 24 * 90 + 40), 255, dtype=np.uint8)
    for index in range(segmentation.MAX_PARTS):
        left = 20 + 90 * index
        picture[20:120, left:left + 8] = 0  # two strokes joined at the bottom: one part, 0.6 heights wide
        picture[20:120, left + 52:left + 60] = 0
        picture[110:120, left:left + 60] = 0
    found = segmentation.find(preprocessing.ink_levels(picture))
    assert len(found.parts) == segmentation.MAX_PARTS and len(found.slices) == segmentation.MAX_PARTS
    parts = [(index, index) for index in range(segmentation.MAX_PARTS)]
    unsure = [0.1] * len(found.candidates)
    again = segmentation.look_again(found, parts, unsure, 0.8)
    assert again is not None and len(again.slices) > len(found.slices)
    assert len(again.slices) <= segmentation.MAX_SLICES
    assert len(again.candidates) <= segmentation.MAX_SLICES * segmentation.MAX_SLICES_PER_DIGIT + len(again.parts)


def _flood_filled(grid: np.ndarray) -> list[set[tuple[int, int]]]:
    """The grid's 8-connected pieces, cell by cell, in the order of each piece's first cell."""
    unseen = {(int(row), int(column)) for row, column in zip(*np.nonzero(grid), strict=True)}
    found = []
    for cell in sorted(unseen):
        if cell not in unseen:
            continue
        piece, stack = set(), [cell]
        unseen.discard(cell)
        while stack:
            row, column = stack.pop()
            piece.add((row, column))
            for near in itertools.product((row - 1, row, row + 1), (column - 1, column, column + 1)):
                if near in unseen:
                    unseen.discard(near)
                    stack.append(near)
        found.append(piece)
    return found


@pytest.mark.parametrize("seed", range(4))
def test_pieces_are_the_8_connected_pieces_of_the_grid(seed):
    """Pieces from runs of ink, joined where runs on consecutive rows touch, are exactly the
    pieces a flood fill finds, numbered in the same order: on grids from a few specks to one
    solid block, diagonal joins and single cells included."""
    rng = np.random.default_rng(seed)
    for _ in range(60):
        height, width = (int(side) for side in rng.integers(1, 40, 2))
        grid = rng.random((height, width)) < rng.uniform(0.05, 0.95)
        runs = segmentation.pieces(grid)
        cells: list[set[tuple[int, int]]] = [set() for _ in range(runs.count)]
        for row, start, end, piece in zip(runs.rows, runs.starts, runs.ends, runs.piece, strict=True):
            cells[piece] |= {(int(row), column) for column in range(start, end)}
        assert cells == _flood_filled(grid)


def _snake(height: int, width: int, gaps: int = 0) -> np.ndarray:
    """Rows of ink joined at alternate ends: one long path, each row a run the next hangs on
    (the worst case for joining runs), cut at `gaps` places into as many more pieces."""
    grid = np.zeros((height, width), dtype=bool)
    grid[::2] = True
    grid[1::4, -1] = True
    grid[3::4, 0] = True
    grid[1 + 4 * np.arange(gaps), -1] = False
    return grid


def _letter(rows: list[str]) -> np.ndarray:
    return np.array([[cell == "#" for cell in row] for row in rows])


U = ["#..#", "#..#", ".##."]
TWO_BARS = ["#.#", "#.#", "#.#"]
N_AND_DOT = [".##.", "#..#", "#..#", "....", ".#.."]


@pytest.mark.parametrize("grid", [
    _snake(201, 30), _snake(201, 30)[::-1], _snake(201, 30, gaps=7), _snake(101, 1), _snake(2, 9), ~_snake(121, 40),
    _letter(U), _letter(U[::-1]), _letter(TWO_BARS), _letter(N_AND_DOT), _letter(N_AND_DOT[::-1]),
], ids=["snake", "snake upside down", "cut snake", "line", "two rows", "comb", "U", "n", "two bars", "n and a dot",
        "dot and a u"])
def test_pieces_of_long_winding_strokes(grid):
    """A stroke that winds back and forth a hundred times is still one piece, and each gap cut
    into it makes one more; a shape that leads from every run to one top or bottom run is one
    piece, and one that nearly does is joined run by run: all numbered as a flood fill finds
    them."""
    runs = segmentation.pieces(grid)
    cells: list[set[tuple[int, int]]] = [set() for _ in range(runs.count)]
    for row, start, end, piece in zip(runs.rows, runs.starts, runs.ends, runs.piece, strict=True):
        cells[piece] |= {(int(row), column) for column in range(start, end)}
    assert cells == _flood_filled(grid)


def _one_part_cut_once(width: int) -> segmentation.Found:
    """A part 100 cells tall and `width` wide, cut once through one stroke near its middle."""
    import preprocessing

    ink = preprocessing.Ink(np.zeros((100, width), dtype=np.int32), 255, 0, 0)
    found = segmentation.Found.one_digit(ink)
    middle = width // 2
    found.slices = [segmentation.Slice(0, 0, 100, 0, middle, None, 0),
                    segmentation.Slice(0, 0, 100, middle, width, None, 1)]
    found.candidates = [(0, 0), (1, 1), (0, 1)]
    return found


def _read_cut_once(width: int, whole: float, second: float, halves: tuple[int, int] = (2, 7),
                   not_a_digit: float = 0.0) -> list[tuple[int, int]]:
    """The reading of `_one_part_cut_once(width)` when the model is sure of each half (0.99,
    its second likeliest at 0.005) and reads the whole as a 4 at `whole`, `second` the second
    likeliest's probability; the card's threshold 0.85."""
    return segmentation.choose(_one_part_cut_once(width), [*halves, 4], [0.99, 0.99, whole], [0.005, 0.005, second],
                               0.85, not_a_digit)


SPLIT, WHOLE = [(0, 0), (1, 1)], [(0, 1)]


def test_an_unsure_part_is_an_honest_answer_only_when_no_wider_than_tall():
    """Read unsure as a whole and sure as two halves: a part as tall as it is wide stays one
    digit the model is unsure of; a wider one, read the same, is two digits that touch."""
    assert _read_cut_once(95, 0.39, 0.1) == WHOLE
    assert _read_cut_once(105, 0.39, 0.1) == SPLIT
    # Read sure as a whole, it stays whole at either width.
    assert _read_cut_once(95, 0.99, 0.005) == _read_cut_once(105, 0.99, 0.005) == WHOLE
    # Wider is never more whole.
    for whole, second in itertools.product((0.1, 0.3, 0.5, 0.7, 0.9), (0.01, 0.05, 0.1, 0.3)):
        if _read_cut_once(95, whole, second) == SPLIT:
            assert _read_cut_once(105, whole, second) == SPLIT, (whole, second)


def test_a_part_the_model_is_torn_over_is_read_as_the_digits_it_holds():
    """The same part read whole at the same confidence: if the model gives the runner-up
    digit little, the whole stands; if it is torn between two (an 8 or a 3: two digits in
    one box), the halves it is sure of are read instead. The more torn, never the more whole."""
    assert _read_cut_once(105, 0.39, 0.01) == WHOLE
    assert _read_cut_once(105, 0.39, 0.3) == SPLIT
    for width, whole in itertools.product((95, 105), (0.2, 0.4, 0.6, 0.8)):
        readings = [_read_cut_once(width, whole, second) for second in (0.001, 0.01, 0.05, 0.1, 0.2) if second < whole]
        assert readings == sorted(readings, key=len), (width, whole)  # whole, then split, never back


def test_a_scribble_the_card_calls_no_digit_stays_one_answer():
    """A scribble (a W) whose strokes each read as a sure 1 is no number 1111: read below the
    card's not-a-digit level as a whole, it stays whole, and the answer says no digit. The
    same part whose halves read as other digits the model is sure of is those digits."""
    assert _read_cut_once(101, 0.03, 0.02, halves=(1, 1), not_a_digit=0.4) == WHOLE
    assert _read_cut_once(101, 0.03, 0.02, halves=(2, 7), not_a_digit=0.4) == SPLIT
    assert _read_cut_once(101, 0.03, 0.02, halves=(1, 1), not_a_digit=0.02) == SPLIT  # not below the level
    assert _read_cut_once(101, 0.03, 0.02, halves=(1, 1)) == SPLIT  # the card states no level


@pytest.mark.parametrize("halves", [(1, 7), (7, 1), (1, 1)])
def test_a_sure_1_as_wide_as_its_neighbour_is_weaker_evidence_than_another_digit(halves):
    """A stroke cut off a digit (the side of a loop, the bar of a 5) is read as a sure 1 more
    often than any other digit, so a 1 weighs less: a part read whole at 0.39 splits into a
    2 and a 7 the model is sure of, but not into a 1 and a 7 at the same confidences."""
    assert _read_cut_once(105, 0.39, 0.1, halves=(2, 7)) == SPLIT
    assert _read_cut_once(105, 0.39, 0.1, halves=halves) == WHOLE


def test_blank_pictures_are_still_refused(client):
    response = post_png(client, np.full((100, 300), 255, dtype=np.uint8))
    assert response.status_code == 422
    assert "no digit found" in response.json()["detail"]


@pytest.mark.parametrize("query", ["", "?read=digit"])
def test_the_log_line_names_the_number(client, capsys, query):
    body = post_png(client, number_canvas("58"), query).json()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    [logged] = [line for line in lines if line.get("message") == "POST /predict 200"]
    digits_read = [line for line in lines if "DigitsRead" in line]
    # Logged and counted as unsure only when the model doubted a digit, not for being a number.
    doubted = any(digit["uncertain"] for digit in body["digits"])
    assert logged["uncertain"] is doubted
    assert any("Uncertain" in line for line in lines) is doubted
    if query:
        assert len(logged["number"]) == 1 and "digit" in logged
        assert digits_read[0]["DigitsRead"] == [1.0]
    else:
        assert logged["number"] == "58" and "digit" not in logged  # no one digit to count
        assert digits_read[0]["DigitsRead"] == [2.0]


@pytest.mark.parametrize("orientation", [1, 6])
def test_boxes_are_in_the_picture_as_sent_when_it_was_shrunk_to_be_read(client, orientation):
    """A photo longer than the function reads (decoding.MAX_SIDE) is shrunk first; its boxes are
    still given in its own pixels, upright after its EXIF orientation."""
    import io

    from PIL import Image

    import decoding

    small = number_canvas("507")
    scale = 4
    big = np.asarray(Image.fromarray(small).resize((small.shape[1] * scale, small.shape[0] * scale)))
    assert max(big.shape) > decoding.MAX_SIDE
    sent = Image.fromarray(big)
    if orientation == 6:  # stored turned a quarter left; the EXIF tag turns it back upright
        sent = sent.transpose(Image.Transpose.ROTATE_90)
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[decoding.ORIENTATION] = orientation
    sent.save(buffer, "PNG", exif=exif)
    expected = [digit["box"] for digit in post_png(client, small).json()["digits"]]
    body = client.post("/predict", content=buffer.getvalue(), headers={"content-type": "image/png"}).json()
    assert body["number"] == "507"
    for box, small_box in zip((digit["box"] for digit in body["digits"]), expected, strict=True):
        x, y, width, height = box
        assert x + width <= big.shape[1] and y + height <= big.shape[0]
        # The shrunk picture's pixels cover `scale` of these each way, at most one of them off.
        off = [abs(got - scale * want) for got, want in zip(box, small_box, strict=True)]
        assert max(off) <= 2 * scale, (box, small_box)


def _comb(width: int) -> np.ndarray:
    """One part 100 pixels tall and `width` wide: teeth every 20 columns joined at the bottom,
    so it can be cut between any two teeth."""
    picture = np.full((140, width + 40), 255, dtype=np.uint8)
    picture[110:120, 20:20 + width] = 0
    for left in range(20, 20 + width - 8, 20):
        picture[20:120, left:left + 8] = 0
    return picture


@pytest.mark.parametrize("width", [100, 112])
def test_a_part_with_room_for_two_digits_only_is_read_from_its_ends(width):
    """A part narrower than MIDDLE_RATIO heights holds at most two digits: cut on a second
    look, every candidate in it starts or ends it, and every way to cut it in two is there."""
    import preprocessing

    whole = segmentation.find(preprocessing.ink_levels(_comb(width)))
    assert whole.candidates == [(0, 0)]  # under SPLIT_RATIO: cut only if read unsure
    found = segmentation.look_again(whole, [(0, 0)], [0.1], 0.8)
    last = len(found.slices) - 1
    assert last >= 3  # cut at least three times: there would be a middle
    assert all(first == 0 or end == last for first, end in found.candidates)
    for boundary in range(1, last + 1):
        if boundary <= segmentation.MAX_SLICES_PER_DIGIT and last - boundary < segmentation.MAX_SLICES_PER_DIGIT:
            assert {(0, boundary - 1), (boundary, last)} <= set(found.candidates)
    assert (0, last) in found.candidates


def test_a_part_with_room_for_three_digits_is_also_read_in_its_middle():
    import preprocessing

    found = segmentation.find(preprocessing.ink_levels(_comb(200)))
    last = len(found.slices) - 1
    assert any(first > 0 and end < last for first, end in found.candidates)


def _narrow_touching_vector() -> dict:
    from tests.support.vectors import VECTORS_DIR

    return json.loads((VECTORS_DIR / "numbers" / "mnist-touching-narrow.json").read_text())


@pytest.fixture
def model_batches(monkeypatch) -> list[int]:
    """The size of each batch the model is asked to read, in order."""
    import classifier

    batches = []
    predict = classifier.Classifier.predict

    def counted(self, images):
        batches.append(len(images))
        return predict(self, images)

    monkeypatch.setattr(classifier.Classifier, "predict", counted)
    return batches


def test_a_narrow_part_the_model_is_unsure_of_is_read_again_cut(client, model_batches):
    """A 3 touching a 1 makes a part too narrow to cut at once; read whole, the model is not
    sure of it, so it is cut and only its new candidates are read, in a second batch."""
    from tests.support.vectors import vector_pixels

    vector = _narrow_touching_vector()
    body = read(post_png(client, vector_pixels(vector)))
    assert body["number"] == "31" and len(body["digits"]) == 2
    assert model_batches == [len(vector["candidates"]), len(vector["looked_again"]["asked"])]
    assert len(vector["looked_again"]["asked"]) < len(vector["looked_again"]["candidates"])  # the whole part: read once
    assert body["digits"][0]["box"][0] < body["digits"][1]["box"][0]  # the 3, then the 1


def test_read_digit_never_looks_again(client, model_batches):
    """The same 3 touching a 1, with ?read=digit: all the ink is one digit, read once, unsure."""
    from tests.support.vectors import vector_pixels

    body = read(post_png(client, vector_pixels(_narrow_touching_vector()), "?read=digit"))
    assert model_batches == [1]
    assert len(body["digits"]) == 1 and body["uncertain"]


def _two_combs() -> np.ndarray:
    """Two parts 100 pixels tall and 60 wide (each too narrow to cut at once), 4 apart."""
    picture = np.full((140, 164), 255, dtype=np.uint8)
    for start in (20, 84):
        picture[110:120, start:start + 60] = 0
        for left in range(start, start + 52, 20):
            picture[20:120, left:left + 8] = 0
    return picture


@pytest.mark.parametrize("sure_of", [(), ((0, 0),), ((1, 1),), ((0, 0), (1, 1)), ((0, 1),)])
def test_a_second_look_cuts_the_unsure_parts_of_an_unsure_digit_that_joins_them(sure_of):
    """Two pairs of touching digits, each a part the model calls no digit, may be read as one
    unsure answer joining both: each part the model is unsure of whole is cut on a second look,
    one it is sure of is not, and nothing is if the joined digit itself is sure."""
    import preprocessing

    found = segmentation.find(preprocessing.ink_levels(_two_combs()))
    assert found.candidates == [(0, 0), (0, 1), (1, 1)]
    confidences = [0.95 if candidate in sure_of else 0.1 for candidate in found.candidates]
    again = segmentation.look_again(found, [(0, 1)], confidences, 0.8)
    cut = set() if (0, 1) in sure_of else {part for part in (0, 1) if (part, part) not in sure_of}
    if not cut:
        assert again is None
        return
    slices_per_part = [sum(piece.part == part for piece in again.slices) for part in (0, 1)]
    assert {part for part in (0, 1) if slices_per_part[part] > 1} == cut


def test_a_second_look_cuts_only_narrow_parts_read_whole_and_unsure():
    """look_again: a part kept whole and read unsure is cut if at least LOOK_AGAIN_RATIO as
    wide as tall; a sure one, or a narrower one, is not looked at again."""
    import preprocessing

    sure = 0.8
    for width, confidence, cut in [(60, 0.5, True), (60, 0.95, False), (20, 0.5, False)]:
        found = segmentation.find(preprocessing.ink_levels(_comb(width)))
        assert found.candidates == [(0, 0)]  # under SPLIT_RATIO: not cut at once
        again = segmentation.look_again(found, [(0, 0)], [confidence], sure)
        assert (again is not None) == cut, (width, confidence)
        if cut:
            assert len(again.slices) > 1
            assert again.key(again.whole) == found.key((0, 0))  # the whole part: the same ink, not read again
            assert {again.key(candidate) for candidate in again.candidates} > {found.key((0, 0))}
