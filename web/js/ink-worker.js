/*
 * The ink worker: finds the ink of a picture the page reads (DigitsPaper.inkLevels: a photo's
 * light and paper taken out, as the function takes them out) off the page's main thread, where
 * a 1024 x 768 photo would hold the page still for a few hundred milliseconds. app.js starts it
 * with the first picture opened and talks to it:
 *
 *   -> {id, data, width, height}      (data: the picture's RGBA bytes, as ImageData holds them)
 *   <- {id, ink: {levels, span, top, left, width, height}, ms}   (levels transferred; ms: the time
 *                                                                  inkLevels took)
 *      or {id, blank: true} (no ink at all) or {id, error}
 */
"use strict";

self.importScripts("preprocessing.js", "paper.js");

function inkOf({ id, data, width, height }) {
  try {
    const started = performance.now();
    const ink = self.DigitsPaper.inkLevels(data, width, height);
    const ms = performance.now() - started;
    // Its own buffer, whole, so it can be handed over rather than copied.
    const whole = ink.levels.byteOffset === 0 && ink.levels.byteLength === ink.levels.buffer.byteLength;
    const levels = whole ? ink.levels : ink.levels.slice();
    self.postMessage({ id, ink: { ...ink, levels }, ms }, [levels.buffer]);
  } catch (error) {
    if (error instanceof self.DigitsPreprocessing.BlankImageError) self.postMessage({ id, blank: true });
    else self.postMessage({ id, error: (error && error.message) || String(error) });
  }
}

self.onmessage = ({ data }) => inkOf(data);
