/*
 * Everything the person sees and presses, and nothing else: the other modules never
 * touch the page, they hand their results to these functions.
 */
(function (root, $) {
  "use strict";

  const BUSY_DELAY_MS = 150; // quick answers should not flash a "recognising" state
  const NOT_A_DIGIT = "?"; // shown in a digit's place when the model card's rule says it is none
  const CHART_CAPTION = "Probability of each digit";
  // A number longer than this many characters is set smaller, to stay on one line.
  const LONG_NUMBER = 6;
  const LABEL_ROOM = 0.1;
  const ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
    "eleventh", "twelfth"];

  let busyTimer = null;
  let answersShown = 0;
  let shownDigits = null; // the digits of the answer on show, for choosing the chart's
  let shownPicture = null; // the picture in the pad's place (DigitsPicture.open), or null: the pad
  let shownMode = null;

  function canvas() {
    return $("#canvas")[0];
  }

  /* One bar per class, labelled with the model's class names, in two columns. */
  function buildChart(classes) {
    const $bars = $("#probabilities").empty().css("--rows", String(Math.ceil(classes.length / 2)));
    classes.forEach((label, index) => {
      $("<li>")
        .attr({ "data-digit": index, "data-probability": "0" })
        .append($("<span>", { class: "bar" }).append($("<span>", { class: "fill" })))
        .append($("<span>", { class: "value", text: "" }))
        .append($("<span>", { class: "label", text: label }))
        .appendTo($bars);
    });
  }

  /* `openPicture(file)`: a file chosen, dropped on the drawing's panel, or pasted. */
  function bindControls({ recognise, reset, undo, changeMode, changeLive, openPicture }) {
    $("#recognise").on("click", () => recognise());
    $("#open-picture").on("click", () => $("#picture-input").trigger("click"));
    $("#picture-input").on("change", function () {
      const [file] = this.files;
      this.value = ""; // the same file chosen again is read again
      if (file) openPicture(file);
    });
    bindDrop(openPicture);
    $(root.document).on("paste", (event) => {
      const file = root.DigitsPicture.fileIn(event.originalEvent.clipboardData);
      if (!file) return; // text, say: nothing for the page
      event.preventDefault();
      openPicture(file);
    });
    $("#reset").on("click", () => reset());
    $("#undo").on("click", () => undo());
    $("#mode").on("change", function () { changeMode(this.value); });
    $("#live").on("change", function () { changeLive(this.checked); });
    $("#digits").on("click", "button[data-index]", function () { selectDigit(Number(this.dataset.index)); });
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

  /* Files dragged over the drawing's panel go onto the pad; dropped anywhere else, the
     browser would open the file in place of the page, so there it is refused. */
  function bindDrop(openPicture) {
    const carriesFiles = (event) => {
      const transfer = event.originalEvent.dataTransfer;
      return Boolean(transfer) && Array.from(transfer.types || []).includes("Files");
    };
    const $panel = $(".drawing-panel");
    $panel.on("dragenter dragover", (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      event.originalEvent.dataTransfer.dropEffect = "copy";
      $("#pad").addClass("is-dropping");
    });
    $panel.on("dragleave", (event) => {
      if (!$panel[0].contains(event.originalEvent.relatedTarget)) $("#pad").removeClass("is-dropping");
    });
    $panel.on("drop", (event) => {
      $("#pad").removeClass("is-dropping");
      if (!carriesFiles(event)) return;
      event.preventDefault();
      const file = root.DigitsPicture.fileIn(event.originalEvent.dataTransfer);
      if (file) openPicture(file);
    });
    $(root.document).on("dragover drop", (event) => {
      if (carriesFiles(event) && !$panel[0].contains(event.target)) {
        event.preventDefault();
        event.originalEvent.dataTransfer.dropEffect = "none";
      }
    });
  }

  function showMode(mode) {
    shownMode = mode;
    $("#mode").val(mode);
    $("#result").attr("data-mode", mode);
    if (shownPicture) showPictureNote();
  }

  /* The picture in the pad's place, as it is read (upright, shrunk), until closePicture; the
     ink found in it goes beside it (showInk). */
  function showPicture(picture) {
    shownPicture = picture;
    const view = $("#picture")[0];
    view.width = picture.width;
    view.height = picture.height;
    view.getContext("2d").putImageData(picture.pixels, 0, 0);
    $(view).attr("aria-label", `The picture opened: ${picture.name}`);
    $(".picture-frame").css("--picture-ratio", String(picture.width / picture.height));
    $("#picture-view").prop("hidden", false);
    $("#pad").addClass("shows-picture");
    $("#undo").prop("disabled", true);
    showPictureNote();
    awaitInk();
  }

  /* Beside the picture, an empty frame that says its ink is being found: the picture takes its
     size and place once, and stays there when the ink comes. */
  function awaitInk() {
    $("#ink-view").prop("hidden", false).addClass("is-empty").attr("data-state", "finding")
      .removeAttr("data-mode data-where data-ms");
    $("#ink").attr("aria-label", "The ink in the picture, still being found");
    $("#picture-view").addClass("shows-ink");
  }

  /* "photo.jpg: 4032 × 3024 pixels, shrunk to 1024 × 768 to send it." */
  function showPictureNote() {
    const { name, original, width, height, shrunk } = shownPicture;
    const why = shownMode === "browser" ? "to read it in this browser" : "to send it";
    $("#picture-note").prop("hidden", false).text(shrunk
      ? `${name}: ${dimensions(original)} pixels, shrunk to ${dimensions({ width, height })} ${why}.`
      : `${name}: ${dimensions(original)} pixels.`);
  }

  function dimensions({ width, height }) {
    return `${width} × ${height}`;
  }

  /* The ink a reading found in the picture on show, beside it: DigitsPaper's ink ({levels,
     span, top, left, width, height}: levels / span in [0, 1] inside a window of the picture,
     none outside) drawn dark on white, a pixel's grey 255 - round(255 * level / span) in whole
     numbers, at the picture's size; the digits' boxes are showBoxes's. `mode`, `where` (worker
     or page) and `ms` (how long finding it took) are kept on the figure, for tests and scripts. */
  function showInk(ink, { mode, where, ms }) {
    if (!shownPicture) return;
    const { width, height, name } = shownPicture;
    const view = $("#ink")[0];
    view.width = width;
    view.height = height;
    const context = view.getContext("2d");
    const image = context.createImageData(width, height);
    const { data } = image;
    data.fill(255);
    const { levels, span, top, left } = ink;
    for (let y = 0; y < ink.height; y++) {
      for (let x = 0; x < ink.width; x++) {
        const level = levels[y * ink.width + x];
        if (!level) continue;
        const grey = 255 - Math.floor((510 * level + span) / (2 * span));
        const at = ((top + y) * width + left + x) * 4;
        data[at] = grey;
        data[at + 1] = grey;
        data[at + 2] = grey;
      }
    }
    context.putImageData(image, 0, 0);
    $(view).attr("aria-label", `The ink the reading found in ${name}, its light and paper taken out`);
    $("#ink-view").prop("hidden", false).removeClass("is-empty").attr({
      "data-state": "shown", "data-mode": mode, "data-where": where, "data-ms": ms.toFixed(1),
    });
    $("#picture-view").addClass("shows-ink");
  }

  /* The ink of another reading is on its way: the one shown (if any) stays until it comes. */
  function showFindingInk() {
    $("#ink-view").attr("data-state", "finding");
  }

  /* No ink (a blank sheet), or none that could be found: the picture alone. */
  function hideInk() {
    $("#ink-view").prop("hidden", true).attr("data-state", "none")
      .removeAttr("data-mode data-where data-ms");
    $("#picture-view").removeClass("shows-ink");
  }

  /* Back to the drawing pad. */
  function closePicture() {
    hideInk();
    shownPicture = null;
    $("#picture-view").prop("hidden", true);
    $("#pad").removeClass("shows-picture");
    $("#picture-note").prop("hidden", true).text("");
    $("#picture-boxes, #ink-boxes").empty();
  }

  function showLive(live) {
    $("#live").prop("checked", live);
  }

  /* The drawing changed: its boxes are no longer its digits'. */
  function showDrawingState(empty) {
    $("#pad").toggleClass("is-empty", empty);
    $("#undo").prop("disabled", empty);
    clearBoxes();
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

  /* The answer: `digits`, one per digit in order, each {label, confidence, probabilities,
     judgement, box, modelInput}, where `judgement` is {uncertain, notADigit, alternatives:
     [{label, probability}]} by the model card's rule (null when the service did not say),
     `box` [x, y, width, height] in the pixels of `picture` ({width, height}, the drawing as
     read; null when the boxes would no longer match the pad; a picture opened: its pixels
     as read) and `modelInput` the model's input for that digit (or null). The number shown
     is the digits' labels, with "?" for a mark that is no digit. */
  function showAnswer({ digits, picture, elapsedMs, inferenceMs, modelVersion, mode, backend,
    scrollIntoView = false }) {
    settle("done");
    answersShown += 1;
    const judged = digits.every((digit) => digit.judgement);
    const sure = judged ? String(digits.every((digit) => !digit.judgement.uncertain)) : "";
    const shown = digits.map(shownLabel).join("");
    $("#result").attr({
      "data-mode": mode,
      "data-answers": answersShown,
      "data-sure": sure,
      "data-not-a-digit": String(digits.some(isNotADigit)),
      "data-number": shown,
      "data-digits": digits.length,
      "data-elapsed-ms": elapsedMs.toFixed(2),
      "data-inference-ms": inferenceMs === undefined ? "" : inferenceMs.toFixed(2),
      "data-model-version": modelVersion || "",
    });
    showNumber(digits, sure === "false");
    $(".answer").toggleClass("is-several", digits.length > 1);
    $("#confidence").text(digits.length === 1
      ? describeConfidence(digits[0].label, digits[0].confidence, digits[0].judgement)
      : describeNumber(shown, digits));
    const where = mode === "server" ? "by the recognition service" : `in this browser (${backendName(backend)})`;
    $("#details").text(`Answered in ${formatMs(elapsedMs)} ${where}.`);
    shownDigits = digits;
    showDigitList(digits);
    showModelInputs(digits.map((digit) => digit.modelInput));
    showBoxes(digits, picture);
    selectDigit(leastSure(digits));
    // On a phone the answer sits below the pad: after a press of Recognise, bring it into
    // view (never while drawing, when recognising as one draws).
    if (scrollIntoView) $("#output")[0].scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  /* The number in large type, the digits it is not sure of marked, a "?" for each mark that
     is no digit (then no question mark after the number: the "?" already says it). */
  function showNumber(digits, uncertain) {
    const $output = $("#output").empty().removeClass("is-empty").toggleClass("is-uncertain", uncertain)
      .toggleClass("has-not-a-digit", digits.some(isNotADigit));
    // One line of text (the digits inline in one box), so it reads as one number.
    const $number = $("<span>", { class: "answer-number" }).appendTo($output);
    digits.forEach((digit) => {
      const unsure = digits.length > 1 && isUnsure(digit);
      $("<span>", { text: shownLabel(digit) }).toggleClass("is-unsure", unsure).appendTo($number);
    });
    $output.toggleClass("is-long", $output.text().length > LONG_NUMBER);
  }

  function isUnsure(digit) {
    return Boolean(digit.judgement && digit.judgement.uncertain);
  }

  /* Below the level the model card states, the model's likeliest digit is no reading at all. */
  function isNotADigit(digit) {
    return Boolean(digit.judgement && digit.judgement.notADigit);
  }

  function shownLabel(digit) {
    return isNotADigit(digit) ? NOT_A_DIGIT : digit.label;
  }

  /* The chart starts on the digit the model is least sure of: the one worth a look. */
  function leastSure(digits) {
    return digits.reduce((least, digit, index) => (digit.confidence < digits[least].confidence ? index : least), 0);
  }

  /* "It is a 3, 97.2% sure.", "Not sure: a 4 (55.0%) or a 9 (40.0%)?", "That does not look
     like a digit." (no guesses: below the card's level they would be noise). */
  function describeConfidence(label, confidence, judgement) {
    if (!judgement) return `Most likely ${withArticle(label)} (${formatPercent(confidence)}).`;
    if (!judgement.uncertain) return `It is ${withArticle(label)}, ${formatPercent(confidence)} sure.`;
    if (judgement.notADigit) return "That does not look like a digit.";
    return `Not sure: ${describeDoubt(judgement)}`;
  }

  /* "It is 305, each digit at least 97.0% sure.", or, naming by their places the marks that
     are no digit and the digits it is not sure of, "The third mark does not look like a
     digit. Not sure of the second digit: a 4 (55.0%) or a 9 (40.0%)? Nor of the fourth:
     probably a 1 (87.0%)." */
  function describeNumber(number, digits) {
    const lowest = formatPercent(Math.min(...digits.map((digit) => digit.confidence)));
    const least = lowest.startsWith(">") ? lowest : `at least ${lowest}`;
    if (!digits.every((digit) => digit.judgement)) return `Most likely ${number}, each digit ${least} likely.`;
    const placed = digits.map((digit, index) => ({ ...digit, place: ordinal(index) }));
    const doubts = placed.filter((digit) => isUnsure(digit) && !isNotADigit(digit))
      .map((digit, count) => {
        const whose = count ? `Nor of the ${digit.place}` : `Not sure of the ${digit.place} digit`;
        return `${whose}: ${describeDoubt(digit.judgement)}`;
      });
    const marks = placed.filter(isNotADigit).map((digit) => digit.place);
    if (!marks.length && !doubts.length) return `It is ${number}, each digit ${least} sure.`;
    return [describeMarks(marks, digits.length), ...doubts].filter(Boolean).join(" ");
  }

  /* "The third mark does not look like a digit.", "The first and third marks do not look like
     digits.", "None of these marks looks like a digit." */
  function describeMarks(places, count) {
    if (!places.length) return "";
    if (places.length === count) return "None of these marks looks like a digit.";
    if (places.length === 1) return `The ${places[0]} mark does not look like a digit.`;
    return `The ${places.slice(0, -1).join(", ")} and ${places[places.length - 1]} marks do not look like digits.`;
  }

  /* What an unsure answer may be: "a 4 (55.0%) or a 9 (40.0%)?", "probably a 1 (87.0%)." */
  function describeDoubt(judgement) {
    const named = judgement.alternatives.map((alternative) => `${withArticle(alternative.label)} `
      + `(${formatPercent(alternative.probability)})`);
    const choices = named.length > 1 ? `${named.slice(0, -1).join(", ")} or ${named[named.length - 1]}` : named[0];
    return named.length > 1 ? `${choices}?` : `probably ${choices}.`;
  }

  function withArticle(label) {
    return /^(8|11|18|80|800)/.test(label) ? `an ${label}` : `a ${label}`;
  }

  /* A number has at most twelve digits (the service refuses more, and so does the page's
     reading); past the words, "13th" would still read. */
  function ordinal(index) {
    return ORDINALS[index] || `${index + 1}th`;
  }

  /* With several digits, one button per digit with its confidence; the one pressed is the chart's. */
  function showDigitList(digits) {
    const $list = $("#digits").empty();
    $("#digit-picker").prop("hidden", digits.length < 2);
    if (digits.length < 2) return;
    digits.forEach((digit, index) => {
      const unsure = isUnsure(digit);
      const none = isNotADigit(digit);
      const place = ordinal(index);
      const Place = `${place[0].toUpperCase()}${place.slice(1)}`;
      $("<button>", {
        type: "button",
        class: "digit-choice",
        "data-index": index,
        "aria-pressed": "false",
        "aria-label": none ? `${Place} mark: not a digit`
          : `${Place} digit: ${digit.label}, ${unsure ? "not sure, " : ""}${formatPercent(digit.confidence)}`,
      })
        .toggleClass("is-unsure", unsure)
        .toggleClass("is-not-a-digit", none)
        .append($("<span>", { class: "digit-choice-label", text: shownLabel(digit) }))
        // A mark that is no digit has no confidence worth giving: its likeliest digit is noise.
        .append($("<span>", { class: "digit-choice-confidence", text: none ? "" : formatPercent(digit.confidence) }))
        .appendTo($("<li>").appendTo($list));
    });
  }

  /* The chart, the pressed button, the outlined tile and box: all for digit `index`. */
  function selectDigit(index) {
    const digit = shownDigits && shownDigits[index];
    if (!digit) return;
    const several = shownDigits.length > 1;
    showProbabilities(digit.probabilities, { highlightBest: !isNotADigit(digit) });
    const whose = isNotADigit(digit) ? "mark" : "digit";
    $("#chart-caption").text(several ? `Probability of each digit, for the ${ordinal(index)} ${whose}` : CHART_CAPTION);
    $("#result").attr("data-chart-digit", index);
    $("#digits .digit-choice").each(function () {
      $(this).attr("aria-pressed", String(Number(this.dataset.index) === index));
    });
    $("#model-view-frame .model-input").each(function (tile) {
      $(this).toggleClass("is-selected", several && tile === index);
    });
    $("#pad .digit-box").each(function () {
      $(this).toggleClass("is-selected", several && Number(this.dataset.index) === index);
    });
  }

  /* `highlightBest`: mark the likeliest digit; not for a mark that is no digit, whose
     likeliest digit is no answer. */
  function showProbabilities(probabilities, { highlightBest = true } = {}) {
    const values = Array.from(probabilities);
    const best = highlightBest ? values.indexOf(Math.max(...values)) : -1;
    $("#probabilities li").each(function (index) {
      const probability = values[index];
      const label = $(this).find(".label").text();
      $(this)
        .attr("data-probability", String(probability))
        .css("--probability", String(Math.max(0, Math.min(1, probability))))
        .toggleClass("is-best", index === best);
      $(this).find(".value").text(formatPercent(probability)).attr("aria-label", `${label}: ${formatPercent(probability)}`);
    });
  }

  function clearProbabilities() {
    $("#probabilities li").attr("data-probability", "0").css("--probability", "0").removeClass("is-best");
    $("#probabilities .value").text("").removeAttr("aria-label");
  }

  /* One tile per digit (`inputs`: each digit's model input, or null), or, for null, the
     empty frame that says nothing has been drawn yet instead of showing a black square. */
  function showModelInputs(inputs) {
    const $frame = $("#model-view-frame");
    $frame.find(".model-input").not("#model-input").remove();
    const several = Boolean(inputs) && inputs.length > 1;
    $(".model-view").toggleClass("is-several", several);
    $frame.css("--tiles", several ? String(inputs.length) : "");
    const shown = inputs && inputs.some(Boolean);
    $frame.toggleClass("is-empty", !shown);
    if (!shown) {
      showModelInput($("#model-input")[0], null);
      return;
    }
    inputs.forEach((pixels, index) => {
      const view = index === 0 ? $("#model-input")[0]
        : $("<canvas>", { class: "model-input" }).appendTo($frame)[0];
      showModelInput(view, pixels, several ? ` for the ${ordinal(index)} digit` : "");
    });
  }

  /* One model input (as many pixels a side as the card says) as the model sees it: white
     ink on black. */
  function showModelInput(view, pixels, whose = "") {
    const context = view.getContext("2d");
    if (!pixels) {
      context.clearRect(0, 0, view.width, view.height);
      $(view).addClass("is-empty");
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
    $(view).removeClass("is-empty").attr("aria-label", `The ${side} by ${side} image the model saw${whose}`);
  }

  /* Each digit's box over the drawing, or over the picture opened and the ink found in it, in
     fractions of the picture read, labelled with the digit read above it where there is room
     (LABEL_ROOM of the picture's height), else below. */
  function showBoxes(digits, picture) {
    clearBoxes();
    if (!picture) return;
    const $layer = shownPicture ? $("#picture-boxes, #ink-boxes") : $("#pad-boxes");
    $layer.css("--picture-aspect", `${picture.width} / ${picture.height}`);
    const percent = (value, whole) => `${(100 * value) / whole}%`;
    digits.forEach((digit, index) => {
      if (!digit.box) return;
      const [x, y, width, height] = digit.box;
      $("<div>", { class: "digit-box", "data-index": index })
        .css({
          left: percent(x, picture.width), top: percent(y, picture.height),
          width: percent(width, picture.width), height: percent(height, picture.height),
        })
        .toggleClass("is-unsure", isUnsure(digit))
        .toggleClass("label-below", y < LABEL_ROOM * picture.height && y + height <= (1 - LABEL_ROOM) * picture.height)
        .toggleClass("label-inside", y < LABEL_ROOM * picture.height && y + height > (1 - LABEL_ROOM) * picture.height)
        .append($("<span>", { class: "digit-box-label", text: shownLabel(digit) }))
        .appendTo($layer);
    });
  }

  function showIdle() {
    settle("idle");
    hideMessage();
    clearAnswer("Draw a number, then press Recognise.");
    showModelInputs(null);
  }

  /* No answer on show: `note` where the sentence about it goes. */
  function clearAnswer(note) {
    shownDigits = null;
    $("#result").attr({
      "data-sure": "", "data-not-a-digit": "", "data-number": "", "data-digits": "0", "data-chart-digit": "",
    });
    $("#output").empty().addClass("is-empty").removeClass("is-uncertain has-not-a-digit is-long");
    $(".answer").removeClass("is-several");
    $("#confidence").text(note);
    $("#details").text("");
    $("#digit-picker").prop("hidden", true);
    $("#digits").empty();
    $("#chart-caption").text(CHART_CAPTION);
    clearProbabilities();
    clearBoxes();
  }

  function clearBoxes() {
    $("#pad-boxes, #picture-boxes, #ink-boxes").empty();
  }

  /* A nudge, not a failure: e.g. recognising an empty pad. The nudge is the one thing said:
     the idle sentence under the answer's place would only repeat it. */
  function showHint(text) {
    settle("hint");
    clearAnswer("");
    showModelInputs(null);
    showMessage(text, "hint");
  }

  /* `action`: an optional {label, run} offered as a button, e.g. switching mode. */
  function showError(text, action) {
    settle("error");
    clearAnswer("No answer this time.");
    showModelInputs(null);
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

  /* The model in plain words, with its version (the one place it is shown); how it is built
     on request. `network`: DigitsCard.network(card); `rule`: DigitsCard.uncertainty(card),
     or null. */
  function showAboutModel(card, network, { problem, rule } = {}) {
    if (!card) {
      $("#about-model").text(`Model: its description could not be loaded (${problem || "no card"}).`);
      $("#model-details").prop("hidden", true);
      return;
    }
    const test = card.test || {};
    const accuracy = typeof test.accuracy === "number"
      ? `, ${formatPercent(test.accuracy)} right on MNIST's ${Number(test.digits || 10000).toLocaleString("en")} test digits`
      : "";
    const kind = network.kind.charAt(0).toLowerCase() + network.kind.slice(1);
    $("#about-model").text(`Model ${card.version}: ${kind}${accuracy}.`).attr("data-version", card.version);

    const training = card.training || {};
    const built = [`${network.kind}${network.parameters}${network.description ? `: ${network.description}` : ""}.`];
    if (Number.isInteger(training.epochs) && Number.isInteger(training.train_digits)) {
      built.push(`Trained for ${training.epochs} epochs on ${training.train_digits.toLocaleString("en")} MNIST digits.`);
    }
    if (rule) {
      built.push(`It is not sure of an answer below ${formatPercent(rule.threshold)}`
        + (rule.notADigitBelow ? ` and says a mark is not a digit below ${formatPercent(rule.notADigitBelow)}.` : "."));
    }
    $("#model-build").text(built.join(" "));
    $("#model-details").prop("hidden", false);
  }

  function showAboutService(baseUrl, state) {
    const sameModel = !state.modelVersion || state.modelVersion === state.pageVersion;
    const text = {
      checking: `Recognition service: ${baseUrl} (checking…)`,
      answering: `Recognition service: ${baseUrl} (answering${sameModel ? "" : ` with another model, ${state.modelVersion}`})`,
      unreachable: `Recognition service: ${baseUrl} (not answering; this browser can still recognise digits)`,
      busy: `Recognition service: ${baseUrl} (busy; this browser can still recognise digits)`,
      failing: `Recognition service: ${baseUrl} (failing; this browser can still recognise digits)`,
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

  /* Every percentage on the page, one way: one decimal; never "100.0%" (the model is never
     certain, and rounding should not say it is), nor "0.0%" for what is only small. */
  function formatPercent(fraction) {
    const percent = fraction * 100;
    if (percent > 99.9) return ">99.9%";
    if (percent > 0 && percent < 0.05) return "<0.1%";
    return `${percent.toFixed(1)}%`;
  }

  root.DigitsUi = {
    canvas, buildChart, bindControls, showMode, showLive, showDrawingState, showPicture, showInk, showFindingInk,
    hideInk, closePicture, showBusy,
    showAnswer, showIdle, showHint, showError, showModelLoading, showModelReady, showModelFailed, showAboutModel,
    showAboutService, showPageReady,
  };
}(window, window.jQuery));
