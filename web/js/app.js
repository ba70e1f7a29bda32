/*
 * What happens when: drawing, opening a picture (a photo of a number on paper), reading the
 * number drawn or pictured (one digit or several) with the service or in the browser, and
 * what to say when something goes wrong. The page itself is changed only through DigitsUi.
 *
 * A picture opened takes the pad's place until Clear: it is read instead of the drawing,
 * upright and no larger than the service reads (DigitsPicture), the same pixels sent in
 * server mode and read in browser mode, so its boxes fall on it in both. Beside it the page
 * shows the ink that reading finds (DigitsPaper: a photo's light and paper taken out), from
 * the pixels the reading reads, found off the main thread (js/ink-worker.js).
 *
 * URL parameters: ?api=URL (the recognition service), ?mode=server|browser,
 * ?backend=wasm|webgl|cpu (force one TF.js backend in browser mode).
 *
 * What the model is (its classes, input size, version, network) and what preprocessing
 * makes for it come from its card, read once at start (DigitsCard), and so does the rule
 * that says whether an answer is sure, and whether it is a digit at all: the service
 * applies it in server mode, DigitsUncertainty in browser mode, to each digit. Both modes
 * answer in one shape: {number, digits: [{digit, confidence, probabilities, uncertain,
 * alternatives, notADigit, box, modelInput}], ...}, the service's (DigitsApi.predict) with
 * the page's pictures of what the model saw.
 *
 * The footer's line about the service follows what the service last did: each answer,
 * refusal or failure in server mode updates it, not only the check made at start.
 */
(function (root) {
  "use strict";

  if (!root.jQuery) return; // the page says the libraries are missing (index.html)
  const {
    DigitsUi: ui, DigitsDrawing, DigitsApi, DigitsCard, DigitsClassifier, DigitsPreprocessing, DigitsSegmentation,
    DigitsUncertainty, DigitsPicture, DigitsPaper,
  } = root;
  const LIVE_DELAY_MS = 450; // after the last stroke, long enough to start the next one
  const MODES = ["server", "browser"];
  const INK_WORKER_SCRIPT = "js/ink-worker.js";

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
  let drawingChanges = 0; // an answer's boxes are shown only on the drawing they were found in
  let picture = null; // the picture opened (DigitsPicture.open), read instead of the pad until Clear
  let serviceNews = 0; // the footer says what the service did last, not what an older question learnt
  let inks = null; // the ink found in the picture on show, by the pixels it was found in: {picture, found}
  let inkShown = 0; // the ink view shows the ink of the latest reading, not of an older one
  let inkWorker = null; // started with the first picture; false where no worker starts (opened from disk)

  const pad = DigitsDrawing.create(ui.canvas(), {
    onChange() {
      clearTimeout(liveTimer);
      drawingChanges += 1;
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
    if (!picture && pad.isEmpty()) {
      if (!fromLive) ui.showHint("Draw a number first, then press Recognise.");
      return;
    }
    const request = ++latestRequest;
    const requestMode = mode;
    const drawingSeen = drawingChanges;
    const pictured = picture;
    ui.showBusy();
    try {
      const started = performance.now();
      // Read now: the pad may change while the card, the model or the service is awaited.
      const drawing = pictured ? pictured.pixels : pad.imageData();
      let answer;
      if (requestMode === "server") {
        answer = await askService(drawing, pictured ? pictured.upload : pad.toDataURL(), started, pictured);
      } else {
        // A picture's ink is found once (in the ink worker where one starts): the reading
        // reads it and the page shows it.
        const inkFound = pictured ? showInkOf(pictured, requestMode, Promise.resolve()) : null;
        answer = await askBrowser(drawing, started, inkFound);
      }
      if (request !== latestRequest) return;
      // Without the card (the service answered, the card did not load) a class is its index.
      const names = classes || answer.digits[0].probabilities.map((_, index) => String(index));
      if (!classes) ui.buildChart(names);
      const digits = answer.digits.map((digit) => ({
        label: names[digit.digit],
        confidence: digit.confidence,
        probabilities: digit.probabilities,
        judgement: judgementIn(digit, names),
        box: digit.box,
        modelInput: digit.modelInput,
      }));
      ui.showAnswer({
        digits,
        // A stroke begun since the drawing was read has cleared the boxes: they stay off.
        picture: (pictured || drawingSeen === drawingChanges) ? { width: drawing.width, height: drawing.height } : null,
        modelVersion: answer.modelVersion,
        inferenceMs: answer.inferenceMs,
        backend: answer.backend,
        scrollIntoView: !fromLive,
        elapsedMs: performance.now() - answer.started,
        mode: requestMode,
      });
    } catch (error) {
      if (request === latestRequest) showFailure(error, requestMode);
    }
  }

  /* A file chosen, dropped or pasted: it takes the pad's place and is read at once. */
  async function openPicture(file) {
    clearTimeout(liveTimer);
    const request = ++latestRequest; // an answer still on its way is for what is no longer shown
    ui.showBusy();
    let opened;
    try {
      opened = await DigitsPicture.open(file);
    } catch (error) {
      if (request === latestRequest) showFailure(error, mode);
      return;
    }
    if (request !== latestRequest) return;
    pad.clear(); // Clear then returns to an empty pad
    picture = opened;
    ui.showPicture(opened);
    recognise();
  }

  /* The ink the reading of `pictured` in `readMode` uses, shown beside the picture once found,
     and returned (a promise of {ink, where, ms}): found in the pixels that reading reads (in
     server mode, the picture as sent), so it is the ink the function finds there too; found
     once for each picture and each of those. `after`: see inkIn. */
  function showInkOf(pictured, readMode, after) {
    const sent = readMode === "server" && isJpeg(pictured.upload);
    const source = sent ? "sent" : "read";
    if (!inks || inks.picture !== pictured) inks = { picture: pictured, found: new Map() };
    if (!inks.found.has(source)) {
      const pixels = sent ? decodedUpload(pictured.upload) : Promise.resolve(pictured.pixels);
      inks.found.set(source, inkIn(pixels, after));
    }
    const asked = ++inkShown;
    const found = inks.found.get(source);
    ui.showFindingInk();
    found.then((shown) => {
      if (asked === inkShown && picture === pictured) ui.showInk(shown.ink, { mode: readMode, ...shown });
    }, () => {
      // No ink (the reading says so), or none it could find: the picture is shown alone.
      if (asked === inkShown && picture === pictured) ui.hideInk();
    });
    return found;
  }

  /* A JPEG is sent as the service decodes it, not as the page's pixels (PNG keeps them exactly). */
  function isJpeg(upload) {
    return upload.startsWith("data:image/jpeg");
  }

  /* The pixels the service reads of a JPEG sent: Chromium decodes it with the same library as
     the function (libjpeg-turbo), to the same pixels. Not fetch(): the page's policy does not
     let it fetch data: URLs. */
  async function decodedUpload(upload) {
    const text = root.atob(upload.slice(upload.indexOf(",") + 1));
    const bytes = new Uint8Array(text.length);
    for (let index = 0; index < text.length; index++) bytes[index] = text.charCodeAt(index);
    const bitmap = await root.createImageBitmap(new Blob([bytes], { type: "image/jpeg" }));
    try {
      const canvas = root.document.createElement("canvas");
      canvas.width = bitmap.width;
      canvas.height = bitmap.height;
      const context = canvas.getContext("2d", { willReadFrequently: true });
      context.drawImage(bitmap, 0, 0);
      return context.getImageData(0, 0, bitmap.width, bitmap.height);
    } finally {
      bitmap.close();
    }
  }

  /* The ink of `pixels` (a promise of ImageData) as DigitsPaper finds it: {ink, where, ms}.
     In a worker, since a photo takes a few hundred milliseconds of the main thread. Where none
     starts, on the page, but only once `after` has settled: in server mode the service's
     answer, so it is on screen first, and its pictures of what the model saw are then made
     from this ink; in browser mode nothing, since the reading reads this ink. */
  async function inkIn(pixels, after) {
    const { data, width, height } = await pixels;
    const worker = inkWorkerOrNone();
    if (worker) {
      try {
        return await worker.find(data, width, height);
      } catch (error) {
        if (!(error instanceof WorkerGone)) throw error;
      }
    }
    await after.catch(() => {});
    await new Promise((resolve) => root.requestAnimationFrame(() => root.setTimeout(resolve, 0)));
    const started = performance.now();
    const ink = DigitsPaper.inkLevels(data, width, height);
    return { ink, where: "page", ms: performance.now() - started };
  }

  class WorkerGone extends Error {}

  /* The ink worker, started once: {find(data, width, height) -> Promise<{ink, where, ms}>},
     or null where no worker starts (the page opened from disk, a policy that forbids them). */
  function inkWorkerOrNone() {
    if (inkWorker !== null) return inkWorker || null;
    inkWorker = false;
    if (fromDisk || !root.Worker) return null;
    let worker;
    try {
      worker = new root.Worker(INK_WORKER_SCRIPT);
    } catch {
      return null;
    }
    const pending = new Map();
    let nextId = 0;
    worker.onerror = (event) => {
      // It did not start (or died): what it had to find is found on the page instead.
      event.preventDefault();
      worker.terminate();
      inkWorker = false;
      pending.forEach(({ reject }) => reject(new WorkerGone()));
      pending.clear();
    };
    worker.onmessage = ({ data: { id, ink, ms, blank, error } }) => {
      const request = pending.get(id);
      pending.delete(id);
      if (!request) return;
      if (ink) request.resolve({ ink, where: "worker", ms });
      else request.reject(blank ? new DigitsPreprocessing.BlankImageError() : new Error(error));
    };
    inkWorker = {
      find(data, width, height) {
        const id = ++nextId;
        return new Promise((resolve, reject) => {
          pending.set(id, { resolve, reject });
          // Copied, not handed over: the page still reads these pixels, and finds the ink in them
          // itself if the worker fails.
          worker.postMessage({ id, data, width, height });
        });
      },
    };
    return inkWorker;
  }

  /* Whether the model is sure of a digit, with the alternatives named by class, and whether
     it is a digit at all; null when an older service did not say (the page then gives the
     answer without a judgement). */
  function judgementIn(digit, names) {
    if (typeof digit.uncertain !== "boolean") return null;
    return {
      uncertain: digit.uncertain,
      notADigit: digit.notADigit === true,
      alternatives: digit.alternatives.map(({ digit: index, probability }) => ({ label: names[index], probability })),
    };
  }

  /* The image the model sees, made as the card says (`preprocessing`: DigitsCard.preprocessing). */
  function modelInputOf(drawing, preprocessing) {
    return DigitsPreprocessing.toMnist(drawing.data, drawing.width, drawing.height, preprocessing);
  }

  /* The drawing inside `box` ([x, y, width, height]) on white paper with a margin, so that
     preprocessing finds the paper at its border: one digit of a number, as the page shows it. */
  function digitOf(drawing, box) {
    const MARGIN = 4;
    const left = Math.max(0, Math.floor(box[0]));
    const top = Math.max(0, Math.floor(box[1]));
    const right = Math.min(drawing.width, Math.ceil(box[0] + box[2]));
    const bottom = Math.min(drawing.height, Math.ceil(box[1] + box[3]));
    const width = right - left + 2 * MARGIN;
    const height = bottom - top + 2 * MARGIN;
    const data = new Uint8ClampedArray(width * height * 4).fill(255);
    for (let y = top; y < bottom; y++) {
      const row = drawing.data.subarray((y * drawing.width + left) * 4, (y * drawing.width + right) * 4);
      data.set(row, ((y - top + MARGIN) * width + MARGIN) * 4);
    }
    return { data, width, height };
  }

  /* The part of `ink` inside `box` ([x, y, width, height], whole pixels of the picture), as an
     ink of its own: one digit of a number, as the page shows it. */
  function inkInside(ink, box) {
    const left = Math.max(box[0], ink.left);
    const top = Math.max(box[1], ink.top);
    const right = Math.min(box[0] + box[2], ink.left + ink.width);
    const bottom = Math.min(box[1] + box[3], ink.top + ink.height);
    if (right <= left || bottom <= top) throw new DigitsPreprocessing.BlankImageError();
    const width = right - left;
    const levels = new Int32Array(width * (bottom - top));
    for (let y = top; y < bottom; y++) {
      const from = (y - ink.top) * ink.width + left - ink.left;
      levels.set(ink.levels.subarray(from, from + width), (y - top) * width);
    }
    return { levels, span: ink.span, top, left, width, height: bottom - top };
  }

  /* What the card says, by `read`, or null without it: server mode goes on all the same. */
  function fromCard(read) {
    return card.then(read).catch(() => null);
  }

  /* The service makes its own model inputs (for one digit the same as the page's, by the
     shared test vectors), so the page's copies are only shown, and a failure to make one is
     not a failure. For a number the page makes each from the drawing inside the digit's box,
     which may hold the ends of a neighbour's strokes where digits touch. A picture's
     (`pictured`) are made from the ink the function found in it, the light and paper of a
     photo taken out, which the page finds beside the request. Without the card the service
     still answers, with as many classes as its answer gives. */
  async function askService(drawing, upload, started, pictured) {
    const [classes, preprocessing] = await Promise.all([
      fromCard((modelCard) => DigitsCard.classes(modelCard).length), fromCard(DigitsCard.preprocessing)]);
    const asked = DigitsApi.predict(apiBase, upload, { classes, subject: pictured ? "picture" : "drawing" });
    const inkFound = pictured ? showInkOf(pictured, "server", asked) : null;
    const answer = await asked;
    showServiceState("answering", answer.modelVersion);
    const found = inkFound && await inkFound.catch(() => null);
    const several = answer.digits.length > 1;
    const shown = (box) => {
      if (!preprocessing || (several && !box)) return null;
      try {
        if (found) return DigitsPreprocessing.digitImage(box ? inkInside(found.ink, box) : found.ink, preprocessing);
        return modelInputOf(several ? digitOf(drawing, box) : drawing, preprocessing);
      } catch {
        return null; // nothing to show
      }
    };
    return { ...answer, digits: answer.digits.map((digit) => ({ ...digit, modelInput: shown(digit.box) })), started };
  }

  /* The number read in this browser: DigitsSegmentation finds the candidate digits, the
     model reads them all in one batch (and a narrow part it is not sure of, cut, in a second
     one), and each digit is judged by the card's rule. A
     picture's ink comes found (`inkFound`, a promise of {ink}); a blank one is refused as
     found, and where it could not be found the reading finds it itself. */
  async function askBrowser(drawing, started, inkFound = null) {
    const model = await loadClassifier();
    const found = inkFound && await inkFound.catch((error) => {
      if (error instanceof DigitsPreprocessing.BlankImageError) throw error;
      return null;
    });
    // The model's one-off loading is reported on its own, not as this answer's time.
    const since = Math.max(started, model.readyAt);
    let inferenceMs = 0;
    const { digits } = await DigitsSegmentation.readNumber(drawing, {
      ink: found ? found.ink : undefined,
      preprocessing: model.preprocessing,
      uncertainty: model.uncertaintyRule, // the reading weighs a digit the model is not sure of
      async predict(images) {
        const batch = await model.predictBatch(images);
        inferenceMs += batch.inferenceMs;
        return batch.probabilities;
      },
    });
    const read = digits.map(({ probabilities, box, modelInput }) => {
      const digit = argmax(probabilities);
      return {
        digit, confidence: probabilities[digit], probabilities, box, modelInput,
        ...DigitsUncertainty.judge(probabilities, model.uncertaintyRule),
      };
    });
    return {
      number: read.map(({ digit }) => digit).join(""), digits: read,
      inferenceMs, modelVersion: model.version, backend: model.backend, started: since,
    };
  }

  /* The likeliest class; ties go to the lower index, as the uncertainty rule's do. */
  function argmax(probabilities) {
    let best = 0;
    for (let index = 1; index < probabilities.length; index++) {
      if (probabilities[index] > probabilities[best]) best = index;
    }
    return best;
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
    if (error instanceof DigitsPicture.NotAPicture) {
      ui.showError(`${error.message}: open a photo, or a picture file such as a PNG or a JPEG.`);
    } else if (error instanceof DigitsPreprocessing.BlankImageError) {
      if (picture) ui.showError("No digit found in this picture: it is blank, or its marks are too faint to read.");
      else ui.showHint("Draw a number first: there is no ink on the pad yet.");
    } else if (DigitsSegmentation && error instanceof DigitsSegmentation.TooManyDigits) {
      ui.showError(`This ${picture ? "picture" : "drawing"} cannot be read as one number: `
        + `${error.message.replace(/\.$/, "")}.`);
    } else if (error instanceof DigitsApi.ServiceError) {
      showServiceState(serviceStateAfter(error));
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
    inkShown += 1;
    picture = null;
    inks = null;
    ui.closePicture();
    pad.clear();
    ui.showIdle();
  }

  function undo() {
    if (picture) return; // nothing drawn: the picture stays until Clear
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
    if (andRecognise && (picture || !pad.isEmpty())) recognise();
  }

  function changeLive(enabled) {
    live = enabled;
    remember("live", String(live));
    if (live && !pad.isEmpty()) recognise({ live: true });
  }

  function checkService() {
    showServiceState("checking");
    const asked = serviceNews;
    DigitsApi.health(apiBase, { timeoutMs: 10000 })
      .then((state) => {
        if (asked === serviceNews) showServiceState("answering", state.modelVersion);
      })
      .catch(() => {
        if (asked === serviceNews) showServiceState("unreachable");
      });
  }

  /* What a failed request says of the service: a refusal is an answer all the same. */
  function serviceStateAfter(error) {
    if (error.kind === "connection" || error.kind === "timeout") return "unreachable";
    if (error.status === 429) return "busy";
    return error.kind === "failed" ? "failing" : "answering";
  }

  /* The footer's line about the service, as it was last seen (`status`: checking, answering,
     busy, failing or unreachable), naming the service's model when it is not the page's. */
  function showServiceState(status, modelVersion = null) {
    const news = ++serviceNews;
    card.then((modelCard) => modelCard.version, () => null).then((pageVersion) => {
      if (news === serviceNews) ui.showAboutService(apiBase, { status, modelVersion, pageVersion });
    });
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
      let rule = null;
      try {
        rule = DigitsCard.uncertainty(modelCard);
      } catch {
        // browser mode says why it cannot answer without the rule; server mode needs none
      }
      ui.showAboutModel(modelCard, DigitsCard.network(modelCard), { rule });
      // In browser mode, once the model is in: the service worker's copies then come from
      // the browser's HTTP cache instead of competing with the model for the network.
      const modelLoaded = mode === "browser" ? loadClassifier().catch(() => {}) : Promise.resolve();
      modelLoaded.then(() => keepForOffline(modelCard.version));
    }).catch((error) => ui.showAboutModel(null, null, { problem: error.message }));
  }

  /* Served over http(s), a service worker keeps the page, TF.js and the model for offline
     use. Its URL carries the model's version, so a new model installs a new worker, which
     replaces the cached files (sw.js). */
  function keepForOffline(version) {
    if (fromDisk || !root.navigator.serviceWorker || !root.isSecureContext) return;
    root.navigator.serviceWorker.register(`sw.js?version=${encodeURIComponent(version)}`)
      .catch(() => {}); // the page works the same without it, only not offline
  }

  ui.bindControls({ recognise: () => recognise(), reset, undo, changeMode: (m) => changeMode(m), changeLive, openPicture });
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
