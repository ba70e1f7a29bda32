/*
 * Finding the digits of a written number: which ink belongs to which digit, left to right.
 *
 * A step-by-step port of lambda/segmentation.py (read its docstring for the steps and
 * why), so the page in browser mode reads a number as the function does in server mode.
 * Both are held to the same test vectors (tests/vectors/numbers/). Pure: no DOM, so node
 * tests it; it needs DigitsPreprocessing (preprocessing.js) and DigitsPaper (paper.js: a
 * photo's light and paper taken out) loaded first.
 *
 *   readNumber({data, width, height}, {preprocessing: {size, box},
 *               uncertainty: {threshold, notADigitBelow}, predict, oneDigit, ink})
 *     -> Promise<{digits: [{probabilities, box: [x, y, width, height], modelInput}]}>
 *   `data` holds the drawing's bytes (RGBA as ImageData gives them; grey and RGB work too);
 *   `preprocessing` and `uncertainty` are the model card's (DigitsCard.preprocessing and
 *   DigitsCard.uncertainty give them: the choice weighs a digit the model is not sure of);
 *   `predict(images)` reads candidate digits in one batch (Float32Array(size * size) each)
 *   and resolves to their probabilities: every candidate, then, if the model is not sure of
 *   a narrow part, that part's new candidates in a second batch (step 8 of
 *   lambda/segmentation.py); with `oneDigit`, all the ink is read as one
 *   digit; `ink`, the drawing's ink if it is already found (DigitsPaper.inkLevels of the
 *   same bytes, as the page's ink worker finds a picture's). Rejects with BlankImageError
 *   when there is no ink, TooManyDigits when the drawing holds more than a number may.
 *
 * Every decision of `find` is on whole numbers, so it makes the same pieces, slices and
 * candidates as Python; `choose` adds the same floating-point numbers in the same order.
 */
(function (root, factory) {
  if (typeof module === "object" && module.exports) {
    // node: beside this file
    module.exports = factory(module.require("./preprocessing.js"), module.require("./paper.js"));
  } else {
    root.DigitsSegmentation = factory(root.DigitsPreprocessing, root.DigitsPaper);
  }
}(typeof self !== "undefined" ? self : this, function (preprocessing, paper) {
  "use strict";

  const { BlankImageError, INK_THRESHOLD, leastLevel } = preprocessing;

  // lambda/segmentation.py's constants, same names and values (see its docstring for what
  // each weighs); the Python side may tune them, and tests/web/js/segmentation.test.mjs holds
  // the two equal, as the vectors in tests/vectors/numbers/, made with Python's, hold the results.
  const CONSTANTS = Object.freeze({
    MAX_DIGITS: 12, // digits in one number; more is refused
    MAX_PARTS: 2 * 12, // separate parts before any model call (a broken digit has two)
    MAX_PIECES: 2000, // separate pieces of ink, marks included
    MAX_SLICES: 4 * 12, // slices after cutting: bounds the candidates
    MAX_SLICES_PER_DIGIT: 5, // a digit crossed by its neighbour may be cut into five
    GRID_SIDE: 1024, // cells; the page's pad (a few hundred pixels) is never pooled
    MARK_AREA: 1 / 25, // of the largest piece's area
    MARK_HEIGHT: 0.4, // of the tallest piece's height
    SLIVER_PEAK: 0.9, // of the strongest ink: a fainter piece ...
    SLIVER_RUN: 0.5, // ... whose runs of ink are this much shorter than the others' ...
    SLIVER_WIDTH: 0.35, // ... and which is at most this much as wide as tall is a hairline
    SPLIT_RATIO: 1.2, // a part at least this much wider than tall may hold more than one digit
    LOOK_AGAIN_RATIO: 0.35, // ... and one this wide, if the model is not sure of it whole (step 8)
    MIDDLE_RATIO: 1.2, // ... and more than two: only then may a digit lie in its middle
    MIN_PIECE: 0.1, // of the part's height: the narrowest slice a cut may leave
    CUTS_PER_HEIGHT: 4, // candidate cuts per height of a part's width, at most
    // The reading's score (step 7), in units of log-probability: weights fitted by scripts/fit_choice.py.
    WIDE: 1.0, // heights: a part no wider than this may be an honest unsure answer
    DIGIT_WEIGHT: -0.3856, // each digit
    SECOND_WEIGHT: -0.2196, // x log(the second likeliest digit's probability)
    UNSURE_WEIGHT: -0.1597, // not sure of it, and no honest answer
    HONEST_UNSURE_WEIGHT: 0.0817, // not sure of it, an honest answer
    WIDE_WEIGHT: -0.9632, // x width over height beyond WIDE
    JOIN_WEIGHT: -0.4498, // x the gaps it joins (`Found.joinCost`)
    SLICE_WEIGHT: 0.357, // x the slices it spans beyond one
    INNER_CUT_WEIGHT: 0.6628, // x the cuts inside it
    INNER_STROKE_WEIGHT: 0.3047, // x the strokes those cuts cross
    HEIGHT_WEIGHT: 0.1414, // x its height over the tallest part's
    CUT_PART_WEIGHT: 0.693, // a whole part that was cut
    ONE_IN_NO_DIGIT_WEIGHT: -0.5778, // a 1 inside one part the card calls no digit whole (a W's strokes)
    CUT_FIRST_WEIGHT: -0.468, // the cut before it, for the first stroke it crosses
    CUT_MORE_WEIGHT: 0.0947, // ... and for each other
    ONE_WEIGHT: -0.9192, // read as a 1
    GAP_PENALTY: 0.5,
    GAP_WIDTH_PENALTY: 20.0,
    JOIN_LIMIT: 3.0, // candidates joining parts at a higher cost are not read
  });
  const {
    MAX_DIGITS, MAX_PARTS, MAX_PIECES, MAX_SLICES, MAX_SLICES_PER_DIGIT, GRID_SIDE, MARK_AREA, MARK_HEIGHT, SLIVER_PEAK, SLIVER_RUN, SLIVER_WIDTH, SPLIT_RATIO, LOOK_AGAIN_RATIO,
    MIDDLE_RATIO, MIN_PIECE, CUTS_PER_HEIGHT, WIDE, DIGIT_WEIGHT, SECOND_WEIGHT, UNSURE_WEIGHT, HONEST_UNSURE_WEIGHT, WIDE_WEIGHT,
    JOIN_WEIGHT, SLICE_WEIGHT, INNER_CUT_WEIGHT, INNER_STROKE_WEIGHT, HEIGHT_WEIGHT, CUT_PART_WEIGHT, ONE_IN_NO_DIGIT_WEIGHT,
    CUT_FIRST_WEIGHT, CUT_MORE_WEIGHT, ONE_WEIGHT, GAP_PENALTY,
    GAP_WIDTH_PENALTY, JOIN_LIMIT,
  } = CONSTANTS;

  /* A drawing holding more digits, or separate marks, than one number may have. */
  class TooManyDigits extends Error {
    constructor(found, most, what = "digits") {
      super(`the picture holds ${found} separate ${what}; at most ${most} digits are read at a time: `
        + `draw a number of up to ${most} digits`);
      this.name = "TooManyDigits";
      this.found = found;
      this.most = most;
    }
  }

  /* The number in a drawing, read by `predict` in one batch (two on a second look): see the top of this file. */
  async function readNumber(drawing, { preprocessing: options, uncertainty, predict, oneDigit = false, ink: given } = {}) {
    const sure = uncertainty && uncertainty.threshold;
    checkedThreshold(sure); // the card's, never made up: before any work
    const notADigit = uncertainty.notADigitBelow || 0; // 0: the card states none
    const ink = given || paper.inkLevels(drawing.data, drawing.width, drawing.height);
    let found = oneDigit ? Found.oneDigit(ink) : find(ink);
    // Each candidate read, by what it is made of: {ink, image, probabilities}.
    const read = new Map();
    const readCandidates = async (candidates) => {
      const inks = candidates.map((candidate) => found.candidateInk(candidate));
      const images = inks.map((candidateInk) => preprocessing.digitImage(candidateInk, options));
      const probabilities = await predict(images);
      if (!probabilities || probabilities.length !== images.length) {
        throw new Error(`the model answered for ${probabilities && probabilities.length} of ${images.length} images`);
      }
      candidates.forEach((candidate, at) => read.set(found.key(candidate),
        { ink: inks[at], image: images[at], probabilities: probabilities[at] }));
    };
    // The model's answers for found's candidates, as `choose` takes them.
    const answers = () => {
      const ranked = found.candidates.map((candidate) => topTwo(read.get(found.key(candidate)).probabilities));
      return [ranked.map(({ digit }) => digit), ranked.map(({ top }) => top), ranked.map(({ second }) => second)];
    };
    await readCandidates(found.candidates);
    const [digits, confidences, seconds] = answers();
    let reading = choose(found, digits, confidences, seconds, sure, notADigit);
    const again = oneDigit ? null : lookAgain(found, reading, confidences, sure); // one digit: never cut
    if (again !== null) { // step 8: a second batch, of the new candidates only
      found = again;
      await readCandidates(found.candidates.filter((candidate) => !read.has(found.key(candidate))));
      reading = choose(found, ...answers(), sure, notADigit);
    }
    return {
      digits: reading.map((candidate) => {
        const { ink: candidateInk, image, probabilities } = read.get(found.key(candidate));
        return { probabilities, box: boxOf(candidateInk), modelInput: image };
      }),
    };
  }

  function checkedThreshold(sure) {
    if (typeof sure !== "number" || !(sure > 0 && sure <= 1)) {
      throw new RangeError(`expected the model card's uncertainty threshold (a probability), got ${sure}`);
    }
  }

  /* The likeliest digit (the first of equals), its probability and the second highest. */
  function topTwo(probabilities) {
    let digit = 0, top = -Infinity, second = -Infinity;
    probabilities.forEach((probability, at) => {
      if (probability > top) {
        second = top;
        top = probability;
        digit = at;
      } else if (probability > second) {
        second = probability;
      }
    });
    return { digit, top, second };
  }

  /* A part, or the piece of it between two cut paths: its cells on the grid (Uint8Array,
     row-major; null: all of its part's cells in the box) in its box (`bottom` and `right`
     exclusive). `crossed`: the strokes the path on its left cuts through; 0 at a part's start. */
  function slice(part, top, bottom, left, right, cells, crossed) {
    return { part, top, bottom, left, right, cells, crossed };
  }

  /* What `find` found: the ink, its pieces on the grid, and the candidate digits. */
  class Found {
    constructor(ink, factor, gridShape, runs, parts, partBoxes, slices, candidates) {
      this.ink = ink;
      this.factor = factor; // grid cell = factor x factor pixels of the ink's window
      this.gridShape = gridShape; // {height, width}
      this.runs = runs;
      this.parts = parts; // the pieces of each part, marks included
      this.partBoxes = partBoxes;
      this.slices = slices;
      this.candidates = candidates; // [first slice, last slice], inclusive
      this.labelCells = null;
    }

    /* All the ink as one digit: one slice, one candidate, the whole. */
    static oneDigit(ink) {
      const nothing = new Int32Array(0);
      return new Found(ink, 1, { height: ink.height, width: ink.width },
        { rows: nothing, starts: nothing, ends: nothing, piece: nothing, count: 0 }, [[0]],
        [new Box(0, ink.height - 1, 0, ink.width - 1, ink.height * ink.width)],
        [slice(0, 0, ink.height, 0, ink.width, null, 0)], [[0, 0]]);
    }

    /* Int32Array on the grid: the piece of each cell, -1 where there is no ink; made when a
       candidate other than the whole needs its cells. */
    get labels() {
      if (this.labelCells === null) this.labelCells = labelsOf(this.runs, this.gridShape);
      return this.labelCells;
    }

    /* What a candidate is made of, the same in any Found of the same ink: its part if it is
       exactly one (however it is cut, its ink is the part's), else its slices' places. */
    key([first, last]) {
      if (this.isPart([first, last])) return `part ${this.slices[first].part}`;
      return this.slices.slice(first, last + 1)
        .map(({ part, top, bottom, left, right, crossed }) => [part, top, bottom, left, right, crossed].join(",")).join(";");
    }

    get whole() {
      return [0, this.slices.length - 1];
    }

    /* Whether slices boundary - 1 and boundary are two sides of one cut. */
    isCut(boundary) {
      return this.slices[boundary - 1].part === this.slices[boundary].part;
    }

    /* Whether the candidate is exactly one part: all its slices, nothing joined to it. */
    isPart([first, last]) {
      const part = this.slices[first].part;
      return this.slices.slice(first, last + 1).every((piece) => piece.part === part)
        && (first === 0 || this.slices[first - 1].part !== part)
        && (last === this.slices.length - 1 || this.slices[last + 1].part !== part);
    }

    /* Rows of the candidate's cells on the grid. */
    height([first, last]) {
      const chosen = this.slices.slice(first, last + 1);
      return most(chosen, (piece) => piece.bottom) - least(chosen, (piece) => piece.top);
    }

    /* Width over height of the candidate's cells on the grid. */
    aspect(candidate) {
      const chosen = this.slices.slice(candidate[0], candidate[1] + 1);
      return (most(chosen, (piece) => piece.right) - least(chosen, (piece) => piece.left)) / this.height(candidate);
    }

    /* What it costs to read slices from different parts as one digit: by the gap between them. */
    joinCost([first, last]) {
      let cost = 0.0;
      for (let boundary = first + 1; boundary <= last; boundary++) {
        if (!this.isCut(boundary)) {
          const before = this.slices[boundary - 1], after = this.slices[boundary];
          const gap = Math.max(0, after.left - before.right);
          const height = Math.max(before.bottom - before.top, after.bottom - after.top);
          cost += GAP_PENALTY + GAP_WIDTH_PENALTY * gap / height;
        }
      }
      return cost;
    }

    /* The candidate's cells on the grid, in their box: {mask (Uint8Array), top, left,
       height, width}. */
    cells([first, last]) {
      const chosen = this.slices.slice(first, last + 1);
      const top = least(chosen, (piece) => piece.top), left = least(chosen, (piece) => piece.left);
      const height = most(chosen, (piece) => piece.bottom) - top, width = most(chosen, (piece) => piece.right) - left;
      const mask = new Uint8Array(height * width);
      for (const piece of chosen) {
        const pieceWidth = piece.right - piece.left;
        const cells = piece.cells === null ? this.partCells(piece) : piece.cells;
        for (let y = piece.top; y < piece.bottom; y++) {
          for (let x = piece.left; x < piece.right; x++) {
            if (cells[(y - piece.top) * pieceWidth + x - piece.left]) mask[(y - top) * width + x - left] = 1;
          }
        }
      }
      return { mask, top, left, height, width };
    }

    /* The cells of a whole part's slice (one whose `cells` is null), in its box. */
    partCells(piece) {
      const labels = this.labels, gridWidth = this.gridShape.width;
      const inPart = new Uint8Array(this.runs.count);
      for (const index of this.parts[piece.part]) inPart[index] = 1;
      const width = piece.right - piece.left;
      const cells = new Uint8Array((piece.bottom - piece.top) * width);
      for (let y = piece.top; y < piece.bottom; y++) {
        for (let x = piece.left; x < piece.right; x++) {
          const label = labels[y * gridWidth + x];
          if (label >= 0 && inPart[label]) cells[(y - piece.top) * width + x - piece.left] = 1;
        }
      }
      return cells;
    }

    /* The ink of one candidate digit: its cells' pixels with the faint rim next to them. */
    candidateInk(candidate) {
      const [wholeFirst, wholeLast] = this.whole;
      if (candidate[0] === wholeFirst && candidate[1] === wholeLast) return this.ink;
      const { levels, width: inkWidth, height: inkHeight } = this.ink;
      const factor = this.factor;
      const cells = this.cells(candidate);
      const top = cells.top * factor, left = cells.left * factor;
      const bottom = Math.min(top + cells.height * factor, inkHeight);
      const right = Math.min(left + cells.width * factor, inkWidth);
      const maskWidth = right - left;
      const mask = new Uint8Array((bottom - top) * maskWidth);
      const cellOf = Int32Array.from({ length: maskWidth }, (_, x) => Math.floor(x / factor));
      for (let y = 0; y < bottom - top; y++) {
        const row = Math.floor(y / factor) * cells.width;
        for (let x = 0; x < maskWidth; x++) mask[y * maskWidth + x] = cells.mask[row + cellOf[x]];
      }
      // Grown by one pixel: the antialiased rim, below the threshold, belongs to its stroke.
      const grown = grownByOne(mask, bottom - top, maskWidth); // its (0, 0) is the pixel (top - 1, left - 1)
      const grownTop = Math.max(top - 1, 0), grownBottom = Math.min(bottom + 1, inkHeight);
      const grownLeft = Math.max(left - 1, 0), grownRight = Math.min(right + 1, inkWidth);
      const height = grownBottom - grownTop, width = grownRight - grownLeft;
      const candidateLevels = new Int32Array(height * width);
      for (let y = 0; y < height; y++) {
        const from = (grownTop + y) * inkWidth + grownLeft;
        const grownRow = (grownTop + y - top + 1) * (maskWidth + 2) + grownLeft - left + 1;
        for (let x = 0; x < width; x++) {
          if (grown[grownRow + x]) candidateLevels[y * width + x] = levels[from + x];
        }
      }
      return {
        levels: candidateLevels, span: this.ink.span,
        top: this.ink.top + grownTop, left: this.ink.left + grownLeft, width, height,
      };
    }

    digitImage(candidate, options) {
      return preprocessing.digitImage(this.candidateInk(candidate), options);
    }

    /* [x, y, width, height] of the candidate's ink in the picture. */
    box(candidate) {
      return boxOf(this.candidateInk(candidate));
    }
  }

  /* (height, width) mask -> (height + 2, width + 2): every pixel within one (8-connected) of it. */
  function grownByOne(mask, height, width) {
    const grownWidth = width + 2;
    const rows = new Uint8Array((height + 2) * width); // down the columns first
    for (let y = 0; y < height + 2; y++) {
      for (let k = Math.max(0, y - 2); k <= Math.min(height - 1, y); k++) {
        for (let x = 0; x < width; x++) rows[y * width + x] |= mask[k * width + x];
      }
    }
    const grown = new Uint8Array((height + 2) * grownWidth);
    for (let y = 0; y < height + 2; y++) {
      for (let x = 0; x < grownWidth; x++) {
        let any = 0;
        for (let k = Math.max(0, x - 2); k <= Math.min(width - 1, x); k++) any |= rows[y * width + k];
        grown[y * grownWidth + x] = any;
      }
    }
    return grown;
  }

  function boxOf(ink) {
    const { top, bottom, left, right } = preprocessing.inkBox(ink);
    return [ink.left + left, ink.top + top, right - left + 1, bottom - top + 1];
  }

  // The largest and smallest of `key` over a list, which may be too long to spread into Math.max.
  function most(list, key) {
    return list.reduce((found, item) => Math.max(found, key(item)), -Infinity);
  }

  function least(list, key) {
    return list.reduce((found, item) => Math.min(found, key(item)), Infinity);
  }

  // --- 1-2: the grid and its pieces ------------------------------------------------------

  /* Strong ink, pooled (any ink in a block) to at most GRID_SIDE a side, and the factor:
     {grid: {cells: Uint8Array, height, width}, factor}. */
  function gridOf(ink) {
    const { levels, span, width, height } = ink;
    const strongLevel = leastLevel(INK_THRESHOLD, span);
    const strong = new Uint8Array(levels.length);
    for (let i = 0; i < levels.length; i++) strong[i] = levels[i] >= strongLevel ? 1 : 0;
    const factor = Math.ceil(Math.max(height, width) / GRID_SIDE);
    if (factor === 1) return { grid: { cells: strong, height, width }, factor };
    const pooled = preprocessing.pool(strong, height, width, factor, "max");
    const cells = new Uint8Array(pooled.image.length);
    for (let i = 0; i < cells.length; i++) cells[i] = pooled.image[i] > 0 ? 1 : 0;
    return { grid: { cells, height: pooled.height, width: pooled.width }, factor };
  }

  /* The grid's 8-connected pieces, as the runs of ink that make them, row by row, left to
     right: {rows, starts, ends (exclusive), piece, count}, each run's piece numbered in the
     order of each piece's first run.

     A union-find over the runs in which the smaller root always wins, so that every root is
     its piece's first run, as Python's min-hooking ends with; numbering the roots in run
     order is then Python's numbering. Run a (row r) touches run b (row r + 1) when b starts
     at most at a's end and ends after a's start (8-connected). */
  function pieces({ cells, height, width }) {
    const rows = [], starts = [], ends = [];
    const root = [];
    const find = (run) => {
      while (root[run] !== run) {
        root[run] = root[root[run]];
        run = root[run];
      }
      return run;
    };
    let aboveFirst = 0, aboveEnd = 0; // the runs of the row above
    for (let y = 0; y < height; y++) {
      const rowFirst = rows.length;
      let touching = aboveFirst; // the first run above that this one may touch only moves right
      for (let x = 0; x < width; x++) {
        if (!cells[y * width + x]) continue;
        const start = x;
        while (x < width && cells[y * width + x]) x++;
        const run = rows.length;
        rows.push(y);
        starts.push(start);
        ends.push(x);
        root.push(run);
        while (touching < aboveEnd && ends[touching] < start) touching++;
        for (let other = touching; other < aboveEnd && starts[other] <= x; other++) {
          const one = find(other), two = find(run);
          if (one < two) root[two] = one;
          else if (two < one) root[one] = two;
        }
      }
      [aboveFirst, aboveEnd] = [rowFirst, rows.length];
    }
    const count = rows.length;
    const piece = new Int32Array(count);
    let pieceCount = 0;
    for (let run = 0; run < count; run++) {
      const first = find(run);
      piece[run] = first === run ? pieceCount++ : piece[first];
    }
    return {
      rows: Int32Array.from(rows), starts: Int32Array.from(starts), ends: Int32Array.from(ends), piece, count: pieceCount,
    };
  }

  /* Int32Array on the grid: the piece of each cell, -1 where there is no ink. */
  function labelsOf(runs, { height, width }) {
    const labels = new Int32Array(height * width).fill(-1);
    for (let run = 0; run < runs.rows.length; run++) {
      const row = runs.rows[run] * width;
      labels.fill(runs.piece[run], row + runs.starts[run], row + runs.ends[run]);
    }
    return labels;
  }

  /* A piece's or a part's box on the grid, `bottom` and `right` inclusive. */
  class Box {
    constructor(top, bottom, left, right, area) {
      Object.assign(this, { top, bottom, left, right, area });
    }

    get width() {
      return this.right - this.left + 1;
    }

    get height() {
      return this.bottom - this.top + 1;
    }
  }

  /* Each piece's box and area, from its runs. */
  function boxes(runs) {
    const found = Array.from({ length: runs.count }, () => new Box(Infinity, -1, Infinity, -1, 0));
    for (let run = 0; run < runs.rows.length; run++) {
      const box = found[runs.piece[run]];
      box.top = Math.min(box.top, runs.rows[run]);
      box.bottom = Math.max(box.bottom, runs.rows[run]);
      box.left = Math.min(box.left, runs.starts[run]);
      box.right = Math.max(box.right, runs.ends[run] - 1);
      box.area += runs.ends[run] - runs.starts[run];
    }
    return found;
  }

  // --- 3-4: marks and parts -----------------------------------------------------------------

  /* The ink on the grid of gridOf: each cell's strongest pixel (Int32Array or Float64Array). */
  function gridLevels(ink, factor) {
    return factor === 1 ? ink.levels : preprocessing.pool(ink.levels, ink.height, ink.width, factor, "max").image;
  }

  /* Step 3's faint hairlines, per piece (lambda/segmentation.py's slivers): its strongest ink
     under SLIVER_PEAK of the strongest of all, its runs of ink, on average, under SLIVER_RUN
     of the median of the pieces that are not faint, and its box at most SLIVER_WIDTH as wide
     as tall. */
  function slivers(runs, foundBoxes, levels, gridWidth) {
    const peaks = new Array(runs.count).fill(0), counts = new Array(runs.count).fill(0);
    for (let run = 0; run < runs.rows.length; run++) {
      const row = runs.rows[run] * gridWidth, piece = runs.piece[run];
      for (let at = row + runs.starts[run]; at < row + runs.ends[run]; at++) {
        if (levels[at] > peaks[piece]) peaks[piece] = levels[at];
      }
      counts[piece]++;
    }
    const strongest = Math.max(...peaks);
    const faint = peaks.map((peak) => peak < SLIVER_PEAK * strongest);
    if (!faint.includes(true)) return faint;
    const across = foundBoxes.map((box, piece) => box.area / counts[piece]); // the mean run of each piece
    const typical = across.filter((_, piece) => !faint[piece]).sort((a, b) => a - b);
    const middle = typical.length >> 1;
    const median = typical.length % 2 ? typical[middle] : (typical[middle - 1] + typical[middle]) / 2;
    return faint.map((isFaint, piece) => isFaint && foundBoxes[piece].width <= SLIVER_WIDTH * foundBoxes[piece].height
      && across[piece] < SLIVER_RUN * median);
  }

  /* Steps 3-4: the pieces of each part, left to right, and each part's box. `hairlines`: the
     pieces left out of every part (slivers), or null for none. */
  function partsOf(found, hairlines = null) {
    const largest = most(found, (box) => box.area);
    const tallest = most(found, (box) => box.height);
    const dropped = found.map((_, index) => hairlines !== null && hairlines[index]);
    const marks = found.map((box) => box.area < MARK_AREA * largest || box.height < MARK_HEIGHT * tallest);
    const first = found.findIndex((box) => box.area === largest);
    marks[first] = dropped[first] = false; // the largest piece is never a mark: a part needs one
    dropped.forEach((isDropped, index) => { if (isDropped) marks[index] = false; });
    // Array sort is stable, as Python's sorted: of equal lefts, the lower piece number first.
    const order = found.map((_, index) => index).filter((index) => !marks[index] && !dropped[index])
      .sort((a, b) => found[a].left - found[b].left);
    const parts = [];
    const spans = []; // [left, right] of each part
    for (const index of order) {
      const box = found[index];
      if (spans.length > 0) {
        const span = spans[spans.length - 1];
        const overlap = Math.min(span[1], box.right) - Math.max(span[0], box.left) + 1;
        if (2 * overlap >= Math.min(span[1] - span[0] + 1, box.width)) {
          parts[parts.length - 1].push(index);
          span[1] = Math.max(span[1], box.right);
          continue;
        }
      }
      parts.push([index]);
      spans.push([box.left, box.right]);
    }
    // Refused before the marks join: that would cost marks x parts.
    if (parts.length > MAX_PARTS) throw new TooManyDigits(parts.length, MAX_DIGITS, "marks");
    marks.forEach((mark, index) => {
      if (!mark) return;
      const box = found[index];
      const distances = spans.map(([left, right]) => Math.max(left - box.right, box.left - right, 0));
      parts[distances.indexOf(least(distances, (distance) => distance))].push(index);
    });
    return { parts, partBoxes: parts.map((part) => union(part.map((index) => found[index]))) };
  }

  function union(pieceBoxes) {
    return new Box(least(pieceBoxes, (box) => box.top), most(pieceBoxes, (box) => box.bottom),
      least(pieceBoxes, (box) => box.left), most(pieceBoxes, (box) => box.right),
      pieceBoxes.reduce((sum, box) => sum + box.area, 0));
  }

  // --- 5-6: cuts and slices ------------------------------------------------------------------

  /* Candidate cuts of a part, given its ink per column: the local minima of the ink in
     three columns (a flat minimum at its middle column), at least MIN_PIECE x height from
     either side and from each other, the emptiest first, at most CUTS_PER_HEIGHT x width /
     height of them, for a part that mayHoldSeveral. A cut at column c puts c on the right. */
  function cutColumns(profile, height) {
    const width = profile.length;
    const margin = narrowestSlice(height);
    const summed = Array.from(profile, (value, column) =>
      (column > 0 ? profile[column - 1] : 0) + value + (column < width - 1 ? profile[column + 1] : 0));
    const minima = [];
    let column = 1;
    while (column < width - 1) {
      let end = column;
      while (end + 1 < width - 1 && summed[end + 1] === summed[column]) end++;
      if (summed[column - 1] > summed[column] && summed[end + 1] > summed[column]) {
        minima.push([summed[column], Math.floor((column + end) / 2)]);
      }
      column = end + 1;
    }
    const chosen = [];
    const mostCuts = Math.ceil(CUTS_PER_HEIGHT * width / height);
    minima.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (const [, cut] of minima) {
      if (margin <= cut && cut <= width - margin && chosen.every((other) => Math.abs(cut - other) >= margin)) {
        chosen.push(cut);
        if (chosen.length === mostCuts) break;
      }
    }
    return chosen.sort((a, b) => a - b);
  }

  /* For each cut column c, the path from the part's top row to its bottom row that crosses
     least ink, moving at most one column a row and staying within `band` of c: an
     Int32Array per cut, the first column right of the path on each row. Each row costs
     2 x band + 1 for ink, plus the distance from c. Of equal paths, the one nearest c, then
     the leftmost; of equal steps, straight down, then from the left. `inside` is the part's
     cells, height x width. */
  function cutPaths(inside, height, width, cuts, band) {
    const positions = 2 * band + 1;
    const ink = 2 * band + 1;
    const far = (ink + band + 1) * (height + 1); // more than any path inside the part costs
    const sentinel = far * (height + 1); // beyond the band's ends
    const step = new Float64Array(positions);
    const clipped = new Int32Array(positions);
    // The band's positions nearest c first, then the left one: 0, -1, +1, -2, +2, ...
    const preference = [band];
    for (let distance = 1; distance <= band; distance++) preference.push(band - distance, band + distance);
    return cuts.map((cut) => {
      for (let j = 0; j < positions; j++) {
        const column = cut + j - band;
        step[j] = column >= 0 && column < width ? Math.abs(j - band) : far;
        clipped[j] = Math.min(Math.max(column, 0), width - 1);
      }
      let total = new Float64Array(positions);
      let next = new Float64Array(positions);
      for (let j = 0; j < positions; j++) total[j] = step[j] + ink * inside[clipped[j]];
      const moves = new Int8Array(height * positions);
      for (let row = 1; row < height; row++) {
        for (let j = 0; j < positions; j++) {
          const stay = total[j];
          const fromLeft = j > 0 ? total[j - 1] : sentinel;
          const fromRight = j < positions - 1 ? total[j + 1] : sentinel;
          const best = Math.min(stay, fromLeft, fromRight);
          moves[row * positions + j] = best === stay ? 0 : best === fromLeft ? -1 : 1; // ties in this order
          next[j] = best + step[j] + ink * inside[row * width + clipped[j]];
        }
        [total, next] = [next, total];
      }
      let position = preference[0];
      for (const candidate of preference) if (total[candidate] < total[position]) position = candidate;
      const path = new Int32Array(height);
      for (let row = height - 1; row >= 0; row--) {
        path[row] = cut + position - band;
        position += moves[row * positions + position];
      }
      return path;
    });
  }

  /* Columns a cut must leave on either side of it, and between two cuts, in a part this tall. */
  function narrowestSlice(height) {
    return Math.max(1, Math.ceil(MIN_PIECE * height));
  }

  /* Whether a part is wide enough to be cut (step 5), or, on a second look, cut again (step 8). */
  function mayHoldSeveral(box, lookedAgain = false) {
    const ratio = lookedAgain ? LOOK_AGAIN_RATIO : SPLIT_RATIO;
    return box.width >= ratio * box.height && box.width >= 2 * narrowestSlice(box.height);
  }

  /* Step 8 (lambda/segmentation.py's look_again): the same ink with the parts the reading kept
     whole but the model is not sure of (alone, or inside a digit read unsure that joins them
     to other parts) cut as well, if at least LOOK_AGAIN_RATIO as wide as tall, or null if
     there are none: the reading stands. */
  function lookAgain(found, reading, confidences, sure) {
    const index = new Map(found.candidates.map((candidate, at) => [String(candidate), at]));
    const wholes = wholeParts(found);
    const parts = new Set();
    for (const [first, last] of reading) {
      if (confidences[index.get(String([first, last]))] >= sure) continue;
      // Each part of it that is one slice (not cut yet) and read unsure whole.
      for (let part = found.slices[first].part; part <= found.slices[last].part; part++) {
        const whole = wholes.get(part);
        if (whole[0] === whole[1] && confidences[index.get(String(whole))] < sure
          && mayHoldSeveral(found.partBoxes[part], true)) parts.add(part);
      }
    }
    if (parts.size === 0) return null;
    const again = sliced(new Found(found.ink, found.factor, found.gridShape, found.runs, found.parts, found.partBoxes, [], []), parts);
    return again.slices.length > found.slices.length ? again : null;
  }

  function slicesOf(found, lookedAgain = new Set()) {
    const slices = [];
    let budget = MAX_SLICES - found.parts.length;
    found.parts.forEach((part, index) => {
      const box = found.partBoxes[index];
      if (!mayHoldSeveral(box, lookedAgain.has(index)) || budget <= 0) {
        slices.push(slice(index, box.top, box.bottom + 1, box.left, box.right + 1, null, 0));
        return;
      }
      const height = box.height, width = box.width;
      const pieceOf = new Set(part);
      const inside = new Uint8Array(height * width);
      const profile = new Array(width).fill(0);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          if (pieceOf.has(found.labels[(box.top + y) * found.gridShape.width + box.left + x])) {
            inside[y * width + x] = 1;
            profile[x] += 1;
          }
        }
      }
      const cuts = cutColumns(profile, height).slice(0, budget);
      budget -= cuts.length;
      const band = Math.max(1, Math.floor(narrowestSlice(box.height) / 2));
      const paths = cuts.length > 0 ? cutPaths(inside, height, width, cuts, band) : [];
      const edges = [new Int32Array(height), ...paths, new Int32Array(height).fill(width)];
      for (let k = 0; k + 1 < edges.length; k++) {
        const left = edges[k], right = edges[k + 1];
        const cells = new Uint8Array(height * width);
        for (let y = 0; y < height; y++) {
          for (let x = left[y]; x < right[y]; x++) cells[y * width + x] = inside[y * width + x];
        }
        const used = boundsOf(cells, height, width);
        if (used.bottom < 0) continue;
        let crossed = 0;
        if (left.some((column) => column !== 0)) { // the strokes the path crosses: runs of ink along it
          let previous = 0;
          for (let y = 0; y < height; y++) {
            const onPath = inside[y * width + Math.min(left[y], width - 1)];
            if (onPath && !previous) crossed++;
            previous = onPath;
          }
        }
        const usedWidth = used.right - used.left + 1;
        const sliceCells = new Uint8Array((used.bottom - used.top + 1) * usedWidth);
        for (let y = used.top; y <= used.bottom; y++) {
          sliceCells.set(cells.subarray(y * width + used.left, y * width + used.right + 1), (y - used.top) * usedWidth);
        }
        slices.push(slice(index, box.top + used.top, box.top + used.bottom + 1,
          box.left + used.left, box.left + used.right + 1, sliceCells, crossed));
      }
    });
    return slices;
  }

  /* {top, bottom, left, right}, inclusive, of the set cells of a height x width mask;
     bottom -1 when none is. */
  function boundsOf(mask, height, width) {
    let top = height, bottom = -1, left = width, right = -1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (mask[y * width + x]) {
          if (y < top) top = y;
          bottom = y;
          if (x < left) left = x;
          if (x > right) right = x;
        }
      }
    }
    return { top, bottom, left, right };
  }

  function find(ink) {
    const { grid, factor } = gridOf(ink);
    const runs = pieces(grid);
    const foundBoxes = boxes(runs);
    if (foundBoxes.length === 0) throw new BlankImageError(); // faint marks only
    // Dust or a texture: no number has this many strokes.
    if (foundBoxes.length > MAX_PIECES) throw new TooManyDigits(foundBoxes.length, MAX_DIGITS, "marks");
    const hairlines = foundBoxes.length > 1 ? slivers(runs, foundBoxes, gridLevels(ink, factor), grid.width) : null;
    const { parts, partBoxes } = partsOf(foundBoxes, hairlines);
    return sliced(new Found(ink, factor, { height: grid.height, width: grid.width }, runs, parts, partBoxes, [], []));
  }

  /* Steps 5-6: the found parts cut, and the candidate digits their slices make. */
  function sliced(found, lookedAgain = new Set()) {
    const slices = found.slices = slicesOf(found, lookedAgain);
    const spans = wholeParts(found);
    const twoAtMost = found.partBoxes.map((box) => box.width < MIDDLE_RATIO * box.height);
    // Whether slices first..last lie inside one part that holds at most two digits, touching
    // neither of its ends.
    const inMiddle = (first, last) => {
      const part = slices[first].part;
      return twoAtMost[part] && slices[last].part === part && spans.get(part)[0] < first && last < spans.get(part)[1];
    };
    // Runs of slices that join parts across a gap no digit could make up for are never read,
    // nor a run in the middle of a part with room for two digits only.
    for (let last = 0; last < slices.length; last++) {
      for (let first = Math.max(0, last - MAX_SLICES_PER_DIGIT + 1); first <= last; first++) {
        if (found.joinCost([first, last]) <= JOIN_LIMIT && !inMiddle(first, last)) found.candidates.push([first, last]);
      }
    }
    // A part cut into more slices than one digit may span can still be read whole.
    spans.forEach(([first, last]) => { if (last - first + 1 > MAX_SLICES_PER_DIGIT) found.candidates.push([first, last]); });
    return found;
  }

  // --- 7: the reading kept -----------------------------------------------------------------

  /* Each part's candidate of all its slices (a part's slices are consecutive): part -> [first, last]. */
  function wholeParts(found) {
    const spans = new Map();
    found.slices.forEach((piece, index) => spans.set(piece.part, [spans.has(piece.part) ? spans.get(piece.part)[0] : index, index]));
    return spans;
  }

  /* One candidate's part of a reading's score, the cut before it included (step 7): see
     `candidate_score` in lambda/segmentation.py. */
  function candidateScore(found, candidate, digit, confidence, second, sure, notADigit, tallest, inNoDigit) {
    const [first, last] = candidate;
    const aspect = found.aspect(candidate);
    const isPart = found.isPart(candidate);
    // Unsure of exactly one part no wider than tall, or sure it is no digit: an honest
    // answer. Unsure of anything else: a fragment, or digits that touch.
    const honest = isPart && (aspect <= WIDE || confidence < notADigit);
    const unsure = confidence < sure;
    let innerCuts = 0, innerStrokes = 0;
    for (let boundary = first + 1; boundary <= last; boundary++) {
      if (found.isCut(boundary)) {
        innerCuts += 1;
        innerStrokes += found.slices[boundary].crossed;
      }
    }
    const crossed = first > 0 && found.isCut(first) ? found.slices[first].crossed : 0;
    return Math.log(Math.max(confidence, 1e-12)) + DIGIT_WEIGHT
      + SECOND_WEIGHT * Math.log(Math.max(second, 1e-12))
      + (unsure && !honest ? UNSURE_WEIGHT : 0.0)
      + (unsure && honest ? HONEST_UNSURE_WEIGHT : 0.0)
      + WIDE_WEIGHT * Math.max(0.0, aspect - WIDE)
      + JOIN_WEIGHT * found.joinCost(candidate)
      + SLICE_WEIGHT * (last - first)
      + INNER_CUT_WEIGHT * innerCuts
      + INNER_STROKE_WEIGHT * innerStrokes
      + HEIGHT_WEIGHT * (found.height(candidate) / tallest)
      + (isPart && last > first ? CUT_PART_WEIGHT : 0.0)
      + (inNoDigit && digit === 1 ? ONE_IN_NO_DIGIT_WEIGHT : 0.0)
      + CUT_FIRST_WEIGHT * Math.min(crossed, 1) + CUT_MORE_WEIGHT * Math.max(0, crossed - 1)
      + (digit === 1 ? ONE_WEIGHT : 0.0);
  }

  /* The candidates, left to right, of the best reading: for found.candidates[i], `digits[i]`
     is the model's likeliest digit, `confidences[i]` its probability and `seconds[i]` the
     second likeliest's; `sure`, the card's threshold below which an answer is not sure, and
     `notADigit` the level below which it is no digit at all (0: the card states none). Of
     equal readings, the one with fewer digits. */
  function choose(found, digits, confidences, seconds, sure, notADigit = 0) {
    checkedThreshold(sure);
    for (const [name, answers] of [["digits", digits], ["confidences", confidences], ["seconds", seconds]]) {
      if (!answers || answers.length !== found.candidates.length) {
        throw new RangeError(`expected ${found.candidates.length} ${name}, got ${answers && answers.length}`);
      }
    }
    const count = found.slices.length;
    const best = [0.0, ...new Array(count).fill(-Infinity)];
    const cameFrom = new Array(count + 1).fill(null);
    const tallest = most(found.partBoxes, (box) => box.height);
    const index = new Map(found.candidates.map((candidate, at) => [String(candidate), at]));
    const noDigit = new Set();
    for (const [part, whole] of wholeParts(found)) if (confidences[index.get(String(whole))] < notADigit) noDigit.add(part);
    const scores = found.candidates.map((candidate, at) => {
      const part = found.slices[candidate[0]].part;
      const inNoDigit = noDigit.has(part) && found.slices[candidate[1]].part === part && !found.isPart(candidate);
      return candidateScore(found, candidate, digits[at], confidences[at], seconds[at], sure, notADigit, tallest, inNoDigit);
    });
    const ending = Array.from({ length: count }, () => []);
    const order = found.candidates.map((_, at) => at);
    // Longest first: of equal readings, fewer digits.
    order.sort((a, b) => found.candidates[a][0] - found.candidates[b][0] || found.candidates[a][1] - found.candidates[b][1]);
    for (const at of order) ending[found.candidates[at][1]].push(at);
    for (let end = 1; end <= count; end++) {
      for (const at of ending[end - 1]) {
        const first = found.candidates[at][0];
        const score = best[first] + scores[at];
        if (score > best[end]) {
          best[end] = score;
          cameFrom[end] = found.candidates[at];
        }
      }
    }
    const reading = [];
    for (let end = count; end > 0; end = cameFrom[end][0]) reading.push(cameFrom[end]);
    reading.reverse();
    if (reading.length > MAX_DIGITS) throw new TooManyDigits(reading.length, MAX_DIGITS);
    return reading;
  }

  return {
    CONSTANTS, BlankImageError, TooManyDigits, Found, readNumber, find, choose, lookAgain,
    // The steps, for the tests.
    gridOf, pieces, labelsOf, boxes, partsOf, cutColumns, cutPaths, slicesOf,
  };
}));
