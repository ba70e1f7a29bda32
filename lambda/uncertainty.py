"""Whether the model is sure of an answer, by the rule its card states.

The exporter calibrates the model on the validation digits, so its probabilities mean what
they say, and writes the rule beside them in the card (`uncertainty`): an answer whose top
probability is below the threshold is not sure, and then the digits it may be are the
likeliest ones with at least a minimum probability. Far below the threshold, under the
card's `not_a_digit_below` (chosen so that almost no digit falls there, while most drawings
that are not digits do), the drawing does not look like a digit at all, and the page says
so instead of naming near-uniform guesses. The page applies the same rule in JavaScript
(web/js/uncertainty.js); both are held to tests/vectors/uncertainty/cases.json.

Pure: no card reading (model_card.py does that, and checks the numbers), no NumPy needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

RULE = "top probability below threshold"  # the one rule this function applies


@dataclass(frozen=True)
class Rule:
    threshold: float  # an answer whose top probability is below this is not sure
    alternatives_min_probability: float  # a digit it may be has at least this probability
    max_alternatives: int  # and at most this many are named
    not_a_digit_below: float = 0.0  # a top probability below this is no digit at all (0: the card states none)


@dataclass(frozen=True)
class Judgement:
    uncertain: bool
    # (class index, probability), likeliest first; only when uncertain, and then never empty
    alternatives: tuple[tuple[int, float], ...]
    not_a_digit: bool = False  # uncertain, and so far below the threshold that it is likely no digit


def judge(probabilities: Sequence[float], rule: Rule) -> Judgement:
    """Is the answer sure, and if not, which digits may it be?

    Ties go to the lower index, as argmax does, so the first alternative is always the answer.
    """
    ranked = sorted(range(len(probabilities)), key=lambda index: (-probabilities[index], index))
    top = ranked[0]
    if float(probabilities[top]) >= rule.threshold:
        return Judgement(uncertain=False, alternatives=())
    likely = [index for index in ranked[:rule.max_alternatives]
              if float(probabilities[index]) >= rule.alternatives_min_probability]
    return Judgement(uncertain=True,
                     alternatives=tuple((index, float(probabilities[index])) for index in likely or [top]),
                     not_a_digit=float(probabilities[top]) < rule.not_a_digit_below)
