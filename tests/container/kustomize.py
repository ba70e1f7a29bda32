"""Just enough of kustomize to render deploy/kubernetes offline: `resources` (files and folders)
and `patches` given as JSON patches (RFC 6902) on a target. Anything else in a
kustomization.yaml is refused, so a manifest can never use a feature this does not render.
Where kubectl is installed, the tests also check this agrees with `kubectl kustomize`.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "patches"}
TARGET_KEYS = {"group", "version", "kind", "name"}


class Unsupported(Exception):
    """The kustomization uses something this renderer does not do."""


def render(folder: Path) -> list[dict]:
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise Unsupported(f"{folder}: kustomization fields {sorted(unknown)} are not rendered here")
    objects: list[dict] = []
    for entry in kustomization.get("resources", []):
        path = (folder / entry).resolve()
        if path.is_dir():
            objects += render(path)
        else:
            objects += [document for document in yaml.safe_load_all(path.read_text()) if document]
    for patch in kustomization.get("patches", []):
        if set(patch) != {"path", "target"} or set(patch["target"]) - TARGET_KEYS:
            raise Unsupported(f"{folder}: only `path` + `target` JSON patches are rendered here: {patch}")
        operations = yaml.safe_load((folder / patch["path"]).read_text())
        matched = [item for item in objects if _matches(item, patch["target"])]
        if not matched:
            raise Unsupported(f"{folder}: patch {patch['path']} matches no resource")
        for item in matched:
            replaced = apply_json_patch(item, operations)
            objects[objects.index(item)] = replaced
    return objects


def _matches(item: dict, target: dict) -> bool:
    group, _, version = item["apiVersion"].rpartition("/")
    actual = {"group": group, "version": version, "kind": item["kind"], "name": item["metadata"]["name"]}
    return all(actual[key] == value for key, value in target.items())


def _pointer(path: str) -> list[str]:
    return [part.replace("~1", "/").replace("~0", "~") for part in path.lstrip("/").split("/")]


def apply_json_patch(document: dict, operations: list[dict]) -> dict:
    result = copy.deepcopy(document)
    for operation in operations:
        *parents, last = _pointer(operation["path"])
        node = result
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        op = operation["op"]
        if op == "add":
            value = copy.deepcopy(operation["value"])
            if isinstance(node, list):
                node.insert(len(node) if last == "-" else int(last), value)
            else:
                node[last] = value
        elif op == "replace":
            node[int(last) if isinstance(node, list) else last] = copy.deepcopy(operation["value"])
        elif op == "remove":
            del node[int(last) if isinstance(node, list) else last]
        else:
            raise Unsupported(f"JSON patch operation {op!r} is not rendered here")
    return result
