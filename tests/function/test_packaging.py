"""What gets deployed: the template, the function's requirements, no TensorFlow at run time."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support import PROJECT_ROOT
from tests.support.cards import MODEL_DIR

LAMBDA_DIR = PROJECT_ROOT / "lambda"
SAM = Path(sys.executable).with_name("sam")


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads !Ref, !Sub, !Join ... as plain values."""


_CloudFormationLoader.add_multi_constructor("!", lambda loader, suffix, node: (
    loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else
    loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode) else loader.construct_mapping(node)))


@pytest.fixture(scope="module")
def template() -> dict:
    return yaml.load((PROJECT_ROOT / "template.yaml").read_text(), Loader=_CloudFormationLoader)


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s#]+)", line.strip())
        if match:
            found[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return found


def test_template_is_valid_and_lint_clean():
    completed = subprocess.run([str(SAM), "validate", "--lint", "--template-file", "template.yaml"],
                               cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
                               env={**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"})
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "is a valid SAM Template" in completed.stdout + completed.stderr


def test_function_is_a_python311_zip_behind_a_catch_all_http_api(template):
    function = template["Resources"]["DigitsFunction"]["Properties"]
    settings = {**template["Globals"]["Function"], **function}
    assert settings["Runtime"] == "python3.11" and settings["Handler"] == "app.handler"
    assert settings["CodeUri"].rstrip("/") == "lambda" and settings.get("PackageType", "Zip") == "Zip"
    assert 128 <= settings["MemorySize"] <= 3008 and 3 <= settings["Timeout"] <= 29
    assert template["Resources"]["DigitsFunction"]["Metadata"]["BuildMethod"] == "makefile"
    assert "build-DigitsFunction:" in (LAMBDA_DIR / "Makefile").read_text()
    routes = {(event["Properties"]["Path"], event["Properties"]["Method"]) for event in function["Events"].values()}
    assert {("/", "ANY"), ("/{proxy+}", "ANY")} <= routes
    assert all(event["Type"] == "HttpApi" for event in function["Events"].values())


def test_api_has_cors_throttling_and_outputs(template):
    api = template["Resources"]["DigitsApi"]
    assert api["Type"] == "AWS::Serverless::HttpApi"
    cors = api["Properties"]["CorsConfiguration"]
    assert "POST" in cors["AllowMethods"] and "Content-Type" in cors["AllowHeaders"]
    throttling = api["Properties"]["DefaultRouteSettings"]
    assert {"ThrottlingRateLimit", "ThrottlingBurstLimit"} <= set(throttling)
    assert {"ApiUrl", "PredictUrl"} <= set(template["Outputs"])


def test_runtime_requirements_are_pinned_light_and_match_the_constraints():
    runtime = pins(LAMBDA_DIR / "requirements.txt")
    assert {"fastapi", "mangum", "numpy", "pillow", "ai-edge-litert", "python-multipart"} <= set(runtime)
    assert not {"tensorflow", "tensorflow-cpu", "keras", "tf-keras"} & set(runtime)
    constraints = pins(PROJECT_ROOT / "constraints.txt")
    assert {name: constraints.get(name) for name in runtime} == runtime


def test_function_code_never_imports_tensorflow():
    for module in LAMBDA_DIR.glob("*.py"):
        tree = ast.parse(module.read_text())
        names = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        names += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        assert not [name for name in names if name.split(".")[0] in ("tensorflow", "keras")], module


def test_importing_the_app_loads_no_tensorflow():
    code = ("import sys, time; started = time.perf_counter(); import app; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))")
    completed = subprocess.run([sys.executable, "-c", code], cwd=LAMBDA_DIR, capture_output=True, text=True,
                               timeout=120, env={**os.environ, "PYTHONPATH": str(LAMBDA_DIR)})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


def start_with_model_dir(model_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import app"], cwd=LAMBDA_DIR, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "DIGITS_MODEL_DIR": str(model_dir)})


def test_missing_model_is_a_clear_error(tmp_path):
    completed = start_with_model_dir(tmp_path)
    assert completed.returncode == 1
    assert completed.stderr.strip().startswith("error: model file missing")
    assert "DIGITS_MODEL_DIR" in completed.stderr and "make train" in completed.stderr


def shipped_model_dir() -> Path:
    return MODEL_DIR  # the model the tests serve: DIGITS_MODEL_DIR when set, else lambda/model


@pytest.mark.parametrize("damage", ["truncated", "random-bytes", "random-bytes-same-size", "empty", "bad-card"])
def test_broken_model_files_stop_start_up_with_one_line(tmp_path, damage):
    import json
    import random

    model = (shipped_model_dir() / "digits.tflite").read_bytes()
    card = json.loads((shipped_model_dir() / "card.json").read_text())
    rng = random.Random(damage)
    if damage == "truncated":
        model = model[:len(model) // 3]
    elif damage == "random-bytes":
        model = rng.randbytes(100_000)
    elif damage == "random-bytes-same-size":
        model = rng.randbytes(len(model))
    elif damage == "empty":
        model = b""
    (tmp_path / "digits.tflite").write_bytes(model)
    if damage == "bad-card":
        (tmp_path / "card.json").write_text('{"version": "x"')
    else:
        (tmp_path / "card.json").write_text(json.dumps(card))

    completed = start_with_model_dir(tmp_path)
    assert completed.returncode == 1, completed.stderr  # not a crash (-11) and not a traceback
    lines = [line for line in completed.stderr.splitlines() if line.strip() and "XNNPACK" not in line]
    assert len(lines) == 1, completed.stderr
    broken = "card.json" if damage == "bad-card" else "digits.tflite"
    assert lines[0].startswith("error: ") and str(tmp_path / broken) in lines[0]
    assert "make train" in lines[0] and "DIGITS_MODEL_DIR" in lines[0]
    assert "Traceback" not in completed.stderr


def without_file_permission_override() -> list[str]:
    """A command prefix under which permissions apply: as root, the capabilities that bypass them dropped."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv (util-linux): file permissions cannot be made to apply")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


@pytest.mark.parametrize("unreadable", ["model file", "model folder"])
def test_an_unreadable_model_stops_make_serve_with_one_line(tmp_path, unreadable):
    """uvicorn, as `make serve` runs it, with a model it may not read: one line, exit 1."""
    model_dir = tmp_path / "model"
    shutil.copytree(shipped_model_dir(), model_dir)
    locked = model_dir / "digits.tflite" if unreadable == "model file" else model_dir
    locked.chmod(0)
    try:
        completed = subprocess.run(
            [*without_file_permission_override(), sys.executable, "-m", "uvicorn", "app:app", "--app-dir", "lambda",
             "--port", "0"],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
            env={**os.environ, "DIGITS_MODEL_DIR": str(model_dir)})
    finally:
        locked.chmod(0o755)
    lines = [line for line in completed.stderr.splitlines() if line.strip() and "XNNPACK" not in line]
    assert completed.returncode == 1, completed.stderr
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith("error: ") and "permission denied" in lines[0] and "readable" in lines[0]
    assert str(model_dir) in lines[0]


def test_a_card_giving_the_size_without_the_input_block_is_read(tmp_path, classifier):
    import json

    import model_card

    shutil.copy(shipped_model_dir() / "digits.tflite", tmp_path)
    card = {key: value for key, value in classifier.card.data.items() if key != "input"}
    assert "size" in card["preprocessing"]
    (tmp_path / "card.json").write_text(json.dumps(card))
    assert model_card.read(tmp_path).size == classifier.size


def test_card_disagreeing_with_the_preprocessing_is_refused(tmp_path, classifier):
    import json

    import classifier as classifier_module

    shutil.copy(shipped_model_dir() / "digits.tflite", tmp_path)
    card = dict(classifier.card.data, preprocessing={**classifier.card.data["preprocessing"], "box": 22})
    (tmp_path / "card.json").write_text(json.dumps(card))
    with pytest.raises(classifier_module.ModelUnavailable, match="box 22"):
        classifier_module.Classifier(tmp_path)


def test_the_app_needs_only_what_lambda_requirements_install():
    """Every module the app loads, /docs included, comes from the function's own folder, the
    standard library or a distribution in lambda/requirements.txt, so the Lambda zip and a
    container built from lambda/ alone have everything (Swagger UI's files among them)."""
    code = """
import importlib.metadata, json, os, sys
from fastapi.testclient import TestClient  # the test's own tool, loaded before the app
before = set(sys.modules)
import app
from swagger_ui_bundle import swagger_ui_path
assert (swagger_ui_path / "swagger-ui-bundle.js").is_file()
owners = importlib.metadata.packages_distributions()
stdlib = sys.stdlib_module_names
here = os.environ["PYTHONPATH"]
loaded = {name.split(".")[0] for name in set(sys.modules) - before}
own = {name for name in loaded if (getattr(sys.modules.get(name), "__file__", None) or "").startswith(here)}
# With the project on every path (the venv's .pth), a module of the project outside lambda/
# would load here and be missing from the zip: nothing may come from a file no package owns.
unowned = sorted(name for name in loaded - own - stdlib
                 if name not in owners and getattr(sys.modules.get(name), "__file__", None))
print(json.dumps(unowned))
print(json.dumps(sorted({dist for name in loaded - own - stdlib for dist in owners.get(name, [])})))
"""
    completed = subprocess.run([sys.executable, "-c", code], cwd=LAMBDA_DIR, capture_output=True, text=True,
                               timeout=120, env={**os.environ, "PYTHONPATH": str(LAMBDA_DIR)})
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout.splitlines()[-2]) == [], "modules from neither lambda/ nor a package"
    distributions = {re.sub(r"[-_.]+", "-", name).lower() for name in json.loads(completed.stdout.splitlines()[-1])}
    runtime = set(pins(LAMBDA_DIR / "requirements.txt"))
    # Powertools imports botocore when it is there (the Lambda runtime has it) to tag AWS SDK
    # calls, and does without it; the function makes no AWS SDK call.
    assert distributions - runtime <= {"botocore"}, distributions - runtime
    assert {"aws-lambda-powertools", "swagger-ui-bundle-v2", "ai-edge-litert", "fastapi"} <= distributions


def test_broken_model_stops_uvicorn_with_the_same_one_line(tmp_path):
    (tmp_path / "digits.tflite").write_bytes(b"TFL3" * 1000)
    (tmp_path / "card.json").write_text((shipped_model_dir() / "card.json").read_text())
    completed = subprocess.run([sys.executable, "-m", "uvicorn", "app:app", "--app-dir", "lambda", "--port", "0"],
                               cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
                               env={**os.environ, "DIGITS_MODEL_DIR": str(tmp_path)})
    assert completed.returncode == 1
    lines = [line for line in completed.stderr.splitlines() if line.strip() and "XNNPACK" not in line]
    assert len(lines) == 1 and lines[0].startswith(f"error: {tmp_path / 'digits.tflite'}"), completed.stderr


@pytest.mark.parametrize(("variable", "value"), [("DIGITS_MAX_BATCH", "lots"), ("DIGITS_MAX_BODY_BYTES", "-1"),
                                                 ("DIGITS_CPU_WORKERS", "0")])
def test_a_setting_it_cannot_use_stops_start_up_with_one_line(variable, value):
    completed = subprocess.run([sys.executable, "-c", "import app"], cwd=LAMBDA_DIR, capture_output=True,
                               text=True, timeout=120, env={**os.environ, variable: value})
    assert completed.returncode == 1
    assert completed.stderr.strip().splitlines() == [completed.stderr.strip()]
    assert completed.stderr.startswith(f"error: {variable}={value!r}: expected a whole number")


def test_settings_are_read_in_one_place():
    readers = [path.name for path in LAMBDA_DIR.glob("*.py")
               if path.name != "settings.py" and re.search(r"os\.environ\.get|os\.getenv|os\.environ\[",
                                                           path.read_text())]
    assert readers == [], "read the environment in settings.py only"
