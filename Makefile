# The commands a newcomer needs. `make train` and `make test` set everything up themselves.
PYTHON_FOR_VENV ?= python3.11
VENV := .venv
PYTHON := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
# The project on .venv's path, as an editable install would put it: the root (model/, tests/,
# scripts/, deploy/, bench/) and lambda/, whose flat modules import each other by name (lambda is
# a Python keyword, so the folder cannot be a package; pytest's pythonpath lists the same two).
# Python puts a script's own folder first, so no module in bench/ or scripts/ may be named like
# one in lambda/ (uncertainty.py, say): it would hide the function's.
PROJECT_PATH_FILE := mnist-digit-classifier.pth
PROJECT_PATH_STAMP := $(VENV)/.project-on-path
NODE_STAMP := node_modules/.installed
# checkov conflicts with pins in constraints.txt, so it has a virtualenv of its own inside .venv.
CHECKOV_VENV := $(VENV)/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: help setup lint train test evaluate tensorboard bench bench-training bench-trust bench-augmentation clean

$(PY_STAMP): requirements.txt constraints.txt lambda/requirements.txt
	command -v $(PYTHON_FOR_VENV) >/dev/null || { echo "error: $(PYTHON_FOR_VENV) not found; set PYTHON_FOR_VENV=/path/to/python3.11" >&2; exit 1; }
	test -x $(PYTHON) || $(PYTHON_FOR_VENV) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements.txt -c constraints.txt
	touch $@

$(PROJECT_PATH_STAMP): $(PY_STAMP)
	site_packages="$$($(PYTHON) -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" && \
		printf '%s\n' "$(CURDIR)" "$(CURDIR)/lambda" > "$$site_packages/$(PROJECT_PATH_FILE)"
	touch $@

$(CHECKOV_STAMP): tests/function/checkov-requirements.txt $(PY_STAMP)
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON_FOR_VENV) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r tests/function/checkov-requirements.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

## help: list these targets
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

## setup: create .venv, install the Python and npm packages, and put the project on .venv's path
setup: $(PY_STAMP) $(PROJECT_PATH_STAMP) $(NODE_STAMP) $(CHECKOV_STAMP)

## train: train with the default recipe and export every format, replacing the shipped model (about 30 minutes on 2 cores)
train: setup
	$(PYTHON) generator.py

## lint: ruff on the Python, ESLint on the page's JavaScript (both pinned, configured in pyproject.toml and eslint.config.mjs)
lint: setup
	$(VENV)/bin/ruff check .
	npx --no-install eslint .

## test: the linters, then the whole test suite
test: lint
	$(PYTHON) -m pytest

## evaluate: score the shipped model on the 10,000 test digits
evaluate: setup
	$(PYTHON) generator.py evaluate

## tensorboard: the training dashboard (curves, confusion matrices) at http://localhost:6006
tensorboard: setup
	$(VENV)/bin/tensorboard --logdir model/checkpoints/tensorboard

## bench: print every benchmark table (training, function, container, page)
bench: bench-training bench-trust bench-function bench-container bench-web

## bench-training: training throughput at batch 16: augmentation, non-digits, each further augmentation (median of 5)
bench-training: setup
	$(PYTHON) bench/training_throughput.py --repeats 5

## bench-trust: how often the model says "not sure" on digits and non-digits, against the model on main
bench-trust: setup
	$(PYTHON) bench/trust.py

## bench-augmentation: each further augmentation trained at reduced scale, scored on validation and drawn digits (slow)
bench-augmentation: setup
	$(PYTHON) bench/augmentation.py

clean:
	rm -rf $(VENV) $(SERVE_VENV) node_modules .pytest_cache model/checkpoints .export-staging-*

# --- the web page (web/) --------------------------------------------------------------

.PHONY: serve screenshot bench-web

# `make serve` needs only what the function runs on, plus uvicorn: an environment of its own,
# about the size of the Lambda package, so trying the page never waits for TensorFlow and the
# test tools; and the page's libraries (jQuery, TF.js's core, converter and backends), which
# npm copies into web/vendor/: `npm ci --omit=dev` when node_modules is not set up already.
SERVE_VENV := .venv-serve
SERVE_STAMP := $(SERVE_VENV)/.installed
WEB_VENDOR := web/vendor/jquery.min.js
HOST ?= 127.0.0.1
PORT ?= 8000

$(SERVE_STAMP): lambda/requirements.txt deploy/serve-requirements.txt constraints.txt
	@command -v $(PYTHON_FOR_VENV) >/dev/null || { echo "error: $(PYTHON_FOR_VENV) not found; set PYTHON_FOR_VENV=/path/to/python3.11" >&2; exit 1; }
	@echo "First run: installing what the function runs on (FastAPI, LiteRT, NumPy, Pillow, uvicorn; about 200 MB) into $(SERVE_VENV) ..."
	@test -x $(SERVE_VENV)/bin/python || $(PYTHON_FOR_VENV) -m venv $(SERVE_VENV)
	@$(SERVE_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		-r lambda/requirements.txt -r deploy/serve-requirements.txt -c constraints.txt
	@touch $@

$(WEB_VENDOR): package.json package-lock.json
	@if [ -f $(NODE_STAMP) ]; then npm run --silent vendor; else \
		echo "First run: installing the page's libraries (jQuery and TF.js; about 120 MB in node_modules) ..."; \
		npm ci --omit=dev --no-audit --no-fund --silent; fi
	@touch $@

## serve: the API and the page at http://127.0.0.1:8000 (PORT=... and HOST=... to change them; or open web/index.html from disk)
serve: $(SERVE_STAMP) $(WEB_VENDOR)
	@$(SERVE_VENV)/bin/python scripts/serve.py --host "$(HOST)" --port "$(PORT)"

## screenshot: draw a digit and a number in Chromium and save the README's pictures of the page in docs/
screenshot: setup
	$(PYTHON) -m scripts.screenshot docs/screenshot.png --phone docs/screenshot-phone.png \
		--not-sure docs/screenshot-not-sure.png --not-a-digit docs/screenshot-not-a-digit.png \
		--number docs/screenshot-number.png

## bench-web: the page's timings in headless Chromium and its weight
bench-web: setup
	$(PYTHON) bench/web_page.py

# --- the function (lambda/, template.yaml) ---------------------------------------------

.PHONY: sam-image sam-build sam-local vectors fit-choice events bench-function

SAM := $(VENV)/bin/sam
SAM_PORT ?= 3000
export SAM_CLI_TELEMETRY ?= 0

## sam-image: build the offline stand-in for SAM's Lambda python3.11 image (needs root, Docker, debootstrap)
sam-image: setup
	$(PYTHON) sam-local/build_image.py

## sam-build: package the function as Lambda runs it, into .aws-sam/build
sam-build: setup
	$(SAM) build

## sam-local: the API through SAM's API Gateway emulator in Docker at http://127.0.0.1:3000, offline
sam-local: sam-build sam-image
	$(SAM) local start-api --port $(SAM_PORT) --warm-containers EAGER \
		--invoke-image "$$($(PYTHON) sam-local/build_image.py --tag)" --skip-pull-image

## vectors: regenerate tests/vectors/ after changing lambda/preprocessing.py, segmentation.py or paper.py (web/ is held to them)
vectors: setup
	$(PYTHON) -m scripts.make_vectors
	$(PYTHON) -m scripts.make_number_vectors
	$(PYTHON) -m scripts.make_photo_vectors

## fit-choice: refit the weights of segmentation.py's reading score (prints them, for lambda/segmentation.py and web/js/segmentation.js)
fit-choice: setup
	$(PYTHON) -m scripts.fit_choice

## events: regenerate the API Gateway events in events/
events: setup
	$(PYTHON) -m scripts.make_events

## bench-function: the function's accuracy, numbers read whole, photos of paper read whole, cold start, warm latency, hostile input (against the function before its hardening), req/s and size
bench-function: setup
	$(PYTHON) bench/function_accuracy.py
	$(PYTHON) bench/function_numbers.py
	$(PYTHON) bench/function_photos.py
	$(PYTHON) bench/function_latency.py
	$(PYTHON) bench/function_hostile.py
	$(PYTHON) bench/function_throughput.py
	$(PYTHON) bench/function_size.py

# --- the container image and Kubernetes (Dockerfile, deploy/) --------------------------

.PHONY: image bench-container

## image: the container image mnist-digit-classifier:latest (on python:3.11-slim, or offline on a Debian bookworm base bootstrapped here: needs root, Docker, debootstrap)
image: setup
	$(PYTHON) deploy/docker/image.py --tag mnist-digit-classifier:latest

## bench-container: the image's size, start time, req/s, p50/p99 and memory against make serve; Lambda cold start, zip against image
bench-container: setup
	$(PYTHON) bench/container.py --lambda

# --- deploying to AWS: the stack, the page on S3 and CloudFront (template.yaml, deploy/deploy.py)

.PHONY: deploy destroy

STACK ?= digits-classifier
REGION ?=
DOMAIN ?=
CERTIFICATE_ARN ?=
ALARM_EMAIL ?=
# The template's other parameters, as Name=value pairs: PARAMETERS="UncertainShareAlarmPercent=25 PriceClass=PriceClass_All"
PARAMETERS ?=
DRY_RUN ?=
DEPLOY := $(PYTHON) -m deploy.deploy
DEPLOY_WHERE = --stack "$(STACK)" $(if $(REGION),--region "$(REGION)") $(if $(filter 1 yes true,$(DRY_RUN)),--dry-run)

## deploy: build, deploy the stack, upload web/, invalidate what changed, print the URLs (STACK= REGION= DOMAIN= CERTIFICATE_ARN= ALARM_EMAIL= PARAMETERS=; DRY_RUN=1 prints every command and runs none)
deploy: setup
	$(DEPLOY) deploy $(DEPLOY_WHERE) --domain "$(DOMAIN)" --certificate-arn "$(CERTIFICATE_ARN)" \
		--alarm-email "$(ALARM_EMAIL)" $(foreach pair,$(PARAMETERS),--parameter "$(pair)")

## destroy: empty the page's bucket and delete the stack (STACK= REGION=; DRY_RUN=1 prints the commands)
destroy: setup
	$(DEPLOY) destroy $(DEPLOY_WHERE)
