// ESLint for the page's scripts (web/js/, classic scripts sharing a few globals; the
// inference worker; the service worker, web/sw.js) and their node tests (tests/web/js/,
// ES modules). `make lint` runs it.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["web/vendor/**", "web/model/**", "node_modules/**", ".venv/**", ".venv-serve/**", ".aws-sam/**"] },
  js.configs.recommended,
  {
    files: ["web/js/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "script",
      // Each file is a classic <script> that exports one object on window (and on
      // module.exports where node tests load it).
      globals: { ...globals.browser, module: "writable", self: "readonly" },
    },
    rules: {
      "no-unused-vars": ["error", { args: "after-used", argsIgnorePattern: "^_" }],
      eqeqeq: ["error", "always"],
      "no-var": "error",
      "prefer-const": "error",
    },
  },
  {
    // The inference worker (importScripts, postMessage) and the service worker.
    files: ["web/js/inference-worker.js"],
    languageOptions: { globals: { ...globals.worker } },
  },
  {
    files: ["web/sw.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "script", globals: { ...globals.serviceworker } },
    rules: { eqeqeq: ["error", "always"], "no-var": "error", "prefer-const": "error" },
  },
  {
    files: ["tests/web/js/**/*.mjs", "tests/web/js/**/*.cjs", "model/**/*.mjs", "*.mjs"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.node } },
    rules: { eqeqeq: ["error", "always"], "prefer-const": "error" },
  },
];
