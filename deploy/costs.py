"""What a million recognitions cost on AWS as `make deploy` sets it up (the page from S3 through
CloudFront, the API through the same distribution), beside the page served by the function
itself through the HTTP API, from figures measured in this run and the prices below.

    .venv/bin/python -m deploy.costs [--calls 200] [--recognitions-per-visit 10]

Measured in this run:
* a visit in headless Chromium through the local distribution (tests/support/cloudfront_origin.py:
  the template's routing, the page as the bucket holds it, the function under uvicorn behind it),
  drawing one digit with "Recognise as I draw" on, as the page opens: every request, its origin
  and its bytes, in server mode and in browser mode (the model in the page, kept by the
  service worker);
* the function's warm time for each of those requests through `app.handler` as Lambda calls it
  (median of --calls), the bytes it answers (gzipped by the function, as it does), and the bytes
  it logs to CloudWatch per recognition;
* the bytes CloudFront would send: each text file (HTML, JavaScript, CSS, JSON) gzipped at level 6,
  the WebAssembly, the weights and the icons as they are (whether CloudFront compresses
  application/wasm was not checked, so these are an upper bound); a 304 sends no body.

Visits are fresh (nothing cached in the browser): the first visit's cost, the most a visit costs.

Prices: us-east-1, on-demand, as AWS published them up to 2025, without free tiers; they were
not checked against the live price list, which cannot be read from here.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import copy
import gzip
import io
import json
import math
import statistics
import sys
import time
from dataclasses import dataclass

from deploy import deploy

# --- prices (USD, us-east-1) ----------------------------------------------------------------------
LAMBDA_GB_SECOND = 0.0000166667          # x86
LAMBDA_REQUEST = 0.20 / 1e6
HTTP_API_REQUEST = 1.00 / 1e6            # per 512 KB of request or answer, first 300 million a month
CLOUDFRONT_HTTPS_REQUEST = 0.0100 / 1e4  # North America and Europe
CLOUDFRONT_GB_OUT = 0.085                # to viewers, first 10 TB a month
CLOUDFRONT_GB_TO_ORIGIN = 0.020          # request bodies CloudFront sends on to the API
INTERNET_GB_OUT = 0.09                   # API Gateway's answers sent to the internet, first 10 TB
LOGS_GB_INGESTED = 0.50                  # CloudWatch Logs
PRICES_AS_OF = "as published up to 2025 (not checked against the live price list)"

# Types CloudFront compresses (of those web/ has), for files of 1,000 bytes to 10 MB.
COMPRESSED_TYPES = ("text/", "application/json")
GB = 1e9


@dataclass
class Request:
    method: str
    path: str
    origin: str
    status: int
    sent: bytes
    cloudfront_bytes: int = 0   # what CloudFront sends the viewer
    function_bytes: int = 0     # what the function answers when it serves it
    function_ms: float = 0.0    # the function's warm time for it
    logged_bytes: int = 0       # what the function writes to CloudWatch Logs for it (its line, metrics)


def visit(mode: str) -> tuple[list[Request], int]:
    """One fresh visit in Chromium through the local distribution: the page, one digit drawn
    with "Recognise as I draw" on, then Recognise; returns its requests and how many of them
    were recognitions."""
    import tempfile
    from pathlib import Path

    from tests.support import browser as support
    from tests.support.cloudfront_origin import local_distribution
    from tests.support.servers import api_server

    with tempfile.TemporaryDirectory() as no_page, api_server(web_dir=Path(no_page)) as api_url, \
            local_distribution(api_url) as (url, app), support.chromium_or_skip() as chromium:
        context = chromium.new_context(viewport=support.LAPTOP)
        page = context.new_page()
        page.goto(f"{url}/?mode={mode}")
        support.wait_until_ready(page)
        if mode == "browser":
            page.wait_for_selector("#model-status[data-state='ready']", timeout=support.ANSWER_TIMEOUT_MS)
        support.draw_digit(page, 7)
        support.recognise(page)
        if mode == "browser":  # the service worker has fetched what it keeps for offline use
            page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.wait_for_timeout(1000)
        context.close()
        exchanges = list(app.exchanges)
    requests = [Request(exchange.method, exchange.path, exchange.origin, exchange.status, exchange.sent)
                for exchange in exchanges]
    return requests, sum(request.path == "/predict" for request in requests)


def cloudfront_bytes(request: Request, plan: dict[str, deploy.Upload]) -> int:
    if request.status != 200:
        return 0
    upload = plan["index.html" if request.path == "/" else request.path.lstrip("/")]
    data = upload.path.read_bytes()
    compressible = upload.content_type.startswith(COMPRESSED_TYPES) and 1000 <= len(data) <= 10_000_000
    return len(gzip.compress(data, compresslevel=6)) if compressible else len(data)


def event(method: str, path: str, body: bytes) -> dict:
    template = json.loads((deploy.PROJECT_ROOT / "events" / "predict-data-url.json").read_text())
    made = copy.deepcopy(template)
    made["rawPath"] = path
    made["requestContext"]["http"].update(method=method, path=path)
    made["headers"] = {"accept": "*/*", "accept-encoding": "gzip, deflate, br",
                       **({"content-type": "application/json", "content-length": str(len(body))} if body else {})}
    made["body"] = base64.b64encode(body).decode() if body else None
    made["isBase64Encoded"] = bool(body)
    return made


class Context:
    aws_request_id, function_name, memory_limit_in_mb = "costs", "DigitsFunction", 1769
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:DigitsFunction"

    def get_remaining_time_in_millis(self) -> int:
        return 5000


def time_function(requests: list[Request], calls: int) -> None:
    """Fill in the function's warm time, answer size and log bytes for each request."""
    import app  # the function, serving web/ too (DIGITS_WEB_DIR unset: lambda/../web)

    measured: dict[tuple[str, str, bytes], tuple[float, int, int]] = {}
    warm_up = 5
    for request in requests:
        key = (request.method, request.path, request.sent)
        if key not in measured:
            made = event(request.method, request.path, request.sent)
            times = []
            with contextlib.redirect_stdout(io.StringIO()) as logged:
                for index in range(warm_up + calls):
                    started = time.perf_counter()
                    response = app.handler(made, Context())
                    if index >= warm_up:
                        times.append((time.perf_counter() - started) * 1000)
            body = response.get("body") or ""
            size = len(base64.b64decode(body)) if response.get("isBase64Encoded") else len(body.encode())
            measured[key] = (statistics.median(times), size, len(logged.getvalue().encode()) // (warm_up + calls))
        request.function_ms, request.function_bytes, request.logged_bytes = measured[key]
        if request.status == 304:
            request.function_bytes = 0


def access_log_bytes() -> int:
    """One line of the HTTP API's access log, its fields filled as a typical request fills them."""
    template_format = deploy.template()["Resources"]["DigitsApi"]["Properties"]["AccessLogSettings"]["Format"]
    typical = {"$context.requestId": "Q1w2E3r4t5Y6u7I=", "$context.identity.sourceIp": "203.0.113.17",
               "$context.requestTime": "04/Dec/2025:19:20:21 +0000", "$context.httpMethod": "POST",
               "$context.path": "/predict", "$context.status": "200", "$context.protocol": "HTTP/1.1",
               "$context.responseLength": "812", "$context.responseLatency": "24",
               "$context.integrationLatency": "21", "$context.integrationStatus": "200",
               "$context.error.message": "-", "$context.integrationErrorMessage": "-"}
    line = template_format
    for variable, value in sorted(typical.items(), key=lambda item: -len(item[0])):
        line = line.replace(variable, value)
    return len(line.encode())


def lambda_cost(ms: float, memory_gb: float) -> float:
    """One invocation: the request and its duration, billed by the whole millisecond."""
    return LAMBDA_REQUEST + math.ceil(ms) / 1000 * memory_gb * LAMBDA_GB_SECOND


def costs(requests: list[Request], recognitions: float, visits: float, memory_gb: float,
          access_bytes: int) -> list[tuple[str, float, float]]:
    """(item, USD with CloudFront and S3, USD with the page served by the function) for this many
    recognitions and visits, each visit loading what `requests` loaded."""
    page = [request for request in requests if request.origin == "page"]
    api = [request for request in requests if request.path == "/predict"]
    def logged(request: Request) -> float:  # a request through the API: the function's log and the access log
        return (request.logged_bytes + access_bytes) / GB * LOGS_GB_INGESTED

    rows = []
    if api:
        recognition_ms = statistics.median(request.function_ms for request in api)
        sent = statistics.median(len(request.sent) for request in api)
        answered = statistics.median(request.function_bytes for request in api)
        rows += [
            ("Lambda (requests and duration), recognitions", recognitions * lambda_cost(recognition_ms, memory_gb),
             recognitions * lambda_cost(recognition_ms, memory_gb)),
            ("HTTP API, recognitions", recognitions * HTTP_API_REQUEST, recognitions * HTTP_API_REQUEST),
            ("CloudFront (requests, answers, bodies to the API), recognitions",
             recognitions * (CLOUDFRONT_HTTPS_REQUEST + answered / GB * CLOUDFRONT_GB_OUT
                             + sent / GB * CLOUDFRONT_GB_TO_ORIGIN), 0.0),
            ("API Gateway's answers to the internet, recognitions", 0.0,
             recognitions * answered / GB * INTERNET_GB_OUT),
            ("CloudWatch Logs (function log, metrics, access log), recognitions", recognitions * logged(api[0]),
             recognitions * logged(api[0])),
        ]
    rows += [
        (f"CloudFront (requests, bytes), {visits:,.0f} visits",
         visits * sum(CLOUDFRONT_HTTPS_REQUEST + request.cloudfront_bytes / GB * CLOUDFRONT_GB_OUT for request in page),
         0.0),
        (f"Lambda, HTTP API, bytes out and logs, {visits:,.0f} visits", 0.0,
         visits * sum(lambda_cost(request.function_ms, memory_gb) + HTTP_API_REQUEST
                      + request.function_bytes / GB * INTERNET_GB_OUT + logged(request) for request in page)),
    ]
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="handler calls timed per request (median)")
    parser.add_argument("--recognitions-per-visit", type=int, default=10,
                        help="recognitions a visit brings, to count the page's loads (default %(default)s)")
    arguments = parser.parse_args()
    memory_mb = deploy.template()["Globals"]["Function"]["MemorySize"]
    plan = {upload.key: upload for upload in deploy.plan()}
    access_bytes = access_log_bytes()
    for mode in ("server", "browser"):
        requests, recognitions = visit(mode)
        for request in requests:
            if request.origin == "page":
                request.cloudfront_bytes = cloudfront_bytes(request, plan)
        time_function(requests, arguments.calls)
        page = [request for request in requests if request.origin == "page"]
        api = [request for request in requests if request.origin == "api"]
        print(f"\n## A visit in {mode} mode, drawing one digit (Recognise as I draw on), then Recognise\n")
        print("| what | requests | bytes to the viewer | function's warm time, median |")
        print("|---|---:|---:|---:|")
        print(f"| the page's files, through CloudFront | {len(page)} "
              f"({sum(request.status == 304 for request in page)} answered 304) "
              f"| {sum(request.cloudfront_bytes for request in page):,} "
              "(text gzipped; .wasm, .bin, .png as they are) | |")
        print(f"| the same files, were the function to serve them | {len(page)} "
              f"| {sum(request.function_bytes for request in page):,} (as the function gzips) "
              f"| {sum(request.function_ms for request in page):.1f} ms in all |")
        for path in sorted({request.path for request in api}):
            same = [request for request in api if request.path == path]
            print(f"| {same[0].method} {path}, through CloudFront to the API | {len(same)} "
                  f"| {statistics.median(request.function_bytes for request in same):,.0f} each "
                  f"(request {statistics.median(len(request.sent) for request in same):,.0f}) "
                  f"| {statistics.median(request.function_ms for request in same):.2f} ms each |")
        if recognitions:
            logged = statistics.median(request.logged_bytes for request in api if request.path == "/predict")
            print(f"\n{recognitions} recognition(s) in the visit; logged for each: {logged:,.0f} bytes by the "
                  f"function (its line and metrics), {access_bytes:,} in the API's access log.")
            title = (f"A million recognitions in {mode} mode, a visit per {arguments.recognitions_per_visit} "
                     "recognitions")
            rows = costs(requests, 1e6, 1e6 / arguments.recognitions_per_visit, memory_mb / 1024, access_bytes)
        else:  # the page reads the drawing itself: only its files cost anything
            title = f"A million visits in {mode} mode (every recognition in the browser)"
            rows = costs(requests, 0, 1e6, memory_mb / 1024, access_bytes)
        print(f"\n## {title} (us-east-1, USD, {PRICES_AS_OF}; Lambda at {memory_mb} MB)\n")
        print("| item | S3 and CloudFront (make deploy) | the page served by the function |")
        print("|---|---:|---:|")
        for item, hosted, from_function in rows:
            print(f"| {item} | {hosted:.2f} | {from_function:.2f} |")
        hosted, from_function = sum(row[1] for row in rows), sum(row[2] for row in rows)
        print(f"| **total** | **{hosted:.2f}** | **{from_function:.2f}** |")
        print(f"| S3 and CloudFront / the function | {hosted / from_function:.2f}x | 1.00x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
