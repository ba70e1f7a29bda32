/*
 * Opening a picture to read (a photo of a number on paper, a scan, a screenshot): upright
 * as its EXIF orientation says, no larger than the recognition service reads, and encoded
 * for sending. The same pixels are read in browser mode and sent in server mode, so both
 * modes read one picture and place its boxes alike. No DOM of the page: it draws on
 * canvases of its own.
 *
 *   const picture = await DigitsPicture.open(file);
 *     picture.pixels    ImageData: upright, at most LONGEST_SIDE pixels a side
 *     picture.upload    the same pixels as a data URL, PNG or JPEG (see `uploadOf`)
 *     picture.width, .height, .original: {width, height} (upright, as opened), .shrunk, .name
 *   DigitsPicture.fileIn(dataTransfer) -> the picture of a drop or a paste (its first image
 *     file, else its first file, for the page to refuse in words), or null
 * Rejects with NotAPicture when the file is not a picture this browser can open.
 */
(function (root) {
  "use strict";

  // The service reads a picture at most 1024 pixels a side (lambda/decoding.py, MAX_SIDE) and
  // shrinks a larger one by a whole factor, so 1600 pixels would be read at 800: this size
  // gives it every pixel it can use, and keeps a phone's 12-megapixel photo (2-6 MB) to a
  // body of a few hundred kilobytes.
  const LONGEST_SIDE = 1024;
  const JPEG_QUALITY = 0.9;

  class NotAPicture extends Error {
    constructor(name, reason) {
      super(`${name} ${reason}`);
      this.name = "NotAPicture";
      this.fileName = name;
      this.reason = reason;
    }
  }

  async function open(file) {
    const name = file.name || "The pasted picture";
    if (file.type && !file.type.startsWith("image/")) {
      throw new NotAPicture(name, `is not a picture (${file.type})`);
    }
    let bitmap;
    try {
      // Chromium orients by EXIF by default for <img>, canvas and bitmaps alike; said here
      // for every browser, so a photo taken sideways is read upright.
      bitmap = await root.createImageBitmap(file, { imageOrientation: "from-image" });
    } catch {
      throw new NotAPicture(name, "could not be opened as a picture in this browser");
    }
    try {
      return framed(bitmap, file, name);
    } finally {
      bitmap.close();
    }
  }

  function framed(bitmap, file, name) {
    const original = { width: bitmap.width, height: bitmap.height };
    const scale = Math.min(1, LONGEST_SIDE / Math.max(original.width, original.height));
    const width = Math.max(1, Math.round(original.width * scale));
    const height = Math.max(1, Math.round(original.height * scale));
    const canvas = root.document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext("2d", { willReadFrequently: true });
    // A photo shrunk four times or more: the default (bilinear) filter drops thin strokes.
    context.imageSmoothingQuality = "high";
    context.drawImage(bitmap, 0, 0, width, height);
    const pixels = context.getImageData(0, 0, width, height);
    const shrunk = scale < 1;
    return { pixels, upload: uploadOf(canvas, pixels, file, shrunk), width, height, original, shrunk, name };
  }

  /* PNG keeps a drawing's flat colours and any transparency exactly (as JPEG, a transparent
     background would turn black); a photo, or anything shrunk, goes as JPEG, a tenth of the size. */
  function uploadOf(canvas, pixels, file, shrunk) {
    const lossless = (file.type === "image/png" && !shrunk) || hasTransparency(pixels);
    return lossless ? canvas.toDataURL("image/png") : canvas.toDataURL("image/jpeg", JPEG_QUALITY);
  }

  function hasTransparency({ data }) {
    for (let alpha = 3; alpha < data.length; alpha += 4) {
      if (data[alpha] !== 255) return true;
    }
    return false;
  }

  function fileIn(dataTransfer) {
    const files = dataTransfer ? Array.from(dataTransfer.files || []) : [];
    return files.find((file) => file.type.startsWith("image/")) || files[0] || null;
  }

  root.DigitsPicture = { LONGEST_SIDE, NotAPicture, open, fileIn };
}(window));
