"""The CloudFront distribution of template.yaml, read from the template and stood up on this
machine as one origin that routes each path as the distribution's behaviours do.

    routing = distribution()                 # the behaviours, origins and headers policy, from template.yaml
    routing.origin_for("/predict")           # -> "api"; routing.origin_for("/js/app.js") -> "page"
    with local_distribution(api_url) as (url, app):  # http://127.0.0.1:PORT until the block ends;
        ...                                          # app.exchanges: each request, its origin and bytes

The stand-in does what the deployed distribution is configured to do, and no more: paths the
bucket origin gets are answered from web/ as the bucket holds it after `make deploy` (each file
with the upload plan's Content-Type and Cache-Control, ETag revalidation, index.html at the
root only, 403 for a key it lacks, since CloudFront may not list the bucket); paths the API
origin gets are forwarded to a running API server with the viewer's method, query, headers
(but Host) and body; a method a behaviour does not allow is a 403; the response headers policy
is applied to both with its override rules. It speaks plain HTTP: TLS is CloudFront's.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn

from deploy import deploy
from tests.support import servers

# Headers that describe one hop, never forwarded (RFC 9110, 7.6.1).
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "content-length"}


@dataclass(frozen=True)
class Behaviour:
    pattern: str          # the path pattern; "*" for the default behaviour
    origin: str           # the Id of the origin it sends requests to
    methods: frozenset[str]
    cache_policy: str
    origin_request_policy: str | None
    viewer_protocol_policy: str


@dataclass(frozen=True)
class Distribution:
    behaviours: tuple[Behaviour, ...]          # in the order CloudFront tries them, the default last
    origins: dict[str, dict]                   # Id -> the origin as the template writes it
    default_root_object: str
    headers: dict[str, tuple[str, bool]] = field(default_factory=dict)  # lower-case name -> (value, override)

    def behaviour_for(self, path: str) -> Behaviour:
        return next(behaviour for behaviour in self.behaviours if pattern_matches(behaviour.pattern, path))

    def origin_for(self, path: str) -> str:
        return self.behaviour_for(path).origin


def pattern_matches(pattern: str, path: str) -> bool:
    """CloudFront's path patterns: case-sensitive, `*` any run of characters (slashes too), `?`
    exactly one, matched against the whole path without its query; the leading / is optional."""
    regex = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern.lstrip("/"))
    return re.fullmatch(regex, path.lstrip("/")) is not None


def policy_headers(config: dict) -> dict[str, tuple[str, bool]]:
    """A ResponseHeadersPolicyConfig as the headers it sets: name -> (value, override)."""
    security = dict(config.get("SecurityHeadersConfig", {}))
    headers = {}
    if "ContentSecurityPolicy" in security:
        policy = security.pop("ContentSecurityPolicy")
        headers["content-security-policy"] = (policy["ContentSecurityPolicy"], policy["Override"])
    if "ContentTypeOptions" in security:
        headers["x-content-type-options"] = ("nosniff", security.pop("ContentTypeOptions")["Override"])
    if "FrameOptions" in security:
        options = security.pop("FrameOptions")
        headers["x-frame-options"] = (options["FrameOption"], options["Override"])
    if "ReferrerPolicy" in security:
        referrer = security.pop("ReferrerPolicy")
        headers["referrer-policy"] = (referrer["ReferrerPolicy"], referrer["Override"])
    if "StrictTransportSecurity" in security:
        hsts = security.pop("StrictTransportSecurity")
        value = "; ".join([f"max-age={hsts['AccessControlMaxAgeSec']}",
                           *(["includeSubDomains"] if hsts.get("IncludeSubdomains") else []),
                           *(["preload"] if hsts.get("Preload") else [])])
        headers["strict-transport-security"] = (value, hsts["Override"])
    if security:  # a setting this stand-in does not know must not pass unnoticed
        raise NotImplementedError(f"the stand-in does not apply {sorted(security)}")
    for item in config.get("CustomHeadersConfig", {}).get("Items", []):
        headers[item["Header"].lower()] = (item["Value"], item["Override"])
    return headers


def _behaviour(entry: dict, pattern: str) -> Behaviour:
    return Behaviour(pattern=pattern, origin=entry["TargetOriginId"], methods=frozenset(entry["AllowedMethods"]),
                     cache_policy=entry["CachePolicyId"], origin_request_policy=entry.get("OriginRequestPolicyId"),
                     viewer_protocol_policy=entry["ViewerProtocolPolicy"])


def distribution(template: dict | None = None) -> Distribution:
    """The distribution template.yaml describes (its one AWS::CloudFront::Distribution)."""
    template = template or deploy.template()
    resources = template["Resources"]
    [config] = [resource["Properties"]["DistributionConfig"] for resource in resources.values()
                if resource["Type"] == "AWS::CloudFront::Distribution"]
    default = config["DefaultCacheBehavior"]
    policies = {entry.get("ResponseHeadersPolicyId") for entry in [default, *config.get("CacheBehaviors", [])]}
    if len(policies) != 1:
        raise NotImplementedError(f"the stand-in applies one response headers policy to every path, not {policies}")
    [policy] = policies
    headers = policy_headers(resources[policy]["Properties"]["ResponseHeadersPolicyConfig"]) if policy else {}
    behaviours = (*(_behaviour(entry, entry["PathPattern"]) for entry in config.get("CacheBehaviors", [])),
                  _behaviour(default, "*"))
    return Distribution(behaviours=behaviours, origins={origin["Id"]: origin for origin in config["Origins"]},
                        default_root_object=config.get("DefaultRootObject", ""), headers=headers)


def with_policy(headers: list[tuple[bytes, bytes]], policy: dict[str, tuple[str, bool]]) -> list[tuple[bytes, bytes]]:
    """The origin's headers with the policy's: an overriding header replaces the origin's, the
    others are added only where the origin sent none."""
    sent = {name.decode("latin-1").lower() for name, _ in headers}
    kept = [(name, value) for name, value in headers
            if not (name.decode("latin-1").lower() in policy and policy[name.decode("latin-1").lower()][1])]
    added = [(name.encode(), value.encode()) for name, (value, override) in policy.items()
             if override or name not in sent]
    return kept + added


@dataclass(frozen=True)
class Exchange:
    """One request the stand-in answered."""

    method: str
    path: str
    origin: str
    status: int
    sent: bytes           # the request's body
    answered_bytes: int   # the response body's length as sent to the viewer


class LocalDistribution:
    """The ASGI app: each request to the origin its behaviour names."""

    def __init__(self, routing: Distribution, api_url: str, web_dir: Path):
        self.routing = routing
        self.api_url = api_url.rstrip("/")
        self.files = {upload.key: upload for upload in deploy.plan(web_dir)}
        self.exchanges: list[Exchange] = []

    @property
    def requests(self) -> list[tuple[str, str, str]]:
        """(method, path, origin) of each request answered so far."""
        return [(exchange.method, exchange.path, exchange.origin) for exchange in self.exchanges]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        behaviour = self.routing.behaviour_for(path)
        sent = await _body(receive)
        if method not in behaviour.methods:
            status, headers, body = 403, [(b"content-type", b"text/html")], b"This distribution does not allow it."
        elif self.routing.origins[behaviour.origin].get("S3OriginConfig") is not None:
            status, headers, body = self._from_bucket(path, dict(scope["headers"]))
        else:
            status, headers, body = await self._from_api(scope, sent)
        headers = [*with_policy(headers, self.routing.headers), (b"content-length", str(len(body)).encode())]
        body = b"" if method == "HEAD" else body
        self.exchanges.append(Exchange(method, path, behaviour.origin, status, sent, len(body)))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _from_bucket(self, path: str, request_headers: dict[bytes, bytes]):
        key = self.routing.default_root_object if path == "/" else urllib.parse.unquote(path.lstrip("/"))
        upload = self.files.get(key)
        if upload is None:
            return 403, [(b"content-type", b"application/xml")], b"<Error><Code>AccessDenied</Code></Error>"
        etag = f'"{upload.md5()}"'.encode()
        headers = [(b"content-type", upload.content_type.encode()), (b"cache-control", upload.cache_control.encode()),
                   (b"etag", etag)]
        if request_headers.get(b"if-none-match") == etag:
            return 304, headers, b""
        return 200, headers, upload.path.read_bytes()  # a HEAD's body is dropped when it is sent

    async def _from_api(self, scope, body: bytes):
        # Managed-AllViewerExceptHostHeader: every header, cookie and query string, but Host.
        headers = [(name, value) for name, value in scope["headers"]
                   if name.decode("latin-1").lower() not in HOP_BY_HOP | {"host"}]
        url = self.api_url + urllib.parse.quote(scope["path"]) + (
            "?" + scope["query_string"].decode("latin-1") if scope["query_string"] else "")
        async with httpx.AsyncClient(timeout=120) as client:
            response = await client.send(client.build_request(scope["method"], url, headers=headers, content=body),
                                         stream=True)
            content = b"".join([chunk async for chunk in response.aiter_raw()])
            await response.aclose()
        answered = [(name, value) for name, value in response.headers.raw
                    if name.decode("latin-1").lower() not in HOP_BY_HOP]
        return response.status_code, answered, content


async def _body(receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


@contextlib.contextmanager
def local_distribution(api_url: str, web_dir: Path = servers.WEB_DIR, routing: Distribution | None = None):
    """The stand-in on a free loopback port, in a thread of this process; yields (url, app)."""
    app = LocalDistribution(routing or distribution(), api_url, web_dir)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=servers.free_port(), log_level="warning",
                                           access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, name="local-distribution", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the local distribution did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{server.config.port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=10)
