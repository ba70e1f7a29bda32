"""deploy/kubernetes: every manifest valid against Kubernetes' published schemas (strict, offline,
with kubernetes-validate), rendered as `kubectl apply -k` would, consistent with the image,
and the model-from-ConfigMap overlay's parts and init container tried for real in Docker.

No cluster is needed: the schema check and the rendering are offline, and the containers run
under Docker with the manifest's own settings (tests/support/containers.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess

import httpx
import kubernetes_validate
import pytest
import yaml

from tests.container import kustomize
from tests.support import PROJECT_ROOT
from tests.support.containers import run_container

DEPLOY = PROJECT_ROOT / "deploy" / "kubernetes"
OVERLAY = DEPLOY / "overlays" / "model-from-configmap"
KUBERNETES_VERSION = kubernetes_validate.latest_version()
CONFIGMAP_LIMIT = 1024 * 1024  # the API server refuses a ConfigMap whose data + binaryData exceed 1 MiB
PART_BYTES = 1_000_000  # `split --bytes=1000000`, as the overlay's instructions say
LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/component", "app.kubernetes.io/part-of")
MANIFESTS = sorted(path for path in DEPLOY.rglob("*.yaml") if path.name != "kustomization.yaml"
                   and path.parent != OVERLAY)


def validate(resource: dict) -> None:
    try:
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        pytest.fail(f"{resource['kind']}/{resource['metadata']['name']}: {error.message} at "
                    f"{'.'.join(map(str, error.path))}")


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: str(path.relative_to(DEPLOY)))
def test_every_manifest_is_valid_against_the_schemas(path):
    resources = [document for document in yaml.safe_load_all(path.read_text()) if document]
    assert len(resources) == 1, "one resource per file"
    validate(resources[0])
    labels = resources[0]["metadata"].get("labels", {})
    assert all(label in labels for label in LABELS), f"{path.name} lacks one of {LABELS}"


@pytest.fixture(scope="module", params=["base", "model-from-configmap"])
def rendered(request):
    folder = DEPLOY if request.param == "base" else OVERLAY
    objects = kustomize.render(folder)
    if shutil.which("kubectl"):
        # where kubectl is installed, its own kustomize must render the same objects
        theirs = subprocess.run(["kubectl", "kustomize", str(folder)], capture_output=True, text=True, timeout=120)
        assert theirs.returncode == 0, theirs.stderr
        def key(item: dict) -> tuple[str, str]:
            return item["kind"], item["metadata"]["name"]

        assert sorted(objects, key=key) == sorted(
            (item for item in yaml.safe_load_all(theirs.stdout) if item), key=key)
    return {item["kind"]: item for item in objects}


def test_rendered_resources_are_valid(rendered):
    assert set(rendered) == {"ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
    for resource in rendered.values():
        validate(resource)


def pod_of(rendered) -> dict:
    return rendered["Deployment"]["spec"]["template"]["spec"]


def test_deployment_is_locked_down(rendered):
    deployment = rendered["Deployment"]
    pod = pod_of(rendered)
    assert deployment["spec"]["replicas"] >= 2
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    for container in pod["containers"] + pod.get("initContainers", []):
        security = container["securityContext"]
        assert security["runAsNonRoot"] is True and security["runAsUser"] > 0
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert {"requests", "limits"} <= set(container["resources"])
    mounts = {mount["mountPath"]: mount["name"] for mount in pod["containers"][0]["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert volumes[mounts["/tmp"]]["emptyDir"]["medium"] == "Memory"


def test_selectors_match_the_pods(rendered):
    pod_labels = rendered["Deployment"]["spec"]["template"]["metadata"]["labels"]
    for selector in (rendered["Deployment"]["spec"]["selector"]["matchLabels"],
                     rendered["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"],
                     rendered["Service"]["spec"]["selector"]):
        assert selector.items() <= pod_labels.items()
    assert rendered["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"] == rendered["Deployment"][
        "metadata"]["name"]
    assert rendered["HorizontalPodAutoscaler"]["spec"]["minReplicas"] >= 2
    assert rendered["Service"]["spec"]["type"] == "ClusterIP"


def test_manifest_matches_the_image(rendered, image):
    config = json.loads(subprocess.run(["docker", "image", "inspect", image], capture_output=True, text=True,
                                       check=True).stdout)[0]["Config"]
    container = pod_of(rendered)["containers"][0]
    user, _, group = config["User"].partition(":")
    assert (container["securityContext"]["runAsUser"], container["securityContext"]["runAsGroup"]) == (
        int(user), int(group))
    assert f"{container['ports'][0]['containerPort']}/tcp" in config["ExposedPorts"]
    assert container["image"].split(":")[0] == image.split(":")[0]


def test_probes_get_what_the_app_answers(rendered, service):
    container = pod_of(rendered)["containers"][0]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        path = container[probe]["httpGet"]["path"]
        assert httpx.get(service.url + path, timeout=container[probe]["timeoutSeconds"] + 5).status_code == 200


def test_the_model_folder_is_over_a_configmaps_limit_but_its_parts_fit():
    model_dir = PROJECT_ROOT / "lambda" / "model"
    whole = sum(path.stat().st_size for path in model_dir.iterdir() if path.is_file())
    assert whole > CONFIGMAP_LIMIT  # so `kubectl create configmap --from-file=lambda/model/` is refused
    tflite = (model_dir / "digits.tflite").stat().st_size
    card = (model_dir / "card.json").stat().st_size
    assert card + min(tflite, PART_BYTES) <= CONFIGMAP_LIMIT  # digits-model: the card and the first part
    assert tflite - PART_BYTES <= CONFIGMAP_LIMIT  # digits-model-rest: the rest
    assert tflite <= 2 * PART_BYTES  # two parts are enough


def test_overlay_joins_the_model_parts_and_the_server_uses_them(image, tmp_path):
    """The overlay's init container and main container, in Docker: parts in, the model served."""
    rendered = {item["kind"]: item for item in kustomize.render(OVERLAY)}
    pod = rendered["Deployment"]["spec"]["template"]["spec"]
    init = pod["initContainers"][0]
    model_dir = PROJECT_ROOT / "lambda" / "model"

    parts, joined = tmp_path / "parts", tmp_path / "joined"
    parts.mkdir()
    joined.mkdir()
    card = json.loads((model_dir / "card.json").read_text())
    card["version"] = "from-configmaps"
    (parts / "card.json").write_text(json.dumps(card))
    model = (model_dir / "digits.tflite").read_bytes()
    for index, start in enumerate(range(0, len(model), PART_BYTES)):
        (parts / f"digits.tflite.part-{index:02d}").write_bytes(model[start:start + PART_BYTES])
    for path in (parts, *parts.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)
    joined.chmod(0o777)  # an emptyDir is writable by the pod's user

    mounts = {mount["name"]: mount["mountPath"] for mount in init["volumeMounts"]}
    security = init["securityContext"]
    completed = subprocess.run(
        ["docker", "run", "--rm", "--user", f"{security['runAsUser']}:{security['runAsGroup']}", "--read-only",
         "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
         "--volume", f"{parts}:{mounts['model-parts']}:ro", "--volume", f"{joined}:{mounts['model']}",
         "--entrypoint", init["command"][0], image, *init["command"][1:]],
        capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert (joined / "digits.tflite").read_bytes() == model

    server = pod["containers"][0]
    environment = {item["name"]: item["value"] for item in server["env"]}
    served_at = next(mount["mountPath"] for mount in server["volumeMounts"] if mount["name"] == "model")
    with run_container(image, env=environment, mounts=[(joined, served_at)]) as container:
        assert httpx.get(f"{container.url}/health", timeout=10).json()["model_version"] == "from-configmaps"
