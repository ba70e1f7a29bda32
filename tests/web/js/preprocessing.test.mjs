// The page's preprocessing (web/js/preprocessing.js) against the test vectors that the
// function's Python version passes: the same pixels must give the same 28x28 image.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const { toMnist, BlankImageError, SIZE } = createRequire(import.meta.url)(join(root, "web/js/preprocessing.js"));
const vectorDir = join(root, "tests/vectors");
// Expected values are written with 6 decimals.
const TOLERANCE = 1e-6;

const vectors = readdirSync(vectorDir)
  .filter((name) => name.endsWith(".json"))
  .sort()
  .map((name) => JSON.parse(readFileSync(join(vectorDir, name), "utf8")));

test("the shared test vectors are there", () => {
  assert.ok(vectors.length > 0, `no test vectors in ${vectorDir}`);
  assert.ok(vectors.some((vector) => vector.error === "blank"), "no blank-canvas vector");
  assert.ok(vectors.some((vector) => vector.error === null), "no vector with a digit");
});

for (const vector of vectors) {
  test(`${vector.name}: ${vector.description}`, () => {
    const pixels = new Uint8Array(Buffer.from(vector.pixels_base64, "base64"));
    assert.equal(pixels.length, vector.width * vector.height * vector.channels);

    if (vector.error === "blank") {
      assert.throws(() => toMnist(pixels, vector.width, vector.height), BlankImageError);
      return;
    }
    const digit = toMnist(pixels, vector.width, vector.height);
    assert.equal(digit.length, SIZE * SIZE);
    const expected = vector.expected.flat();
    let worst = 0, where = -1;
    for (let i = 0; i < expected.length; i++) {
      const difference = Math.abs(digit[i] - expected[i]);
      if (difference > worst) { worst = difference; where = i; }
    }
    assert.ok(worst <= TOLERANCE,
      `pixel (${Math.floor(where / SIZE)}, ${where % SIZE}) is ${digit[where]}, expected ${expected[where]}`);
  });
}

test("a drawing the size of the canvas's ImageData works with the RGBA layout", () => {
  const width = 50, height = 40;
  const rgba = new Uint8ClampedArray(width * height * 4).fill(255);
  for (let y = 10; y < 30; y++) for (let x = 24; x < 27; x++) rgba.fill(0, (y * width + x) * 4, (y * width + x) * 4 + 3);
  const digit = toMnist(rgba, width, height);
  const inked = digit.reduce((count, value) => count + (value > 0.5 ? 1 : 0), 0);
  assert.ok(inked > 20, `a 3x20 bar should leave a visible stroke, found ${inked} bright pixels`);
  assert.equal(Math.max(...digit), 1);
});

test("pixels that do not fit the size are refused", () => {
  assert.throws(() => toMnist(new Uint8Array(10), 3, 3), RangeError);
  assert.throws(() => toMnist(new Uint8Array(0), 0, 0), RangeError);
});
