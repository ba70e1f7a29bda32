/*
 * Drawing a number (one digit or several) on the canvas with a mouse, a finger or a pen
 * (pointer events).
 *
 * Strokes are kept as points in units of the pad's height, x measured from its middle, and
 * every frame is painted from them, so the drawing survives resizing (on a pad of another
 * shape it keeps its proportions and stays centred) and stays sharp at any pixel ratio, and
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
  // Of the pad's height. MNIST strokes are 2-3 pixels in a 20-pixel box; a digit drawn across
  // most of the pad's height with this pen comes out about as bold after preprocessing.
  const PEN_WIDTH = 0.07;
  // Recognition reads the strokes redrawn this many pixels high (ten times MNIST's side), and as
  // wide as the pad is in proportion, not the screen's pixels: plenty for a 20-pixel box, and
  // far below the service's 1024-pixel limit (the page's pad, twice as wide as high, gives 560).
  const EXPORT_HEIGHT = 280;

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
      const { width, height } = canvas.getBoundingClientRect();
      const ratio = root.devicePixelRatio || 1;
      const pixelsWide = Math.max(1, Math.round(width * ratio));
      const pixelsHigh = Math.max(1, Math.round(height * ratio));
      if (canvas.width !== pixelsWide || canvas.height !== pixelsHigh) {
        canvas.width = pixelsWide;
        canvas.height = pixelsHigh;
      }
      paint();
    }

    function paint() {
      frameRequested = false;
      render(context, canvas.width, canvas.height, screenColours);
    }

    function render(target, width, height, { paper, ink }) {
      target.fillStyle = paper;
      target.fillRect(0, 0, width, height);
      target.strokeStyle = ink;
      target.fillStyle = ink;
      target.lineWidth = PEN_WIDTH * height;
      target.lineCap = "round";
      target.lineJoin = "round";
      const place = ([x, y]) => [width / 2 + x * height, y * height];
      for (const points of strokes) renderStroke(target, points.map(place), PEN_WIDTH * height);
    }

    // Quadratic curves through the midpoints between samples smooth out the corners
    // that sparse pointer samples would otherwise leave. `points` in the target's pixels.
    function renderStroke(target, points, penWidth) {
      const [x0, y0] = points[0];
      if (points.length === 1) {
        target.beginPath();
        target.arc(x0, y0, penWidth / 2, 0, 2 * Math.PI);
        target.fill();
        return;
      }
      target.beginPath();
      target.moveTo(x0, y0);
      for (let i = 1; i < points.length - 1; i++) {
        const [x, y] = points[i];
        const [nextX, nextY] = points[i + 1];
        target.quadraticCurveTo(x, y, (x + nextX) / 2, (y + nextY) / 2);
      }
      const [lastX, lastY] = points[points.length - 1];
      target.lineTo(lastX, lastY);
      target.stroke();
    }

    /* The drawing EXPORT_HEIGHT pixels high and as wide as the pad in proportion, whatever
       the screen: the same strokes give the same answer on a phone and on a laptop, and
       uploads stay small. The width is even, so the pad's middle falls between two pixels
       on every pad and a drawing that fits both is rendered pixel for pixel alike. */
    function exported() {
      const aspect = canvas.width / canvas.height;
      const copy = root.document.createElement("canvas");
      copy.width = 2 * Math.max(1, Math.round((EXPORT_HEIGHT * aspect) / 2));
      copy.height = EXPORT_HEIGHT;
      const copyContext = copy.getContext("2d", { willReadFrequently: true });
      render(copyContext, copy.width, copy.height, EXPORT_COLOURS);
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
      return [(event.clientX - rect.left - rect.width / 2) / rect.height, (event.clientY - rect.top) / rect.height];
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
        const { copy, copyContext } = exported();
        return copyContext.getImageData(0, 0, copy.width, copy.height);
      },
      /* The same pixels as a PNG data URL, what the recognition service accepts. */
      toDataURL() {
        return exported().copy.toDataURL("image/png");
      },
    };
  }

  root.DigitsDrawing = { create };
}(window));
