"""`make deploy` and `make destroy`: the stack in template.yaml on AWS, and the page (web/) in its bucket.

    python -m deploy.deploy deploy --stack digits --region eu-west-1 [--domain NAME --certificate-arn ARN]
                                   [--alarm-email ADDRESS] [--parameter NAME=VALUE ...] [--dry-run]
    python -m deploy.deploy destroy --stack digits --region eu-west-1 [--dry-run]

deploy: `sam build`, `sam deploy` (no questions: every answer is an option), then web/ into the
stack's bucket, each file with its Content-Type and Cache-Control (the upload plan below), only
the files whose bytes or headers differ from the bucket's, the page itself last, files web/ no
longer has deleted; then one CloudFront invalidation of exactly those paths, and the URLs.
destroy: empties the bucket (CloudFormation deletes only empty buckets), then `sam delete`.
Both refuse, before running anything, a machine without AWS credentials, and deploy parameter
values the template would refuse (checked against its own AllowedPattern).

--dry-run runs the same steps against a stand-in that prints each command and AWS call instead
of making it, so it needs no credentials and no network. It cannot see the bucket, so it prints
every upload a first deploy makes.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import os
import posixpath
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WEB_DIR = PROJECT_ROOT / "web"
TEMPLATE = PROJECT_ROOT / "template.yaml"
# As the Makefile names it (.venv/bin/sam), and run from the project's root, where template.yaml is.
SAM = Path(os.path.relpath(Path(sys.executable).with_name("sam"), PROJECT_ROOT))
DEFAULT_REGION = "us-east-1"

# --- the upload plan: what each file of web/ is, and how long it may be kept ----------------

# Written out rather than taken from `mimetypes`, whose answers depend on the machine: .wasm
# must be application/wasm or browsers refuse to compile it as it streams in, and a
# .webmanifest is application/manifest+json. A file of another kind stops the plan, so a new
# kind is given its type here before it is ever served.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".png": "image/png",
    ".wasm": "application/wasm",
    ".bin": "application/octet-stream",
}

# How long browsers and CloudFront's edges keep each file (CloudFront's CachingOptimized
# policy honours max-age; each deploy invalidates what it changed at the edges). No file is
# `immutable`: that is safe only for names that change when the content does, and none here
# do (model/group1-shard1of1.bin, vendor/tf-core.es2017.min.js keep their names across
# models and TF.js versions). So the long rules are days, not a year, and after a deploy a
# browser may use an older copy of a long-kept file for at most that long; the service
# worker, whose cache the card's version names, fetches every file afresh for a new model.
BRIEFLY = "public, max-age=300"
A_DAY = "public, max-age=86400"
A_WEEK = "public, max-age=604800"
CACHE_RULES: tuple[tuple[str, str, str], ...] = (
    # (pattern, Cache-Control, why), the first that matches a file's key applies.
    ("model/card.json", BRIEFLY, "the page reads the model's version and its 'not sure' rule from it"),
    ("model/*", A_DAY, "the model's graph and weights: they change only with a new model, together"),
    ("vendor/*", A_WEEK, "jQuery and TF.js, pinned by package-lock.json: they change only with a pin"),
    ("icons/*", A_DAY, "the app's icons"),
    ("*", BRIEFLY, "the page (index.html, js/, css/, sw.js, the manifest): a change shows within minutes"),
)


class PlanError(ValueError):
    """web/ cannot be uploaded as it is (a missing file, a kind of file without a type)."""


@dataclass(frozen=True)
class Upload:
    path: Path           # the file in web/
    key: str             # its key in the bucket, which is its path under the distribution's root
    content_type: str
    cache_control: str

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    def md5(self) -> str:
        return hashlib.md5(self.path.read_bytes(), usedforsecurity=False).hexdigest()


def cache_control(key: str) -> str:
    return next(value for pattern, value, _why in CACHE_RULES if fnmatch.fnmatchcase(key, pattern))


class _PageReferences(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        reference = values.get("src") if tag == "script" else values.get("href") if tag == "link" else None
        if reference and not re.match(r"^[a-z][a-z0-9+.-]*:", reference, re.IGNORECASE):  # data:, https: ...
            self.found.append(reference.split("?")[0].split("#")[0])


def page_references(web_dir: Path = WEB_DIR) -> list[str]:
    """The files index.html loads by <script src> and <link href>, as keys."""
    parser = _PageReferences()
    parser.feed((web_dir / "index.html").read_text(encoding="utf-8"))
    return [posixpath.normpath(reference).lstrip("/") for reference in parser.found]


def plan(web_dir: Path = WEB_DIR) -> list[Upload]:
    """Every file under web/ (but hidden ones, such as .gitignore) with its headers; the page's
    own files (BRIEFLY) last, so a visitor never gets a new page before what it loads."""
    if not (web_dir / "index.html").is_file():
        raise PlanError(f"{web_dir}/index.html is missing")
    uploads = []
    for path in sorted(web_dir.rglob("*")):
        relative = path.relative_to(web_dir)
        if not path.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        content_type = CONTENT_TYPES.get(path.suffix)
        if content_type is None:
            kind = path.suffix or "files without a suffix"
            raise PlanError(f"web/{relative.as_posix()}: no Content-Type for {kind}; add it to CONTENT_TYPES in "
                            "deploy/deploy.py")
        uploads.append(Upload(path, relative.as_posix(), content_type, cache_control(relative.as_posix())))
    keys = {upload.key for upload in uploads}
    missing = [reference for reference in page_references(web_dir) if reference not in keys]
    if missing:
        raise PlanError(f"index.html loads {', '.join(missing)}, missing from web/: `npm ci` copies the libraries "
                        "into web/vendor/, `make train` exports the model into web/model/")
    return sorted(uploads, key=lambda upload: (upload.cache_control == BRIEFLY, upload.key == "index.html", upload.key))


# --- the parameters, checked against the template before anything runs ---------------------

class _CloudFormationLoader(yaml.SafeLoader):
    """Reads !Ref, !Sub, !If ... as plain values."""


_CloudFormationLoader.add_multi_constructor("!", lambda loader, suffix, node: (
    loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else
    loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode) else loader.construct_mapping(node)))


def template() -> dict:
    return yaml.load(TEMPLATE.read_text(), Loader=_CloudFormationLoader)


VARIABLES = {"DomainName": "DOMAIN", "CertificateArn": "CERTIFICATE_ARN", "AlarmEmail": "ALARM_EMAIL"}


def parameter_overrides(domain: str, certificate_arn: str, alarm_email: str,
                        others: Iterable[str] = ()) -> dict[str, str]:
    """The stack's parameters from the make variables (and PARAMETERS' `Name=value` pairs for the
    template's other parameters), refused here, with the template's own words, where
    CloudFormation would refuse them; those not given keep the template's defaults."""
    parameters = template()["Parameters"]
    given = {"DomainName": domain, "CertificateArn": certificate_arn, "AlarmEmail": alarm_email}
    for pair in others:
        name, equals, value = pair.partition("=")
        if not equals or name not in parameters:
            raise ValueError(f"PARAMETERS takes Name=value pairs of the template's parameters "
                             f"({', '.join(sorted(set(parameters) - set(VARIABLES)))}), not {pair!r}")
        if name in VARIABLES:
            raise ValueError(f"{name} is set with {VARIABLES[name]}=, not in PARAMETERS")
        given[name] = value
    for name, value in given.items():
        _check(name, value, parameters[name])
    if bool(domain) != bool(certificate_arn):
        raise ValueError("DOMAIN and CERTIFICATE_ARN go together: a custom domain needs its ACM certificate "
                         "(in us-east-1), and a certificate without a domain is never used")
    return {name: value for name, value in given.items() if value}


def _check(name: str, value: str, parameter: dict) -> None:
    if not value:
        return
    refusal = f"{name} {value!r} is not {parameter.get('ConstraintDescription', 'allowed')}"
    if "AllowedPattern" in parameter and not re.fullmatch(parameter["AllowedPattern"], value):
        raise ValueError(refusal)
    if "AllowedValues" in parameter and value not in map(str, parameter["AllowedValues"]):
        raise ValueError(f"{name} {value!r} is not one of {', '.join(map(str, parameter['AllowedValues']))}")
    if parameter["Type"] == "Number":
        if not re.fullmatch(r"-?\d+(\.\d+)?", value):
            raise ValueError(f"{name} {value!r} is not a number")
        low, high = parameter.get("MinValue", float("-inf")), parameter.get("MaxValue", float("inf"))
        if not low <= float(value) <= high:
            raise ValueError(f"{name} {value!r} is not within {low} to {high}")


# --- doing it, or printing it ---------------------------------------------------------------

def say(line: str) -> None:
    print(line, flush=True)


class Printed:
    """Stands in for a boto3 client in a dry run: prints each call and answers as an empty,
    newly created stack would."""

    def __init__(self, service: str):
        self.service = service

    def __getattr__(self, method: str) -> Callable[..., dict]:
        def call(**arguments) -> dict:
            shown = ", ".join(f"{name}={_shown(value)}" for name, value in arguments.items())
            say(f"aws {self.service}.{method}({shown})")
            if method == "describe_stacks":
                return {"Stacks": [{"Outputs": [{"OutputKey": key, "OutputValue": f"<{key}>"} for key in OUTPUTS]}]}
            if method == "list_objects_v2":
                return {"Contents": [], "IsTruncated": False}
            return {}
        return call


def _shown(value) -> str:
    return f"<{len(value):,} bytes>" if isinstance(value, bytes) else repr(value)


@dataclass
class Runner:
    region: str
    dry_run: bool

    def command(self, arguments: list[str]) -> None:
        say(f"$ {shlex.join(arguments)}")
        if not self.dry_run:
            subprocess.run(arguments, cwd=PROJECT_ROOT, check=True)

    def client(self, service: str):
        if self.dry_run:
            return Printed(service)
        import boto3

        return boto3.client(service, region_name=self.region)


# --- the steps --------------------------------------------------------------------------------

OUTPUTS = ("PageUrl", "ApiUrl", "PredictUrl", "DashboardUrl", "WebBucketName", "DistributionId")


def stack_outputs(cloudformation, stack: str) -> dict[str, str]:
    stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}


def bucket_objects(s3, bucket: str) -> dict[str, str]:
    """The bucket's keys and their ETags (the MD5 of the bytes, for objects put whole with SSE-S3)."""
    found, token = {}, None
    while True:
        page = s3.list_objects_v2(Bucket=bucket, **({"ContinuationToken": token} if token else {}))
        found.update({item["Key"]: item["ETag"].strip('"') for item in page.get("Contents", [])})
        if not page.get("IsTruncated"):
            return found
        token = page["NextContinuationToken"]


def upload_page(s3, cloudfront, bucket: str, distribution: str, uploads: list[Upload]) -> list[str]:
    """Put the files whose bytes or headers differ, delete what web/ no longer has, and invalidate
    exactly those paths; returns them."""
    present = bucket_objects(s3, bucket)
    changed = []
    for upload in uploads:
        if present.get(upload.key) == upload.md5():
            head = s3.head_object(Bucket=bucket, Key=upload.key)
            if (head.get("ContentType"), head.get("CacheControl")) == (upload.content_type, upload.cache_control):
                continue
        s3.put_object(Bucket=bucket, Key=upload.key, Body=upload.path.read_bytes(),
                      ContentType=upload.content_type, CacheControl=upload.cache_control)
        changed.append(upload.key)
    stale = sorted(set(present) - {upload.key for upload in uploads})
    for start in range(0, len(stale), 1000):  # delete_objects takes at most 1,000 keys
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in stale[start:start + 1000]],
                                                 "Quiet": True})
    paths = [f"/{key}" for key in [*changed, *stale]]
    if "/index.html" in paths:
        paths.append("/")  # the default root object is cached under the root as well
    if paths:
        cloudfront.create_invalidation(DistributionId=distribution, InvalidationBatch={
            "Paths": {"Quantity": len(paths), "Items": paths},
            "CallerReference": f"deploy-{time.time_ns()}"})
    return paths


def deploy(runner: Runner, stack: str, parameters: dict[str, str], web_dir: Path = WEB_DIR) -> dict[str, str]:
    uploads = plan(web_dir)  # before anything runs: a page that cannot be uploaded stops the deploy here
    runner.command([str(SAM), "build"])
    overrides = [f"{name}={value}" for name, value in parameters.items()]
    runner.command([str(SAM), "deploy", "--stack-name", stack, "--region", runner.region, "--resolve-s3",
                    "--capabilities", "CAPABILITY_IAM", "--no-confirm-changeset", "--no-fail-on-empty-changeset",
                    *(["--parameter-overrides", " ".join(overrides)] if overrides else [])])
    outputs = stack_outputs(runner.client("cloudformation"), stack)
    paths = upload_page(runner.client("s3"), runner.client("cloudfront"), outputs["WebBucketName"],
                        outputs["DistributionId"], uploads)
    if runner.dry_run:
        say("(a real deploy uploads only the files whose bytes or headers differ from the bucket's, deletes what "
            "web/ no longer has, and invalidates those paths)")
    else:
        say(f"{len(paths)} paths changed and invalidated" if paths else "The page in the bucket was up to date.")
    say(f"The page:      {outputs['PageUrl']}")
    say(f"The API:       {outputs['PageUrl']}predict, {outputs['PageUrl']}docs (and directly at {outputs['ApiUrl']})")
    say(f"The dashboard: {outputs['DashboardUrl']}")
    return outputs


def destroy(runner: Runner, stack: str) -> None:
    cloudformation = runner.client("cloudformation")
    try:
        outputs = stack_outputs(cloudformation, stack)
    except Exception as error:  # botocore's ClientError, when the stack does not exist
        if "does not exist" not in str(error):
            raise
        say(f"There is no stack {stack} in {runner.region}: nothing to delete.")
        return
    s3 = runner.client("s3")
    bucket = outputs["WebBucketName"]
    keys = sorted(bucket_objects(s3, bucket))
    if runner.dry_run:  # it sees an empty bucket: show the call a real run makes for each 1,000 keys
        keys = ["<each key listed>"]
    for start in range(0, len(keys), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in keys[start:start + 1000]],
                                                 "Quiet": True})
    runner.command([str(SAM), "delete", "--stack-name", stack, "--region", runner.region, "--no-prompts"])


def configured_region() -> str | None:
    """The region the AWS configuration names: AWS_REGION, AWS_DEFAULT_REGION or the profile's in
    ~/.aws/config (read offline)."""
    import boto3

    return os.environ.get("AWS_REGION") or boto3.session.Session().region_name


def require_credentials(runner: Runner) -> None:
    """Stop before building anything when boto3 finds no credentials where it looks for them (the
    environment, ~/.aws, and on AWS the instance's or container's role)."""
    import boto3
    from botocore.exceptions import BotoCoreError

    if runner.dry_run:
        return
    try:
        found = boto3.session.Session().get_credentials()
    except BotoCoreError:  # the last place looked, the instance metadata service, cannot be reached
        found = None
    if found is None:
        raise ValueError("no AWS credentials: set AWS_PROFILE, run `aws configure` or `aws sso login`, or export "
                         "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; DRY_RUN=1 shows what would run")


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.deploy", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["deploy", "destroy"])
    parser.add_argument("--stack", default="digits-classifier", help="the CloudFormation stack (default %(default)s)")
    parser.add_argument("--region", default=None,
                        help=f"default: the AWS configuration's (AWS_REGION, ~/.aws/config), else {DEFAULT_REGION}")
    parser.add_argument("--domain", default="", help="a custom domain for the page (with --certificate-arn)")
    parser.add_argument("--certificate-arn", default="", help="its ACM certificate, in us-east-1")
    parser.add_argument("--alarm-email", default="", help="an address the alarms write to")
    parser.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE",
                        help="another of the template's parameters (UncertainShareAlarmPercent=25, say); repeatable")
    parser.add_argument("--dry-run", action="store_true", help="print every command and AWS call, run none")
    arguments = parser.parse_args(list(argv) if argv is not None else None)
    runner = Runner(region=arguments.region or configured_region() or DEFAULT_REGION, dry_run=arguments.dry_run)
    say(f"{'Dry run: ' if runner.dry_run else ''}{arguments.action} stack {arguments.stack} in {runner.region}")
    try:
        if arguments.action == "deploy":
            parameters = parameter_overrides(arguments.domain, arguments.certificate_arn, arguments.alarm_email,
                                             arguments.parameter)
            require_credentials(runner)
            deploy(runner, arguments.stack, parameters)
        else:
            require_credentials(runner)
            destroy(runner, arguments.stack)
    except (PlanError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as error:
        print(f"error: {shlex.join(error.cmd)} failed (exit {error.returncode})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
