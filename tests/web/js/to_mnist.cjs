// Runs the page's preprocessing on pictures given as JSON, for the Python-side parity test,
// with the numbers the page takes from the model card (web/model/card.json):
//   node tests/web/js/to_mnist.cjs IN.json OUT.json
// IN: [{width, height, pixels_base64}], OUT: [{digit: [size * size numbers]} | {error: name}]
const { readFileSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");

const root = join(__dirname, "..", "..", "..");
const { toMnist } = require(join(root, "web", "js", "preprocessing.js"));
const { size, box } = JSON.parse(readFileSync(join(root, "web", "model", "card.json"), "utf8")).preprocessing;

const [input, output] = process.argv.slice(2);
const results = JSON.parse(readFileSync(input, "utf8")).map((picture) => {
  try {
    const pixels = new Uint8Array(Buffer.from(picture.pixels_base64, "base64"));
    return { digit: Array.from(toMnist(pixels, picture.width, picture.height, { size, box })) };
  } catch (error) {
    return { error: error.name };
  }
});
writeFileSync(output, JSON.stringify(results));
