"""What `make deploy` puts up, checked offline: the alarms and the dashboard on metrics that
exist, the distribution's routing against the app's own route table, the upload plan against
every file the page loads, the commands `make deploy` and `make destroy` run, the upload's
calls to S3 and CloudFront, and the page working through the distribution's routing, stood up
on this machine (tests/support/cloudfront_origin.py)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber
from fastapi.routing import iter_route_contexts

import observability  # the function's, from lambda/
import security
from deploy import deploy
from tests.support import PROJECT_ROOT
from tests.support import browser as support
from tests.support.cloudfront_origin import distribution, local_distribution, pattern_matches, with_policy
from tests.support.servers import WEB_DIR, api_server

TEMPLATE = deploy.template()
RESOURCES = TEMPLATE["Resources"]
ROUTING = distribution(TEMPLATE)


def of_type(kind: str) -> dict[str, dict]:
    return {name: resource for name, resource in RESOURCES.items() if resource["Type"] == kind}


# --- the alarms and the dashboard watch metrics that exist ------------------------------------

# AWS's own metrics for what the stack creates, as AWS documents them: HTTP APIs
# (docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html, by ApiId) and
# Lambda (docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html, by FunctionName).
AWS_METRICS = {
    "AWS/ApiGateway": ({"4xx", "5xx", "Count", "Latency", "IntegrationLatency", "DataProcessed"},
                       "ApiId", "AWS::Serverless::HttpApi"),
    "AWS/Lambda": ({"Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions"},
                   "FunctionName", "AWS::Serverless::Function"),
}


@pytest.fixture(scope="module")
def emitted() -> dict[tuple[str, str], list[dict[str, str]]]:
    """What the function writes, from the function: observability.record given the lines of
    each digit read alone (the first at a cold start, and not sure), a number and a refusal,
    with the embedded-metric documents it prints parsed back: (namespace, metric) -> the
    dimensions of each document."""
    request = {"correlation_id": "c", "cold_start": False, "method": "POST", "path": "/predict", "latency_ms": 2.0}
    lines = [
        *({**request, "request_id": f"digit-{digit}", "cold_start": digit == 0, "status": 200, "number": str(digit),
           "digit": digit, "confidence": 0.6 if digit == 0 else 0.99, "uncertain": digit == 0} for digit in range(10)),
        {**request, "request_id": "number", "status": 200, "number": "2024", "confidence": 0.99, "uncertain": False},
        {**request, "request_id": "refused", "status": 413, "error": "too large"},
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(observability, "settings", observability.settings.model_copy(update={"log_format": "json"}))
        written = io.StringIO()
        patch.setattr(sys, "stdout", written)
        for line in lines:
            observability.record(line)
    found: dict[tuple[str, str], list[dict[str, str]]] = {}
    for document in (json.loads(text) for text in written.getvalue().splitlines() if '"_aws"' in text):
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for dimensions in directive["Dimensions"]:
                for metric in directive["Metrics"]:
                    found.setdefault((directive["Namespace"], metric["Name"]), []).append(
                        {name: document[name] for name in dimensions})
    return found


def filter_metrics() -> dict[tuple[str, str], dict]:
    return {(transform["MetricNamespace"], transform["MetricName"]): resource["Properties"]
            for resource in of_type("AWS::Logs::MetricFilter").values()
            for transform in resource["Properties"]["MetricTransformations"]}


def assert_exists(namespace: str, name: str, dimensions: dict[str, str], emitted: dict) -> None:
    """A metric the function writes with these very dimensions, one AWS documents on a resource
    of this stack, or one a metric filter of this template makes."""
    where = f"{namespace}/{name} {dimensions}"
    if namespace in AWS_METRICS:
        names, dimension, resource_type = AWS_METRICS[namespace]
        assert name in names, f"{where}: AWS documents no such metric"
        assert set(dimensions) == {dimension}, f"{where}: AWS publishes it by {dimension}"
        assert RESOURCES[dimensions[dimension].strip("<>")]["Type"] == resource_type, where
    elif (namespace, name) in filter_metrics():
        assert not dimensions, f"{where}: the metric filter writes it without dimensions"
    else:
        assert (namespace, name) in emitted, f"{where}: the function writes no such metric"
        assert dimensions in emitted[(namespace, name)], (
            f"{where}: the function writes it with {emitted[(namespace, name)]}")


def alarm_metrics(alarm: dict) -> list[tuple[str, str, dict[str, str], str]]:
    """(namespace, name, dimensions, statistic) of each metric an alarm reads."""
    def dimensions(metric):
        return {item["Name"]: f"<{item['Value']}>" if item["Name"] in ("ApiId", "FunctionName") else item["Value"]
                for item in metric.get("Dimensions", [])}
    if "Metrics" in alarm:
        return [(stat["Metric"]["Namespace"], stat["Metric"]["MetricName"], dimensions(stat["Metric"]), stat["Stat"])
                for stat in (query["MetricStat"] for query in alarm["Metrics"] if "MetricStat" in query)]
    return [(alarm["Namespace"], alarm["MetricName"], dimensions(alarm),
             alarm.get("Statistic") or alarm["ExtendedStatistic"])]


ALARMS = {name: resource["Properties"] for name, resource in of_type("AWS::CloudWatch::Alarm").items()}


def test_every_alarm_reads_metrics_that_exist(emitted):
    assert len(ALARMS) >= 7
    for name, alarm in ALARMS.items():
        for namespace, metric, dimensions, _statistic in alarm_metrics(alarm):
            assert_exists(namespace, metric, dimensions, emitted)
        for query in alarm.get("Metrics", []):  # an expression names only the queries beside it
            if "Expression" in query:
                names = set(re.findall(r"\b[a-z]\w*\b", query["Expression"]))
                assert names <= {other["Id"] for other in alarm["Metrics"]}, (name, query["Expression"])
        assert sum(query.get("ReturnData", True) for query in alarm.get("Metrics", [{}])) == 1, name


def test_the_alarms_watch_what_the_service_must_be_told():
    read = {name: {(namespace, metric, statistic) for namespace, metric, _, statistic in alarm_metrics(alarm)}
            for name, alarm in ALARMS.items()}

    def alarms_reading(*metrics):
        return [name for name, used in read.items() if set(metrics) <= used]

    # The share of 5xx, by API Gateway (it sees the failures the function never answers).
    assert alarms_reading(("AWS/ApiGateway", "5xx", "Sum"), ("AWS/ApiGateway", "Count", "Sum"))
    # p99 latency, as callers see it.
    assert alarms_reading(("AWS/ApiGateway", "Latency", "p99"))
    # Throttling: API Gateway's 429s (its 4xx mixes them with refused pictures) and Lambda's.
    assert alarms_reading(("DigitsClassifier", "ThrottledRequests", "Sum"))
    assert alarms_reading(("AWS/Lambda", "Throttles", "Sum"))
    # Errors of the function itself.
    assert alarms_reading(("AWS/Lambda", "Errors", "Sum"))
    # Cold starts, as a share of requests.
    assert alarms_reading(("DigitsClassifier", "ColdStart", "Sum"), ("DigitsClassifier", "Requests", "Sum"))
    # "Not sure": answers with an unsure digit among the answers that read something.
    [not_sure] = alarms_reading(("DigitsClassifier", "Uncertain", "Sum"),
                                ("DigitsClassifier", "DigitsRead", "SampleCount"))
    assert ALARMS[not_sure]["Threshold"] == "UncertainShareAlarmPercent"


def test_the_function_writes_one_digits_read_per_answer_so_its_count_is_the_answers(emitted):
    """The not-sure share divides by DigitsRead's SampleCount: one value per answer that read
    something (11 of the 12 lines in `emitted`), not per request and not per digit."""
    assert len(emitted[("DigitsClassifier", "DigitsRead")]) == 11
    assert len(emitted[("DigitsClassifier", "Requests")]) == 12
    assert len(emitted[("DigitsClassifier", "Uncertain")]) == 1


def test_the_429_count_reads_the_status_the_api_access_log_writes():
    [properties] = filter_metrics().values()
    assert properties["LogGroupName"] == "DigitsApiAccessLogs"
    log_format = json.loads(RESOURCES["DigitsApi"]["Properties"]["AccessLogSettings"]["Format"])
    field, value = re.fullmatch(r'\{ \$\.(\w+) = "(\d+)" \}', properties["FilterPattern"]).groups()
    assert (field, value) == ("status", "429")
    assert log_format[field] == "$context.status"  # written as a string, which the quoted pattern matches


def test_alarms_mail_the_topic_only_when_an_address_is_given():
    [topic_name] = of_type("AWS::SNS::Topic")
    topic = RESOURCES[topic_name]
    assert topic["Condition"] == "HasAlarmEmail"
    assert topic["Properties"]["Subscription"] == [{"Protocol": "email", "Endpoint": "AlarmEmail"}]
    for alarm in ALARMS.values():
        assert alarm["AlarmActions"] == ["HasAlarmEmail", [topic_name], "AWS::NoValue"]
        assert alarm["TreatMissingData"] == "notBreaching"  # no traffic is no trouble


def dashboard() -> dict:
    [board] = of_type("AWS::CloudWatch::Dashboard").values()
    body = re.sub(r"\$\{([A-Za-z0-9:.]+)\}", lambda match: f"<{match[1]}>", board["Properties"]["DashboardBody"])
    return json.loads(body)


def dashboard_metrics(widget: dict) -> list[tuple[str, str, dict[str, str]]]:
    found = []
    for entry in widget["properties"].get("metrics", []):
        plain = [item for item in entry if not isinstance(item, dict)]
        if plain:
            namespace, name, *pairs = plain
            found.append((namespace, name, dict(zip(pairs[::2], pairs[1::2], strict=True))))
    return found


def test_the_dashboard_shows_predictions_per_digit_and_only_metrics_that_exist(emitted):
    widgets = dashboard()["widgets"]
    per_digit = [widget for widget in widgets
                 if {("DigitsClassifier", "Predictions", frozenset({("service", "digits"), ("digit", str(digit))}))
                     for digit in range(10)}
                 <= {(namespace, name, frozenset(dims.items())) for namespace, name, dims in dashboard_metrics(widget)}]
    assert per_digit, "no widget shows Predictions for each digit 0-9"
    for widget in widgets:
        for namespace, name, dimensions in dashboard_metrics(widget):
            assert_exists(namespace, name, dimensions, emitted)
    [alarms] = [widget for widget in widgets if widget["type"] == "alarm"]
    assert {arn.removesuffix(".Arn>").lstrip("<") for arn in alarms["properties"]["alarms"]} == set(ALARMS)


def test_alarms_and_dashboard_name_the_namespace_and_service_the_function_is_given():
    environment = RESOURCES["DigitsFunction"]["Properties"]["Environment"]["Variables"]
    namespaces = {namespace for alarm in ALARMS.values() for namespace, *_ in alarm_metrics(alarm)}
    assert namespaces - set(AWS_METRICS) == {environment["POWERTOOLS_METRICS_NAMESPACE"]}
    services = {dims["service"] for widget in dashboard()["widgets"] for _, _, dims in dashboard_metrics(widget)
                if "service" in dims}
    assert services == {environment["POWERTOOLS_SERVICE_NAME"]}


# --- one origin: every path the app serves goes to the API, the page's files to the bucket ------

def sample_path(path: str) -> str:
    """A path the route answers: each {parameter} filled in (a model name, a version)."""
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda match: {"name": "digits", "version": "1"}.get(match[1], "x"), path)


def app_routes() -> list[tuple[str, set[str]]]:
    """(a path it answers, its methods) for every route of the function's FastAPI app, from the
    app's own route table (included routers and mounts too), but the page's own mount."""
    import app as function

    routes = []
    for context in iter_route_contexts(function.app.routes):
        if isinstance(context.route, function.PageMount):
            continue  # the page at /, which the bucket serves
        path = sample_path(context.path)
        if context.methods is None:  # a mount: its files are below it
            path += "/swagger-ui.css"
        routes.append((path, set(context.methods or {"GET"})))
    return routes


def test_every_route_of_the_app_is_sent_to_the_api_origin():
    routes = app_routes()
    paths = [path for path, _ in routes]
    assert {"/predict", "/health", "/model", "/docs", "/openapi.json"} <= set(paths)
    assert any(path.startswith("/v1/") for path in paths) and any(path.startswith("/v2") for path in paths)
    for path, methods in routes:
        behaviour = ROUTING.behaviour_for(path)
        assert behaviour.origin == "api", f"{path} would go to the {behaviour.origin} origin"
        assert methods | {"OPTIONS"} <= behaviour.methods, (path, behaviour.pattern)


def test_every_api_behaviour_serves_a_route():
    paths = [path for path, _ in app_routes()]
    for behaviour in ROUTING.behaviours:
        if behaviour.origin == "api":
            assert any(pattern_matches(behaviour.pattern, path) for path in paths), behaviour.pattern


def test_every_file_of_the_page_goes_to_the_bucket():
    assert ROUTING.origin_for("/") == "page" and ROUTING.default_root_object == "index.html"
    for upload in deploy.plan():
        assert ROUTING.origin_for(f"/{upload.key}") == "page", upload.key


def test_the_api_is_never_cached_and_the_page_is_cached_as_each_file_says():
    caching_disabled, caching_optimized = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad", "658327ea-f89d-4fab-a63d-7e88639e58f6"
    all_viewer_except_host = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
    for behaviour in ROUTING.behaviours:
        assert behaviour.viewer_protocol_policy in {"https-only", "redirect-to-https"}, behaviour.pattern
        if behaviour.origin == "api":
            assert behaviour.cache_policy == caching_disabled, behaviour.pattern
            assert behaviour.origin_request_policy == all_viewer_except_host, behaviour.pattern
            assert behaviour.viewer_protocol_policy == "https-only"  # a redirected POST would lose its body
        else:
            assert behaviour.cache_policy == caching_optimized and behaviour.methods == {"GET", "HEAD"}
    api = ROUTING.origins["api"]["CustomOriginConfig"]
    assert api["OriginProtocolPolicy"] == "https-only" and api["OriginSSLProtocols"] == ["TLSv1.2"]


def test_the_headers_policy_gives_the_page_the_functions_own_headers():
    expected = {**security.COMMON,
                "content-security-policy": security.page_policy(security.inline_script_hashes(WEB_DIR / "index.html"))}
    policy = ROUTING.headers
    assert {name: value for name, (value, _) in policy.items() if name in expected} == expected
    # A file from the bucket gets them all; an answer of the function keeps its own (/docs has its own policy).
    from_bucket = dict(with_policy([(b"content-type", b"text/html")], policy))
    assert all(from_bucket[name.encode()] == value.encode() for name, value in expected.items())
    docs_policy = security.DOCS_POLICY.encode()
    from_function = dict(with_policy([(b"content-security-policy", docs_policy)], policy))
    assert from_function[b"content-security-policy"] == docs_policy
    assert policy["strict-transport-security"] == ("max-age=63072000", True)


def test_the_bucket_is_private_and_read_by_this_distribution_only():
    bucket = RESOURCES["WebBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values()) and len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    [allow, deny] = RESOURCES["WebBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"} and allow["Action"] == "s3:GetObject"
    assert "distribution/${Distribution}" in allow["Condition"]["StringEquals"]["AWS:SourceArn"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    page = ROUTING.origins["page"]
    assert page["OriginAccessControlId"] == "WebOriginAccessControl.Id" and page["S3OriginConfig"] == {
        "OriginAccessIdentity": ""}


def test_the_stack_prints_the_page_api_bucket_and_distribution_and_takes_a_domain_and_an_email():
    assert {"PageUrl", "ApiUrl", "WebBucketName", "DistributionId"} <= set(TEMPLATE["Outputs"])
    assert set(deploy.OUTPUTS) <= set(TEMPLATE["Outputs"])
    parameters = TEMPLATE["Parameters"]
    for name in ("DomainName", "CertificateArn", "AlarmEmail"):
        assert parameters[name]["Default"] == ""
    config = RESOURCES["Distribution"]["Properties"]["DistributionConfig"]
    assert config["Aliases"][0] == "HasDomain"
    assert config["ViewerCertificate"][1]["MinimumProtocolVersion"] == "TLSv1.2_2021"


# --- the upload plan against every file the page loads ------------------------------------------

def read(relative: str) -> str:
    return (WEB_DIR / relative).read_text(encoding="utf-8")


def quoted(text: str) -> list[str]:
    return re.findall(r'"([^"]+)"', text)


def files_the_page_loads() -> dict[str, set[str]]:
    """Each way the page loads files, read from the page's own sources: what it names -> keys."""
    def block(source: str, start: str) -> str:
        found = re.search(re.escape(start) + r"(.*?)[;}\]]\n", read(source), re.DOTALL)
        assert found, f"{source} no longer has {start!r}: update this test"
        return found[1]

    engine_scripts = quoted(block("js/tf-engine.js", "const SCRIPTS = {"))
    loads = {
        "index.html <script src>, <link href>": {
            reference.lstrip("./") for reference in re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"',
                                                               read("index.html"))
            if not re.match(r"^[a-z]+:", reference)},
        "the worker's importScripts": {f"js/{name}" for name in re.findall(r'importScripts\("([^"]+)"\)',
                                                                          read("js/inference-worker.js"))},
        "tf-engine.js's libraries": {f"vendor/{name}" for name in engine_scripts if name.endswith(".js")},
        "tf-engine.js's WebAssembly": {f"vendor/{name}" for name in quoted(block("js/tf-engine.js", "WASM_FILES = ["))},
        "the worker, the model and the card": {
            *quoted(block("js/classifier.js", "const WORKER_SCRIPT =")),
            *quoted(block("js/classifier.js", "const MODEL_URL =")),
            *quoted(block("js/model-card.js", "const CARD_URL ="))},
        "the service worker app.js registers": set(re.findall(r"register\(`([\w.-]+)\?", read("js/app.js"))),
        "sw.js's precache lists": {("index.html" if name == "./" else name) for name in
                                   [*quoted(block("sw.js", "const SHELL = [")),
                                    *quoted(block("sw.js", "const LIBRARIES = ["))]},
        "the manifest's icons": {icon["src"] for icon in json.loads(read("manifest.webmanifest"))["icons"]},
        "model.json's weights": {f"model/{path}" for group in json.loads(read("model/model.json"))["weightsManifest"]
                                 for path in group["paths"]},
    }
    for how, keys in loads.items():
        assert keys, f"found nothing for {how}: update this test"
    return loads


# The Content-Type each kind of file must have (what browsers require: application/wasm to
# compile WebAssembly as it streams, a JavaScript type for scripts and workers).
MEDIA_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json",
               ".webmanifest": "application/manifest+json", ".png": "image/png", ".wasm": "application/wasm",
               ".bin": "application/octet-stream"}


def max_age(cache_control: str) -> int:
    return int(re.search(r"max-age=(\d+)", cache_control)[1])


def test_every_file_the_page_loads_is_uploaded_with_its_type_and_cache_rule():
    plan = {upload.key: upload for upload in deploy.plan()}
    for how, keys in files_the_page_loads().items():
        for key in keys:
            assert (WEB_DIR / key).is_file(), f"{how}: web/{key} does not exist"
            upload = plan[key]
            assert upload.content_type.split(";")[0] == MEDIA_TYPES[Path(key).suffix], (key, upload.content_type)
            if upload.content_type.startswith("text/"):
                assert upload.content_type.endswith("charset=utf-8"), key
            # immutable only where the name changes with the content (a hash in it); none here do.
            assert "immutable" not in upload.cache_control or re.search(r"\.[0-9a-f]{8,}\.", key), key
            if key.startswith("vendor/") or key in {"model/model.json"} or key.endswith(".bin"):
                assert max_age(upload.cache_control) >= 86400, f"{key} is kept only {upload.cache_control}"
            elif key.endswith((".html", ".webmanifest", "sw.js", "card.json")) or key.startswith(("js/", "css/")):
                assert max_age(upload.cache_control) <= 300, f"{key} is kept {upload.cache_control}"


def test_the_plan_is_every_file_of_web_and_nothing_else():
    keys = [upload.key for upload in deploy.plan()]
    on_disk = sorted(path.relative_to(WEB_DIR).as_posix() for path in WEB_DIR.rglob("*")
                     if path.is_file() and not any(part.startswith(".") for part in path.relative_to(WEB_DIR).parts))
    assert sorted(keys) == on_disk and len(keys) == len(set(keys))
    # What the page loads first goes up last: a visitor never gets a new page before its files.
    assert keys[-1] == "index.html"
    assert all(deploy.cache_control(key) != deploy.BRIEFLY for key in keys[:keys.index("css/style.css")])


def test_the_plan_refuses_a_file_without_a_type_and_a_page_missing_its_libraries(tmp_path):
    (tmp_path / "index.html").write_text('<script src="vendor/jquery.min.js"></script>')
    with pytest.raises(deploy.PlanError, match=r"vendor/jquery\.min\.js.*npm ci"):
        deploy.plan(tmp_path)
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "jquery.min.js").write_text("")
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(deploy.PlanError, match=r"web/notes\.txt: no Content-Type for \.txt"):
        deploy.plan(tmp_path)
    (tmp_path / "notes.txt").unlink()
    assert [upload.key for upload in deploy.plan(tmp_path)] == ["vendor/jquery.min.js", "index.html"]


# --- make deploy and make destroy ---------------------------------------------------------------

OFFLINE = {**{name: value for name, value in os.environ.items() if not name.startswith("AWS_")},
           # Any attempt to reach a network would fail at once.
           "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
           "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
           "AWS_EC2_METADATA_DISABLED": "true"}


def make(*arguments: str) -> subprocess.CompletedProcess:
    # `-o setup`: the targets as a reader runs them, but never the installs `setup` would make
    # were a stamp out of date (the suite runs under `make test`, which set everything up).
    return subprocess.run(["make", "--no-print-directory", "-o", "setup", *arguments], cwd=PROJECT_ROOT,
                          env=OFFLINE, capture_output=True, text=True, timeout=300)


def test_make_deploy_dry_run_prints_every_step_and_runs_none():
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-123456789abc"
    completed = make("deploy", "DRY_RUN=1", "STACK=digits-test", "REGION=eu-west-1", "DOMAIN=digits.example.com",
                     f"CERTIFICATE_ARN={arn}", "ALARM_EMAIL=ops@example.com",
                     "PARAMETERS=UncertainShareAlarmPercent=25 PriceClass=PriceClass_All")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    lines = completed.stdout.splitlines()
    steps = [line for line in lines if line.startswith(("$ ", "aws "))]
    assert steps[0] == "$ .venv/bin/sam build"
    assert steps[1] == ("$ .venv/bin/sam deploy --stack-name digits-test --region eu-west-1 --resolve-s3 "
                        "--capabilities CAPABILITY_IAM --no-confirm-changeset --no-fail-on-empty-changeset "
                        f"--parameter-overrides 'DomainName=digits.example.com CertificateArn={arn} "
                        "AlarmEmail=ops@example.com UncertainShareAlarmPercent=25 PriceClass=PriceClass_All'")
    assert steps[2] == "aws cloudformation.describe_stacks(StackName='digits-test')"
    puts = [line for line in steps if line.startswith("aws s3.put_object(")]
    plan = deploy.plan()
    assert puts == [f"aws s3.put_object(Bucket='<WebBucketName>', Key={upload.key!r}, Body=<{upload.size:,} bytes>, "
                    f"ContentType={upload.content_type!r}, CacheControl={upload.cache_control!r})"
                    for upload in plan]
    [invalidation] = [line for line in steps if line.startswith("aws cloudfront.create_invalidation(")]
    assert steps[-1] == invalidation and "DistributionId='<DistributionId>'" in invalidation
    assert all(f"'/{upload.key}'" in invalidation for upload in plan) and "'/']" in invalidation
    assert any(line.startswith("The page:") and "<PageUrl>" in line for line in lines)
    assert any(line.startswith("The API:") and "<PageUrl>predict" in line for line in lines)


def test_make_deploy_passes_no_parameter_it_was_not_given():
    completed = make("deploy", "DRY_RUN=1")
    assert completed.returncode == 0, completed.stderr
    [sam_deploy] = [line for line in completed.stdout.splitlines() if line.startswith("$ .venv/bin/sam deploy")]
    assert "--parameter-overrides" not in sam_deploy and "--stack-name digits-classifier" in sam_deploy


@pytest.mark.parametrize(("variables", "said"), [
    (["DOMAIN=digits.example.com"], "DOMAIN and CERTIFICATE_ARN go together"),
    (["DOMAIN=digits.example.com", "CERTIFICATE_ARN=arn:aws:acm:eu-west-1:123456789012:certificate/abc"],
     "CertificateArn .* is not an ACM certificate ARN in us-east-1"),
    (["ALARM_EMAIL=not an address"], "AlarmEmail 'not an address' is not an e-mail address"),
    (["PARAMETERS=PriceClass=Cheap"], "PriceClass 'Cheap' is not one of PriceClass_100, PriceClass_200"),
    (["PARAMETERS=UncertainShareAlarmPercent=0"], "UncertainShareAlarmPercent '0' is not within 1 to 100"),
    (["PARAMETERS=Colour=blue"], "PARAMETERS takes Name=value pairs of the template's parameters"),
    ([], "no AWS credentials: set AWS_PROFILE"),
])
def test_make_deploy_refuses_what_it_cannot_do_before_running_anything(variables, said):
    completed = make("deploy", *variables)  # not a dry run: the refusal must come before any command
    assert completed.returncode != 0
    assert re.search(said, completed.stderr), completed.stderr
    assert not [line for line in completed.stdout.splitlines() if line.startswith(("$ ", "aws "))]


def test_make_destroy_dry_run_empties_the_bucket_then_deletes_the_stack():
    completed = make("destroy", "DRY_RUN=1", "STACK=digits-test", "REGION=eu-west-1")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    steps = [line for line in completed.stdout.splitlines() if line.startswith(("$ ", "aws "))]
    assert steps == [
        "aws cloudformation.describe_stacks(StackName='digits-test')",
        "aws s3.list_objects_v2(Bucket='<WebBucketName>')",
        "aws s3.delete_objects(Bucket='<WebBucketName>', Delete={'Objects': [{'Key': '<each key listed>'}], "
        "'Quiet': True})",
        "$ .venv/bin/sam delete --stack-name digits-test --region eu-west-1 --no-prompts",
    ]


def aws_client(service: str):
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")


def test_a_deploy_uploads_only_what_changed_deletes_what_is_gone_and_invalidates_exactly_that(tmp_path):
    """Against S3 and CloudFront as botocore's Stubber answers for them: the calls, in order,
    with their parameters, and nothing else."""
    (tmp_path / "js").mkdir()
    (tmp_path / "index.html").write_text('<script src="js/app.js"></script>')
    (tmp_path / "js" / "app.js").write_text("'use strict';")
    (tmp_path / "js" / "ui.js").write_text("'use strict'; // changed")
    (tmp_path / "icon.png").write_bytes(b"\x89PNG")
    uploads = {upload.key: upload for upload in deploy.plan(tmp_path)}
    s3, cloudfront = aws_client("s3"), aws_client("cloudfront")
    with Stubber(s3) as s3_stub, Stubber(cloudfront) as cloudfront_stub:
        s3_stub.add_response("list_objects_v2", {"IsTruncated": False, "Contents": [
            {"Key": "icon.png", "ETag": f'"{uploads["icon.png"].md5()}"'},         # same bytes, old header
            {"Key": "index.html", "ETag": f'"{uploads["index.html"].md5()}"'},     # unchanged
            {"Key": "js/app.js", "ETag": f'"{uploads["js/app.js"].md5()}"'},       # unchanged
            {"Key": "js/ui.js", "ETag": '"0123456789abcdef0123456789abcdef"'},   # changed bytes
            {"Key": "js/gone.js", "ETag": '"0123456789abcdef0123456789abcdef"'},  # no longer in web/
        ]}, {"Bucket": "page-bucket"})
        s3_stub.add_response("head_object", {"ContentType": "image/png", "CacheControl": "max-age=60"},
                             {"Bucket": "page-bucket", "Key": "icon.png"})
        s3_stub.add_response("put_object", {}, {"Bucket": "page-bucket", "Key": "icon.png", "Body": b"\x89PNG",
                                                "ContentType": "image/png", "CacheControl": deploy.BRIEFLY})
        s3_stub.add_response("head_object", {"ContentType": "text/javascript; charset=utf-8",
                                             "CacheControl": deploy.BRIEFLY},
                             {"Bucket": "page-bucket", "Key": "js/app.js"})
        s3_stub.add_response("put_object", {}, {"Bucket": "page-bucket", "Key": "js/ui.js", "Body": ANY,
                                                "ContentType": "text/javascript; charset=utf-8",
                                                "CacheControl": deploy.BRIEFLY})
        s3_stub.add_response("head_object", {"ContentType": "text/html; charset=utf-8", "CacheControl": deploy.BRIEFLY},
                             {"Bucket": "page-bucket", "Key": "index.html"})
        s3_stub.add_response("delete_objects", {}, {"Bucket": "page-bucket",
                                                    "Delete": {"Objects": [{"Key": "js/gone.js"}], "Quiet": True}})
        cloudfront_stub.add_response("create_invalidation", {}, {"DistributionId": "E123", "InvalidationBatch": {
            "Paths": {"Quantity": 3, "Items": ["/icon.png", "/js/ui.js", "/js/gone.js"]}, "CallerReference": ANY}})
        paths = deploy.upload_page(s3, cloudfront, "page-bucket", "E123", list(uploads.values()))
        s3_stub.assert_no_pending_responses()
        cloudfront_stub.assert_no_pending_responses()
    assert paths == ["/icon.png", "/js/ui.js", "/js/gone.js"]


# --- the page through the distribution's routing, in Chromium -----------------------------------

@pytest.fixture(scope="module")
def browser():
    with support.chromium_or_skip() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def origin(browser, tmp_path_factory):
    """The function as Lambda runs it, without the page (DIGITS_WEB_DIR empty), behind the local
    distribution, which serves web/ as the bucket holds it."""
    with api_server(web_dir=tmp_path_factory.mktemp("no-page")) as api_url, \
            local_distribution(api_url) as (url, app):
        yield url, app


@pytest.mark.parametrize("mode", ["server", "browser"])
def test_the_page_works_unchanged_through_the_distributions_routing(browser, origin, mode):
    url, app = origin
    context = browser.new_context(viewport=support.LAPTOP)
    try:
        page = context.new_page()
        problems = support.PageProblems(page)
        answers = []
        page.on("response", lambda response: answers.append((response.status, response.url, response.headers)))
        before = len(app.requests)
        page.goto(f"{url}/?mode={mode}")
        support.wait_until_ready(page)
        if mode == "browser":
            page.wait_for_selector("#model-status[data-state='ready']", timeout=support.ANSWER_TIMEOUT_MS)
        support.draw_digit(page, 7)
        assert support.recognise(page) == "done", page.inner_text("#message")
        assert page.inner_text("#output") == "7"
        problems.check()
    finally:
        context.close()
    assert all(answer_url.startswith(url) for _, answer_url, _ in answers), "the page left its one origin"
    assert [(status, answer_url) for status, answer_url, _ in answers if status >= 400] == []
    seen = app.requests[before:]
    if mode == "server":
        assert ("POST", "/predict", "api") in seen
    else:
        assert ("GET", "/vendor/tfjs-backend-wasm-simd.wasm", "page") in seen
        assert not [request for request in seen if request[2] == "api" and request[1] == "/predict"]
    [(_, _, page_headers)] = [answer for answer in answers if answer[1] == f"{url}/?mode={mode}"]
    assert page_headers["content-security-policy"] == ROUTING.headers["content-security-policy"][0]
    assert page_headers["cache-control"] == deploy.cache_control("index.html")


def test_the_distribution_refuses_what_its_behaviours_do_not_allow_and_keeps_the_apis_headers(origin):
    import httpx

    url, _ = origin
    assert httpx.post(f"{url}/index.html", content=b"x").status_code == 403    # the page takes GET and HEAD
    assert httpx.get(f"{url}/no-such-file.js").status_code == 403             # CloudFront may not list the bucket
    docs = httpx.get(f"{url}/docs")
    assert docs.status_code == 200 and docs.headers["content-security-policy"] == security.DOCS_POLICY
    # An answer the function compressed is passed on compressed.
    schema = httpx.get(f"{url}/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert schema.headers["content-encoding"] == "gzip" and "/predict" in schema.json()["paths"]
    wasm = httpx.get(f"{url}/vendor/tfjs-backend-wasm-simd.wasm")
    assert wasm.headers["content-type"] == "application/wasm"
    assert httpx.get(f"{url}/vendor/tfjs-backend-wasm-simd.wasm",
                     headers={"If-None-Match": wasm.headers["etag"]}).status_code == 304
