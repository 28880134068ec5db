"""What the Makefile's targets do to a user's machine: running installs only what running
needs, cleaning never deletes data, and deleting data asks first."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import ROOT


def make(
    directory: Path, *args: str, answer: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=directory,
        input=answer,
        stdin=subprocess.DEVNULL if answer is None else None,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with data under var/ and caches beside it."""
    shutil.copy2(ROOT / "Makefile", tmp_path / "Makefile")
    for data in ("var/tvbridge.db", "var/secrets.env", "var/redis/appendonly.aof"):
        (tmp_path / data).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / data).write_text("precious")
    for cache in (".mypy_cache/x.json", ".ruff_cache/x", "app/__pycache__/x.pyc"):
        (tmp_path / cache).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / cache).write_text("cache")
    return tmp_path


def test_make_run_installs_the_runtime_packages_and_not_the_dev_tools() -> None:
    planned = make(ROOT, "-n", "-B", "run")
    assert planned.returncode == 0, planned.stderr
    assert "-r requirements.txt" in planned.stdout
    assert "requirements-dev.txt" not in planned.stdout


def test_make_test_installs_the_dev_tools() -> None:
    planned = make(ROOT, "-n", "-B", "test")
    assert "-r requirements-dev.txt" in planned.stdout


def test_make_clean_deletes_caches_and_keeps_the_data(project: Path) -> None:
    cleaned = make(project, "clean", "VENV=no-venv-here")
    assert cleaned.returncode == 0, cleaned.stderr
    assert (project / "var/tvbridge.db").read_text() == "precious"
    assert (project / "var/secrets.env").exists()
    assert (project / "var/redis/appendonly.aof").exists()
    assert not (project / ".mypy_cache").exists()
    assert not (project / "app/__pycache__").exists()


@pytest.mark.parametrize("answer", [None, "no\n", "yes\n", "\n"])
def test_delete_data_keeps_var_unless_told_delete(project: Path, answer: str | None) -> None:
    result = make(project, "delete-data", answer=answer)
    assert result.returncode != 0
    assert (project / "var/tvbridge.db").exists()
    assert "kept var/" in result.stdout


def test_delete_data_deletes_var_when_told_delete(project: Path) -> None:
    result = make(project, "delete-data", answer="delete\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (project / "var").exists()
    assert (project / ".mypy_cache").exists()  # and nothing else
