/*
 * Turning a drawing into what the model expects, the way MNIST was made.
 *
 * A step-by-step port of lambda/preprocessing.py, so the page in browser mode feeds the
 * model exactly what the function feeds it in server mode. Both are held to the same test
 * vectors (tests/vectors/). Pure: no DOM, no canvas, so node tests it.
 *
 *   toMnist(data, width, height, {size, box}) -> Float32Array(size * size), row-major,
 *   white digit on black in [0, 1]; `data` holds width * height * channels bytes (1 grey,
 *   3 RGB, 4 RGBA, as ImageData gives); `size` and `box` are the model card's (its
 *   preprocessing block: 28 and 20 for MNIST), which the caller reads and passes in.
 *   Throws BlankImageError when there is no ink.
 *
 * toMnist is the two halves Python has, which the number segmentation (segmentation.js)
 * calls apart, with the ink of each digit in between:
 *
 *   inkLevels(data, width, height) -> ink: steps 1-2, {levels, span, top, left, width,
 *     height}: ink = levels / span in [0, 1] (levels an Int32Array, row-major), known
 *     inside a window (width x height, at top, left in the picture) where the picture
 *     differs from its paper; outside it there is no ink at all;
 *   digitImage(ink, {size, box}) -> Float32Array(size * size): steps 3-7.
 *
 * Steps (as in Python; every decision on whole numbers or on one division of two, so
 * both sides decide alike):
 * 1. greyscale in integers (ITU-R 601 luma), alpha composited onto a background opposite
 *    to the ink;
 * 2. the border's median is the paper; ink is measured from it (a light paper means dark
 *    ink), so the result is white on black;
 * 3. crop to the ink's bounding box (ignoring ink below INK_THRESHOLD, then taking in the
 *    antialiased rim), stretch so the brightest pixel is 1;
 * 4. a crop longer than WORK_SIDE is pooled by a whole factor (maximum for thin strokes,
 *    mean otherwise), so the work after it does not grow with the picture;
 * 5. strokes that would end up thinner than MIN_STROKE pixels are thickened;
 * 6. scale the longer side to `box` pixels with an antialiasing triangle filter;
 * 7. place in `size` x `size` so the centre of mass falls on pixel (size / 2, size / 2).
 */
(function (root, factory) {
  if (typeof module === "object" && module.exports) {
    module.exports = factory();
  } else {
    root.DigitsPreprocessing = factory();
  }
}(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  // Thresholds sit between two 8-bit levels and roundings add TIE, as in Python, so that
  // summing or multiplying in another order can never tip a decision the other way.
  const INK_THRESHOLD = 51.5 / 255; // weaker ink is not the digit: noise, ringing, texture
  const HALF_INK = 0.5 + 1 / 1024; // "at least half ink", for measuring strokes
  const TIE = 1e-9;
  const MIN_STROKE = 1.5; // pixels after scaling; MNIST's thinnest test digits measure 1.3
  const LUMA = [299, 587, 114]; // ITU-R 601 luma x 1000, in integers as in Python
  const LUMA_FULL = 255 * 1000;
  const FULL = { 1: 255, 3: LUMA_FULL, 4: LUMA_FULL * 255 }; // the level of white, by channels
  // Crops longer than this are pooled before thickening (the page's own canvas never is).
  const WORK_SIDE = 280;

  class BlankImageError extends Error {
    constructor(message = "no digit found: the image is blank or holds only faint marks") {
      super(message);
      this.name = "BlankImageError";
    }
  }

  function toMnist(data, width, height, options) {
    checkedOptions(options); // before any work on the picture
    return digitImage(inkLevels(data, width, height), options);
  }

  function checkedOptions({ size, box } = {}) {
    if (!Number.isInteger(size) || !Number.isInteger(box) || box < 1 || box > size) {
      throw new RangeError(`expected whole numbers with 1 <= box <= size, got size ${size}, box ${box}`);
    }
    return { size, box };
  }

  /* Steps 3-7 on ink already found: its box, pooling, thickening, scaling and centring.
     segmentation.js calls it with the ink of one digit of a number. */
  function digitImage(ink, options) {
    const { size, box } = checkedOptions(options);
    const { levels, width } = ink;
    const { top, bottom, left, right } = inkBox(ink);

    let cropHeight = bottom - top + 1;
    let cropWidth = right - left + 1;
    let crop = new Float64Array(cropHeight * cropWidth);
    let brightest = 0;
    for (let y = 0; y < cropHeight; y++) {
      for (let x = 0; x < cropWidth; x++) {
        const value = levels[(top + y) * width + left + x];
        crop[y * cropWidth + x] = value;
        if (value > brightest) brightest = value;
      }
    }

    // Step 4: long crops are pooled, by the maximum when strokes are thin, else by the mean.
    let radius = thickeningRadius(crop, cropHeight, cropWidth, brightest, box);
    const factor = Math.ceil(Math.max(cropHeight, cropWidth) / WORK_SIDE);
    let denominator = brightest;
    if (factor > 1) {
      const thin = radius >= 1;
      ({ image: crop, height: cropHeight, width: cropWidth } = pool(crop, cropHeight, cropWidth, factor,
        thin ? "max" : "mean"));
      if (thin) radius = thickeningRadius(crop, cropHeight, cropWidth, brightest, box);
      else denominator = brightest * factor * factor;
    }
    if (radius >= 1) {
      ({ image: crop, height: cropHeight, width: cropWidth } = dilate(crop, cropHeight, cropWidth, radius));
    }
    for (let i = 0; i < crop.length; i++) crop[i] /= denominator;
    return placed(crop, cropHeight, cropWidth, size, box);
  }

  /* Steps 6-7: scale to the box and centre by mass in size x size. */
  function placed(crop, cropHeight, cropWidth, size, box) {
    const scale = box / Math.max(cropHeight, cropWidth);
    const boxHeight = Math.max(1, Math.floor(cropHeight * scale + 0.5 + TIE));
    const boxWidth = Math.max(1, Math.floor(cropWidth * scale + 0.5 + TIE));
    const scaled = resize(crop, cropHeight, cropWidth, boxHeight, boxWidth);

    let total = 0, rowMoment = 0, columnMoment = 0;
    for (let y = 0; y < boxHeight; y++) {
      let rowSum = 0;
      for (let x = 0; x < boxWidth; x++) rowSum += scaled[y * boxWidth + x];
      total += rowSum;
      rowMoment += rowSum * y;
    }
    for (let x = 0; x < boxWidth; x++) {
      let columnSum = 0;
      for (let y = 0; y < boxHeight; y++) columnSum += scaled[y * boxWidth + x];
      columnMoment += columnSum * x;
    }
    const centreRow = rowMoment / total;
    const centreColumn = columnMoment / total;
    const offsetTop = clamp(Math.floor(size / 2 - centreRow + 0.5 + TIE), 0, size - boxHeight);
    const offsetLeft = clamp(Math.floor(size / 2 - centreColumn + 0.5 + TIE), 0, size - boxWidth);

    // Float32Array rounds to nearest, as NumPy's astype(float32) does.
    const digit = new Float32Array(size * size);
    for (let y = 0; y < boxHeight; y++) {
      for (let x = 0; x < boxWidth; x++) {
        const value = scaled[y * boxWidth + x];
        digit[(offsetTop + y) * size + offsetLeft + x] = Math.min(1, Math.max(0, value));
      }
    }
    return digit;
  }

  // --- steps 1-2: grey levels, paper and ink ---------------------------------------------

  /* Steps 1-2, computed only inside the window where the picture differs from its paper.
     Every grey level is a whole number below 2^31 (RGBA: at most 65,025,000), so exact. */
  function inkLevels(data, width, height) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new RangeError(`the image is empty or has an invalid size (${width}x${height})`);
    }
    const channels = data.length / (width * height);
    if (![1, 3, 4].includes(channels)) {
      throw new RangeError(`expected 1, 3 or 4 bytes per pixel for ${width}x${height}, got ${data.length} bytes`);
    }
    const picture = { data, width, height, channels };
    const full = FULL[channels];

    // RGBA needs sums over the whole picture: the window around the corner's colour gives them.
    let window = null, background = 0;
    if (channels === 4) {
      window = windowOf(picture, 0);
      background = backgroundOf(picture, window);
    }

    // The border's median is the paper (paperTwice is twice it, a whole number); ink is
    // measured from it, so grey paper and faded ink still span 0-1, and white digits on
    // black pass through unchanged.
    const border = borderOf(width, height);
    const borderLevels = border.map((pixel) => greyOf(picture, pixel, background));
    // Stable, as NumPy's argsort(kind="stable"): of equal levels, the earlier border pixel first.
    const order = border.map((_, index) => index).sort((a, b) => borderLevels[a] - borderLevels[b] || a - b);
    const count = order.length;
    const paperTwice = borderLevels[order[(count - 1) >> 1]] + borderLevels[order[count >> 1]];
    const darkInk = paperTwice > full;
    // A border pixel with no ink (on the paper's side of the median) marks where the ink is not.
    const paperPixel = border[order[darkInk ? count >> 1 : (count - 1) >> 1]];
    if (channels !== 4 || !samePixel(picture, paperPixel, 0)) window = windowOf(picture, paperPixel);
    if (window === null) throw new BlankImageError();

    const windowWidth = window.right - window.left + 1;
    const windowHeight = window.bottom - window.top + 1;
    const levels = new Int32Array(windowWidth * windowHeight);
    for (let y = 0; y < windowHeight; y++) {
      const row = (window.top + y) * width + window.left;
      for (let x = 0; x < windowWidth; x++) {
        const doubled = 2 * greyOf(picture, row + x, background);
        levels[y * windowWidth + x] = Math.max(0, darkInk ? paperTwice - doubled : doubled - paperTwice);
      }
    }
    return {
      levels, span: darkInk ? paperTwice : 2 * full - paperTwice,
      top: window.top, left: window.left, width: windowWidth, height: windowHeight,
    };
  }

  /* Step 1: the grey level of pixel `index` out of FULL[channels]: the byte, 1000 x luma, or
     for RGBA luma x A composited onto black (background 0) or white (1). */
  function greyOf({ data, channels }, index, background) {
    if (channels === 1) return data[index];
    const at = index * channels;
    const luma = data[at] * LUMA[0] + data[at + 1] * LUMA[1] + data[at + 2] * LUMA[2];
    if (channels === 3) return luma;
    const alpha = data[at + 3];
    return luma * alpha + background * LUMA_FULL * (255 - alpha);
  }

  function samePixel({ data, channels }, one, other) {
    for (let c = 0; c < channels; c++) if (data[one * channels + c] !== data[other * channels + c]) return false;
    return true;
  }

  /* {top, bottom, left, right}, inclusive, of the pixels unlike pixel `paper`; null if none. */
  function windowOf(picture, paper) {
    const { data, width, height, channels } = picture;
    // RGBA pixels compare as one 32-bit word where the bytes allow it.
    const words = channels === 4 && data.byteOffset % 4 === 0
      ? new Uint32Array(data.buffer, data.byteOffset, width * height) : null;
    let top = height, bottom = -1, left = width, right = -1;
    for (let y = 0; y < height; y++) {
      let first = -1, last = -1;
      for (let x = 0, index = y * width; x < width; x++, index++) {
        const differs = words !== null ? words[index] !== words[paper]
          : channels === 1 ? data[index] !== data[paper] : !samePixel(picture, index, paper);
        if (differs) {
          if (first < 0) first = x;
          last = x;
        }
      }
      if (first >= 0) {
        if (top === height) top = y;
        bottom = y;
        left = Math.min(left, first);
        right = Math.max(right, last);
      }
    }
    return bottom < 0 ? null : { top, bottom, left, right };
  }

  /* Step 1's backdrop for RGBA: 0 (black) when the visible pixels are light on average, else 1.
     The sums are exact (below 2^53 for any picture of up to 138 million pixels): the
     window's pixels, plus every other pixel, which equals the corner. */
  function backgroundOf(picture, window) {
    const { data, width, height } = picture;
    let outside = width * height;
    let weighted = 0, coverage = 0;
    if (window !== null) {
      for (let y = window.top; y <= window.bottom; y++) {
        for (let x = window.left; x <= window.right; x++) {
          const index = y * width + x;
          weighted += greyOf(picture, index, 0);
          coverage += data[index * 4 + 3];
        }
      }
      outside -= (window.bottom - window.top + 1) * (window.right - window.left + 1);
    }
    weighted += outside * greyOf(picture, 0, 0);
    coverage += outside * data[3];
    return coverage > 0 && 2 * weighted > LUMA_FULL * coverage ? 0 : 1;
  }

  /* The border's pixel indices: top row, bottom row, left column, right column, corners
     counted twice, as NumPy's concatenation has them. */
  function borderOf(width, height) {
    const border = [];
    for (let x = 0; x < width; x++) border.push(x);
    for (let x = 0; x < width; x++) border.push((height - 1) * width + x);
    for (let y = 0; y < height; y++) border.push(y * width);
    for (let y = 0; y < height; y++) border.push(y * width + width - 1);
    return border;
  }

  // --- step 3: the ink's box -------------------------------------------------------------

  /* The smallest whole level L with L / span >= fraction, as floating point divides it. */
  function leastLevel(fraction, span) {
    let level = Math.max(0, Math.floor(fraction * span) - 1);
    while (level / span < fraction) level++;
    while (level > 0 && (level - 1) / span >= fraction) level--;
    return level;
  }

  /* Step 3: {top, bottom, left, right}, inclusive, of the digit in `ink.levels`: rows and
     columns with ink of at least INK_THRESHOLD, grown by one pixel on each side whose next
     line holds any ink (the antialiased rim, which MNIST keeps inside its box). */
  function inkBox({ levels, span, width, height }) {
    const strong = leastLevel(INK_THRESHOLD, span);
    let top = height, bottom = -1, left = width, right = -1;
    for (let y = 0; y < height; y++) {
      for (let x = 0, index = y * width; x < width; x++, index++) {
        if (levels[index] >= strong) {
          if (y < top) top = y;
          bottom = y;
          if (x < left) left = x;
          if (x > right) right = x;
        }
      }
    }
    if (bottom < 0) throw new BlankImageError();
    const rowHasInk = (y) => {
      for (let x = left; x <= right; x++) if (levels[y * width + x] > 0) return true;
      return false;
    };
    const columnHasInk = (x) => {
      for (let y = top; y <= bottom; y++) if (levels[y * width + x] > 0) return true;
      return false;
    };
    // Each side looks only at the span of the thresholded box, so the order does not matter.
    // Beyond the window there is no ink, so the box never grows out of it.
    return {
      top: top > 0 && rowHasInk(top - 1) ? top - 1 : top,
      bottom: bottom < height - 1 && rowHasInk(bottom + 1) ? bottom + 1 : bottom,
      left: left > 0 && columnHasInk(left - 1) ? left - 1 : left,
      right: right < width - 1 && columnHasInk(right + 1) ? right + 1 : right,
    };
  }

  // --- steps 4-5: pooling and thickening ---------------------------------------------------

  /* Mean stroke width in pixels of the ink at HALF_INK or more of the brightest level:
     2 x area / outline length, the outline counting the image's edges where ink touches them. */
  function strokeWidth(crop, height, width, brightest) {
    const inked = (y, x) => crop[y * width + x] / brightest >= HALF_INK;
    let area = 0, outline = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (inked(y, x)) area++;
        if (y > 0 && inked(y, x) !== inked(y - 1, x)) outline++;
        if (x > 0 && inked(y, x) !== inked(y, x - 1)) outline++;
      }
    }
    for (let x = 0; x < width; x++) outline += inked(0, x) + inked(height - 1, x);
    for (let y = 0; y < height; y++) outline += inked(y, 0) + inked(y, width - 1);
    return (2 * area) / outline;
  }

  /* Step 5's r: how far to widen strokes so that, scaled to `box`, they are MIN_STROKE wide. */
  function thickeningRadius(crop, height, width, brightest, box) {
    const scale = box / Math.max(height, width);
    return Math.floor((MIN_STROKE / scale - strokeWidth(crop, height, width, brightest)) / 2 + 0.5 + TIE);
  }

  /* Step 4: the maximum ("max", thin strokes) or the sum ("mean", divided later) of each
     factor x factor block, the last row and column of blocks completed with paper (0). */
  function pool(crop, height, width, factor, how) {
    const pooledHeight = Math.ceil(height / factor);
    const pooledWidth = Math.ceil(width / factor);
    const image = new Float64Array(pooledHeight * pooledWidth);
    // Whole numbers, so the sums are exact in any order.
    for (let y = 0; y < height; y++) {
      const row = image.subarray(Math.floor(y / factor) * pooledWidth, (Math.floor(y / factor) + 1) * pooledWidth);
      for (let block = 0, x = 0; block < pooledWidth; block++) {
        const end = Math.min(x + factor, width);
        let combined = row[block];
        if (how === "max") {
          for (let at = y * width + x; x < end; x++, at++) if (crop[at] > combined) combined = crop[at];
        } else {
          for (let at = y * width + x; x < end; x++, at++) combined += crop[at];
        }
        row[block] = combined;
      }
    }
    return { image, height: pooledHeight, width: pooledWidth };
  }


  /* Step 5: strokes that scaling would make thinner than MIN_STROKE pixels (a fine pen on
     a big canvas) are widened by a square maximum filter, the crop padded by `radius` on
     each side to make room: {image, height + 2 radius, width + 2 radius}. */
  function dilate(crop, height, width, radius) {
    const paddedHeight = height + 2 * radius;
    const paddedWidth = width + 2 * radius;
    const reach = 2 * radius; // padded row y holds crop rows y - 2 radius .. y (the same for columns)
    // Down the columns first, a whole row at a time; beyond the crop is paper (0).
    const down = new Float64Array(paddedHeight * width);
    for (let y = 0; y < paddedHeight; y++) {
      const row = down.subarray(y * width, (y + 1) * width);
      for (let k = Math.max(0, y - reach); k <= Math.min(height - 1, y); k++) {
        for (let x = 0, from = k * width; x < width; x++, from++) if (crop[from] > row[x]) row[x] = crop[from];
      }
    }
    const image = new Float64Array(paddedHeight * paddedWidth);
    for (let y = 0; y < paddedHeight; y++) {
      const row = y * width;
      for (let x = 0; x < paddedWidth; x++) {
        let most = 0;
        for (let k = Math.max(0, x - reach), last = Math.min(width - 1, x); k <= last; k++) {
          if (down[row + k] > most) most = down[row + k];
        }
        image[y * paddedWidth + x] = most;
      }
    }
    return { image, height: paddedHeight, width: paddedWidth };
  }


  /* Separable triangle-filter resampling, rows first as in `Wr @ image @ Wc.T`. */
  function resize(image, height, width, newHeight, newWidth) {
    const rowTaps = weights(height, newHeight);
    const columnTaps = weights(width, newWidth);

    const rowsResized = new Float64Array(newHeight * width);
    for (let i = 0; i < newHeight; i++) {
      const { low, values } = rowTaps[i];
      for (let x = 0; x < width; x++) {
        let sum = 0;
        for (let t = 0; t < values.length; t++) sum += values[t] * image[(low + t) * width + x];
        rowsResized[i * width + x] = sum;
      }
    }
    const resized = new Float64Array(newHeight * newWidth);
    for (let y = 0; y < newHeight; y++) {
      for (let j = 0; j < newWidth; j++) {
        const { low, values } = columnTaps[j];
        let sum = 0;
        for (let t = 0; t < values.length; t++) sum += rowsResized[y * width + low + t] * values[t];
        resized[y * newWidth + j] = sum;
      }
    }
    return resized;
  }

  /* For each target pixel, Pillow-style bilinear weights over its source taps, summing
     to 1; the filter widens when shrinking so that it antialiases. */
  function weights(source, target) {
    const scale = source / target;
    const support = Math.max(scale, 1);
    const taps = [];
    for (let i = 0; i < target; i++) {
      const centre = (i + 0.5) * scale;
      const low = Math.max(Math.floor(centre - support + 0.5), 0);
      const high = Math.min(Math.floor(centre + support + 0.5), source);
      const values = new Float64Array(high - low);
      let sum = 0;
      for (let tap = low; tap < high; tap++) {
        const value = Math.max(0, 1 - Math.abs(tap + 0.5 - centre) / support);
        values[tap - low] = value;
        sum += value;
      }
      for (let t = 0; t < values.length; t++) values[t] /= sum;
      taps.push({ low, values });
    }
    return taps;
  }

  function clamp(value, low, high) {
    return Math.max(low, Math.min(value, high));
  }

  return {
    BlankImageError, toMnist, inkLevels, digitImage,
    // What the number segmentation (segmentation.js) shares with the steps above.
    INK_THRESHOLD, leastLevel, inkBox, pool,
  };
}));
