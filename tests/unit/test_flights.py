"""Single flight: concurrent requests for one key share one call."""

from __future__ import annotations

import asyncio

from ecs_operator.handlers.flights import SingleFlight


def test_concurrent_requests_share_one_call_and_a_later_one_calls_again() -> None:
    calls = 0

    async def create() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return calls

    async def scenario() -> tuple[list[int], int]:
        flights: SingleFlight[str, int] = SingleFlight()
        together = await asyncio.gather(*(flights.run("ns", create) for _ in range(5)))
        later = await flights.run("ns", create)
        return list(together), later

    together, later = asyncio.run(scenario())
    assert together == [1, 1, 1, 1, 1]
    assert later == 2


def test_a_failure_reaches_every_waiter() -> None:
    async def refused() -> int:
        await asyncio.sleep(0.01)
        raise RuntimeError("409")

    async def scenario() -> list[object]:
        flights: SingleFlight[str, int] = SingleFlight()
        return await asyncio.gather(
            *(flights.run("ns", refused) for _ in range(3)), return_exceptions=True
        )

    results = asyncio.run(scenario())
    assert len(results) == 3
    assert all(isinstance(r, RuntimeError) for r in results)
