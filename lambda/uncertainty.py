"""Whether the model is sure of an answer, by the rule its card states.

The exporter calibrates the model on the validation digits, so its probabilities mean what
they say, and writes the rule beside them in the card (`uncertainty`): an answer whose top
probability is below the threshold is not sure, and then the digits it may be are the
likeliest ones with at least a minimum probability. The page applies the same rule in
JavaScript (web/js/uncertainty.js); both are held to tests/vectors/uncertainty/cases.json.

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


@dataclass(frozen=True)
class Judgement:
    uncertain: bool
    # (class index, probability), likeliest first; only when uncertain, and then never empty
    alternatives: tuple[tuple[int, float], ...]


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
                     alternatives=tuple((index, float(probabilities[index])) for index in likely or [top]))
