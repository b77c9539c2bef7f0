"""The package installs with pip, and the example notebook script runs end to end."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import ferry
from conftest import Server

PACKAGE = Path(__file__).resolve().parents[1]


def test_pip_installs_the_package_into_a_venv(tmp_path, world):
    # A copy: pip's build writes build/ and *.egg-info next to the sources.
    source = tmp_path / "src"
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns(
        "tests", "examples", "__pycache__", "build", "*.egg-info"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, timeout=120)
    # No network: the build backend (setuptools) comes from the system's packages.
    result = subprocess.run([str(venv / "bin" / "pip"), "install", "--no-build-isolation",
                             "--no-index", "--no-deps", str(source)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    _, server = world
    probe = ("import ferry, sys; c = ferry.Client(sys.argv[1]); "
             "print(ferry.__version__, ferry.__file__, c.health())")
    out = subprocess.run([str(venv / "bin" / "python"), "-c", probe, server.url],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path,
                         env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert out.returncode == 0, out.stderr
    version, location, healthy = out.stdout.split()
    assert version == ferry.__version__
    assert location.startswith(str(venv)) and healthy == "True"


def test_example_script_trains_logs_registers_deploys_and_predicts(tmp_path):
    workspace = tmp_path / "ws"
    subprocess.run([os.environ["FERRY_BIN"], "init", str(workspace)], check=True,
                   capture_output=True)
    server = Server(workspace)
    try:
        result = subprocess.run(
            [sys.executable, str(PACKAGE / "examples" / "train_and_deploy.py"), "--url",
             server.url, "--rows", "3000"],
            capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        out = result.stdout
        assert "dataset churn@1: 3000 rows" in out
        assert "registered churn@1 -> production" in out
        assert "endpoint churn: READY, version 1" in out
        assert "feedback: 4 labels accepted" in out

        client = ferry.Client(server.url)
        version = client.models.version("churn", "production")
        run = client.tracking.get_run(version["run_id"])
        assert run["info"]["status"] == "FINISHED"
        assert run["params"]["max_depth"] == "3"
        assert len(client.tracking.metric_history(run["info"]["run_id"], "test_logloss")) == 30
        assert 0.5 < run["metrics"]["auc"]["value"] <= 1.0
        assert [a["path"] for a in run["artifacts"]] == ["model.json"]
        assert run["inputs"][0]["dataset_version"] == "churn@1"
        assert len(client.serving.predictions("churn", labeled=True)) == 4
    finally:
        server.stop()
