/*
 * Running the model in the browser, for recognition without any server.
 *
 * TF.js and the model are fetched only when browser mode is chosen, then warmed up in the
 * background. Served over http(s) they run in a Web Worker (inference-worker.js), so the
 * page never waits for them while someone draws. Opened from disk, Chromium refuses
 * workers and fetch(), so they run on the page's main thread, with the model from
 * model/model.js (the same model and card in one script), and with whichever backend
 * loads there (WebAssembly's binary is fetched, so it gives way to WebGL or the CPU).
 *
 *   const classifier = await DigitsClassifier.load({ fromDisk, backend, card });
 *   classifier.predictBatch(images) -> Promise<{probabilities: Float32Array(classes)[], inferenceMs}>,
 *                                      images: Float32Array(size * size)[], all in one model call
 *   classifier.predict(pixels)      -> Promise<{probabilities: number[classes], inferenceMs}>,
 *                                      pixels: Float32Array(size * size), one picture
 *   classifier.backend, .where ("worker" or "page"), .tried, .loadMs, .warmUpMs
 */
(function (root) {
  "use strict";

  const { DigitsEngine, DigitsCard } = root;
  const WORKER_SCRIPT = "js/inference-worker.js";
  const MODEL_URL = "model/model.json";

  class ModelError extends Error {
    constructor(message) {
      super(message);
      this.name = "ModelError";
    }
  }

  /* A <script> that failed to load is the model's failure here (DigitsCard's loader names the file). */
  function loadScript(src) {
    return DigitsCard.loadScript(src).catch((error) => {
      throw new ModelError(error.message);
    });
  }

  /* The pictures one after the other, as the engine takes a batch. */
  function packed(images, size) {
    if (!images.length) throw new ModelError("there is no picture to recognise");
    const batch = new Float32Array(images.length * size * size);
    images.forEach((image, index) => {
      if (image.length !== size * size) {
        throw new ModelError(`expected ${size} x ${size} pictures, got one of ${image.length} values`);
      }
      batch.set(image, index * size * size);
    });
    return batch;
  }

  /* The engine's answer for a batch, as one Float32Array of probabilities per picture. */
  function unpacked(values, count, classes) {
    return Array.from({ length: count }, (_, index) => values.slice(index * classes, (index + 1) * classes));
  }

  /* One picture is a batch of one. */
  function withPredictOne(classifier) {
    return {
      ...classifier,
      async predict(pixels) {
        const { probabilities, inferenceMs } = await classifier.predictBatch([pixels]);
        return { probabilities: Array.from(probabilities[0]), inferenceMs };
      },
    };
  }

  function backendsToTry(forced) {
    if (!forced) return DigitsEngine.BACKENDS;
    if (!DigitsEngine.BACKENDS.includes(forced)) {
      throw new ModelError(`there is no TF.js backend "${forced}" (choose ${DigitsEngine.BACKENDS.join(", ")})`);
    }
    return [forced];
  }

  /* The page's main thread: TF.js from <script> tags, the model from model.js or model.json. */
  async function loadInPage({ fromDisk, backends, size, classes }) {
    const engine = await DigitsEngine.start({
      global: root,
      vendorUrl: "vendor/",
      loadScript,
      backends,
      size,
      classes,
      modelName: fromDisk ? "model/model.js" : MODEL_URL,
      loadModel: async (tf) => (fromDisk
        ? DigitsEngine.modelFromBundle(tf, await DigitsCard.loadBundle(), root.atob)
        : tf.loadGraphModel(MODEL_URL)),
    });
    return withPredictOne({
      ...engine,
      where: "page",
      async predictBatch(images) {
        const started = performance.now();
        const values = await engine.predict(packed(images, size));
        return { probabilities: unpacked(values, images.length, classes), inferenceMs: performance.now() - started };
      },
    });
  }

  /* A worker that loads TF.js and the model, then answers one message per batch of pictures. */
  function loadInWorker({ backends, size, classes }) {
    const worker = new root.Worker(WORKER_SCRIPT);
    const pending = new Map();
    let nextId = 0;
    return new Promise((resolve, reject) => {
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new ModelError(`the inference worker failed to start (${event.message || "no reason given"})`));
      };
      worker.onmessage = ({ data }) => {
        if (data.type === "ready") {
          resolve(withPredictOne({ ...data, where: "worker", predictBatch, terminate: () => worker.terminate() }));
        } else if (data.type === "failed") {
          worker.terminate();
          reject(new ModelError(data.message));
        } else if (data.type === "answer") {
          const request = pending.get(data.id);
          pending.delete(data.id);
          if (!request) return;
          if (data.error) {
            request.reject(new ModelError(data.error));
          } else {
            const probabilities = unpacked(data.probabilities, request.count, classes);
            request.resolve({ probabilities, inferenceMs: data.inferenceMs });
          }
        }
      };
      worker.postMessage({
        type: "load", backends, size, classes, modelName: MODEL_URL,
        modelUrl: new URL(MODEL_URL, root.location.href).href,
      });
    });

    async function predictBatch(images) {
      const id = ++nextId;
      const batch = packed(images, size); // a new buffer, transferred: the worker owns it afterwards
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject, count: images.length });
        worker.postMessage({ type: "predict", id, images: batch }, [batch.buffer]);
      });
    }
  }

  /**
   * fromDisk: the page was opened from a file; backend: force one ("wasm", "webgl", "cpu");
   * card: the model card (classes and input size).
   */
  async function load({ fromDisk = false, backend = null, card }) {
    const size = DigitsCard.inputSize(card);
    const classes = DigitsCard.classes(card).length;
    const backends = backendsToTry(backend);
    const options = { fromDisk, backends, size, classes };
    let workerProblem = null;
    if (!fromDisk && root.Worker) {
      try {
        return await loadInWorker(options);
      } catch (error) {
        workerProblem = error.message; // e.g. a policy that forbids workers: the page can still run it
      }
    }
    try {
      const model = await loadInPage(options);
      return { ...model, workerProblem };
    } catch (error) {
      throw error instanceof ModelError ? error : new ModelError((error && error.message) || String(error));
    }
  }

  root.DigitsClassifier = { load, ModelError };
}(window));
