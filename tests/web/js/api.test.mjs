// The page's API client (web/js/api.js) against a real HTTP server: where it sends the
// drawing, and what a person reads when the service is down, refuses or fails.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const api = createRequire(import.meta.url)(join(root, "web/js/api.js"));

const PROBABILITIES = [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.62, 0.05, 0.05];
const ONE_PROBABILITIES = [0, 0.99, 0, 0, 0, 0, 0, 0.01, 0, 0];
const ONE = { digit: 1, confidence: 0.99, probabilities: ONE_PROBABILITIES, uncertain: false, box: [40, 60, 30, 160] };
const SEVEN_UNSURE = { digit: 7, confidence: 0.62, probabilities: PROBABILITIES, uncertain: true,
  alternatives: [{ digit: 7, probability: 0.62 }, { digit: 1, probability: 0.3 }] };
const NEAR_UNIFORM = [0.098, 0.097, 0.099, 0.1, 0.099, 0.106, 0.098, 0.097, 0.105, 0.101];
const SCRIBBLE = { digit: 5, confidence: 0.106, probabilities: NEAR_UNIFORM, uncertain: true, not_a_digit: true,
  alternatives: [{ digit: 5, probability: 0.106 }, { digit: 8, probability: 0.105 }, { digit: 9, probability: 0.101 }] };
let server, baseUrl, received;

// Each path answers the way a real service or gateway can.
const routes = {
  "/ok/predict": (res) => json(res, 200, { digit: 7, confidence: 0.62, probabilities: PROBABILITIES, model_version: "v1" }),
  "/blank/predict": (res) => json(res, 422, { detail: "no digit found: the image is blank or holds only faint marks" }),
  "/validation/predict": (res) => json(res, 422, { detail: [{ loc: ["body", "image"], msg: "Field required", type: "missing" }] }),
  "/too-big/predict": (res) => json(res, 413, { detail: "the body is over the 5 MB limit" }),
  "/gateway-throttle/predict": (res) => json(res, 429, { message: "Too Many Requests" }),
  "/crash/predict": (res) => json(res, 500, { detail: "Internal Server Error" }),
  "/html/predict": (res) => { res.writeHead(502, { "Content-Type": "text/html" }); res.end("<h1>Bad gateway</h1>"); },
  "/garbled/predict": (res) => json(res, 200, { digit: 12, probabilities: [1] }),
  "/unsure/predict": (res) => json(res, 200, { digit: 7, confidence: 0.62, probabilities: PROBABILITIES,
    uncertain: true, alternatives: [{ digit: 7, probability: 0.62 }, { digit: 1, probability: 0.3 }], model_version: "v1" }),
  "/sure/predict": (res) => json(res, 200, { digit: 7, confidence: 0.62, probabilities: PROBABILITIES,
    uncertain: false, model_version: "v1" }),
  // A number: the top-level fields are its least sure digit's.
  "/number/predict": (res) => json(res, 200, { ...SEVEN_UNSURE, uncertain: true, number: "17", model_version: "v1",
    digits: [ONE, { ...SEVEN_UNSURE, box: [150, 50, 90, 170] }] }),
  "/number-without-boxes/predict": (res) => json(res, 200, { ...SEVEN_UNSURE, number: "17",
    digits: [{ ...ONE, box: undefined }, { ...SEVEN_UNSURE, box: [1, 2, 0, 4] }] }),
  "/number-garbled/predict": (res) => json(res, 200, { ...SEVEN_UNSURE, number: "17",
    digits: [ONE, { digit: 7, probabilities: [1] }] }),
  "/number-empty/predict": (res) => json(res, 200, { ...SEVEN_UNSURE, number: "", digits: [] }),
  // A 1, then a mark the service says is no digit (it sends not_a_digit only when true).
  "/number-with-a-mark/predict": (res) => json(res, 200, { ...SCRIBBLE, uncertain: true, not_a_digit: true,
    number: "15", model_version: "v1", digits: [ONE, { ...SCRIBBLE, box: [150, 50, 90, 170] }] }),
  "/slow/predict": () => {},
  "/ok/health": (res) => json(res, 200, { status: "ok", model_version: "v1" }),
};

function json(res, status, body) {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}

before(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => { body += chunk; });
    req.on("end", () => {
      received = { method: req.method, url: req.url, contentType: req.headers["content-type"], body };
      (routes[req.url] || ((r) => json(r, 404, { detail: "Not Found" })))(res);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${server.address().port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

test("the service is the page's own origin when the page is served", () => {
  assert.equal(api.apiBaseUrl("http://127.0.0.1:8000/"), "http://127.0.0.1:8000");
  assert.equal(api.apiBaseUrl("https://digits.example.com/index.html?x=1#top"), "https://digits.example.com");
});

test("a page opened from disk talks to sam local start-api", () => {
  assert.equal(api.apiBaseUrl("file:///home/me/mnist-digit-classifier/web/index.html"), "http://127.0.0.1:3000");
});

test("?api= overrides the service, served or from disk", () => {
  const override = encodeURIComponent("https://abc123.execute-api.eu-west-1.amazonaws.com/");
  assert.equal(api.apiBaseUrl(`http://127.0.0.1:8000/?api=${override}`), "https://abc123.execute-api.eu-west-1.amazonaws.com");
  assert.equal(api.apiBaseUrl(`file:///web/index.html?api=${override}&mode=server`), "https://abc123.execute-api.eu-west-1.amazonaws.com");
});

test("the drawing is posted as {image: data URL} and the answer read", async () => {
  const answer = await api.predict(`${baseUrl}/ok`, "data:image/png;base64,iVBORw0KGgo=");
  // A service that reads one digit only: that digit is the number, without a box.
  const seven = { digit: 7, confidence: 0.62, probabilities: PROBABILITIES };
  assert.deepEqual(answer, { ...seven, modelVersion: "v1", number: "7", digits: [{ ...seven, box: null }] });
  assert.equal(received.method, "POST");
  assert.equal(received.contentType, "application/json");
  assert.deepEqual(JSON.parse(received.body), { image: "data:image/png;base64,iVBORw0KGgo=" });
});

test("whether the service is sure, and its alternatives, are read when it says them", async () => {
  const unsure = await api.predict(`${baseUrl}/unsure`, "data:,");
  assert.equal(unsure.uncertain, true);
  assert.deepEqual(unsure.alternatives, [{ digit: 7, probability: 0.62 }, { digit: 1, probability: 0.3 }]);
  assert.equal(unsure.notADigit, false, "not_a_digit is sent only when true");
  const sure = await api.predict(`${baseUrl}/sure`, "data:,");
  assert.equal(sure.uncertain, false);
  assert.deepEqual(sure.alternatives, []);
  assert.equal(sure.notADigit, false);
  assert.equal("uncertain" in await api.predict(`${baseUrl}/ok`, "data:,"), false);
});

test("a number is read digit by digit, each with its judgement and box", async () => {
  const answer = await api.predict(`${baseUrl}/number`, "data:,");
  assert.equal(answer.number, "17");
  assert.deepEqual(answer.digits, [
    { digit: 1, confidence: 0.99, probabilities: ONE_PROBABILITIES, uncertain: false, alternatives: [],
      notADigit: false, box: [40, 60, 30, 160] },
    { ...SEVEN_UNSURE, notADigit: false, box: [150, 50, 90, 170] },
  ]);
  // The one-digit fields are read as before: here the least sure digit's.
  assert.equal(answer.digit, 7);
  assert.equal(answer.uncertain, true);
});

test("a mark the service says is no digit is read as such, with its guesses kept apart", async () => {
  const answer = await api.predict(`${baseUrl}/number-with-a-mark`, "data:,");
  assert.deepEqual(answer.digits.map(({ digit, uncertain, notADigit }) => [digit, uncertain, notADigit]),
    [[1, false, false], [5, true, true]]);
  assert.deepEqual(answer.digits[1].alternatives, SCRIBBLE.alternatives);
  assert.equal(answer.notADigit, true);
});

test("a digit without a sound box is still read, without its box", async () => {
  const answer = await api.predict(`${baseUrl}/number-without-boxes`, "data:,");
  assert.deepEqual(answer.digits.map(({ digit, box }) => [digit, box]), [[1, null], [7, null]]);
});

test("a number whose digits are not digits is reported, not shown", async () => {
  for (const path of ["number-garbled", "number-empty"]) {
    await assert.rejects(api.predict(`${baseUrl}/${path}`, "data:,"), (error) => {
      assert.equal(error.kind, "unreadable");
      return true;
    });
  }
});

test("a refused drawing shows the service's own reason", async () => {
  await assert.rejects(api.predict(`${baseUrl}/blank`, "data:,"), (error) => {
    assert.equal(error.kind, "refused");
    assert.equal(error.status, 422);
    assert.match(error.message, /no digit found: the image is blank or holds only faint marks/);
    return true;
  });
  await assert.rejects(api.predict(`${baseUrl}/too-big`, "data:,"), /the body is over the 5 MB limit \(error 413\)/);
  await assert.rejects(api.predict(`${baseUrl}/validation`, "data:,"), /Field required/);
  await assert.rejects(api.predict(`${baseUrl}/missing`, "data:,"), /Not Found \(error 404\)/);
});

test("a refused picture is named as a picture, a drawing as a drawing", async () => {
  const refusedWith = (message) => (error) => {
    assert.equal(error.kind, "refused");
    assert.equal(error.message, message);
    return true;
  };
  const reason = "no digit found: the image is blank or holds only faint marks";
  await assert.rejects(api.predict(`${baseUrl}/blank`, "data:,", { subject: "picture" }),
    refusedWith(`The recognition service could not use the picture: ${reason} (error 422).`));
  await assert.rejects(api.predict(`${baseUrl}/too-big`, "data:,", { subject: "picture" }),
    refusedWith("The recognition service could not use the picture: the body is over the 5 MB limit (error 413)."));
  await assert.rejects(api.predict(`${baseUrl}/blank`, "data:,"),
    refusedWith(`The recognition service could not use the drawing: ${reason} (error 422).`));
});

test("a throttled or failing service asks to try again, without a stack of jargon", async () => {
  await assert.rejects(api.predict(`${baseUrl}/gateway-throttle`, "data:,"), (error) => {
    assert.equal(error.message, "The recognition service is busy. Try again in a moment.");
    return true;
  });
  await assert.rejects(api.predict(`${baseUrl}/crash`, "data:,"), (error) => {
    assert.equal(error.kind, "failed");
    assert.match(error.message, /failed \(error 500: Internal Server Error\)\. Try again in a moment\./);
    return true;
  });
  await assert.rejects(api.predict(`${baseUrl}/html`, "data:,"), /The recognition service failed \(error 502\)/);
});

test("the number of classes is the model card's, when the page has it", async () => {
  const answer = await api.predict(`${baseUrl}/ok`, "data:,", { classes: PROBABILITIES.length });
  assert.equal(answer.digit, 7);
  for (const classes of [PROBABILITIES.length - 1, PROBABILITIES.length + 1]) {
    await assert.rejects(api.predict(`${baseUrl}/ok`, "data:,", { classes }), (error) => {
      assert.equal(error.kind, "unreadable");
      return true;
    });
  }
});

test("an answer that is not a prediction is reported, not shown", async () => {
  await assert.rejects(api.predict(`${baseUrl}/garbled`, "data:,"), (error) => {
    assert.equal(error.kind, "unreadable");
    return true;
  });
});

test("a service that is down means connection lost", async () => {
  const closed = createServer();
  await new Promise((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const deadUrl = `http://127.0.0.1:${closed.address().port}`;
  await new Promise((resolve) => closed.close(resolve));
  await assert.rejects(api.predict(deadUrl, "data:,"), (error) => {
    assert.equal(error.kind, "connection");
    assert.match(error.message, /^Connection lost: the recognition service at http:\/\/127\.0\.0\.1:\d+ cannot be reached\.$/);
    return true;
  });
});

test("a service that never answers times out with a plain message", async () => {
  await assert.rejects(api.predict(`${baseUrl}/slow`, "data:,", { timeoutMs: 200 }), (error) => {
    assert.equal(error.kind, "timeout");
    assert.match(error.message, /did not answer within 200 ms\. Try again in a moment\.$/);
    return true;
  });
});

test("health reports the service's model version", async () => {
  assert.deepEqual(await api.health(`${baseUrl}/ok`), { status: "ok", modelVersion: "v1" });
});
