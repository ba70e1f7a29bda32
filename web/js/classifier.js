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
 *   classifier.predict(pixels)  -> Promise<{probabilities: number[classes], inferenceMs}>,
 *                                  pixels: Float32Array(size * size)
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
    return {
      ...engine,
      where: "page",
      async predict(pixels) {
        const started = performance.now();
        const probabilities = Array.from(await engine.predict(pixels));
        return { probabilities, inferenceMs: performance.now() - started };
      },
    };
  }

  /* A worker that loads TF.js and the model, then answers one message per drawing. */
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
          resolve({ ...data, where: "worker", predict, terminate: () => worker.terminate() });
        } else if (data.type === "failed") {
          worker.terminate();
          reject(new ModelError(data.message));
        } else if (data.type === "answer") {
          const request = pending.get(data.id);
          pending.delete(data.id);
          if (!request) return;
          if (data.error) request.reject(new ModelError(data.error));
          else request.resolve({ probabilities: Array.from(data.probabilities), inferenceMs: data.inferenceMs });
        }
      };
      worker.postMessage({
        type: "load", backends, size, classes, modelName: MODEL_URL,
        modelUrl: new URL(MODEL_URL, root.location.href).href,
      });
    });

    function predict(pixels) {
      const id = ++nextId;
      const copy = Float32Array.from(pixels); // transferred: the worker owns it afterwards
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ type: "predict", id, pixels: copy }, [copy.buffer]);
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
