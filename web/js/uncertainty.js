/*
 * Whether the model is sure of an answer, by the rule its card states: the page's copy of
 * lambda/uncertainty.py, for browser mode (in server mode the service says it). Both are
 * held to tests/vectors/uncertainty/cases.json. Pure: no DOM, so node tests it.
 *
 *   const rule = ruleFromCard(card);            // throws RuleError if the card has none
 *   judge(probabilities, rule) -> {uncertain, alternatives: [{digit, probability}, ...], notADigit}
 *
 * An answer whose top probability is below the threshold is not sure; then its alternatives
 * are the likeliest digits with at least the minimum probability, at most the maximum
 * number of them, and always at least the likeliest one. `digit` is the class's index. Below
 * the card's `not_a_digit_below` (when it states one) the drawing does not look like a digit
 * at all (`notADigit`).
 */
(function (root, factory) {
  if (typeof module === "object" && module.exports) {
    module.exports = factory();
  } else {
    root.DigitsUncertainty = factory();
  }
}(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  const RULE = "top probability below threshold"; // the one rule the page applies

  class RuleError extends Error {
    constructor(message) {
      super(message);
      this.name = "RuleError";
    }
  }

  function isProbability(value, { aboveZero }) {
    return typeof value === "number" && Number.isFinite(value) && value <= 1 && (aboveZero ? value > 0 : value >= 0);
  }

  /* The card's `uncertainty` block, checked as the function checks it: never a made-up threshold. */
  function ruleFromCard(card) {
    const block = card && card.uncertainty;
    if (!block || typeof block !== "object") {
      throw new RuleError("the model card does not say when an answer is not sure (no \"uncertainty\" rule)");
    }
    if (block.rule !== RULE) throw new RuleError(`the model card's uncertainty rule is not "${RULE}"`);
    const { threshold, alternatives_min_probability: minimum, max_alternatives: most } = block;
    if (!isProbability(threshold, { aboveZero: true })) {
      throw new RuleError("the model card's uncertainty threshold is not a probability above 0");
    }
    if (!isProbability(minimum, { aboveZero: false })) {
      throw new RuleError("the model card's alternatives_min_probability is not a probability");
    }
    if (!Number.isInteger(most) || most < 1) {
      throw new RuleError("the model card's max_alternatives is not a whole number of at least 1");
    }
    const level = block.not_a_digit_below === undefined ? 0 : block.not_a_digit_below;
    if (!isProbability(level, { aboveZero: false })) {
      throw new RuleError("the model card's not_a_digit_below is not a probability");
    }
    if (level > threshold) {
      throw new RuleError("the model card's not_a_digit_below is above its uncertainty threshold");
    }
    return { threshold, alternativesMinProbability: minimum, maxAlternatives: most, notADigitBelow: level };
  }

  /* Ties go to the lower index, as argmax does, so the first alternative is the answer. */
  function judge(probabilities, rule) {
    const ranked = Array.from(probabilities, (probability, digit) => ({ digit, probability }))
      .sort((a, b) => b.probability - a.probability || a.digit - b.digit);
    if (ranked[0].probability >= rule.threshold) return { uncertain: false, alternatives: [], notADigit: false };
    const likely = ranked.slice(0, rule.maxAlternatives)
      .filter((candidate) => candidate.probability >= rule.alternativesMinProbability);
    return {
      uncertain: true,
      alternatives: likely.length ? likely : [ranked[0]],
      notADigit: ranked[0].probability < (rule.notADigitBelow || 0),
    };
  }

  return { RuleError, ruleFromCard, judge };
}));
