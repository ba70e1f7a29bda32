// The page's preprocessing (web/js/preprocessing.js) against the test vectors that the
// function's Python version passes: the same pixels must give the same 28x28 image.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const { toMnist, BlankImageError } = createRequire(import.meta.url)(join(root, "web/js/preprocessing.js"));
// What the page passes in, from the model card (the vectors were made to the same numbers).
const card = JSON.parse(readFileSync(join(root, "web/model/card.json"), "utf8"));
const OPTIONS = { size: card.preprocessing.size, box: card.preprocessing.box };
const SIZE = OPTIONS.size;
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
      assert.throws(() => toMnist(pixels, vector.width, vector.height, OPTIONS), BlankImageError);
      return;
    }
    const digit = toMnist(pixels, vector.width, vector.height, OPTIONS);
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
  const digit = toMnist(rgba, width, height, OPTIONS);
  const inked = digit.reduce((count, value) => count + (value > 0.5 ? 1 : 0), 0);
  assert.ok(inked > 20, `a 3x20 bar should leave a visible stroke, found ${inked} bright pixels`);
  assert.equal(Math.max(...digit), 1);
});

test("pixels that do not fit the size are refused", () => {
  assert.throws(() => toMnist(new Uint8Array(10), 3, 3, OPTIONS), /expected 1, 3 or 4 bytes per pixel/);
  assert.throws(() => toMnist(new Uint8Array(0), 0, 0, OPTIONS), /empty or has an invalid size/);
});

test("the image's side and the digit's box are the caller's, never made up", () => {
  const width = 60, height = 60;
  const grey = new Uint8Array(width * height);
  for (let y = 5; y < 55; y++) grey.fill(255, y * width + 20, y * width + 30); // a tall white bar
  const inkedRows = (digit, side) => {
    const rows = [];
    for (let y = 0; y < side; y++) if (digit.subarray(y * side, (y + 1) * side).some((v) => v > 0)) rows.push(y);
    return rows.length;
  };
  assert.equal(inkedRows(toMnist(grey, width, height, OPTIONS), SIZE), OPTIONS.box);
  const other = toMnist(grey, width, height, { size: 40, box: 30 });
  assert.equal(other.length, 40 * 40);
  assert.equal(inkedRows(other, 40), 30);
  const nonsense = [undefined, {}, { size: 28 }, { size: 28, box: 29 }, { size: 28, box: 0 }, { size: 28, box: 20.5 }];
  for (const options of nonsense) {
    assert.throws(() => toMnist(grey, width, height, options), /expected whole numbers with 1 <= box <= size/,
      JSON.stringify(options));
  }
});
