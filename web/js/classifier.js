/*
 * Running the model in the page with TF.js, for recognition without any server.
 *
 * TF.js (1.5 MB) and the model (1.3 MB) are fetched only when browser mode is first
 * used, so the page stays light in server mode. Served over http(s) the page loads
 * model/model.json and its weight shard; opened from disk, where Chromium refuses
 * fetch(), it loads model/model.js, which carries the same model for tf.io.fromMemory.
 *
 *   const classifier = await DigitsClassifier.load({ fromDisk, backend });
 *   classifier.predict(pixels)  -> Promise<number[10]>, pixels: Float32Array(28 * 28)
 *   classifier.card, .version, .backend, .loadMs, .warmUpMs
 */
(function (root) {
  "use strict";

  const TF_SCRIPT = "vendor/tf.min.js";
  const MODEL_SCRIPT = "model/model.js";
  const MODEL_URL = "model/model.json";
  const CARD_URL = "model/card.json";

  class ModelError extends Error {
    constructor(message) {
      super(message);
      this.name = "ModelError";
    }
  }

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = root.document.createElement("script");
      script.src = src;
      script.async = true;
      script.onload = () => resolve();
      script.onerror = () => {
        script.remove();
        reject(new ModelError(`${src} could not be loaded`));
      };
      root.document.head.appendChild(script);
    });
  }

  async function loadTf(backend) {
    if (!root.tf) {
      try {
        await loadScript(TF_SCRIPT);
      } catch (error) {
        throw new ModelError(`TensorFlow.js (${TF_SCRIPT}) is missing; run "npm ci" to install it`);
      }
    }
    const tf = root.tf;
    if (backend && !(await tf.setBackend(backend))) {
      throw new ModelError(`the TF.js backend "${backend}" is not available in this browser`);
    }
    await tf.ready();
    return tf;
  }

  async function fetchJson(url) {
    const response = await fetch(url);
    if (!response.ok) throw new ModelError(`${url} could not be loaded (error ${response.status})`);
    return response.json();
  }

  function decodeBase64(text) {
    const binary = root.atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  async function loadFromDisk(tf) {
    if (!root.DIGITS_MODEL) await loadScript(MODEL_SCRIPT);
    const bundle = root.DIGITS_MODEL;
    if (!bundle || !bundle.modelTopology || !bundle.weightDataBase64) {
      throw new ModelError(`${MODEL_SCRIPT} does not hold a model`);
    }
    const model = await tf.loadGraphModel(tf.io.fromMemory({
      modelTopology: bundle.modelTopology,
      weightSpecs: bundle.weightSpecs,
      weightData: decodeBase64(bundle.weightDataBase64),
    }));
    return { model, card: bundle.card };
  }

  async function loadOverHttp(tf) {
    const [model, card] = await Promise.all([
      tf.loadGraphModel(MODEL_URL).catch((error) => {
        throw new ModelError(`${MODEL_URL} could not be loaded (${error.message})`);
      }),
      fetchJson(CARD_URL),
    ]);
    return { model, card };
  }

  async function load({ fromDisk = false, backend = null, size = 28, classes = 10 } = {}) {
    const started = performance.now();
    let tf, model, card;
    try {
      tf = await loadTf(backend);
      ({ model, card } = fromDisk ? await loadFromDisk(tf) : await loadOverHttp(tf));
    } catch (error) {
      throw error instanceof ModelError ? error : new ModelError(error.message || String(error));
    }
    const loadMs = performance.now() - started;

    function predict(pixels) {
      const output = tf.tidy(() => model.predict(tf.tensor4d(pixels, [1, size, size, 1])));
      return output.data().then((values) => {
        output.dispose();
        if (values.length !== classes) {
          throw new ModelError(`the model gave ${values.length} outputs instead of ${classes}`);
        }
        return Array.from(values);
      });
    }

    // The first run compiles the backend's kernels (WebGL shaders take a second or more);
    // doing it now keeps the person's first recognition as quick as the rest.
    const warmUpStarted = performance.now();
    await predict(new Float32Array(size * size));
    const warmUpMs = performance.now() - warmUpStarted;

    return {
      card,
      version: (card && card.version) || "unknown",
      backend: tf.getBackend(),
      loadMs,
      warmUpMs,
      predict,
    };
  }

  root.DigitsClassifier = { load, ModelError };
}(window));
