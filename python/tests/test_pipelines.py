"""client.pipelines: runs of an applied pipeline started, followed and failed from Python."""

from __future__ import annotations

import textwrap

import pytest

import ferry
from conftest import Server, make_world, run_ferry

PIPELINE = textwrap.dedent("""\
    name: py_pipe
    params: {word: hello}
    triggers:
      - manual: {}
    steps:
      - id: make
        run: printf '%s' "$FERRY_PARAM_WORD" > "$FERRY_OUTPUT_OUT"
        params: {word: "${params.word}"}
        outputs: [out]
      - id: check
        run: test "$(cat "$FERRY_INPUT_TEXT")" != boom || { echo "the word was boom" >&2; exit 3; }
        inputs: {text: steps.make.out}
    """)


@pytest.fixture(scope="module")
def piped(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipelines")
    workspace = make_world(root)
    (root / "py_pipe.yaml").write_text(PIPELINE)
    run_ferry(workspace, "pipeline", "apply", str(root / "py_pipe.yaml"))
    server = Server(workspace)
    yield ferry.Client(server.url)
    server.stop()


def test_a_run_started_and_waited_for(piped):
    assert [p["name"] for p in piped.pipelines.list()] == ["py_pipe"]
    spec = piped.pipelines.get("py_pipe")
    assert [(s["id"], s["depends_on"]) for s in spec["steps"]] == [("make", []),
                                                                   ("check", ["make"])]
    assert spec["steps"][1]["inputs"] == {"text": "steps.make.out"}
    assert spec["params"] == {"word": "hello"} and "py_pipe" in spec["spec"]
    run = piped.pipelines.run("py_pipe", {"word": "hi"}, wait=True, timeout=120)
    assert run["state"] == "succeeded" and run["params"]["word"] == "hi"
    assert [s["state"] for s in run["steps"]] == ["succeeded", "succeeded"]
    assert piped.pipelines.runs("py_pipe")[0]["id"] == run["id"]
    assert piped.pipelines.triggers("py_pipe")[0]["outcome"] == "started"


def test_a_failing_run_raises_with_the_step_error(piped, tmp_path):
    started = piped.pipelines.run("py_pipe", {"word": "boom"})
    assert started["outcome"] in ("started", "queued")
    with pytest.raises(ferry.PipelineRunFailed) as e:
        piped.pipelines.wait(started["run"]["id"], timeout=120)
    assert e.value.run["state"] == "failed"
    assert "the word was boom" in str(e.value)
    run = piped.pipelines.wait(started["run"]["id"], check=False)
    assert run["state"] == "failed"
    # A command step's output is kept as artifacts of the step's run.
    check = [s for s in run["steps"] if s["step"] == "check"][0]
    logs = {a["path"] for a in piped.tracking.artifacts(check["tracking_run"])}
    assert "logs/stderr.1.txt" in logs
    stderr = piped.tracking.download_artifact(check["tracking_run"], "logs/stderr.1.txt",
                                              tmp_path / "stderr.txt")
    assert "the word was boom" in open(stderr).read()


def test_unknown_pipelines_and_bad_params(piped):
    with pytest.raises(ferry.NotFound):
        piped.pipelines.run("no_such_pipe")
    with pytest.raises(ferry.NotFound):
        piped.pipelines.get("no_such_pipe")
    with pytest.raises(ferry.NotFound):
        piped.pipelines.get_run("f" * 32)
    with pytest.raises(ferry.BadRequest, match='declares no param "undeclared"'):
        piped.pipelines.run("py_pipe", {"undeclared": "x"}, wait=True)
