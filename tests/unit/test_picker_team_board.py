"""The simulated pickers look at the store's board only when they are about to run out of
work: with thousands of orders waiting, each look is a thousand-order answer."""

from __future__ import annotations

from typing import Any

from smbridge.emulators.pickers.crew import AssemblyApi, PickerTeam


class CountingBoard(AssemblyApi):
    """The board of a store with ``waiting`` new orders and one in assembly."""

    def __init__(self, waiting: int) -> None:  # no HTTP client: nothing goes out
        self.orders = [{"number": f"N{n}", "status": "new"} for n in range(waiting)]
        self.orders.append({"number": "T1", "status": "in_assembly"})
        self.looks = 0

    def call(self, method: str, **data: Any) -> dict[str, Any]:
        assert method == "getActiveOrders", method
        self.looks += 1
        return {"orders": list(self.orders)}


def team_of(pickers: int) -> PickerTeam:
    return PickerTeam(["http://127.0.0.1:9"], "token", list(range(1, pickers + 1)), seed=1)


def test_a_team_with_work_in_hand_does_not_look_at_the_board() -> None:
    board, team = CountingBoard(waiting=5), team_of(pickers=3)
    team.tick(board)
    assert board.looks == 1
    assert team._queue.qsize() == 5  # every new order, once; not the one in assembly
    for _ in range(3):
        team.tick(board)
    assert board.looks == 1  # 5 in hand for 3 pickers: no look


def test_a_team_running_out_of_work_looks_again_and_queues_only_unseen_orders() -> None:
    board, team = CountingBoard(waiting=4), team_of(pickers=3)
    team.tick(board)
    taken = [team._queue.get_nowait() for _ in range(2)]  # 2 left for 3 pickers
    board.orders = [o for o in board.orders if o["number"] not in taken]
    board.orders.append({"number": "N9", "status": "new"})
    team.tick(board)
    assert board.looks == 2
    queued = [team._queue.get_nowait() for _ in range(team._queue.qsize())]
    assert queued == ["N2", "N3", "N9"]
