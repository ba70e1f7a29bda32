/*
 * TF.js in the page: loading only the parts it needs (core, converter, one backend), the
 * model, and running it. No DOM: the same code runs in the inference worker
 * (inference-worker.js) and, for a page opened from disk where Chromium refuses workers,
 * on the page's main thread.
 *
 *   const engine = await DigitsEngine.start({ vendorUrl, loadScript, backends, loadModel });
 *   engine.predict(images)   -> Promise<Float32Array(count * classes)>, images: Float32Array(count *
 *                               size * size): count pictures one after the other (a number's
 *                               candidate digits), run as one batch
 *   engine.backend, .tried   -> the backend that answered, and why the ones before it did not
 *
 * Backends are tried in order: WebAssembly (SIMD; a few ms for this model on a laptop's
 * CPU, and the same everywhere), WebGL (a GPU, where WebAssembly is refused), then plain
 * JavaScript, which works everywhere but is about twenty times slower than WebAssembly.
 */
(function (root, factory) {
  if (typeof module === "object" && module.exports) {
    module.exports = factory();
  } else {
    root.DigitsEngine = factory();
  }
}(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  const BACKENDS = ["wasm", "webgl", "cpu"];
  const SCRIPTS = {
    core: "tf-core.es2017.min.js",
    converter: "tf-converter.es2017.min.js",
    wasm: "tf-backend-wasm.es2017.min.js",
    webgl: "tf-backend-webgl.es2017.min.js",
    cpu: "tf-backend-cpu.es2017.min.js",
  };
  // tfjs-backend-wasm wants a path for each of its binaries, and picks one itself: SIMD where
  // the browser has it (all current ones). Never the multithreaded one: for one 28 x 28 digit
  // it measured no faster than one thread (starting the threads costs what they save).
  const WASM_FILES = ["tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm", "tfjs-backend-wasm-threaded-simd.wasm"];
  // A backend that neither starts nor fails in this long (a stalled download of the
  // .wasm, say) gives way to the next one.
  const BACKEND_TIMEOUT_MS = 20000;

  class EngineError extends Error {
    constructor(message) {
      super(message);
      this.name = "EngineError";
    }
  }

  function withTimeout(promise, ms, what) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new EngineError(`${what} did not start within ${ms / 1000} s`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  async function loadLibraries(global, vendorUrl, loadScript) {
    for (const part of ["core", "converter"]) {
      const ready = part === "core" ? global.tf : global.tf && global.tf.loadGraphModel;
      if (ready) continue;
      try {
        await loadScript(vendorUrl + SCRIPTS[part]);
      } catch {
        throw new EngineError(`TensorFlow.js (vendor/${SCRIPTS[part]}) is missing; run "npm ci" to install it`);
      }
    }
    return global.tf;
  }

  async function startBackend(tf, name, { vendorUrl, loadScript }) {
    if (!tf.findBackendFactory(name)) await loadScript(vendorUrl + SCRIPTS[name]);
    if (name === "wasm") {
      tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
      tf.wasm.setWasmPaths(Object.fromEntries(WASM_FILES.map((file) => [file, vendorUrl + file])));
    }
    if (!(await tf.setBackend(name))) throw new EngineError("it did not start");
    await tf.ready();
  }

  /* The first backend of `backends` that starts; `tried` says why the others did not. */
  async function chooseBackend(tf, backends, options) {
    const tried = [];
    for (const name of backends) {
      try {
        await withTimeout(startBackend(tf, name, options), BACKEND_TIMEOUT_MS, name);
        return { backend: name, tried };
      } catch (error) {
        tried.push({ backend: name, reason: (error && error.message) || String(error) });
      }
    }
    const reasons = tried.map(({ backend, reason }) => `${backend}: ${reason}`).join("; ");
    throw new EngineError(`no TF.js backend would start in this browser (${reasons})`);
  }

  /**
   * vendorUrl: where web/vendor/ is, ending in "/"; loadScript(url) -> Promise;
   * backends: names in order of preference; loadModel(tf) -> Promise<GraphModel>;
   * modelName: the model's file, for messages; size, classes: the model's input side and
   * number of outputs (from the card).
   */
  async function start({ global, vendorUrl, loadScript, backends = BACKENDS, loadModel, modelName, size, classes }) {
    const started = performance.now();
    const tf = await loadLibraries(global, vendorUrl, loadScript);
    const { backend, tried } = await chooseBackend(tf, backends, { vendorUrl, loadScript });
    let model;
    try {
      model = await loadModel(tf);
    } catch (error) {
      throw new EngineError(`${modelName} could not be loaded (${(error && error.message) || error})`);
    }
    const loadMs = performance.now() - started;

    async function predict(images) {
      const count = images.length / (size * size);
      if (!Number.isInteger(count) || count < 1) {
        throw new EngineError(`expected whole ${size} x ${size} pictures, got ${images.length} values`);
      }
      const output = tf.tidy(() => model.predict(tf.tensor4d(images, [count, size, size, 1])));
      try {
        const values = await output.data();
        if (values.length !== count * classes) {
          throw new EngineError(`the model gave ${values.length / count} outputs instead of ${classes}`);
        }
        return values;
      } finally {
        output.dispose();
      }
    }

    // The first run compiles the backend's kernels (WebGL shaders take a second or more);
    // doing it now keeps the person's first recognition as quick as the rest.
    const warmUpStarted = performance.now();
    await predict(new Float32Array(size * size));
    const warmUpMs = performance.now() - warmUpStarted;
    return { backend, tried, loadMs, warmUpMs, predict, tf };
  }

  function decodeBase64(text, atob) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  /* web/model/model.js's bundle (a page opened from disk) as a graph model. */
  function modelFromBundle(tf, bundle, atob) {
    return tf.loadGraphModel(tf.io.fromMemory({
      modelTopology: bundle.modelTopology,
      weightSpecs: bundle.weightSpecs,
      weightData: decodeBase64(bundle.weightDataBase64, atob),
    }));
  }

  return { BACKENDS, start, modelFromBundle };
}));
