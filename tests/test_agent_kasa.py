"""The Kasa plug power source: the real python-kasa client in a real `ponyconsole agent`
against a fake plug speaking the legacy protocol with a real HS110's recorded answers
(tests/fake_kasa.py); the plug pulled and plugged back in; the joules never go back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ponyconsole.agent.kasa_plug import load_account, parse_plug, plug_for_node
from tests.agent_support import AgentProcess, free_port, start_agent
from tests.fake_kasa import FakePlug, start_fake_plug
from tests.kube_read_support import wait_sync

pytestmark = pytest.mark.timeout(120)

RECORDED_WATTS = 0.928511  # emeter.get_realtime.power in the HS110(EU) recording


def power_samples(agent: AgentProcess) -> dict[str, Any]:
    status, body = agent.get("/metrics")
    assert status == 200
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    (watts,) = families["ponyconsole_node_power_watts"].samples
    (joules,) = families["ponyconsole_node_energy_joules"].samples
    return {"watts": watts, "joules": joules}


class Joules:
    """Every cumulative-joules figure the agent served, asserted never to go back."""

    def __init__(self, agent: AgentProcess) -> None:
        self.agent = agent
        self.seen: list[float] = []

    def read(self) -> dict[str, Any]:
        figures = self.agent.metrics()
        joules = figures["energy_joules"]
        assert isinstance(joules, float)
        if self.seen:
            assert joules >= self.seen[-1], f"joules went back: {self.seen[-1]} -> {joules}"
        self.seen.append(joules)
        return figures


def test_the_plug_s_watts_are_the_agent_s_and_a_pulled_plug_falls_back_to_the_estimate(
    tmp_path: Path,
) -> None:
    plug = start_fake_plug("127.0.0.1")
    plugs = tmp_path / "plugs"  # as the DaemonSet's ConfigMap gives it: one line a pony
    plugs.write_text(f"applejack 192.0.2.15\nrarity {plug.where}\n")
    agent = start_agent("rarity", "127.0.0.16", None, "--kasa-hosts", str(plugs))
    back: FakePlug | None = None
    try:
        assert agent.process.stderr is not None
        line = agent.process.stderr.readline().decode()
        assert f"power: kasa plug {plug.where} (HS110)" in line, line
        joules = Joules(agent)
        figures = joules.read()
        assert figures["power_source"] == "kasa"
        assert figures["watts"] == pytest.approx(RECORDED_WATTS)
        assert figures["power_note"] is None
        power = power_samples(agent)
        assert power["watts"].labels == {"node": "rarity", "source": "kasa"}
        assert power["watts"].value == pytest.approx(RECORDED_WATTS)
        assert power["joules"].labels == {"node": "rarity"}  # one series whatever measures

        # watts x time from the plug, in the history the console asks for Wh
        t0 = figures["sampled_at"]
        wait_sync(lambda: joules.read()["sampled_at"] >= t0 + 4, 15, "four more seconds")
        status, body = agent.get(f"/v1/energy?from={t0}&to={t0 + 4}")
        assert status == 200, body
        span = json.loads(body)
        assert span["complete"] and span["node"] == "rarity"
        assert span["joules"] == pytest.approx(RECORDED_WATTS * 4, rel=0.1)

        plug.kill()  # the plug is pulled: the agent says so and goes on
        pulled = wait_sync(
            lambda: (f := joules.read())["power_source"] != "kasa" and f, 15, "the fallback"
        )
        assert pulled["power_source"] == "estimate"
        note = pulled["power_note"]
        assert note.startswith(f"smart plug {plug.where} not answering since "), note
        assert "Connect call failed" in note or "refused" in note, note
        assert 6 <= pulled["watts"] <= 28  # the estimate between --idle-watts and --max-watts
        power = power_samples(agent)
        assert power["watts"].labels["source"] == "estimate"
        assert power["joules"].labels == {"node": "rarity"}  # the same counter goes on
        later = wait_sync(
            lambda: (f := joules.read())["sampled_at"] > pulled["sampled_at"] + 1 and f,
            10,
            "the other figures going on",
        )
        assert later["mem_total"] > 0 and later["energy_joules"] > pulled["energy_joules"]
        assert agent.get("/healthz")[0] == 200

        # plugged back in after a reboot: its kWh counter starts again lower
        back = start_fake_plug("127.0.0.1", plug.port, total=0.001)
        again = wait_sync(
            lambda: (f := joules.read())["power_source"] == "kasa" and f, 20, "the plug back"
        )
        assert again["watts"] == pytest.approx(RECORDED_WATTS) and again["power_note"] is None
        wait_sync(lambda: joules.read()["energy_joules"] > again["energy_joules"], 10, "counting")
        assert power_samples(agent)["watts"].labels["source"] == "kasa"
    finally:
        agent.stop()
        plug.kill()
        if back is not None:
            back.kill()


def test_credentials_are_never_shown_and_a_plug_that_never_answers_is_said_so(
    tmp_path: Path,
) -> None:
    account = tmp_path / "kasa"
    account.mkdir()
    (account / "username").write_text("pony@example.com\n")
    (account / "password").write_text("hunter2-pony-secret\n")
    port = free_port("127.0.0.1")  # nothing answers there, nor to discovery
    agent = start_agent(
        "applejack",
        "127.0.0.15",
        None,
        "--kasa-host",
        f"127.0.0.1:{port}",
        "--kasa-credentials",
        str(account),
        "--kasa-timeout",
        "1",
    )
    try:
        figures = wait_sync(
            lambda: "not answering" in ((f := agent.metrics())["power_note"] or "") and f,
            15,
            "the plug's problem",
        )
        assert figures["power_source"] == "estimate"
        assert figures["power_note"].startswith(f"smart plug 127.0.0.1:{port} not answering")
        served = json.dumps(figures) + agent.get("/metrics")[1].decode()
    finally:
        agent.stop()
    assert agent.process.stderr is not None
    printed = agent.process.stderr.read().decode()
    for text in (served, printed):
        assert "hunter2-pony-secret" not in text and "pony@example.com" not in text


def test_bad_plug_options_are_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    base = [sys.executable, "-m", "ponyconsole.cli", "agent", "--address", "127.0.0.1"]
    base += ["--port", str(free_port("127.0.0.1"))]
    secret = tmp_path / "account"
    secret.write_text("only-a-username-no-password\n")
    missing = subprocess.Popen(
        [*base, "--node", "rarity", "--kasa-hosts", str(tmp_path / "no-such-list")],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:  # an optional ConfigMap that is not there: no plug, said once, the agent runs
        assert missing.stderr is not None
        first = missing.stderr.readline()
        assert first.startswith("ponyconsole agent: no plug list at "), first
        assert "node rarity on http://" in missing.stderr.readline()
    finally:
        missing.terminate()
        missing.wait(10)
    cases = {
        ("--kasa-host", "plug:x"): "port 'x' of 'plug:x' is not a number",
        ("--kasa-host", "plug", "--kasa-credentials", str(tmp_path / "none")): "--kasa-credentials",
        ("--kasa-host", "plug", "--kasa-credentials", str(secret)): "want the username on line 1",
    }
    for options, words in cases.items():
        done = subprocess.run(
            [*base, *options], capture_output=True, text=True, timeout=60, env=dict(os.environ)
        )
        assert done.returncode == 2, done.stderr
        assert words in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "only-a-username" not in done.stderr


def test_plug_addresses_accounts_and_the_per_node_file(tmp_path: Path) -> None:
    assert parse_plug("192.0.2.7") == ("192.0.2.7", None)
    assert parse_plug("plug-rarity.lan:9999") == ("plug-rarity.lan", 9999)
    assert parse_plug("[fe80::1]:9999") == ("fe80::1", 9999)
    assert parse_plug("fe80::1") == ("fe80::1", None)
    for bad in ("", ":9999", "plug:nine"):
        with pytest.raises(ValueError):
            parse_plug(bad)
    plugs = tmp_path / "plugs"
    plugs.write_text("# node plug\nrarity 192.0.2.16:9999\napplejack 192.0.2.15  # garage\n")
    assert plug_for_node(plugs, "rarity") == "192.0.2.16:9999"
    assert plug_for_node(plugs, "applejack") == "192.0.2.15"
    assert plug_for_node(plugs, "fluttershy") is None
    account = load_account(None, {"KASA_USERNAME": "u", "KASA_PASSWORD": "p4ss"})
    assert account is not None and account.password == "p4ss"
    assert "p4ss" not in repr(account) and "p4ss" not in str(account)
    assert load_account(None, {"KASA_USERNAME": "u"}) is None
    file = tmp_path / "account"
    file.write_text("u@example.com\nsecret\n")
    assert load_account(str(file), {}) == load_account(
        None, {"KASA_USERNAME": "u@example.com", "KASA_PASSWORD": "secret"}
    )
