"""The parts of bench/bench_cluster_cost.py that can be checked without a cluster or k9s."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bench.cluster_load import transcode_job
from bench.handbrake_replay import Capture, LogFeeder
from cluster.crilog import write_cri_log
from ponyconsole.domain import kube_names as kn


def test_bench_jobs_carry_the_labels_the_console_selects_on() -> None:
    job = transcode_job("Bench Movie 0007", fail=True, node="rarity")
    labels = job["metadata"]["labels"]
    assert f"{kn.PART_OF_LABEL}={labels[kn.PART_OF_LABEL]}" == kn.PART_OF_SELECTOR
    assert labels[kn.JOB_TYPE_LABEL] == kn.TRANSCODE
    assert job["spec"]["template"]["metadata"]["labels"] == labels
    assert job["metadata"]["name"] == "bench-movie-0007-transcode"
    assert job["spec"]["template"]["spec"]["nodeSelector"] == {"kubernetes.io/hostname": "rarity"}
    assert job["spec"]["template"]["metadata"]["annotations"]["ponyconsole.test/outcome"] == "fail"
    # The same rip always gets the same video id; another rip another one.
    same = transcode_job("Bench Movie 0007")["metadata"]["labels"][kn.VIDEO_LABEL]
    other = transcode_job("Bench Movie 0008")["metadata"]["labels"][kn.VIDEO_LABEL]
    assert labels[kn.VIDEO_LABEL] == same != other


def test_log_feeder_appends_cri_records_at_the_captured_pace(tmp_path: Path) -> None:
    capture = Capture("test", [(0.0, "Encoding: 1.00 %"), (0.2, "Encoding: 2.00 %")])
    assert abs(capture.rate - 5.0) < 1e-9
    files = [write_cri_log(tmp_path / f"{i}.log") for i in range(2)]
    feeder = LogFeeder(capture, files)
    t0 = time.monotonic()
    feeder.start()
    try:
        deadline = t0 + 10
        while feeder.appended < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        feeder.stop()
    took = time.monotonic() - t0
    assert feeder.appended >= 4
    assert took >= 0.6  # 0, 0.2, then the loop starts over after its span (0.45, 0.65)
    for f in files:
        lines = f.read_text().splitlines()
        assert [line.split(" ", 3)[1:3] for line in lines] == [["stdout", "F"]] * len(lines)
        assert [line.split(" ", 3)[3] for line in lines[:3]] == [
            "Encoding: 1.00 %",
            "Encoding: 2.00 %",
            "Encoding: 1.00 %",
        ]


def test_the_three_open_aims_print_as_ratios_against_k9s(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))  # as when run
    from bench.bench_cluster_cost import three_aims

    results = {
        "console": {"large first paint s": 2.0, "large RSS MiB": 120.0, "large cordon p95 s": 0.2},
        "k9s nodes": {
            "large first paint s": 4.0,
            "large RSS MiB": 300.0,
            "large cordon p95 s": 0.8,
        },
    }
    three_aims(results)
    out = capsys.readouterr().out
    assert "0.50x k9s" in out and "0.40x k9s" in out and "0.25x k9s" in out
    paint = next(line for line in out.splitlines() if "first full paint" in line)
    assert paint.endswith("MISSED")  # 2 s against the 1 s aim
    assert next(line for line in out.splitlines() if "RSS" in line).endswith("met")


def test_the_consoles_start_up_milestones_split_its_first_paint(tmp_path: Path) -> None:
    """bench_cluster_cost reads the console's PONYCONSOLE_STARTUP_TRACE: the last line of each
    milestone, in seconds from the process start."""
    from bench.bench_cluster_cost import trace_marks

    trace = tmp_path / "trace"
    start = 1000.0
    trace.write_text(
        "1000.0500 MainThread main\n"
        "1001.1000 MainThread app imported\n"
        "1000.6000 informer-nodes listed nodes (300)\n"
        "1001.2500 informer-pods listed pods (3000)\n"
        "1001.5000 MainThread rebuilt\n"
        "1001.4000 MainThread painted (0 nodes, 0 items)\n"
        "1001.9000 MainThread painted (300 nodes, 3000 items)\n"
    )
    marks = trace_marks(trace, start)
    assert marks == pytest.approx(
        {"imports done": 1.1, "lists landed": 1.25, "converted": 1.5, "items painted": 1.9}
    )
    assert trace_marks(tmp_path / "missing", start) == {}  # a console that wrote none
