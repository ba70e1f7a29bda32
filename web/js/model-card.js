/*
 * The model card: the one place the page learns what the model is (its classes, its input
 * size, what preprocessing makes for it, its version, the network). The exporter writes it
 * as model/card.json and, for a page opened from disk where fetch() is refused, inside
 * model/model.js.
 *
 *   const card = await DigitsCard.load({ fromDisk });
 *   DigitsCard.classes(card), .inputSize(card), .network(card)
 *   DigitsCard.preprocessing(card) -> {size, box}, what toMnist needs (preprocessing.js)
 *   DigitsCard.uncertainty(card)  -> the rule that says when an answer is not sure (uncertainty.js)
 */
(function (root) {
  "use strict";

  const CARD_URL = "model/card.json";
  const MODEL_SCRIPT = "model/model.js";

  class CardError extends Error {
    constructor(message) {
      super(message);
      this.name = "CardError";
    }
  }

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = root.document.createElement("script");
      script.src = src;
      script.async = true;
      script.onload = () => resolve();
      script.onerror = () => {
        script.remove();
        reject(new CardError(`${src} could not be loaded`));
      };
      root.document.head.appendChild(script);
    });
  }

  /* From disk the card travels with the model in model.js, which browser mode needs anyway. */
  async function loadBundle() {
    if (!root.DIGITS_MODEL) await loadScript(MODEL_SCRIPT);
    const bundle = root.DIGITS_MODEL;
    if (!bundle || !bundle.card) throw new CardError(`${MODEL_SCRIPT} does not hold the model card`);
    return bundle;
  }

  async function load({ fromDisk = false } = {}) {
    if (fromDisk) return (await loadBundle()).card;
    // Revalidated every time (ETag), so a new model's card is seen at once.
    const response = await fetch(CARD_URL, { cache: "no-cache" }).catch(() => null);
    if (!response || !response.ok) {
      throw new CardError(`${CARD_URL} could not be loaded${response ? ` (error ${response.status})` : ""}`);
    }
    return response.json();
  }

  function classes(card) {
    if (!Array.isArray(card.classes) || card.classes.length < 2) throw new CardError("the card names no classes");
    return card.classes.map(String);
  }

  function inputSize(card) {
    const shape = card.input && card.input.shape;
    const size = Array.isArray(shape) ? shape[1] : card.preprocessing && card.preprocessing.size;
    if (!Number.isInteger(size)) throw new CardError("the card gives no input size");
    return size;
  }

  /* The picture this model was trained on: `size` x `size`, the digit scaled to fit `box`. */
  function preprocessing(card) {
    const size = inputSize(card);
    const { size: stated = size, box } = card.preprocessing || {};
    if (stated !== size) {
      throw new CardError(`the card's preprocessing makes ${stated}x${stated} images, `
        + `but its model takes ${size}x${size}`);
    }
    if (!Number.isInteger(box) || box < 1 || box > size) throw new CardError("the card gives no preprocessing box");
    return { size, box };
  }

  /* When an answer is not sure: the card states the rule, and the page never makes one up. */
  function uncertainty(card) {
    try {
      return root.DigitsUncertainty.ruleFromCard(card);
    } catch (error) {
      throw new CardError(error.message);
    }
  }

  /* The network in words, from what the card says it is. */
  function network(card) {
    const architecture = card.architecture || {};
    const name = String(architecture.name || "");
    const kind = /cnn|conv/i.test(name) ? "A convolutional network"
      : /mlp|perceptron/i.test(name) ? "A multilayer perceptron" : "A neural network";
    const parameters = Number.isFinite(architecture.parameters)
      ? ` with ${architecture.parameters.toLocaleString("en")} parameters` : "";
    return { kind, parameters, description: architecture.description || "" };
  }

  root.DigitsCard = { load, loadBundle, loadScript, classes, inputSize, preprocessing, network, uncertainty };
}(window));
