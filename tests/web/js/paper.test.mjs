// The page's paper stage (web/js/paper.js) against the test vectors that lambda/paper.py
// writes (tests/vectors/photos/, made by scripts/make_photo_vectors.py): the same ink, level
// for level, the same candidates and reading, drawings through unchanged, and the same constants.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const require = createRequire(import.meta.url);
const preprocessing = require(join(root, "web/js/preprocessing.js"));
const paper = require(join(root, "web/js/paper.js"));
const { find, choose } = require(join(root, "web/js/segmentation.js"));
const vectorDir = join(root, "tests/vectors/photos");

const vectors = readdirSync(vectorDir)
  .filter((name) => name.endsWith(".json"))
  .sort()
  .map((name) => JSON.parse(readFileSync(join(vectorDir, name), "utf8")));

function pictureOf(vector) {
  const data = new Uint8Array(Buffer.from(vector.pixels_base64, "base64"));
  assert.equal(data.length, vector.width * vector.height * vector.channels);
  return { data, width: vector.width, height: vector.height };
}

function summary(ink) {
  const bytes = Buffer.from(ink.levels.buffer, ink.levels.byteOffset, ink.levels.byteLength); // little-endian
  return {
    span: ink.span, top: ink.top, left: ink.left, width: ink.width, height: ink.height,
    sha256: createHash("sha256").update(bytes).digest("hex"),
  };
}

test("the shared photo vectors are there", () => {
  const names = new Set(vectors.map((vector) => vector.name));
  for (const name of ["photo-plain", "photo-shadow", "photo-ruled", "photo-squared", "photo-blank-sheet",
    "drawing-transparent-canvas"]) {
    assert.ok(names.has(name), name);
  }
});

for (const vector of vectors) {
  test(`${vector.name}: the same ink and reading as Python`, () => {
    const { data, width, height } = pictureOf(vector);
    assert.equal(paper.photoGrey(data, width, height) === null, vector.unchanged);
    if (!vector.ink) {
      assert.throws(() => paper.inkLevels(data, width, height), preprocessing.BlankImageError);
      return;
    }
    const ink = paper.inkLevels(data, width, height);
    assert.deepEqual(summary(ink), vector.ink);
    if (vector.unchanged) assert.deepEqual(summary(preprocessing.inkLevels(data, width, height)), vector.ink);
    if (vector.error === "blank") {
      assert.throws(() => find(ink), preprocessing.BlankImageError);
      return;
    }
    const found = find(ink);
    assert.deepEqual(found.candidates.map((candidate) => [...candidate]), vector.candidates);
    const reading = choose(found, vector.digits, vector.confidences, vector.seconds, vector.sure, vector.not_a_digit);
    assert.deepEqual(reading.map((candidate) => [...candidate]), vector.reading);
  });
}

test("the constants are Python's", () => {
  const source = readFileSync(join(root, "lambda/paper.py"), "utf8");
  for (const [name, value] of Object.entries(paper.CONSTANTS)) {
    const match = source.match(new RegExp(`^${name} = (.+?)(?:  #|$)`, "m"))
      || source.match(new RegExp(`^(?:\\w+, )*${name}(?:, \\w+)* = (.+?)(?:  #|$)`, "m"));
    assert.ok(match, `${name} is not in lambda/paper.py`);
    assert.deepEqual(constantValue(name, match[0]), value, name);
  }
});

/* The value Python gives `name` on a line `A, B = x, y` or `A = x` (numbers, fractions, tuples). */
function constantValue(name, line) {
  const [names, values] = line.split("  #")[0].split(" = ");
  const evaluate = (text) => Function(`"use strict"; return (${text.replace(/\(/g, "[").replace(/\)/g, "]")});`)();
  const all = names.split(", ");
  if (all.length === 1) return evaluate(values);
  return evaluate(`[${values}]`)[all.indexOf(name)];
}

test("a drawing goes to preprocessing's inkLevels, bit for bit", () => {
  const width = 200, height = 120;
  const data = new Uint8Array(width * height).fill(255);
  for (let y = 30; y < 90; y++) for (let x = 95; x < 105; x++) data[y * width + x] = 0;
  assert.equal(paper.photoGrey(data, width, height), null);
  assert.deepEqual(summary(paper.inkLevels(data, width, height)), summary(preprocessing.inkLevels(data, width, height)));
});
