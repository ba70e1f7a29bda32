// The page's number segmentation (web/js/segmentation.js) against the test vectors that
// lambda/segmentation.py writes (tests/vectors/numbers/, made by scripts/make_number_vectors.py):
// the same pieces, slices, candidates, boxes, model inputs and reading, and the same constants.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import vm from "node:vm";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const require = createRequire(import.meta.url);
const { inkLevels, BlankImageError } = require(join(root, "web/js/preprocessing.js"));
const segmentation = require(join(root, "web/js/segmentation.js"));
const { CONSTANTS, Found, TooManyDigits, find, choose, lookAgain, readNumber } = segmentation;
// What the page passes in, from the model card (the vectors were made to the same numbers).
const card = JSON.parse(readFileSync(join(root, "web/model/card.json"), "utf8"));
const OPTIONS = { size: card.preprocessing.size, box: card.preprocessing.box };
const CARD_RULE = { threshold: card.uncertainty.threshold };
const CLASSES = card.classes.length;
const vectorDir = join(root, "tests/vectors/numbers");
const ERRORS = { blank: BlankImageError, "too-many": TooManyDigits };

const vectors = readdirSync(vectorDir)
  .filter((name) => name.endsWith(".json"))
  .sort()
  .map((name) => JSON.parse(readFileSync(join(vectorDir, name), "utf8")));

/* The vector's picture as the page hands it over: {data, width, height}, the bytes as they
   are (grey, RGB or RGBA: inkLevels takes any, as preprocessing.test.mjs feeds them). */
function drawingOf(vector) {
  const data = new Uint8Array(Buffer.from(vector.pixels_base64, "base64"));
  assert.equal(data.length, vector.width * vector.height * vector.channels);
  return { data, width: vector.width, height: vector.height };
}

function found(vector) {
  const { data, width, height } = drawingOf(vector);
  const ink = inkLevels(data, width, height);
  return vector.one_digit ? Found.oneDigit(ink) : find(ink);
}

/* A model that gives each candidate the vector's answers (its likeliest digit at its
   confidence, the next digit up at its second highest probability), and records what it was
   asked: first every candidate, then, on a second look, the new ones (the vector's `asked`). */
function fakeModel(vector) {
  const looked = vector.looked_again;
  const model = {
    calls: [],
    async predict(images) {
      const second = model.calls.length > 0;
      model.calls.push(images);
      const answers = second ? looked : vector;
      const order = second ? looked.asked : images.map((_, index) => index);
      return order.map((index) => {
        const probabilities = new Float64Array(CLASSES);
        const digit = answers.digits[index];
        probabilities[digit] = answers.confidences[index];
        probabilities[(digit + 1) % CLASSES] = answers.seconds[index];
        return probabilities;
      });
    },
  };
  return model;
}

function assertImagesMatch(images, vector) {
  assert.equal(images.length, vector.images_base64.length);
  images.forEach((image, index) => {
    const expected = Buffer.from(vector.images_base64[index], "base64");
    assert.equal(image.length, expected.length);
    let worst = 0, where = -1;
    for (let i = 0; i < expected.length; i++) {
      const difference = Math.abs(Math.round(255 * image[i]) - expected[i]);
      if (difference > worst) { worst = difference; where = i; }
    }
    const side = OPTIONS.size;
    assert.ok(worst <= 1, `candidate ${index}, pixel (${Math.floor(where / side)}, ${where % side}) is `
      + `${Math.round(255 * image[where])}/255, expected ${expected[where]}/255`);
  });
}

test("the shared number vectors are there", () => {
  assert.ok(vectors.length > 0, `no test vectors in ${vectorDir}`);
  for (const error of [null, "blank", "too-many"]) {
    assert.ok(vectors.some((vector) => vector.error === error), `no vector with error ${error}`);
  }
  assert.ok(vectors.some((vector) => vector.one_digit), "no vector read as one digit");
  assert.ok(vectors.some((vector) => vector.factor > 1), "no vector whose grid is pooled");
  assert.ok(new Set(vectors.map((vector) => vector.channels)).size > 1, "the vectors are all of one kind of picture");
  assert.ok(vectors.some((vector) => vector.looked_again), "no vector read with a second look");
});

for (const vector of vectors.filter((vector) => vector.error !== null)) {
  test(`${vector.name}: refused as ${vector.error}`, async () => {
    const error = ERRORS[vector.error];
    assert.ok(error, `unknown error ${vector.error}`);
    if (vector.confidences) {
      // The refusal comes from the choice: the vector says what the model answered.
      const model = fakeModel(vector);
      await assert.rejects(readNumber(drawingOf(vector), {
        preprocessing: OPTIONS, uncertainty: { threshold: vector.sure, notADigitBelow: vector.not_a_digit }, predict: model.predict,
      }), error);
      return;
    }
    let geometry;
    try {
      geometry = found(vector);
    } catch (refusal) {
      assert.ok(refusal instanceof error, `${refusal.name}: ${refusal.message}`);
      return;
    }
    // Found, then refused by the choice, and the vector has no model answers to replay: a
    // model sure of each whole part and of nothing else reads one digit per part.
    assert.equal(vector.error, "too-many", "a picture found no digit in is refused before any choice");
    assert.ok(geometry.parts.length > CONSTANTS.MAX_DIGITS, `${geometry.parts.length} parts`);
    const partsOnly = geometry.candidates.map((candidate) => (geometry.isPart(candidate) ? 1 : 1e-12));
    const digits = geometry.candidates.map(() => 5), seconds = geometry.candidates.map(() => 1e-12);
    assert.throws(() => choose(geometry, digits, partsOnly, seconds, CARD_RULE.threshold), TooManyDigits);
  });
}

for (const vector of vectors.filter((vector) => vector.error === null)) {
  test(`${vector.name}: ${vector.description}`, () => {
    const geometry = found(vector);
    assert.equal(geometry.factor, vector.factor, "factor");
    assert.deepEqual(geometry.slices.map(({ part, top, bottom, left, right, crossed }) =>
      [part, top, bottom, left, right, crossed]), vector.slices, "slices");
    assert.deepEqual(geometry.candidates, vector.candidates, "candidates");
    assert.deepEqual(geometry.candidates.map((candidate) => geometry.box(candidate)), vector.boxes, "boxes");
    assertImagesMatch(geometry.candidates.map((candidate) => geometry.digitImage(candidate, OPTIONS)), vector);
    const reading = choose(geometry, vector.digits, vector.confidences, vector.seconds, vector.sure, vector.not_a_digit);
    assert.deepEqual(reading, vector.reading, "reading");
    const again = lookAgain(geometry, reading, vector.confidences, vector.sure);
    const looked = vector.looked_again;
    if (looked === null) {
      assert.equal(again, null, "no second look");
      return;
    }
    assert.deepEqual(again.slices.map(({ part, top, bottom, left, right, crossed }) =>
      [part, top, bottom, left, right, crossed]), looked.slices, "slices, looked again");
    assert.deepEqual(again.candidates, looked.candidates, "candidates, looked again");
    assert.deepEqual(again.candidates.map((candidate) => again.box(candidate)), looked.boxes, "boxes, looked again");
    assertImagesMatch(again.candidates.map((candidate) => again.digitImage(candidate, OPTIONS)), looked);
    assert.deepEqual(choose(again, looked.digits, looked.confidences, looked.seconds, vector.sure, vector.not_a_digit), looked.reading,
      "reading, looked again");
  });

  test(`${vector.name}: readNumber asks the model once (twice on a second look) and answers the reading`, async () => {
    const model = fakeModel(vector);
    const { digits } = await readNumber(drawingOf(vector), {
      preprocessing: OPTIONS, uncertainty: { threshold: vector.sure, notADigitBelow: vector.not_a_digit }, predict: model.predict,
      oneDigit: vector.one_digit,
    });
    const looked = vector.looked_again;
    assert.equal(model.calls.length, looked ? 2 : 1, "batches");
    assertImagesMatch(model.calls[0], vector); // every candidate, in find's order
    if (looked) { // then only the second look's new candidates, in its order
      assertImagesMatch(model.calls[1], { images_base64: looked.asked.map((at) => looked.images_base64[at]) });
    }
    const final = looked || vector;
    const index = new Map(final.candidates.map((candidate, at) => [String(candidate), at]));
    const chosen = final.reading.map((candidate) => index.get(String(candidate)));
    assert.deepEqual(digits.map(({ box }) => box), chosen.map((at) => final.boxes[at]));
    assertImagesMatch(digits.map(({ modelInput }) => modelInput), { images_base64: chosen.map((at) => final.images_base64[at]) });
    const read = digits.map(({ probabilities }) => probabilities.indexOf(Math.max(...probabilities))).join("");
    assert.equal(read, vector.number);
  });
}

test("readNumber reads the ink it is given, found beforehand, as it reads the drawing's own", async () => {
  const vector = vectors.find(({ name }) => name === "mnist-touching");
  const { data, width, height } = drawingOf(vector);
  const ink = require(join(root, "web/js/paper.js")).inkLevels(data, width, height);
  const model = fakeModel(vector);
  const blank = { data: new Uint8ClampedArray(width * height * 4).fill(255), width, height };
  const { digits } = await readNumber(blank, {
    preprocessing: OPTIONS, uncertainty: { threshold: vector.sure, notADigitBelow: vector.not_a_digit }, predict: model.predict, ink,
  });
  const index = new Map(vector.candidates.map((candidate, at) => [String(candidate), at]));
  assert.deepEqual(digits.map(({ box }) => box), vector.reading.map((candidate) => vector.boxes[index.get(String(candidate))]));
});

test("readNumber with oneDigit never looks again: one batch, all the ink one digit", async () => {
  const vector = vectors.find(({ name }) => name === "mnist-touching-narrow");
  assert.ok(vector.looked_again, "the vector is read with a second look as a number");
  const calls = [];
  const { digits } = await readNumber(drawingOf(vector), {
    preprocessing: OPTIONS, uncertainty: { threshold: vector.sure, notADigitBelow: vector.not_a_digit }, oneDigit: true,
    async predict(images) {
      calls.push(images.length);
      return images.map(() => Float32Array.from({ length: CLASSES }, () => 1 / CLASSES)); // unsure of it all
    },
  });
  assert.deepEqual(calls, [1]);
  assert.equal(digits.length, 1);
});

test("readNumber refuses a blank drawing before asking the model", async () => {
  const width = 40, height = 30;
  const model = { calls: 0, async predict() { model.calls++; return []; } };
  const transparent = { data: new Uint8ClampedArray(width * height * 4), width, height };
  await assert.rejects(readNumber(transparent, { preprocessing: OPTIONS, uncertainty: CARD_RULE, predict: model.predict }),
    BlankImageError);
  assert.equal(model.calls, 0);
});

test("readNumber needs the card's uncertainty threshold, never makes one up", async () => {
  const width = 40, height = 30;
  const drawing = { data: new Uint8ClampedArray(width * height * 4), width, height };
  for (const uncertainty of [undefined, {}, { threshold: "0.9" }, { threshold: 0 }, { threshold: 1.5 }]) {
    await assert.rejects(readNumber(drawing, { preprocessing: OPTIONS, uncertainty, predict: async () => [] }),
      /uncertainty threshold/, JSON.stringify(uncertainty));
  }
});

test("it loads as the page and the worker load it: a classic script after preprocessing.js", () => {
  const page = vm.createContext({});
  page.self = page;
  for (const file of ["preprocessing.js", "segmentation.js"]) {
    vm.runInContext(readFileSync(join(root, "web/js", file), "utf8"), page, { filename: file });
  }
  assert.equal(typeof page.DigitsSegmentation.readNumber, "function");
  assert.equal(page.DigitsSegmentation.BlankImageError, page.DigitsPreprocessing.BlankImageError);
});

test("a refusal of too many digits says how many, in Python's words", () => {
  const refusal = new TooManyDigits(13, CONSTANTS.MAX_DIGITS);
  assert.ok(refusal instanceof Error && refusal.name === "TooManyDigits");
  assert.match(refusal.message, /^the picture holds 13 separate digits; at most 12 digits are read at a time: /);
});

/* lambda/segmentation.py's constants: each `NAME = expression  # comment` line at the top
   level, the expression of numbers, earlier names and + - * / ( ). */
function pythonConstants() {
  const source = readFileSync(join(root, "lambda/segmentation.py"), "utf8");
  const constants = {};
  for (const [, name, expression] of source.matchAll(/^([A-Z][A-Z0-9_]*) = ([^#\n]+?)\s*(?:#.*)?$/gm)) {
    constants[name] = evaluate(expression, constants);
  }
  return constants;
}

function evaluate(expression, names) {
  const tokens = expression.match(/\d+(?:\.\d*)?(?:e[-+]?\d+)?|[A-Z][A-Z0-9_]*|\/\/|\*\*|\S/g);
  let at = 0;
  const peek = () => tokens[at];
  const sum = () => {
    let value = product();
    while (peek() === "+" || peek() === "-") value = tokens[at++] === "+" ? value + product() : value - product();
    return value;
  };
  const product = () => {
    let value = factor();
    while (peek() === "*" || peek() === "/") value = tokens[at++] === "*" ? value * factor() : value / factor();
    return value;
  };
  const factor = () => {
    const token = tokens[at++];
    if (token === "-") return -factor();
    if (token === "(") {
      const value = sum();
      assert.equal(tokens[at++], ")", `unbalanced: ${expression}`);
      return value;
    }
    if (/^\d/.test(token)) return Number(token);
    assert.ok(token in names, `${token} in "${expression}" is not a constant defined before it`);
    return names[token];
  };
  const value = sum();
  assert.equal(at, tokens.length, `"${expression}" is more than arithmetic: compare it by hand and extend this parser`);
  return value;
}

test("the constants are Python's, name for name and value for value", () => {
  const python = pythonConstants();
  assert.ok(Object.keys(python).length >= 10, "found too few constants in lambda/segmentation.py");
  assert.deepEqual({ ...CONSTANTS }, python);
});

/* A part 100 cells tall and `width` wide, cut once through one stroke near its middle (as
   test_numbers.py builds it for lambda/segmentation.py). */
function onePartCutOnce(width) {
  const found = Found.oneDigit({ levels: new Int32Array(100 * width), width, height: 100, span: 255, top: 0, left: 0 });
  const middle = Math.floor(width / 2);
  found.slices = [
    { part: 0, top: 0, bottom: 100, left: 0, right: middle, cells: null, crossed: 0 },
    { part: 0, top: 0, bottom: 100, left: middle, right: width, cells: null, crossed: 1 },
  ];
  found.candidates = [[0, 0], [1, 1], [0, 1]];
  return found;
}

/* The reading of onePartCutOnce(width) when the model is sure of each half (0.99, its
   second likeliest at 0.005) and reads the whole as a 4 at `whole` (as test_numbers.py). */
function readCutOnce(width, whole, second, halves = [2, 7], notADigit = 0) {
  return choose(onePartCutOnce(width), [...halves, 4], [0.99, 0.99, whole], [0.005, 0.005, second], 0.85, notADigit);
}
const SPLIT = [[0, 0], [1, 1]], WHOLE = [[0, 1]];

test("an unsure part is an honest answer only when no wider than tall, as in Python", () => {
  assert.deepEqual(readCutOnce(95, 0.39, 0.1), WHOLE);
  assert.deepEqual(readCutOnce(105, 0.39, 0.1), SPLIT);
  for (const width of [95, 105]) assert.deepEqual(readCutOnce(width, 0.99, 0.005), WHOLE);
  for (const whole of [0.1, 0.3, 0.5, 0.7, 0.9]) {
    for (const second of [0.01, 0.05, 0.1, 0.3]) {
      if (readCutOnce(95, whole, second).length === 2) assert.deepEqual(readCutOnce(105, whole, second), SPLIT, `${whole} ${second}`);
    }
  }
});

test("a part the model is torn over is read as the digits it holds, as in Python", () => {
  assert.deepEqual(readCutOnce(105, 0.39, 0.01), WHOLE);
  assert.deepEqual(readCutOnce(105, 0.39, 0.3), SPLIT);
  for (const width of [95, 105]) {
    for (const whole of [0.2, 0.4, 0.6, 0.8]) {
      const lengths = [0.001, 0.01, 0.05, 0.1, 0.2].filter((second) => second < whole)
        .map((second) => readCutOnce(width, whole, second).length);
      assert.deepEqual(lengths, [...lengths].sort(), `${width} ${whole}`); // whole, then split, never back
    }
  }
});

test("a scribble the card calls no digit stays one answer, as in Python", () => {
  assert.deepEqual(readCutOnce(101, 0.03, 0.02, [1, 1], 0.4), WHOLE);
  assert.deepEqual(readCutOnce(101, 0.03, 0.02, [2, 7], 0.4), SPLIT);
  assert.deepEqual(readCutOnce(101, 0.03, 0.02, [1, 1], 0.02), SPLIT); // not below the level
  assert.deepEqual(readCutOnce(101, 0.03, 0.02, [1, 1]), SPLIT); // the card states no level
});

test("a sure 1 as wide as its neighbour is weaker evidence than another digit, as in Python", () => {
  assert.deepEqual(readCutOnce(105, 0.39, 0.1, [2, 7]), SPLIT);
  for (const halves of [[1, 7], [7, 1], [1, 1]]) assert.deepEqual(readCutOnce(105, 0.39, 0.1, halves), WHOLE, `${halves}`);
});
