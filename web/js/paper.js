/*
 * Photos of paper: the light and the paper taken out, the ink left in.
 *
 * A step-by-step port of lambda/paper.py (read its docstring for the steps and why), so the
 * page in browser mode finds in a photo the ink the function finds in server mode. Both are
 * held to the same test vectors (tests/vectors/photos/). Pure: no DOM, so node tests it; it
 * needs DigitsPreprocessing (preprocessing.js) loaded first.
 *
 *   inkLevels(data, width, height) -> ink, as DigitsPreprocessing.inkLevels gives it:
 *     {levels, span, top, left, width, height}. A drawing (flat paper, transparency, light
 *     ink on dark, a picture under MIN_SIDE or over MAX_SIDE pixels a side) gets exactly
 *     DigitsPreprocessing.inkLevels's ink; only a photo is normalised.
 *   Throws BlankImageError when there is no ink.
 *
 * Every decision is on whole numbers, or on one division of two, as in Python, so both
 * sides find the same ink, pixel for pixel.
 */
(function (root, factory) {
  if (typeof module === "object" && module.exports) {
    module.exports = factory(module.require("./preprocessing.js")); // node: beside this file
  } else {
    root.DigitsPaper = factory(root.DigitsPreprocessing);
  }
}(typeof self !== "undefined" ? self : this, function (preprocessing) {
  "use strict";

  const { BlankImageError, INK_THRESHOLD, leastLevel } = preprocessing;

  // lambda/paper.py's constants, same names and values (its docstring says what each is for);
  // tests/web/js/paper.test.mjs holds the two equal.
  const CONSTANTS = Object.freeze({
    BACKGROUND_SIDE: 256, // blocks a side, at most
    CLOSING: 20, // the closing's radius is 1/20 of the picture's longer side: strokes are narrower
    LEVELS: 1024, // L's full scale: all the light taken
    NOISE: 41, // out of LEVELS (4 %): below this, the paper's unevenness and noise
    LINE_INK: 61, // out of LEVELS (6 %): what a printed line's pixels hold at least
    LINE_SHARE: 2 / 5, // of the picture's width (or height): a line is at least this long
    LINE_GAP: 5, // rows: a line is thinner than this, and the next line further away
    MAX_TILT: [1, 20], // the lines' slope, at most one row per 20 columns either way
    COARSE: 4, // rows over the picture's width: the first search's steps of slope
    LEAST_THRESHOLD: 154, // out of LEVELS (15 %)
    MOST_THRESHOLD: 461, // out of LEVELS (45 %)
    TABLE_CLOSING: 8, // 1/8 of the longer side: the table around the sheet is at most twice as wide
    TABLE_SHARE: 3, // a block darker than TABLE_SHARE / TABLE_DIVISOR of the paper around it
    TABLE_DIVISOR: 4, // is not paper
    SPECK: 150, // a piece of strong ink smaller than 1/150 of the longer side square is a speck
    FLAT_SHARE: 3 / 4, // of the border at exactly its median's level: a flat paper (a drawing: 84 % at least)
    MIN_SIDE: 64, // pixels: a smaller picture is no photo of a sheet
    MAX_SIDE: 1024, // pixels: the function decodes no larger, nor does the page send
  });
  const {
    BACKGROUND_SIDE, CLOSING, LEVELS, NOISE, LINE_INK, LINE_SHARE, LINE_GAP, MAX_TILT, COARSE, LEAST_THRESHOLD,
    MOST_THRESHOLD, TABLE_CLOSING, TABLE_SHARE, TABLE_DIVISOR, SPECK, FLAT_SHARE, MIN_SIDE, MAX_SIDE,
  } = CONSTANTS;
  const LUMA = [299, 587, 114];
  const LUMA_FULL = 255 * 1000;

  /* The ink of a picture: normalised for the light and the paper when it is a photo. */
  function inkLevels(data, width, height) {
    const grey = photoGrey(data, width, height);
    return grey === null ? preprocessing.inkLevels(data, width, height) : inkOf(grey, width, height);
  }

  /* Step 1: Int32Array grey levels of a photo of dark ink on light paper; null for any other picture. */
  function photoGrey(data, width, height) {
    if (!Number.isInteger(width) || !Number.isInteger(height)) return null;
    if (Math.min(width, height) < MIN_SIDE || Math.max(width, height) > MAX_SIDE) return null;
    const channels = data.length / (width * height);
    if (![1, 3, 4].includes(channels)) return null; // preprocessing says what is wrong
    if (channels === 4) {
      for (let alpha = 3; alpha < data.length; alpha += 4) if (data[alpha] !== 255) return null;
    }
    const rgb = channels > 1;
    const levelOf = rgb
      ? (index) => data[index * channels] * LUMA[0] + data[index * channels + 1] * LUMA[1]
        + data[index * channels + 2] * LUMA[2]
      : (index) => data[index];

    const border = [];
    for (let x = 0; x < width; x++) border.push(levelOf(x), levelOf((height - 1) * width + x));
    for (let y = 1; y < height - 1; y++) border.push(levelOf(y * width), levelOf(y * width + width - 1));
    const ordered = Int32Array.from(border).sort();
    const median = ordered[ordered.length >> 1];
    let flat = 0;
    for (const level of ordered) if (level === median) flat++;
    if (flat >= FLAT_SHARE * ordered.length) return null;

    const grey = new Int32Array(width * height);
    for (let index = 0; index < grey.length; index++) grey[index] = levelOf(index);
    // Paper fills most of a photo of a sheet, whatever lies around it and however the light
    // falls: its lighter quarter is light paper when the ink is dark.
    const sample = [];
    for (let y = 0; y < height; y += 4) for (let x = 0; x < width; x += 4) sample.push(grey[y * width + x]);
    const sorted = Int32Array.from(sample).sort();
    const full = rgb ? LUMA_FULL : 255;
    if (2 * sorted[Math.floor(3 * (sorted.length - 1) / 4)] <= full) return null;
    return grey;
  }

  /* Steps 2-6 on a photo's grey levels. */
  function inkOf(grey, width, height) {
    const longest = Math.max(width, height);
    const block = Math.ceil(longest / BACKGROUND_SIDE);
    const means = blockMeans(grey, width, height, block);
    const background = spread(closing(means, Math.floor(longest / (CLOSING * block))), block, width, height);
    const light = inkShare(grey, background);
    const outside = beyondTheSheet(means, closing(means, Math.floor(longest / (TABLE_CLOSING * block))));
    if (outside !== null) {
      for (let y = 0; y < height; y++) {
        const row = Math.floor(y / block) * means.width;
        for (let x = 0; x < width; x++) if (outside[row + Math.floor(x / block)]) light[y * width + x] = 0;
      }
    }
    withoutLines(light, width, height);
    const threshold = inkThreshold(light);
    const floor = threshold >> 1;
    const span = spanFor(threshold - floor);
    const levels = new Int32Array(light.length);
    for (let index = 0; index < light.length; index++) {
      levels[index] = Math.min(Math.max(light[index] - floor, 0), span);
    }
    withoutBorderPieces(levels, width, height, span);
    return windowOf(levels, width, height, span);
  }

  /* The span that puts INK_THRESHOLD at `strong` levels: the largest whose least strong level is `strong`. */
  function spanFor(strong) {
    let span = Math.trunc(strong / INK_THRESHOLD);
    while (leastLevel(INK_THRESHOLD, span) > strong) span--;
    while (leastLevel(INK_THRESHOLD, span + 1) <= strong) span++;
    return span;
  }

  /* The ink inside the box of its nonzero levels, as preprocessing's inkLevels gives it. */
  function windowOf(levels, width, height, span) {
    let top = height, bottom = -1, left = width, right = -1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (levels[y * width + x] > 0) {
          if (y < top) top = y;
          bottom = y;
          if (x < left) left = x;
          if (x > right) right = x;
        }
      }
    }
    if (bottom < 0) throw new BlankImageError();
    const windowWidth = right - left + 1, windowHeight = bottom - top + 1;
    const window = new Int32Array(windowWidth * windowHeight);
    for (let y = 0; y < windowHeight; y++) {
      window.set(levels.subarray((top + y) * width + left, (top + y) * width + right + 1), y * windowWidth);
    }
    return { levels: window, span, top, left, width: windowWidth, height: windowHeight };
  }

  // --- step 2: the paper's brightness ------------------------------------------------------

  /* {values, width, height}: the floor of the mean of each block x block block (the last
     ones as far as the picture goes). */
  function blockMeans(grey, width, height, block) {
    const columns = Math.ceil(width / block), rows = Math.ceil(height / block);
    const sums = new Float64Array(columns * rows);
    for (let y = 0; y < height; y++) {
      const row = Math.floor(y / block) * columns;
      for (let x = 0; x < width; x++) sums[row + Math.floor(x / block)] += grey[y * width + x];
    }
    const values = new Int32Array(columns * rows);
    for (let r = 0; r < rows; r++) {
      const blockHeight = Math.min(block, height - r * block);
      for (let c = 0; c < columns; c++) {
        const count = blockHeight * Math.min(block, width - c * block);
        values[r * columns + c] = Math.floor(sums[r * columns + c] / count);
      }
    }
    return { values, width: columns, height: rows };
  }

  /* The largest value within `radius` blocks, then the smallest of those within `radius`. */
  function closing(grid, radius) {
    radius = Math.max(1, radius);
    return running(running(grid, radius, Math.max), radius, Math.min);
  }

  /* `combine` (Math.max or Math.min) over each (2 radius + 1)-square window, cut off at the edges. */
  function running({ values, width, height }, radius, combine) {
    const across = new Int32Array(values.length);
    for (let y = 0; y < height; y++) runningLine(values, across, y * width, 1, width, radius, combine);
    const result = new Int32Array(values.length);
    for (let x = 0; x < width; x++) runningLine(across, result, x, width, height, radius, combine);
    return { values: result, width, height };
  }

  /* Along one line of `length` values, `stride` apart from `start`: doubling windows, as
     Python's, log2(window) passes. */
  function runningLine(source, target, start, stride, length, radius, combine) {
    const extreme = combine === Math.max ? -Infinity : Infinity;
    let line = new Float64Array(length + 2 * radius).fill(extreme);
    for (let i = 0; i < length; i++) line[radius + i] = source[start + i * stride];
    const window = 2 * radius + 1;
    let width = 1;
    while (width * 2 <= window) {
      const next = new Float64Array(line.length - width);
      for (let i = 0; i < next.length; i++) next[i] = combine(line[i], line[i + width]);
      line = next;
      width *= 2;
    }
    if (width < window) {
      const next = new Float64Array(line.length - (window - width));
      for (let i = 0; i < next.length; i++) next[i] = combine(line[i], line[i + window - width]);
      line = next;
    }
    for (let i = 0; i < length; i++) target[start + i * stride] = line[i];
  }

  /* Each pixel's B: the least of the (up to) four blocks whose centres surround it. */
  function spread({ values, width: columns, height: rows }, block, width, height) {
    const [columnLow, columnHigh] = taps(width, block, columns);
    const [rowLow, rowHigh] = taps(height, block, rows);
    const background = new Int32Array(width * height);
    for (let y = 0; y < height; y++) {
      const low = rowLow[y] * columns, high = rowHigh[y] * columns;
      for (let x = 0; x < width; x++) {
        background[y * width + x] = Math.min(values[low + columnLow[x]], values[low + columnHigh[x]],
          values[high + columnLow[x]], values[high + columnHigh[x]]);
      }
    }
    return background;
  }

  /* For each pixel, the block whose centre is at or before it and the next (the same at the ends). */
  function taps(length, block, blocks) {
    const low = new Int32Array(length), high = new Int32Array(length);
    for (let x = 0; x < length; x++) {
      const at = Math.floor((2 * x + 1 - block) / (2 * block));
      low[x] = Math.min(Math.max(at, 0), blocks - 1);
      high[x] = Math.min(Math.max(at + 1, 0), blocks - 1);
    }
    return [low, high];
  }

  /* Uint8Array over the blocks: the table around the sheet, or null when there is none. */
  function beyondTheSheet(means, closed) {
    const { width, height } = means;
    const dark = new Uint8Array(width * height);
    for (let index = 0; index < dark.length; index++) {
      dark[index] = means.values[index] * TABLE_DIVISOR < closed.values[index] * TABLE_SHARE ? 1 : 0;
    }
    const { label, touching } = pieces(dark, width, height);
    if (!touching.includes(1)) return null;
    const table = new Int32Array(dark.length);
    for (let index = 0; index < dark.length; index++) table[index] = label[index] >= 0 && touching[label[index]];
    return Uint8Array.from(running({ values: table, width, height }, 1, Math.max).values);
  }

  /* The 8-connected pieces of a mask: each cell's piece (-1 where there is none), each
     piece's area, and whether it touches the mask's edge (1) or not (0). */
  function pieces(mask, width, height) {
    const label = new Int32Array(mask.length).fill(-1);
    const areas = [], touching = [];
    const queue = new Int32Array(mask.length);
    for (let start = 0; start < mask.length; start++) {
      if (!mask[start] || label[start] >= 0) continue;
      const piece = areas.length;
      let head = 0, tail = 0, area = 0, edge = 0;
      label[start] = piece;
      queue[tail++] = start;
      while (head < tail) {
        const index = queue[head++];
        const y = Math.floor(index / width), x = index - y * width;
        area++;
        if (y === 0 || y === height - 1 || x === 0 || x === width - 1) edge = 1;
        for (let dy = -1; dy <= 1; dy++) {
          const ny = y + dy;
          if (ny < 0 || ny >= height) continue;
          for (let dx = -1; dx <= 1; dx++) {
            const nx = x + dx;
            if (nx < 0 || nx >= width) continue;
            const next = ny * width + nx;
            if (mask[next] && label[next] < 0) {
              label[next] = piece;
              queue[tail++] = next;
            }
          }
        }
      }
      areas.push(area);
      touching.push(edge);
    }
    return { label, areas, touching };
  }

  // --- step 3: the ink, the light divided out ---------------------------------------------

  /* L = LEVELS x max(B - G, 0) / B, rounded down. */
  function inkShare(grey, background) {
    const light = new Int32Array(grey.length);
    for (let index = 0; index < grey.length; index++) {
      const taken = Math.max(background[index] - grey[index], 0);
      light[index] = floorDivide(taken * LEVELS, Math.max(background[index], 1));
    }
    return light;
  }

  /* The floor of a / b for whole numbers whose products stay below 2^53. */
  function floorDivide(a, b) {
    let quotient = Math.floor(a / b);
    if (quotient * b > a) quotient--;
    else if ((quotient + 1) * b <= a) quotient++;
    return quotient;
  }

  // --- step 4: printed lines --------------------------------------------------------------

  /* Rows, then columns: each pass sees the picture as `height` rows of `width` pixels, pixel
     (y, x) at y * rowStride + x * stride. */
  function withoutLines(light, width, height) {
    withoutRows(light, height, width, width, 1);
    withoutRows(light, width, height, 1, width);
  }

  function withoutRows(light, height, width, rowStride, stride) {
    const at = (y, x) => y * rowStride + x * stride;
    let count = 0;
    for (let index = 0; index < light.length; index++) if (light[index] >= LINE_INK) count++;
    const ys = new Int32Array(count), xs = new Int32Array(count);
    count = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (light[y * rowStride + x * stride] >= LINE_INK) {
          ys[count] = y;
          xs[count++] = x;
        }
      }
    }
    if (ys.length < LINE_SHARE * width) return;
    const { counts, drift, most } = sharpestProjection(ys, xs, width);
    // A line stands out of the rows LINE_GAP away on either side: the writing, however wide, does not.
    const isLine = new Uint8Array(counts.length);
    for (let i = 0; i < counts.length; i++) {
      const before = i >= LINE_GAP ? counts[i - LINE_GAP] : 0;
      const after = i + LINE_GAP < counts.length ? counts[i + LINE_GAP] : 0;
      isLine[i] = counts[i] - Math.max(before, after) >= LINE_SHARE * width ? 1 : 0;
    }
    for (let start = 0; start < counts.length; start++) {
      if (!isLine[start] || (start > 0 && isLine[start - 1])) continue;
      let end = start;
      while (end + 1 < counts.length && isLine[end + 1]) end++;
      for (let x = 0; x < width; x++) {
        const shift = Math.floor(x * drift / width);
        const top = start - most + shift, bottom = end - most + shift;
        const above = light[at(Math.min(Math.max(top - 1, 0), height - 1), x)];
        const below = light[at(Math.min(Math.max(bottom + 1, 0), height - 1), x)];
        const fill = Math.min(top - 1 >= 0 ? above : below, bottom + 1 < height ? below : above);
        for (let y = Math.max(top, 0); y <= Math.min(bottom, height - 1); y++) light[at(y, x)] = fill;
      }
    }
  }

  /* The counts of pixels on each line of the drift whose lines hold them most sharply: see Python. */
  function sharpestProjection(ys, xs, width) {
    const most = Math.floor(width * MAX_TILT[0] / MAX_TILT[1]);
    let highest = 0;
    for (const y of ys) if (y > highest) highest = y;
    const length = highest + 2 * most + 1;
    const projection = (drift) => {
      const counts = new Int32Array(length);
      for (let i = 0; i < ys.length; i++) counts[ys[i] - Math.floor(xs[i] * drift / width) + most]++;
      let score = 0;
      for (const count of counts) score += count * count;
      return { score, counts };
    };
    const bestOf = (drifts) => {
      let best = null, bestScore = -1;
      for (const drift of drifts) {
        const { score } = projection(drift);
        if (score > bestScore || (score === bestScore
          && (Math.abs(drift) < Math.abs(best) || (Math.abs(drift) === Math.abs(best) && drift < best)))) {
          best = drift;
          bestScore = score;
        }
      }
      return best;
    };
    const range = (from, to, step = 1) => {
      const values = [];
      for (let value = from; value <= to; value += step) values.push(value);
      return values;
    };
    const coarse = bestOf(range(-Math.floor(most / COARSE) * COARSE, most, COARSE));
    const drift = bestOf(range(Math.max(-most, coarse - COARSE + 1), Math.min(most, coarse + COARSE - 1)));
    return { counts: projection(drift).counts, drift, most };
  }

  // --- step 5: the threshold ----------------------------------------------------------------

  /* Otsu's threshold on the histogram of L over pixels of at least NOISE, within bounds. */
  function inkThreshold(light) {
    const histogram = new Float64Array(LEVELS + 1);
    for (const level of light) histogram[Math.min(level, LEVELS)]++;
    let total = 0, whole = 0;
    for (let level = NOISE; level <= LEVELS; level++) {
      total += histogram[level];
      whole += histogram[level] * level;
    }
    if (total === 0) return LEAST_THRESHOLD;
    let below = 0, belowSum = 0, best = -Infinity, threshold = NOISE + 1;
    for (let level = NOISE; level < LEVELS; level++) {
      below += histogram[level];
      belowSum += histogram[level] * level;
      const above = total - below, aboveSum = whole - belowSum;
      let between = -1;
      if (below > 0 && above > 0) {
        const difference = above * belowSum - below * aboveSum;
        between = difference * difference / (below * above);
      }
      if (between > best) {
        best = between;
        threshold = level + 1; // the first level above the lower class
      }
    }
    return Math.min(Math.max(threshold, LEAST_THRESHOLD), MOST_THRESHOLD);
  }

  // --- step 6: what touches the picture's edge, and specks ------------------------------------

  function withoutBorderPieces(levels, width, height, span) {
    const strongLevel = leastLevel(INK_THRESHOLD, span);
    const strong = new Uint8Array(levels.length);
    for (let index = 0; index < levels.length; index++) strong[index] = levels[index] >= strongLevel ? 1 : 0;
    const { label, areas, touching } = pieces(strong, width, height);
    const speck = Math.floor(Math.max(width, height) / SPECK);
    const unwanted = areas.map((area, piece) => area < speck * speck || touching[piece] === 1);
    for (let index = 0; index < levels.length; index++) {
      if (label[index] >= 0 && unwanted[label[index]]) levels[index] = 0;
    }
  }

  return {
    CONSTANTS, inkLevels,
    // The steps, for the tests.
    photoGrey, inkOf,
  };
}));
