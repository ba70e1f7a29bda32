// Runs the page's preprocessing on pictures given as JSON, for the Python-side parity test:
//   node tests/web/js/to_mnist.cjs IN.json OUT.json
// IN: [{width, height, pixels_base64}], OUT: [{digit: [784 numbers]} | {error: name}]
const { readFileSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");
const { toMnist } = require(join(__dirname, "..", "..", "..", "web", "js", "preprocessing.js"));

const [input, output] = process.argv.slice(2);
const results = JSON.parse(readFileSync(input, "utf8")).map((picture) => {
  try {
    const pixels = new Uint8Array(Buffer.from(picture.pixels_base64, "base64"));
    return { digit: Array.from(toMnist(pixels, picture.width, picture.height)) };
  } catch (error) {
    return { error: error.name };
  }
});
writeFileSync(output, JSON.stringify(results));
