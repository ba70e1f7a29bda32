/*
 * The inference worker: TF.js and the model live here, off the page's main thread, so
 * drawing never waits for the model. classifier.js starts it and talks to it:
 *
 *   -> {type: "load", backends, modelUrl, size, classes}
 *   <- {type: "ready", backend, tried, loadMs, warmUpMs} or {type: "failed", message}
 *   -> {type: "predict", id, images}       (images: Float32Array of one or more pictures, one
 *                                           after the other, transferred: one batch, one model call)
 *   <- {type: "answer", id, probabilities, inferenceMs} or {type: "answer", id, error}
 *                                          (probabilities: Float32Array, each picture's in turn)
 */
/* global DigitsEngine */
"use strict";

importScripts("tf-engine.js");

const VENDOR_URL = new URL("../vendor/", self.location.href).href;
let engine = null;

function loadScript(url) {
  // importScripts is synchronous and throws when the file is missing.
  return new Promise((resolve) => {
    importScripts(url);
    resolve();
  });
}

async function load({ backends, modelUrl, modelName, size, classes }) {
  try {
    engine = await DigitsEngine.start({
      global: self,
      vendorUrl: VENDOR_URL,
      loadScript,
      backends,
      size,
      classes,
      modelName,
      loadModel: (tf) => tf.loadGraphModel(new URL(modelUrl, self.location.href).href),
    });
    const { backend, tried, loadMs, warmUpMs } = engine;
    self.postMessage({ type: "ready", backend, tried, loadMs, warmUpMs });
  } catch (error) {
    self.postMessage({ type: "failed", message: (error && error.message) || String(error) });
  }
}

async function predict({ id, images }) {
  try {
    const started = performance.now();
    const probabilities = Float32Array.from(await engine.predict(images)); // its own buffer, to transfer
    const inferenceMs = performance.now() - started;
    self.postMessage({ type: "answer", id, probabilities, inferenceMs }, [probabilities.buffer]);
  } catch (error) {
    self.postMessage({ type: "answer", id, error: (error && error.message) || String(error) });
  }
}

self.onmessage = ({ data }) => {
  if (data.type === "load") load(data);
  else if (data.type === "predict") predict(data);
};
