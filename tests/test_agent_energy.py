"""The agent's cumulative joules (never back, corrected to a plug's kWh counter) and its
bounded history, from which the console asks the energy of a Job after a restart."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ponyconsole.agent.energy import KWH, EnergyCounter, EnergyHistory


def test_without_a_counter_the_joules_are_watts_times_time() -> None:
    energy = EnergyCounter()
    for _ in range(10):
        energy.add(30.0, 1.0)
    assert energy.joules == pytest.approx(300.0)


def test_the_plug_s_counter_steps_are_followed_and_the_watts_fill_in_between() -> None:
    energy = EnergyCounter()
    energy.add(36.0, 1.0, 10.000)  # first reading: an epoch begins at 36 J
    for _ in range(50):
        energy.add(36.0, 1.0, 10.000)  # 50 s x 36 W = 1800 J by the watts
    assert energy.joules == pytest.approx(36 + 1800)
    energy.add(36.0, 1.0, 10.001)  # the plug counted 1 Wh = 3600 J since the epoch began
    assert energy.joules == pytest.approx(36 + 3600)
    energy.add(36.0, 1.0, 10.001)
    assert energy.joules == pytest.approx(36 + 3600 + 36)


def test_a_step_below_what_the_watts_said_holds_the_figure_never_lowers_it() -> None:
    energy = EnergyCounter()
    energy.add(100.0, 1.0, 1.000)
    for _ in range(40):
        energy.add(100.0, 1.0, 1.000)  # 4000 J by the watts: more than the 1 Wh step
    high = energy.joules
    energy.add(100.0, 1.0, 1.001)  # the counter says 3600 J since the epoch: held
    assert energy.joules == high
    for _ in range(10):
        energy.add(100.0, 1.0, 1.001)
    assert energy.joules == pytest.approx(100 + 3600 + 1000)  # the counter's again, + watts


def test_a_plug_reboot_or_reconnect_never_takes_joules_back() -> None:
    energy = EnergyCounter()
    energy.add(50.0, 1.0, 55.139)
    energy.add(50.0, 1.0, 55.140)  # +1 Wh
    before = energy.joules
    assert before == pytest.approx(50 + KWH * 0.001)
    energy.add(28.0, 1.0)  # the plug does not answer: the estimate stands in
    assert energy.joules == pytest.approx(before + 28)
    energy.add(50.0, 1.0, 0.001)  # back after a reboot: its counter began again
    assert energy.joules == pytest.approx(before + 28 + 50)
    energy.add(50.0, 1.0, 0.002)  # and it is followed from there
    assert energy.joules == pytest.approx(before + 28 + 50 + KWH * 0.001)


def test_what_the_plug_counted_while_it_did_not_answer_is_added_when_it_answers() -> None:
    energy = EnergyCounter()
    energy.add(30.0, 1.0, 2.000)
    for _ in range(10):
        energy.add(6.0, 1.0)  # 10 s of a low estimate while the plug was away
    low = energy.joules
    energy.add(30.0, 1.0, 2.002)  # its counter: 7200 J since the epoch began
    assert energy.joules == pytest.approx(30 + 7200) and energy.joules > low
    for _ in range(10):
        energy.add(60.0, 1.0)  # an estimate that counts too much: kept in the past
    high = energy.joules
    energy.add(30.0, 1.0, 2.002)  # back, the counter has not moved: no hold, no take-back
    energy.add(30.0, 1.0, 2.002)
    assert energy.joules == pytest.approx(high + 30)


@given(
    st.lists(
        st.tuples(
            st.floats(0, 3000),
            st.floats(0, 5),
            st.one_of(st.none(), st.floats(0, 1e6)),
        ),
        max_size=60,
    )
)
def test_joules_never_go_back_whatever_the_plug_says(
    readings: list[tuple[float, float, float | None]],
) -> None:
    energy = EnergyCounter()
    last = 0.0
    for watts, dt, counter in readings:
        now = energy.add(watts, dt, counter)
        assert now >= last
        last = now


def test_the_history_interpolates_and_says_what_it_covers() -> None:
    history = EnergyHistory(span=3600, step=5)
    for t in range(100, 161):  # one sample a second, 10 W
        history.record(float(t), 10.0 * (t - 100))
    assert len(history) == 13  # a point every 5 s, and the newest sample
    span = history.between(112.5, 147.25)
    assert span is not None and span.complete
    assert span.joules == pytest.approx(10 * (147.25 - 112.5))
    early = history.between(50, 120)
    assert early is not None and not early.complete
    assert early.covered_from == 100 and early.joules == pytest.approx(200)
    late = history.between(150, 500)
    assert late is not None and late.covered_to == 160 and not late.complete
    assert history.between(10, 20) is None and history.between(200, 300) is None


def test_the_history_is_bounded_and_keeps_the_newest() -> None:
    history = EnergyHistory(span=100, step=10)  # 11 points
    for t in range(0, 1001):
        history.record(float(t), float(t))
    assert len(history) == history.capacity == 11
    span = history.between(0, 1000)
    assert span is not None and span.covered_from == 900 and span.covered_to == 1000
    assert span.joules == pytest.approx(100)
    history.record(999.0, 5.0)  # out of order: ignored
    assert history.between(995, 1000) is not None


async def test_the_console_asks_a_real_agent_and_says_nothing_rather_than_a_wrong_figure() -> None:
    import asyncio
    import time

    import aiohttp

    from ponyconsole.backends.agent_energy import SETTLE, EnergyAsker, Span
    from tests.agent_support import free_port, start_agent

    port = free_port("127.0.0.14")
    agent = await asyncio.to_thread(start_agent, "fluttershy", "127.0.0.14", port)
    session = aiohttp.ClientSession()
    answered: list[str] = []
    address: dict[str, str] = {"fluttershy": "127.0.0.14"}
    asker = EnergyAsker(lambda: session, address.get, port, answered.append)
    try:
        born = time.time()
        await asyncio.sleep(3.5 + SETTLE)  # a run of 3 s, ended SETTLE ago
        ran = Span("ran", "fluttershy", born + 0.5, born + 3.5)
        before = Span("before", "fluttershy", born - 60, born + 1)  # began before the agent
        for span in (ran, before):
            assert asker.wh(span) is None and not asker.settled(span)  # asked, not yet known

        async def settled() -> None:
            while not (asker.settled(ran) and asker.settled(before)):
                await asyncio.sleep(0.05)

        await asyncio.wait_for(settled(), 10)
        figure = asker.wh(ran)
        assert figure is not None and 6 * 3 / 3600 * 0.9 <= figure <= 28 * 3 / 3600 * 1.1
        assert asker.wh(before) is None  # incomplete history: no figure, and not asked again
        assert sorted(answered) == ["before", "ran"]

        agent.kill()  # an agent that does not answer: asked again when it is back
        late = Span("late", "fluttershy", born + 1, born + 2)
        assert asker.wh(late) is None
        await asyncio.sleep(2)
        assert not asker.settled(late) and asker.wh(late) is None  # waits, does not hammer
        agent = await asyncio.to_thread(start_agent, "fluttershy", "127.0.0.14", port)
        asker.retry_node("fluttershy")  # what AgentLink does when the agent answers again
        assert answered[-1] == "late"
        assert asker.wh(late) is None
        await asyncio.wait_for(_until(lambda: asker.settled(late)), 10)
        assert asker.wh(late) is None  # the new agent has no history of that time
    finally:
        await asker.close()
        await session.close()
        agent.stop()


async def _until(check: object) -> None:
    import asyncio

    while not check():  # type: ignore[operator]
        await asyncio.sleep(0.05)
