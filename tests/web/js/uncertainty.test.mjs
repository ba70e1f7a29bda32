// The page's uncertainty rule (web/js/uncertainty.js) against the cases the function's
// Python version passes (tests/vectors/uncertainty/cases.json), and the card checks.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const { judge, ruleFromCard, RuleError } = createRequire(import.meta.url)(join(root, "web/js/uncertainty.js"));
const { cases } = JSON.parse(readFileSync(join(root, "tests/vectors/uncertainty/cases.json"), "utf8"));
const GOOD = { rule: "top probability below threshold", threshold: 0.9, alternatives_min_probability: 0.05,
  max_alternatives: 3 };

test("the shared cases are there", () => {
  assert.ok(cases.some((c) => c.uncertain) && cases.some((c) => !c.uncertain));
});

for (const c of cases) {
  test(`${c.name}`, () => {
    const judgement = judge(Float64Array.from(c.probabilities), ruleFromCard({ uncertainty: c.rule }));
    assert.equal(judgement.uncertain, c.uncertain);
    assert.deepEqual(judgement.alternatives.map(({ digit, probability }) => [digit, probability]), c.alternatives);
    assert.equal(judgement.notADigit, c.not_a_digit ?? false);
  });
}

test("a card without a sensible rule is refused, never given a made-up threshold", () => {
  const nonsense = [
    undefined, "0.9", { ...GOOD, rule: "entropy above threshold" }, { ...GOOD, threshold: "0.9" },
    { ...GOOD, threshold: 1.5 }, { ...GOOD, threshold: 0 }, { ...GOOD, threshold: Number.NaN },
    { ...GOOD, threshold: undefined }, { ...GOOD, alternatives_min_probability: -0.1 },
    { ...GOOD, max_alternatives: 0 }, { ...GOOD, max_alternatives: 2.5 },
    { ...GOOD, not_a_digit_below: "0.4" }, { ...GOOD, not_a_digit_below: -0.1 },
    { ...GOOD, not_a_digit_below: 0.95 },
  ];
  for (const block of nonsense) {
    assert.throws(() => ruleFromCard({ uncertainty: block }), RuleError, JSON.stringify(block));
  }
  assert.deepEqual(ruleFromCard({ uncertainty: GOOD }),
    { threshold: 0.9, alternativesMinProbability: 0.05, maxAlternatives: 3, notADigitBelow: 0 });
});
