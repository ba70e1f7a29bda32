"""Fixtures for the function's tests: the app, its model, pictures in every format.

The model comes from DIGITS_MODEL_DIR when set, else from lambda/model/ (what ships).
"""

from __future__ import annotations

import pytest

from tests.support.drawing import canvas
from tests.support.images import encode


@pytest.fixture(scope="session")
def classifier():
    import classifier as classifier_module

    return classifier_module.load()


@pytest.fixture(scope="session")
def app(classifier):
    from app import app as application

    return application


@pytest.fixture(scope="session")
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def seven_png() -> bytes:
    """A 7 as the page's canvas exports it: 280x280 RGBA, black ink on transparent."""
    return encode(canvas(7, mode="transparent-black"))


@pytest.fixture(scope="session")
def mnist():
    from model.data import load_mnist

    return load_mnist(allow_download=False)
