"""client.py and curl against a real `uvicorn app:app --app-dir lambda` on loopback, run as the
README shows them (the server is on a free port, which DIGITS_API_URL or the URL points at);
tests/docs/test_readme.py runs the README's own lines as typed."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import httpx
import numpy as np
import pytest

from tests.support import PROJECT_ROOT
from tests.support.cards import model_copy
from tests.support.drawing import canvas
from tests.support.images import encode
from tests.support.servers import api_server, free_port

# As a person types them; `make serve` listens on this URL.
CLIENT = "python3 client.py docs/digit.png"
CURL = "curl -F 'file=@docs/digit.png' http://127.0.0.1:8000/predict"
CLIENT_NUMBER = "python3 client.py docs/number.png"
SERVE_URL = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def server_url():
    with api_server() as url:
        yield url


def run_client(*arguments: str, url: str = "http://127.0.0.1:9") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "client.py", *arguments], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "DIGITS_API_URL": url})


def test_client_command_recognises_the_sample_drawing(server_url):
    command = shlex.split(CLIENT)
    command[0] = sys.executable  # the interpreter the tests run, wherever that is
    completed = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
                               env={**os.environ, "DIGITS_API_URL": server_url})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("3 (") and "% confident, model " in completed.stdout


def test_client_command_reads_the_sample_number_digit_by_digit(server_url):
    command = shlex.split(CLIENT_NUMBER)
    command[0] = sys.executable
    completed = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
                               env={**os.environ, "DIGITS_API_URL": server_url})
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0].startswith("2024 (4 digits, model ")
    assert [line.split()[:2] for line in lines[1:]] == [["first", "2"], ["second", "0"], ["third", "2"],
                                                         ["fourth", "4"]]
    assert all("% confident)" in line for line in lines[1:])


def test_client_digit_option_reads_all_the_ink_as_one_digit(server_url):
    completed = run_client("docs/number.png", "--digit", url=server_url)
    assert completed.returncode == 0, completed.stderr
    [line] = completed.stdout.splitlines()  # one digit's answer: for four digits drawn, not sure of any
    assert line.startswith("not sure: ")


def test_curl_command_recognises_the_sample_drawing(server_url):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    command = shlex.split(CURL.replace(SERVE_URL, server_url))
    completed = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    answer = json.loads(completed.stdout)
    assert answer["digit"] == 3 and answer["confidence"] > 0.5


def test_sample_drawing_is_small_and_drawn_dark_on_light():
    from PIL import Image

    path = PROJECT_ROOT / "docs" / "digit.png"
    assert 1_000 < path.stat().st_size < 10_000
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("L"))
    assert pixels[0].mean() > 200 and pixels.min() < 50  # white paper, black ink


def test_client_defaults_to_make_serve():
    completed = subprocess.run([sys.executable, "client.py", "docs/digit.png"], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, timeout=60,
                               env={key: value for key, value in os.environ.items() if key != "DIGITS_API_URL"})
    if completed.returncode == 0:
        pytest.skip("something already answers on 127.0.0.1:8000 (make serve?)")
    assert f"cannot reach the API at {SERVE_URL}" in completed.stderr


def test_client_prints_digit_and_confidence(server_url, tmp_path):
    picture = tmp_path / "five.png"
    picture.write_bytes(encode(canvas(5, mode="transparent-black")))
    completed = run_client(str(picture), "--url", server_url)
    assert completed.returncode == 0, completed.stderr
    digit, rest = completed.stdout.split(" ", 1)
    assert digit == "5" and "% confident" in rest


def test_client_sample_draws_the_digit_and_shows_its_label(server_url):
    completed = run_client("--sample", url=server_url)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert len(lines) == 28
    assert any("@" in line for line in lines)
    label = next(line for line in lines if "label:" in line).split("label:")[1].split()[0]
    answer = re.search(r"answer: (?:not sure: )?(\d)", completed.stdout).group(1)
    assert label in "0123456789" and answer in "0123456789"
    assert ("right" in completed.stdout) == (label == answer)


def test_client_says_when_the_model_is_not_sure(tmp_path_factory, tmp_path):
    """Against a function whose card doubts every answer (threshold 1): a 4 and a 9 drawn
    over each other get `not sure: ` and the digits the function names, likeliest first."""
    picture = tmp_path / "four-and-nine.png"
    picture.write_bytes(encode(np.minimum(canvas(4), canvas(9))))
    doubting = model_copy(tmp_path_factory.mktemp("doubting"), uncertainty={"threshold": 1.0})
    with api_server(model_dir=doubting) as url:
        completed = run_client(str(picture), url=url)
        answer = httpx.post(f"{url}/predict", files={"file": (picture.name, picture.read_bytes(), "image/png")},
                            timeout=60).json()
    assert completed.returncode == 0, completed.stderr
    assert answer["uncertain"] is True
    named = [f"{alternative['digit']} ({alternative['probability'] * 100:.1f} %)"
             for alternative in answer["alternatives"]]
    choices = f"{', '.join(named[:-1])} or {named[-1]}" if len(named) > 1 else named[0]
    assert completed.stdout.strip() == f"not sure: {choices} (model {answer['model_version']})"


def test_client_reports_the_apis_refusal_in_one_line(server_url, tmp_path):
    blank = tmp_path / "blank.png"
    blank.write_bytes(encode(np.full((280, 280, 3), 255, np.uint8)))
    completed = run_client(str(blank), "--url", server_url)
    assert completed.returncode == 1
    assert completed.stderr.strip().count("\n") == 0
    assert "422" in completed.stderr and "no digit found" in completed.stderr


def test_client_reports_an_unreadable_file(tmp_path):
    completed = run_client(str(tmp_path / "missing.png"))
    assert completed.returncode == 2
    assert completed.stderr.strip() == f"error: cannot read {tmp_path / 'missing.png'}: No such file or directory"


def test_client_says_which_command_listens_where_when_the_server_is_down():
    url = f"http://127.0.0.1:{free_port()}"
    completed = run_client("docs/digit.png", "--url", url)
    assert completed.returncode == 1
    message = completed.stderr.strip()
    assert message.count("\n") == 0 and "Traceback" not in message
    assert message.startswith(f"error: cannot reach the API at {url}")
    assert "`make serve` listens on http://127.0.0.1:8000" in message
    assert "`make sam-local` on http://127.0.0.1:3000" in message and "--url" in message


def test_client_needs_a_file_or_sample():
    completed = run_client()
    assert completed.returncode == 2 and "--sample" in completed.stderr


@pytest.mark.parametrize("suffix", ["/predict", "/predict/", "/"])
def test_client_takes_the_predict_url_as_sam_deploy_prints_it(server_url, suffix):
    completed = run_client("docs/digit.png", "--url", server_url + suffix)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("3 (")


@pytest.mark.parametrize("how", ["--url", "DIGITS_API_URL"])
@pytest.mark.parametrize("url", ["notaurl", "ftp://example.com", "http://"])
def test_client_refuses_what_is_not_a_url_in_one_line(how, url):
    arguments = ("--url", url) if how == "--url" else ()
    completed = run_client("docs/digit.png", *arguments, url=url if how != "--url" else "http://127.0.0.1:9")
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    [message] = [line for line in completed.stderr.splitlines() if line.startswith("client.py: error:")]
    assert f"{url!r} is not the API's address: expected http(s)://host[:port][/stage]" in message
    assert ("argument --url" if how == "--url" else "DIGITS_API_URL:") in message


def test_client_help_names_the_environment_variable():
    completed = run_client("--help")
    assert completed.returncode == 0
    assert "DIGITS_API_URL, the API's URL when --url is not given" in " ".join(completed.stdout.split())
