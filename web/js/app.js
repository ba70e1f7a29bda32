/*
 * What happens when: drawing, recognising with the service or in the browser, and
 * what to say when something goes wrong. The page itself is changed only through
 * DigitsUi.
 *
 * URL parameters: ?api=URL (the recognition service), ?mode=server|browser,
 * ?backend=wasm|webgl|cpu (force one TF.js backend in browser mode).
 *
 * What the model is (its classes, input size, version, network) and what preprocessing
 * makes for it come from its card, read once at start (DigitsCard), and so does the rule
 * that says whether an answer is sure: the service applies it in server mode,
 * DigitsUncertainty in browser mode.
 */
(function (root) {
  "use strict";

  if (!root.jQuery) return; // the page says the libraries are missing (index.html)
  const {
    DigitsUi: ui, DigitsDrawing, DigitsApi, DigitsCard, DigitsClassifier, DigitsPreprocessing, DigitsUncertainty,
  } = root;
  const LIVE_DELAY_MS = 450; // after the last stroke, long enough to start the next one
  const MODES = ["server", "browser"];

  const params = new URL(root.location.href).searchParams;
  const fromDisk = root.location.protocol === "file:";
  const apiBase = DigitsApi.apiBaseUrl(root.location.href);

  let mode = chooseMode();
  let live = remembered("live") !== "false";
  const card = DigitsCard.load({ fromDisk }); // a promise: the model card, read once
  let classes = null; // the card's class names, once it has arrived
  let classifier = null; // a promise, kept so the model loads once
  let latestRequest = 0;
  let liveTimer = null;

  const pad = DigitsDrawing.create(ui.canvas(), {
    onChange() {
      clearTimeout(liveTimer);
      ui.showDrawingState(pad.isEmpty());
    },
    onStrokeEnd() {
      if (live) liveTimer = setTimeout(() => recognise({ live: true }), LIVE_DELAY_MS);
    },
  });

  function chooseMode() {
    const asked = params.get("mode");
    if (MODES.includes(asked)) return asked;
    const stored = remembered("mode");
    if (MODES.includes(stored)) return stored;
    // Opened from disk there is usually no service running; the browser can answer alone.
    return fromDisk ? "browser" : "server";
  }

  async function recognise({ live: fromLive = false } = {}) {
    clearTimeout(liveTimer);
    if (pad.isDrawing()) return;
    if (pad.isEmpty()) {
      if (!fromLive) ui.showHint("Draw a digit first, then press Recognise.");
      return;
    }
    const request = ++latestRequest;
    const requestMode = mode;
    ui.showBusy();
    try {
      const started = performance.now();
      // Read now: the pad may change while the card, the model or the service is awaited.
      const drawing = pad.imageData();
      const answer = requestMode === "server"
        ? await askService(drawing, pad.toDataURL(), started)
        : await askBrowser(drawing, started);
      if (request !== latestRequest) return;
      const best = answer.probabilities.indexOf(Math.max(...answer.probabilities));
      const digit = answer.digit !== undefined ? answer.digit : best;
      // Without the card (the service answered, the card did not load) a class is its index.
      const names = classes || answer.probabilities.map((_, index) => String(index));
      if (!classes) ui.buildChart(names);
      ui.showAnswer({
        ...answer,
        label: names[digit],
        judgement: judgementIn(answer, names),
        confidence: answer.confidence !== undefined ? answer.confidence : answer.probabilities[digit],
        scrollIntoView: !fromLive,
        elapsedMs: performance.now() - answer.started,
        mode: requestMode,
      });
    } catch (error) {
      if (request === latestRequest) showFailure(error, requestMode);
    }
  }

  /* Whether the model is sure, with the alternatives named by class; null when an older
     service did not say (the page then gives the answer without a judgement). */
  function judgementIn(answer, names) {
    if (typeof answer.uncertain !== "boolean") return null;
    return {
      uncertain: answer.uncertain,
      alternatives: answer.alternatives.map(({ digit, probability }) => ({ label: names[digit], probability })),
    };
  }

  /* The image the model sees, made as the card says (`preprocessing`: DigitsCard.preprocessing). */
  function modelInputOf(drawing, preprocessing) {
    return DigitsPreprocessing.toMnist(drawing.data, drawing.width, drawing.height, preprocessing);
  }

  /* What the card says, by `read`, or null without it: server mode goes on all the same. */
  function fromCard(read) {
    return card.then(read).catch(() => null);
  }

  /* The service makes its own model input (the same, by the shared test vectors), so the
     page's copy is only shown, and a failure to make it is not one. Without the card the
     service still answers, with as many classes as its answer gives. */
  async function askService(drawing, upload, started) {
    const [classes, preprocessing] = await Promise.all([
      fromCard((modelCard) => DigitsCard.classes(modelCard).length), fromCard(DigitsCard.preprocessing)]);
    let modelInput = null;
    try {
      if (preprocessing) modelInput = modelInputOf(drawing, preprocessing);
    } catch { /* nothing to show */ }
    const answer = await DigitsApi.predict(apiBase, upload, { classes });
    return { ...answer, modelInput, started };
  }

  async function askBrowser(drawing, started) {
    const model = await loadClassifier();
    // The model's one-off loading is reported on its own, not as this answer's time.
    const since = Math.max(started, model.readyAt);
    const modelInput = modelInputOf(drawing, model.preprocessing);
    const { probabilities, inferenceMs } = await model.predict(modelInput);
    return {
      probabilities, inferenceMs, modelInput, modelVersion: model.version, backend: model.backend, started: since,
      ...DigitsUncertainty.judge(probabilities, model.uncertaintyRule),
    };
  }

  /* Loads once, in the background, as soon as browser mode is chosen. */
  function loadClassifier() {
    if (!classifier) {
      ui.showModelLoading();
      classifier = card
        .then((modelCard) => {
          const preprocessing = DigitsCard.preprocessing(modelCard);
          const uncertaintyRule = DigitsCard.uncertainty(modelCard);
          return DigitsClassifier.load({ fromDisk, backend: params.get("backend"), card: modelCard })
            .then((model) => ({ ...model, version: modelCard.version, preprocessing, uncertaintyRule }));
        })
        .then((model) => {
          ui.showModelReady({ ...model, fromDisk });
          return { ...model, readyAt: performance.now() };
        })
        .catch((error) => {
          classifier = null; // the next attempt tries again
          ui.showModelFailed();
          throw new DigitsClassifier.ModelError(error.message);
        });
    }
    return classifier;
  }

  function showFailure(error, failedMode) {
    if (error instanceof DigitsPreprocessing.BlankImageError) {
      ui.showHint("Draw a digit first: there is no ink on the pad yet.");
    } else if (error instanceof DigitsApi.ServiceError) {
      const offerBrowser = error.kind === "connection" || error.kind === "timeout" || error.kind === "failed";
      ui.showError(error.message + (offerBrowser ? " You can recognise in this browser instead." : ""),
        offerBrowser ? { label: "Use this browser", run: () => changeMode("browser", { recognise: true }) } : null);
    } else if (error instanceof DigitsClassifier.ModelError) {
      ui.showError(`The model could not be loaded into this browser: ${error.message}. `
        + "The recognition service can still answer.",
        { label: "Use the service", run: () => changeMode("server", { recognise: true }) });
    } else {
      ui.showError(`Something went wrong while recognising in ${failedMode === "server" ? "server" : "browser"} mode: `
        + `${error.message}. Try again.`);
    }
  }

  function reset() {
    clearTimeout(liveTimer);
    latestRequest += 1; // an answer still on its way is for a drawing that is gone
    pad.clear();
    ui.showIdle();
  }

  function undo() {
    pad.undo();
    if (pad.isEmpty()) {
      latestRequest += 1;
      ui.showIdle();
    } else if (live) {
      recognise({ live: true });
    }
  }

  function changeMode(newMode, { recognise: andRecognise = live } = {}) {
    if (!MODES.includes(newMode)) return;
    mode = newMode;
    remember("mode", mode);
    ui.showMode(mode);
    if (mode === "browser") {
      loadClassifier().catch((error) => {
        if (mode === "browser") showFailure(error, "browser");
      });
    } else {
      checkService();
    }
    if (andRecognise && !pad.isEmpty()) recognise();
  }

  function changeLive(enabled) {
    live = enabled;
    remember("live", String(live));
    if (live && !pad.isEmpty()) recognise({ live: true });
  }

  function checkService() {
    ui.showAboutService(apiBase, { status: "checking" });
    DigitsApi.health(apiBase, { timeoutMs: 10000 })
      .then(async (state) => {
        const pageVersion = await card.then((modelCard) => modelCard.version, () => null);
        ui.showAboutService(apiBase, { status: "answering", modelVersion: state.modelVersion, pageVersion });
      })
      .catch(() => ui.showAboutService(apiBase, { status: "unreachable" }));
  }

  // Preferences survive a reload; storage may be refused (private windows), which is fine.
  function remember(key, value) {
    try { root.localStorage.setItem(`digits.${key}`, value); } catch { /* not kept */ }
  }

  function remembered(key) {
    try { return root.localStorage.getItem(`digits.${key}`); } catch { return null; }
  }

  function showCard() {
    card.then((modelCard) => {
      classes = DigitsCard.classes(modelCard);
      ui.buildChart(classes);
      ui.showAboutModel(modelCard, DigitsCard.network(modelCard));
      // In browser mode, once the model is in: the service worker's copies then come from
      // the browser's HTTP cache instead of competing with the model for the network.
      const modelLoaded = mode === "browser" ? loadClassifier().catch(() => {}) : Promise.resolve();
      modelLoaded.then(() => keepForOffline(modelCard.version));
    }).catch((error) => ui.showAboutModel(null, null, error.message));
  }

  /* Served over http(s), a service worker keeps the page, TF.js and the model for offline
     use. Its URL carries the model's version, so a new model installs a new worker, which
     replaces the cached files (sw.js). */
  function keepForOffline(version) {
    if (fromDisk || !root.navigator.serviceWorker || !root.isSecureContext) return;
    root.navigator.serviceWorker.register(`sw.js?version=${encodeURIComponent(version)}`)
      .catch(() => {}); // the page works the same without it, only not offline
  }

  ui.bindControls({ recognise: () => recognise(), reset, undo, changeMode: (m) => changeMode(m), changeLive });
  ui.showMode(mode);
  ui.showLive(live);
  ui.showIdle();
  ui.showDrawingState(true);
  showCard();
  checkService();
  if (mode === "browser") {
    loadClassifier().catch((error) => {
      if (mode === "browser") showFailure(error, "browser");
    });
  }
  ui.showPageReady();
}(window));
