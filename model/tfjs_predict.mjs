// Runs the exported TF.js graph model under node, exactly as the page loads it
// (tf.io.fromMemory on model.json and its weight shards), on the WebAssembly backend the
// page prefers (about 2 ms a digit; the pure-JavaScript one, the fallback, takes 60).
//
//   node model/tfjs_predict.mjs MODEL_DIR INPUT.f32 OUTPUT.f32
//
// INPUT.f32 holds N x 28 x 28 float32 pixels in [0, 1] (little-endian, no header);
// OUTPUT.f32 receives N x 10 float32 probabilities.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";

const [modelDir, inputPath, outputPath] = process.argv.slice(2);
if (!outputPath) {
  console.error("usage: node model/tfjs_predict.mjs MODEL_DIR INPUT.f32 OUTPUT.f32");
  process.exit(2);
}

function loadWeights(manifest) {
  const buffers = manifest.flatMap((group) => group.paths.map((p) => readFileSync(join(modelDir, p))));
  const total = Buffer.concat(buffers);
  return total.buffer.slice(total.byteOffset, total.byteOffset + total.byteLength);
}

if (!(await tf.setBackend("wasm"))) await tf.setBackend("cpu");
await tf.ready();

const modelJson = JSON.parse(readFileSync(join(modelDir, "model.json"), "utf8"));
const model = await tf.loadGraphModel(
  tf.io.fromMemory({
    modelTopology: modelJson.modelTopology,
    weightSpecs: modelJson.weightsManifest.flatMap((group) => group.weights),
    weightData: loadWeights(modelJson.weightsManifest),
  }),
);

const raw = readFileSync(inputPath);
const pixels = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
const count = pixels.length / 784;
if (!Number.isInteger(count)) {
  console.error(`${inputPath}: ${pixels.length} floats is not a whole number of 28x28 images`);
  process.exit(2);
}

const output = new Float32Array(count * 10);
const batch = 100;
for (let start = 0; start < count; start += batch) {
  const n = Math.min(batch, count - start);
  const probabilities = tf.tidy(() => {
    const images = tf.tensor4d(pixels.subarray(start * 784, (start + n) * 784), [n, 28, 28, 1]);
    return model.predict(images);
  });
  output.set(await probabilities.data(), start * 10);
  probabilities.dispose();
}
writeFileSync(outputPath, Buffer.from(output.buffer));
console.log(JSON.stringify({ backend: tf.getBackend(), images: count }));
