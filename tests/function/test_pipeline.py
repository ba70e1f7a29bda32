"""Every request goes through the pipeline's stages once each, in order, called from the
pipeline module itself: a trace of the calls, as Lambda runs the function (one thread)."""

from __future__ import annotations

import json
import sys

import pytest

from tests.support.events import call_handler

STAGES = ("read", "decode", "decode_inputs", "segment", "preprocess", "predict", "choose", "look_again", "judge")


def traced_stages(request) -> list[tuple[str, str]]:
    """(stage, the function that called it) for each stage entered while `request()` runs."""
    import pipeline

    entered, seen_frames = [], []  # the frames themselves, kept alive, so no id is reused

    def profile(frame, event, _argument):
        code = frame.f_code
        # A coroutine is "called" again each time it resumes: count each frame once.
        if event == "call" and code.co_filename == pipeline.__file__ and code.co_name in STAGES \
                and not any(seen is frame for seen in seen_frames):
            seen_frames.append(frame)
            caller = frame.f_back.f_code if frame.f_back else None
            entered.append((code.co_name, caller.co_name if caller and caller.co_filename == pipeline.__file__
                            else "outside the pipeline"))

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        request()
    finally:
        sys.setprofile(previous)
    return entered


def test_a_picture_enters_read_decode_segment_preprocess_predict_choose_judge_once_each(classifier, seven_png):
    answers = []
    stages = traced_stages(lambda: answers.append(call_handler("/predict", seven_png, {"content-type": "image/png"})))
    assert answers[0][0] == 200 and answers[0][1]["digit"] == 7
    assert [stage for stage, _ in stages] == ["read", "decode", "segment", "preprocess", "predict", "choose",
                                              "look_again", "judge"]  # sure of its one digit: no second look
    assert {caller for _, caller in stages} <= {"recognise", "picture_stages", "find_digits", "answer_of"}


@pytest.mark.parametrize("path", ["/v2/models/digits/infer", "/v1/models/digits:predict"])
def test_a_protocol_request_enters_read_decode_predict_once_each(classifier, path):
    tensor = [[[0.0] for _ in range(28)] for _ in range(28)]
    document = ({"inputs": [{"name": "image", "datatype": "FP32", "shape": [1, 28, 28, 1], "data": tensor}]}
                if path.startswith("/v2") else {"instances": [tensor]})
    answers = []
    stages = traced_stages(lambda: answers.append(
        call_handler(path, json.dumps(document).encode(), {"content-type": "application/json"})))
    assert answers[0][0] == 200, answers[0]
    assert [stage for stage, _ in stages] == ["read", "decode_inputs", "predict"]
    assert {caller for _, caller in stages} <= {"infer", "_inference_stages"}


def test_a_number_enters_each_stage_once_and_judge_once_per_digit(classifier):
    from tests.support.drawing import number_canvas
    from tests.support.images import encode

    answers = []
    stages = traced_stages(lambda: answers.append(
        call_handler("/predict", encode(number_canvas("305", gap=-4)), {"content-type": "image/png"})))
    assert answers[0][0] == 200 and answers[0][1]["number"] == "305"
    assert [stage for stage, _ in stages] == ["read", "decode", "segment", "preprocess", "predict", "choose",
                                              "look_again", "judge", "judge", "judge"]  # one model call: all sure


def test_a_part_read_unsure_and_cut_on_a_second_look_is_read_in_a_second_batch(classifier):
    """A 3 touching a 1 (a shared vector): too narrow to cut at once and read unsure, so it
    is cut, only its new candidates go to the model, and the choice is made again."""
    from tests.support.images import encode
    from tests.support.vectors import VECTORS_DIR, vector_pixels

    vector = json.loads((VECTORS_DIR / "numbers" / "mnist-touching-narrow.json").read_text())
    answers = []
    stages = traced_stages(lambda: answers.append(
        call_handler("/predict", encode(vector_pixels(vector)), {"content-type": "image/png"})))
    assert answers[0][0] == 200 and answers[0][1]["number"] == vector["label"] == "31"
    assert stages == [("read", "recognise"), ("decode", "picture_stages"), ("segment", "find_digits"),
                      ("preprocess", "find_digits"), ("predict", "find_digits"), ("choose", "find_digits"),
                      ("look_again", "find_digits"), ("preprocess", "look_again"), ("predict", "look_again"),
                      ("choose", "look_again"), ("judge", "answer_of"), ("judge", "answer_of")]
