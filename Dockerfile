# The digit classifier as one container image: the API and the page under uvicorn on port
# 8080, or, where AWS_LAMBDA_RUNTIME_API is set (a Lambda container image, or the runtime
# interface emulator), `app.handler` under awslambdaric. deploy/docker/entrypoint.py picks.
#
#   make image                                   # mnist-digit-classifier:latest, online or not
#   docker build -t mnist-digit-classifier .     # where the official Python image can be pulled
#   docker run --rm -p 8080:8080 --read-only --tmpfs /tmp --cap-drop ALL mnist-digit-classifier
#
# BASE_IMAGE must be a Debian-like image with Python 3.11 as `python3` (the official
# python:3.11-slim, or the Debian bookworm base `make image` bootstraps where no registry
# can be reached). Both stages use it, so the bytecode compiled here matches the runtime's.
ARG BASE_IMAGE=python:3.11-slim

# --- build: the pinned wheels, the function, the page, all compiled to bytecode ------------
FROM ${BASE_IMAGE} AS build
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore \
    PIP_BREAK_SYSTEM_PACKAGES=1
COPY constraints.txt ./
COPY lambda/requirements.txt lambda/
# deploy/docker/wheels/ holds the wheels `make image` downloaded on the host, whose pip knows
# the network's index, proxy and certificates; without it (a plain `docker build`), pip asks
# the index itself. A base without pip (Debian's Python) runs pip from its wheel there.
# Console scripts would point at this stage's paths, so bin/ goes (the image runs
# `python3 -m`), and so does NumPy's own test suite (16 MB), never run here.
COPY deploy/docker/requirements.txt deploy/docker/wheel[s] wheels/
RUN set -eu; \
    source=""; pip="python3 -m pip"; \
    if ls wheels/*.whl >/dev/null 2>&1; then source="--no-index --find-links wheels"; fi; \
    if ! python3 -m pip --version >/dev/null 2>&1; then pip="python3 $(ls wheels/pip-*.whl | head -n 1)/pip"; fi; \
    $pip install --quiet $source --only-binary=:all: --no-compile --target /opt/digits/packages \
        -r lambda/requirements.txt -r wheels/requirements.txt -c constraints.txt; \
    rm -rf /opt/digits/packages/bin; \
    find /opt/digits/packages/numpy -depth -type d -name tests -exec rm -rf {} +
COPY lambda/ /opt/digits/function/
COPY web/ /opt/digits/web/
COPY deploy/docker/entrypoint.py /opt/digits/entrypoint.py
# The root file system is read-only at run time, and compiling FastAPI, pydantic and NumPy at
# every start would double the start-up time; unchecked-hash .pyc files stay valid whatever
# the files' timestamps.
RUN set -eu; \
    test -n "$(ls -A /opt/digits/web/vendor 2>/dev/null)" || { echo "web/vendor/ is empty: run 'npm ci' (make setup) first" >&2; exit 1; }; \
    test -f /opt/digits/function/model/digits.tflite || { echo "lambda/model/digits.tflite is missing" >&2; exit 1; }; \
    rm -f /opt/digits/function/Makefile /opt/digits/function/requirements.txt /opt/digits/web/.gitignore; \
    python3 -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/digits

# --- runtime: the base, the packages, the function, the page; nothing else -----------------
FROM ${BASE_IMAGE} AS runtime
RUN groupadd --system --gid 10001 digits \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin digits
COPY --from=build /opt/digits /opt/digits
# One malloc arena, as template.yaml gives the zip function: with an arena per thread, four
# 4096x4096 pictures at once took the container to 270 MiB and left 217 MiB held; with one,
# 193 MiB at the peak and 61 MiB after.
ENV PYTHONPATH=/opt/digits/function:/opt/digits/packages \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=1 \
    LAMBDA_TASK_ROOT=/opt/digits/function \
    DIGITS_WEB_DIR=/opt/digits/web \
    PORT=8080 \
    WEB_CONCURRENCY=1
WORKDIR /opt/digits/function
# Numeric, so Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8080') + '/health', timeout=2)"]
ENTRYPOINT ["python3", "/opt/digits/entrypoint.py"]
# The Lambda handler, as Lambda's ImageConfig.Command would give it; unused outside Lambda.
CMD ["app.handler"]
