"""Request starts paced over the event loop's turns: a poll's twenty requests never start in one turn."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bot.sources.http import PACE_SECONDS, Pacer, SourceClient, get_text, make_client
from tests.fakes.history import real_cases_history
from tests.fakes.sources import FakeSources


class _Turns:
    """Counts the event loop's turns: a callback that re-arms itself runs once a turn."""

    def __init__(self) -> None:
        self.count = 0
        self._stopped = False

    def start(self) -> None:
        asyncio.get_running_loop().call_soon(self._tick)

    def _tick(self) -> None:
        self.count += 1
        if not self._stopped:
            asyncio.get_running_loop().call_soon(self._tick)

    def stop(self) -> None:
        self._stopped = True


async def test_an_idle_pacer_lets_a_request_start_at_once() -> None:
    pacer = Pacer(spacing=10.0)
    turn = pacer.turn()
    with pytest.raises(StopIteration):  # finished without waiting for anything
        turn.send(None)


@pytest.mark.parametrize("spacing", [0.0, 0.002])
async def test_starts_go_one_per_turn_in_order_and_spacing_apart(spacing: float) -> None:
    pacer = Pacer(spacing=spacing)
    turns = _Turns()
    turns.start()
    loop = asyncio.get_running_loop()
    started: list[tuple[int, int, float]] = []

    async def request(n: int) -> None:
        granted = await pacer.turn()
        assert granted <= loop.time()
        started.append((n, turns.count, granted))

    await asyncio.gather(*(request(n) for n in range(20)))
    turns.stop()
    assert [n for n, _, _ in started] == list(range(20))  # first come, first started
    assert len({turn for _, turn, _ in started}) == 20  # never two starts in one turn
    gaps = [b[2] - a[2] for a, b in itertools.pairwise(started)]
    assert min(gaps) >= spacing


async def test_a_request_cancelled_while_waiting_gives_its_turn_to_the_next() -> None:
    pacer = Pacer(spacing=0.001)
    order: list[int] = []

    async def request(n: int) -> None:
        await pacer.turn()
        order.append(n)

    tasks = [asyncio.create_task(request(n)) for n in range(5)]
    await asyncio.sleep(0)  # all five are waiting or started
    tasks[2].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert order == [0, 1, 3, 4]
    assert isinstance(results[2], asyncio.CancelledError)
    await asyncio.wait_for(pacer.turn(), 1)  # and the pacer still serves the next caller


async def test_a_request_cancelled_after_its_turn_came_passes_the_turn_on() -> None:
    pacer = Pacer(spacing=60.0)  # no timer fires within the test: only the release below
    order: list[int] = []

    async def request(n: int) -> None:
        await pacer.turn()
        order.append(n)

    tasks = [asyncio.create_task(request(n)) for n in range(3)]
    await asyncio.sleep(0)  # 0 started; 1 and 2 wait
    pacer._release()  # what the timer does: 1's turn comes...
    tasks[1].cancel()  # ...and 1 is cancelled before it could run
    await asyncio.wait_for(tasks[2], 1)  # 2 goes now, not a minute later
    assert order == [0, 2]
    assert tasks[1].cancelled()


async def test_the_source_client_paces_every_request_and_all_of_them_succeed() -> None:
    async with FakeSources(real_cases_history()) as fake, make_client() as client:
        assert isinstance(client, SourceClient) and client.pacer.spacing == PACE_SECONDS
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        url = fake.nyfed_base_url + "/api/rates/secured/sofr/last/1.json"
        bodies = await asyncio.gather(*(get_text(client, "nyfed", url) for _ in range(20)))
        assert all('"refRates"' in body for body in bodies)
        assert loop.time() - t0 >= 19 * PACE_SECONDS  # twenty starts, paced
