/*
 * Talking to the recognition service: where it is, asking it about a drawing or a picture, and
 * turning every way that can fail into a sentence a person understands.
 *
 * No DOM, so node tests it against a real HTTP server.
 *
 *   apiBaseUrl(pageUrl)                      -> "http://127.0.0.1:3000"
 *   predict(baseUrl, dataUrl, {classes, subject}) -> {number, digits, modelVersion, digit, confidence,
 *                                               probabilities, uncertain, alternatives, notADigit}
 *     number: the digits read, left to right ("2024"); digits: one per digit, in order,
 *     {digit, confidence, probabilities, box: [x, y, width, height] in the picture's pixels,
 *     uncertain, alternatives: [{digit, probability}], notADigit} (uncertain, alternatives
 *     and notADigit when the service says whether it is sure, as for the whole answer;
 *     notADigit: the service's `not_a_digit`, which it sends only when true). The top-level digit, confidence,
 *     probabilities, uncertain and alternatives are the service's answer for one digit (with
 *     several, its least sure); a service that reads one digit only gives those, and then the
 *     one digit has no box. classes: how many the model card names (without it, as many as
 *     the answer gives); subject: what the person sent, as a refusal names it ("drawing", the
 *     default, or "picture").
 *   health(baseUrl)                          -> {status, modelVersion}
 * Failures reject with a ServiceError whose `kind` is "connection", "timeout",
 * "refused" (4xx), "failed" (5xx) or "unreadable", and whose message is for people.
 */
(function (root, factory) {
  if (typeof module === "object" && module.exports) {
    module.exports = factory();
  } else {
    root.DigitsApi = factory();
  }
}(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  // `sam local start-api` listens here; a page opened from disk has no origin of its own.
  const DISK_DEFAULT_URL = "http://127.0.0.1:3000";
  // Long enough for a Lambda cold start behind API Gateway, short enough not to hang.
  const TIMEOUT_MS = 30000;

  class ServiceError extends Error {
    constructor(message, { kind, status = null } = {}) {
      super(message);
      this.name = "ServiceError";
      this.kind = kind;
      this.status = status;
    }
  }

  /* The page's own origin when served over http(s); `?api=URL` overrides; from disk the
     local API. */
  function apiBaseUrl(pageUrl) {
    const url = new URL(pageUrl);
    const override = url.searchParams.get("api");
    if (override) return override.replace(/\/+$/, "");
    if (url.protocol === "http:" || url.protocol === "https:") return url.origin;
    return DISK_DEFAULT_URL;
  }

  async function predict(baseUrl, dataUrl, { classes, subject = "drawing", ...options } = {}) {
    const body = await request(baseUrl, "/predict", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ image: dataUrl }),
    }, { ...options, subject });
    return readPrediction(body, classes);
  }

  async function health(baseUrl, options = {}) {
    const body = await request(baseUrl, "/health", { headers: { Accept: "application/json" } }, options);
    return { status: body && body.status, modelVersion: body && body.model_version };
  }

  async function request(baseUrl, path, init, { fetch = defaultFetch, timeoutMs = TIMEOUT_MS, subject } = {}) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      let response;
      try {
        response = await fetch(baseUrl + path, { ...init, signal: controller.signal });
      } catch {
        throw failureToConnect(baseUrl, controller.signal.aborted, timeoutMs);
      }
      let body = null;
      try {
        body = await response.json();
      } catch {
        if (controller.signal.aborted) throw failureToConnect(baseUrl, true, timeoutMs);
      }
      if (!response.ok) throw refusal(response.status, body, subject);
      return body;
    } finally {
      clearTimeout(timer);
    }
  }

  function defaultFetch(...args) {
    return globalThis.fetch(...args);
  }

  function failureToConnect(baseUrl, timedOut, timeoutMs) {
    if (timedOut) {
      return new ServiceError(
        `The recognition service at ${baseUrl} did not answer within ${describeDuration(timeoutMs)}. Try again in a moment.`,
        { kind: "timeout" });
    }
    return new ServiceError(
      `Connection lost: the recognition service at ${baseUrl} cannot be reached.`,
      { kind: "connection" });
  }

  function describeDuration(ms) {
    return ms >= 1000 ? `${Math.round(ms / 1000)} seconds` : `${ms} ms`;
  }

  function refusal(status, body, subject = "drawing") {
    // FastAPI says why in `detail`; API Gateway's own errors use `message`.
    const reason = describeDetail(body && (body.detail !== undefined ? body.detail : body.message));
    if (status === 429) {
      return new ServiceError("The recognition service is busy. Try again in a moment.", { kind: "failed", status });
    }
    if (status >= 400 && status < 500) {
      const message = reason
        ? `The recognition service could not use the ${subject}: ${reason} (error ${status}).`
        : `The recognition service could not use the ${subject} (error ${status}).`;
      return new ServiceError(message, { kind: "refused", status });
    }
    return new ServiceError(
      `The recognition service failed (error ${status}${reason ? `: ${reason}` : ""}). Try again in a moment.`,
      { kind: "failed", status });
  }

  /* `detail` is a sentence, or FastAPI's list of validation problems. */
  function describeDetail(detail) {
    if (typeof detail === "string") return detail.trim();
    if (Array.isArray(detail)) {
      return detail.map((problem) => (problem && problem.msg) || JSON.stringify(problem)).join("; ");
    }
    return "";
  }

  function unreadable() {
    return new ServiceError("The recognition service sent an answer this page does not understand.",
      { kind: "unreadable" });
  }

  function readPrediction(body, classes) {
    const probabilities = body && body.probabilities;
    const count = classes || (Array.isArray(probabilities) ? probabilities.length : 0);
    const isClass = (digit) => Number.isInteger(digit) && digit >= 0 && digit < count;
    const answer = body && readDigit(body, isClass, count);
    if (!answer) throw unreadable();
    // A service that reads one digit only: that digit is the number, without a box.
    const digits = body.digits === undefined ? [{ ...answer, box: null }] : readDigits(body.digits, isClass, count);
    if (!digits) throw unreadable();
    const number = typeof body.number === "string" ? body.number : digits.map(({ digit }) => digit).join("");
    return { ...answer, number, digits, modelVersion: body.model_version || null };
  }

  /* One digit's answer, {digit, confidence, probabilities[, uncertain, alternatives]}, or null
     when it is not one. */
  function readDigit(entry, isClass, count) {
    const { probabilities } = entry;
    const wellFormed = isClass(entry.digit) && Array.isArray(probabilities) && probabilities.length === count
      && probabilities.every((p) => typeof p === "number" && Number.isFinite(p));
    if (!wellFormed) return null;
    const digit = {
      digit: entry.digit,
      confidence: typeof entry.confidence === "number" ? entry.confidence : probabilities[entry.digit],
      probabilities,
    };
    return typeof entry.uncertain === "boolean" ? { ...digit, ...readJudgement(entry, isClass) } : digit;
  }

  /* The digits of a number, or null when they are not a list of digits. */
  function readDigits(entries, isClass, count) {
    if (!Array.isArray(entries) || !entries.length) return null;
    const digits = entries.map((entry) => entry && readDigit(entry, isClass, count));
    if (!digits.every(Boolean)) return null;
    return digits.map((digit, index) => ({ ...digit, box: readBox(entries[index].box) }));
  }

  /* [x, y, width, height] in pixels, or null: without its box a digit is still shown. */
  function readBox(box) {
    const wellFormed = Array.isArray(box) && box.length === 4
      && box.every((value) => typeof value === "number" && Number.isFinite(value) && value >= 0)
      && box[2] > 0 && box[3] > 0;
    return wellFormed ? box.slice() : null;
  }

  /* Whether the service is sure; when it is not, the digits it may be (at least its answer),
     and whether what it read is a digit at all. */
  function readJudgement(body, isClass) {
    if (!body.uncertain) return { uncertain: false, alternatives: [], notADigit: false };
    const listed = Array.isArray(body.alternatives) ? body.alternatives.filter((alternative) => alternative
      && isClass(alternative.digit)
      && typeof alternative.probability === "number" && Number.isFinite(alternative.probability)) : [];
    const alternatives = listed.length ? listed.map(({ digit, probability }) => ({ digit, probability }))
      : [{ digit: body.digit, probability: body.probabilities[body.digit] }];
    return { uncertain: true, alternatives, notADigit: body.not_a_digit === true };
  }

  return { ServiceError, apiBaseUrl, predict, health };
}));
