/*
 * Drawing a digit on the canvas with a mouse, a finger or a pen (pointer events).
 *
 * Strokes are kept as points in fractions of the canvas side, and every frame is painted
 * from them, so the drawing survives resizing and stays sharp at any pixel ratio, and
 * undo is just dropping the last stroke. This module touches only its own canvas.
 *
 *   const pad = DigitsDrawing.create(canvas, { onStrokeEnd, onChange });
 *   pad.isEmpty(); pad.undo(); pad.clear(); pad.imageData(); pad.toDataURL();
 */
(function (root) {
  "use strict";

  // What recognition reads: dark ink on white paper, whatever the screen shows.
  const PAPER = "#ffffff";
  const INK = "#16181d";
  const EXPORT_COLOURS = { paper: PAPER, ink: INK };
  // MNIST strokes are 2-3 pixels in a 20-pixel box; a digit drawn across most of the pad
  // with this pen comes out about as bold after preprocessing.
  const PEN_WIDTH = 0.07;
  // Recognition reads the strokes redrawn at this size (ten times MNIST's side), not the screen's
  // pixels; plenty for a 20-pixel box, and far below the service's 1024-pixel limit.
  const EXPORT_SIZE = 280;

  function create(canvas, { onStrokeEnd = () => {}, onChange = () => {} } = {}) {
    const context = canvas.getContext("2d", { willReadFrequently: true });
    const strokes = [];
    let stroke = null;
    let pointerId = null;
    let penSeen = false;
    let frameRequested = false;
    let screenColours = EXPORT_COLOURS;

    /* The pad's colours on screen come from the style sheet (--pad-paper, --pad-ink), so a
       dark colour scheme gets a dark pad instead of a glaring white one. */
    function readScreenColours() {
      const style = root.getComputedStyle(canvas);
      const paper = style.getPropertyValue("--pad-paper").trim();
      const ink = style.getPropertyValue("--pad-ink").trim();
      screenColours = paper && ink ? { paper, ink } : EXPORT_COLOURS;
    }

    function fitToDisplay() {
      const side = canvas.getBoundingClientRect().width;
      const pixels = Math.max(1, Math.round(side * (root.devicePixelRatio || 1)));
      if (canvas.width !== pixels || canvas.height !== pixels) {
        canvas.width = pixels;
        canvas.height = pixels;
      }
      paint();
    }

    function paint() {
      frameRequested = false;
      render(context, canvas.width, screenColours);
    }

    function render(target, size, { paper, ink }) {
      target.fillStyle = paper;
      target.fillRect(0, 0, size, size);
      target.strokeStyle = ink;
      target.fillStyle = ink;
      target.lineWidth = PEN_WIDTH * size;
      target.lineCap = "round";
      target.lineJoin = "round";
      for (const points of strokes) renderStroke(target, points, size);
    }

    // Quadratic curves through the midpoints between samples smooth out the corners
    // that sparse pointer samples would otherwise leave.
    function renderStroke(target, points, size) {
      const [x0, y0] = points[0];
      if (points.length === 1) {
        target.beginPath();
        target.arc(x0 * size, y0 * size, (PEN_WIDTH * size) / 2, 0, 2 * Math.PI);
        target.fill();
        return;
      }
      target.beginPath();
      target.moveTo(x0 * size, y0 * size);
      for (let i = 1; i < points.length - 1; i++) {
        const [x, y] = points[i];
        const [nextX, nextY] = points[i + 1];
        target.quadraticCurveTo(x * size, y * size, ((x + nextX) / 2) * size, ((y + nextY) / 2) * size);
      }
      const [lastX, lastY] = points[points.length - 1];
      target.lineTo(lastX * size, lastY * size);
      target.stroke();
    }

    /* The drawing at EXPORT_SIZE, whatever the screen: the same strokes give the same
       answer on a phone and on a laptop, and uploads stay small. */
    function exported() {
      const copy = root.document.createElement("canvas");
      copy.width = EXPORT_SIZE;
      copy.height = EXPORT_SIZE;
      const copyContext = copy.getContext("2d", { willReadFrequently: true });
      render(copyContext, EXPORT_SIZE, EXPORT_COLOURS);
      return { copy, copyContext };
    }

    function requestPaint() {
      if (!frameRequested) {
        frameRequested = true;
        root.requestAnimationFrame(paint);
      }
    }

    function pointAt(event) {
      const rect = canvas.getBoundingClientRect();
      return [(event.clientX - rect.left) / rect.width, (event.clientY - rect.top) / rect.height];
    }

    function start(event) {
      if (pointerId !== null || event.button !== 0) return;
      // A resting palm must not draw once a pen has been used.
      if (event.pointerType === "pen") penSeen = true;
      if (penSeen && event.pointerType === "touch") return;
      event.preventDefault();
      pointerId = event.pointerId;
      canvas.setPointerCapture(pointerId);
      stroke = [pointAt(event)];
      strokes.push(stroke);
      requestPaint();
      onChange();
    }

    function move(event) {
      if (event.pointerId !== pointerId) return;
      event.preventDefault();
      // Pens and fast mice report more samples than there are frames; use them all.
      const samples = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
      for (const sample of samples.length ? samples : [event]) stroke.push(pointAt(sample));
      requestPaint();
    }

    function end(event) {
      if (event.pointerId !== pointerId) return;
      if (canvas.hasPointerCapture(pointerId)) canvas.releasePointerCapture(pointerId);
      pointerId = null;
      stroke = null;
      paint();
      onStrokeEnd();
    }

    canvas.addEventListener("pointerdown", start);
    canvas.addEventListener("pointermove", move);
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    canvas.addEventListener("contextmenu", (event) => event.preventDefault());
    if (root.ResizeObserver) new root.ResizeObserver(fitToDisplay).observe(canvas);
    // Zooming changes the pixel ratio without resizing the element.
    root.addEventListener("resize", fitToDisplay);
    if (root.matchMedia) {
      root.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
        readScreenColours();
        paint();
      });
    }
    readScreenColours();
    fitToDisplay();

    return {
      isEmpty: () => strokes.length === 0,
      isDrawing: () => pointerId !== null,
      undo() {
        if (pointerId !== null || !strokes.length) return;
        strokes.pop();
        paint();
        onChange();
      },
      clear() {
        if (pointerId !== null && canvas.hasPointerCapture(pointerId)) canvas.releasePointerCapture(pointerId);
        pointerId = null;
        stroke = null;
        strokes.length = 0;
        paint();
        onChange();
      },
      /* The pixels as the model's preprocessing reads them: {data (RGBA), width, height}. */
      imageData() {
        const { copyContext } = exported();
        return copyContext.getImageData(0, 0, EXPORT_SIZE, EXPORT_SIZE);
      },
      /* The same pixels as a PNG data URL, what the recognition service accepts. */
      toDataURL() {
        return exported().copy.toDataURL("image/png");
      },
    };
  }

  root.DigitsDrawing = { create };
}(window));
