/*
 * Everything the person sees and presses, and nothing else: the other modules never
 * touch the page, they hand their results to these functions.
 */
(function (root, $) {
  "use strict";

  const BUSY_DELAY_MS = 150; // quick answers should not flash a "recognising" state
  // An unsure answer whose likeliest digit has less than this is said to be perhaps no digit
  // at all: the wording only; whether an answer is sure is the model card's rule.
  const FAR_FROM_SURE = 0.5;

  let busyTimer = null;
  let answersShown = 0;

  function canvas() {
    return $("#canvas")[0];
  }

  /* One bar per class, labelled with the model's class names. */
  function buildChart(classes) {
    const $bars = $("#probabilities").empty();
    classes.forEach((label, index) => {
      $("<li>")
        .attr({ "data-digit": index, "data-probability": "0" })
        .append($("<span>", { class: "bar" }).append($("<span>", { class: "fill" })))
        .append($("<span>", { class: "value", text: "" }))
        .append($("<span>", { class: "label", text: label }))
        .appendTo($bars);
    });
  }

  function bindControls({ recognise, reset, undo, changeMode, changeLive }) {
    $("#recognise").on("click", () => recognise());
    $("#reset").on("click", () => reset());
    $("#undo").on("click", () => undo());
    $("#mode").on("change", function () { changeMode(this.value); });
    $("#live").on("change", function () { changeLive(this.checked); });
    $("#message").on("click", "button[data-action]", function () {
      const action = $(this).data("run");
      hideMessage();
      if (action) action();
    });
    // After drawing, Enter should recognise, not press whichever button was used last.
    $("#canvas").on("pointerdown", (event) => {
      // Drawn with a finger: keyboard shortcuts mean nothing here, so their line goes.
      if (event.pointerType === "touch") $("html").addClass("is-touch");
      const focused = root.document.activeElement;
      if (focused && focused !== root.document.body && $(focused).is("button, select, input")) focused.blur();
    });
    $(root.document).on("keydown", (event) => {
      if (event.isComposing || event.altKey) return;
      const inControl = $(event.target).is("button, select, input, textarea, a, [contenteditable]");
      if (event.key === "Enter" && !inControl && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        recognise();
      } else if (event.key === "Escape") {
        event.preventDefault();
        reset();
      } else if ((event.key === "z" || event.key === "Z") && (event.ctrlKey || event.metaKey) && !event.shiftKey
                 && !$(event.target).is("input, textarea, [contenteditable]")) {
        event.preventDefault();
        undo();
      }
    });
  }

  function showMode(mode) {
    $("#mode").val(mode);
    $("#result").attr("data-mode", mode);
  }

  function showLive(live) {
    $("#live").prop("checked", live);
  }

  function showDrawingState(empty) {
    $("#pad").toggleClass("is-empty", empty);
    $("#undo").prop("disabled", empty);
  }

  function showBusy() {
    hideMessage();
    clearTimeout(busyTimer);
    $("#result").attr("data-state", "busy").attr("aria-busy", "true");
    busyTimer = setTimeout(() => $("#result").addClass("is-busy"), BUSY_DELAY_MS);
  }

  function settle(state) {
    clearTimeout(busyTimer);
    $("#result").removeClass("is-busy").attr("data-state", state).removeAttr("aria-busy");
  }

  /* `judgement`: {uncertain, alternatives: [{label, probability}]} by the model card's rule,
     or null when the service did not say. */
  function showAnswer({ label, confidence, probabilities, judgement, modelInput, elapsedMs, inferenceMs,
    modelVersion, mode, backend, scrollIntoView = false }) {
    settle("done");
    answersShown += 1;
    const sure = judgement ? String(!judgement.uncertain) : "";
    $("#result").attr({
      "data-mode": mode,
      "data-answers": answersShown,
      "data-sure": sure,
      "data-elapsed-ms": elapsedMs.toFixed(2),
      "data-inference-ms": inferenceMs === undefined ? "" : inferenceMs.toFixed(2),
      "data-model-version": modelVersion || "",
    });
    $("#output").text(label).removeClass("is-empty").toggleClass("is-uncertain", sure === "false");
    $("#confidence").text(describeConfidence(label, confidence, judgement));
    const where = mode === "server" ? "by the recognition service" : `in this browser (${backendName(backend)})`;
    $("#details").text(`Answered in ${formatMs(elapsedMs)} ${where}.`);
    showProbabilities(probabilities);
    showModelInput(modelInput);
    // On a phone the answer sits below the pad: after a press of Recognise, bring it into
    // view (never while drawing, when recognising as one draws).
    if (scrollIntoView) $("#output")[0].scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  /* "It is a 3, 97.2% sure.", "Not sure: a 4 (55.0%) or a 9 (40.0%)?", "Not sure: this may
     not be a digit. Perhaps a 4 (31.0%) or a 9 (22.0%)." */
  function describeConfidence(label, confidence, judgement) {
    if (!judgement) return `Most likely ${withArticle(label)} (${formatPercent(confidence)}).`;
    if (!judgement.uncertain) return `It is ${withArticle(label)}, ${formatPercent(confidence)} sure.`;
    const named = judgement.alternatives.map((alternative) => `${withArticle(alternative.label)} `
      + `(${formatPercent(alternative.probability)})`);
    const choices = named.length > 1 ? `${named.slice(0, -1).join(", ")} or ${named[named.length - 1]}` : named[0];
    if (confidence < FAR_FROM_SURE) return `Not sure: this may not be a digit. Perhaps ${choices}.`;
    return named.length > 1 ? `Not sure: ${choices}?` : `Not sure: probably ${choices}.`;
  }

  function withArticle(label) {
    return /^(8|11|18|80|800)/.test(label) ? `an ${label}` : `a ${label}`;
  }

  function showProbabilities(probabilities) {
    const best = probabilities.indexOf(Math.max(...probabilities));
    $("#probabilities li").each(function (index) {
      const probability = probabilities[index];
      $(this)
        .attr("data-probability", String(probability))
        .attr("title", `${$(this).find(".label").text()}: ${(probability * 100).toFixed(2)}%`)
        .toggleClass("is-best", index === best);
      $(this).find(".fill").css("height", `${Math.max(0, Math.min(1, probability)) * 100}%`);
      $(this).find(".value").text(formatShortPercent(probability))
        .attr("aria-label", `${$(this).find(".label").text()}: ${formatPercent(probability)}`);
    });
  }

  function clearProbabilities() {
    $("#probabilities li").attr("data-probability", "0").removeClass("is-best").removeAttr("title");
    $("#probabilities .fill").css("height", "0%");
    $("#probabilities .value").text("").removeAttr("aria-label");
  }

  /* The model's input (as many pixels a side as its card says) drawn as the model sees it:
     white ink on black. Before any drawing the frame says so, instead of showing a black square. */
  function showModelInput(pixels) {
    const view = $("#model-input")[0];
    const context = view.getContext("2d");
    if (!pixels) {
      context.clearRect(0, 0, view.width, view.height);
      $(view).addClass("is-empty");
      $("#model-view-frame").addClass("is-empty");
      return;
    }
    const side = Math.round(Math.sqrt(pixels.length));
    if (view.width !== side || view.height !== side) {
      view.width = side;
      view.height = side;
    }
    const image = context.createImageData(view.width, view.height);
    for (let i = 0; i < pixels.length; i++) {
      const level = Math.round(pixels[i] * 255);
      image.data.set([level, level, level, 255], i * 4);
    }
    context.putImageData(image, 0, 0);
    $(view).removeClass("is-empty");
    $("#model-view-frame").removeClass("is-empty");
  }

  function showIdle() {
    settle("idle");
    hideMessage();
    clearAnswer("Draw a digit, then press Recognise.");
    showModelInput(null);
  }

  /* No answer on show: `note` where the sentence about it goes. */
  function clearAnswer(note) {
    $("#result").attr("data-sure", "");
    $("#output").text("").addClass("is-empty").removeClass("is-uncertain");
    $("#confidence").text(note);
    $("#details").text("");
    clearProbabilities();
  }

  /* A nudge, not a failure: e.g. recognising an empty pad. */
  function showHint(text) {
    settle("hint");
    showMessage(text, "hint");
  }

  /* `action`: an optional {label, run} offered as a button, e.g. switching mode. */
  function showError(text, action) {
    settle("error");
    clearAnswer("No answer this time.");
    showMessage(text, "error", action);
  }

  function showMessage(text, tone, action) {
    const $message = $("#message").empty().attr("data-tone", tone).prop("hidden", false);
    $("<span>", { class: "message-text", text }).appendTo($message);
    if (action) {
      $("<button>", { type: "button", class: "button small", "data-action": "", text: action.label })
        .data("run", action.run)
        .appendTo($message);
    }
  }

  function hideMessage() {
    $("#message").prop("hidden", true).empty().removeAttr("data-tone");
  }

  function showModelLoading() {
    $("#model-status").text("Loading the model into this browser…").attr("data-state", "loading");
  }

  /* Which backend answers, and where: in a worker, or on the page's main thread when the
     page was opened from disk (or workers are refused) and why the faster ones gave way. */
  function showModelReady({ backend, where, loadMs, warmUpMs, tried = [], fromDisk = false }) {
    const place = where === "worker" ? "in a background worker"
      : fromDisk ? "on the page itself (opened from disk, it may not start workers)"
        : "on the page itself";
    const passedOver = tried.length
      ? ` ${tried.map((attempt) => backendName(attempt.backend)).join(" and ")} would not start here.` : "";
    $("#model-status")
      .text(`Model ready: ${backendName(backend)}, ${place}, loaded in ${formatMs(loadMs + warmUpMs)}.`
        + passedOver)
      .attr({
        "data-state": "ready", "data-backend": backend, "data-where": where,
        "data-load-ms": loadMs.toFixed(1), "data-warm-up-ms": warmUpMs.toFixed(1),
      });
  }

  function showModelFailed() {
    $("#model-status").text("The model is not available in this browser.").attr("data-state", "failed");
  }

  /* The one place the model's version is shown. `network`: DigitsCard.network(card). */
  function showAboutModel(card, network, problem) {
    if (!card) {
      $("#about-model").text(`Model: its description could not be loaded (${problem || "no card"}).`);
      return;
    }
    const accuracy = card.test && typeof card.test.accuracy === "number"
      ? `, ${formatPercent(card.test.accuracy, 2)} right on MNIST's ${Number(card.test.digits || 10000).toLocaleString("en")} test digits`
      : "";
    const described = network.description ? ` (${network.description})` : "";
    $("#about-model")
      .text(`Model ${card.version}${accuracy}. ${network.kind}${network.parameters}${described}.`)
      .attr("data-version", card.version);
  }

  function showAboutService(baseUrl, state) {
    const sameModel = !state.modelVersion || state.modelVersion === state.pageVersion;
    const text = {
      checking: `Recognition service: ${baseUrl} (checking…)`,
      answering: `Recognition service: ${baseUrl} (answering${sameModel ? "" : ` with another model, ${state.modelVersion}`})`,
      unreachable: `Recognition service: ${baseUrl} (not answering; this browser can still recognise digits)`,
    }[state.status];
    $("#about-service").text(text).attr({ "data-api": baseUrl, "data-state": state.status });
  }

  /* Scripts and tests wait for this before drawing. */
  function showPageReady() {
    $("html").attr("data-page-ready", "true");
  }

  function backendName(backend) {
    return { webgl: "WebGL", webgpu: "WebGPU", wasm: "WebAssembly", cpu: "CPU" }[backend] || backend;
  }

  function formatMs(ms) {
    return ms < 1000 ? `${Math.max(1, Math.round(ms))} ms` : `${(ms / 1000).toFixed(1)} s`;
  }

  /* Never "100%": the model is never certain, and rounding should not say it is. */
  function formatPercent(fraction, decimals = 1) {
    const ceiling = 100 - 10 ** -decimals;
    const percent = fraction * 100;
    return percent > ceiling ? `>${ceiling.toFixed(decimals)}%` : `${percent.toFixed(decimals)}%`;
  }

  /* Under each bar: whole percentages, never a bare number. */
  function formatShortPercent(fraction) {
    const percent = fraction * 100;
    if (percent < 0.5) return percent > 0.005 ? "<1%" : "0%";
    if (percent > 99 && percent < 100) return ">99%";
    return `${Math.round(percent)}%`;
  }

  root.DigitsUi = {
    canvas, buildChart, bindControls, showMode, showLive, showDrawingState, showBusy, showAnswer,
    showIdle, showHint, showError, showModelLoading, showModelReady, showModelFailed, showAboutModel,
    showAboutService, showPageReady,
  };
}(window, window.jQuery));
