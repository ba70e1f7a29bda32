"""Publishing exports: all or nothing, and never cut in half by Ctrl-C."""

import os
import signal

import pytest

from model import export


def make_tree(root, label):
    for relative in export.PUBLISHED:
        path = root / relative
        if relative.suffix:  # a file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(label)
        else:
            path.mkdir(parents=True, exist_ok=True)
            (path / "content.txt").write_text(label)


def read_tree(root):
    return {str(relative): ((root / relative).read_text() if relative.suffix
                            else (root / relative / "content.txt").read_text())
            for relative in export.PUBLISHED}


def test_publish_replaces_every_export(tmp_path):
    make_tree(tmp_path, "old")
    with export.staging(tmp_path) as stage:
        make_tree(stage, "new")
        export.publish(stage, tmp_path)
    assert set(read_tree(tmp_path).values()) == {"new"}
    assert not list(tmp_path.glob(".export-staging-*"))


def test_publish_into_an_empty_root(tmp_path):
    with export.staging(tmp_path) as stage:
        make_tree(stage, "new")
        export.publish(stage, tmp_path)
    assert set(read_tree(tmp_path).values()) == {"new"}


def test_failure_half_way_puts_every_previous_export_back(tmp_path, monkeypatch):
    make_tree(tmp_path, "old")
    real_replace = os.replace
    calls = []

    def failing_replace(source, destination):
        calls.append(source)
        if len(calls) == 7:  # in the middle of the fourth export
            raise OSError("no space left on device")
        real_replace(source, destination)

    monkeypatch.setattr(export.os, "replace", failing_replace)
    with export.staging(tmp_path) as stage:
        make_tree(stage, "new")
        with pytest.raises(OSError, match="no space left"):
            export.publish(stage, tmp_path)
    monkeypatch.setattr(export.os, "replace", real_replace)
    assert set(read_tree(tmp_path).values()) == {"old"}
    assert not list(tmp_path.glob(".export-staging-*"))


def test_ctrl_c_during_publishing_waits_until_it_is_done(tmp_path, monkeypatch):
    make_tree(tmp_path, "old")
    real_replace = os.replace
    calls = []

    def replace_then_interrupt(source, destination):
        real_replace(source, destination)
        calls.append(source)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(export.os, "replace", replace_then_interrupt)
    with export.staging(tmp_path) as stage:
        make_tree(stage, "new")
        with pytest.raises(KeyboardInterrupt):
            export.publish(stage, tmp_path)
    # The interrupt arrived after the swap had begun: it finished, then the interrupt acted.
    assert set(read_tree(tmp_path).values()) == {"new"}
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
