"""CPU per call of the assembly API's hot calls, in one process (issue 11).

Sets up a database as bench/assembly_api.py does (its ``prepare_store``: one store, 8 pickers
on shift, N orders through the webhook, half of them taken), then calls each method N times
either through ``service.execute`` (the use case with token check and requestId) or through
the ASGI app (the whole HTTP stack, in process), and reports ``time.process_time`` per call
and the top entries of a cProfile of a separate pass.

Run from a checkout's root (its bench/ and tests/ are imported); for another source tree
put its src first: ``PYTHONPATH=/tmp/before/src:. .venv/bin/python -m bench.assembly_cpu``.
CPU time, not wall time: load on a shared box moves it far less.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import pstats
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path.cwd()))

import httpx
import orjson
import structlog

from bench.assembly_api import TOKEN, prepare_store
from bench.hook_ingest import DEFAULT_PG_ADMIN, postgres_database
from smbridge.assembly.methods import METHODS
from smbridge.assembly.service import AssemblyPolicy, Call, execute
from smbridge.kernel.clock import utc_now
from smbridge.kernel.database.unit_of_work import Database
from smbridge.settings import Settings

HOT = ("getActiveOrders", "takeOrder", "recordPick")


def data_of(method: str, stage: dict[str, Any], n: int) -> dict[str, Any]:
    pickers = stage["pickers"]
    if method == "getActiveOrders":
        return {}
    if method == "takeOrder":
        numbers = stage["untaken"]
        i = n % len(numbers)
        return {"orderNumber": numbers[i], "pickerId": pickers[i % len(pickers)]}
    numbers = stage["taken"]
    return {"orderNumber": numbers[n % len(numbers)], "lineNo": 1, "quantity": str(1 + n % 2)}


class Direct:
    def __init__(self, db: Database) -> None:
        self.db = db

    def call(self, method: str, data: dict[str, Any], request_id: str | None) -> None:
        spec = METHODS[method]
        key = request_id if spec.changes_state else None
        call = Call(TOKEN, spec, key, spec.request.model_validate(data))
        execute(self.db, call, AssemblyPolicy(), utc_now)


class Asgi:
    def __init__(self, db: Database, url: str) -> None:
        from smbridge.entrypoints.assembly_app import create_assembly_app

        app = create_assembly_app(Settings(database_url=url), db, clock=utc_now)
        self.loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        )

    def call(self, method: str, data: dict[str, Any], request_id: str | None) -> None:
        body: dict[str, Any] = {"requestData": data}
        if request_id and METHODS[method].changes_state:
            body["requestId"] = request_id
        response = self.loop.run_until_complete(
            self.client.post(
                f"/sbermarket/orders/api/{method}",
                content=orjson.dumps(body),
                headers={"Client-Token": TOKEN, "Content-Type": "application/json"},
            )
        )
        assert response.status_code == 200, response.text


def measure(caller: Any, method: str, stage: dict[str, Any], calls: int, tag: str) -> float:
    start = time.process_time()
    for n in range(calls):
        caller.call(method, data_of(method, stage, n), f"{tag}-{n}")
    return (time.process_time() - start) / calls * 1000


def profile(
    caller: Any, method: str, stage: dict[str, Any], calls: int, *, tag: str, top: int
) -> str:
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for n in range(calls):
        caller.call(method, data_of(method, stage, n), f"{tag}-{n}")
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    out.write(f"--- {method}: {stats.total_calls / calls:.0f} function calls per call\n")  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--calls", type=int, default=500, help="per method (board: /10)")
    parser.add_argument("--mode", choices=("direct", "asgi"), default="direct")
    parser.add_argument("--profile", type=int, default=0, help="top entries (0: none)")
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    logging.disable(logging.WARNING)
    import smbridge

    print(f"smbridge from {Path(smbridge.__file__).parent}, mode {args.mode}")
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="apiwrite-") as tmp:
        for name in args.databases.split(","):
            if name == "sqlite":
                url = f"sqlite:///{Path(tmp) / 'inproc.db'}"
            else:
                url = stack.enter_context(postgres_database(args.pg_admin_url))
            stage = prepare_store(url, args.orders)
            db = Database.from_settings(Settings(database_url=url))
            caller = Direct(db) if args.mode == "direct" else Asgi(db, url)
            try:
                # warm up: takeOrder's first pass over its orders applies, later ones re-take
                measure(caller, "takeOrder", stage, len(stage["untaken"]), "warm")
                for method in HOT:
                    calls = args.calls // 10 if method == "getActiveOrders" else args.calls
                    ms = measure(caller, method, stage, calls, f"m-{method}")
                    print(f"{name:10} {method:16} {ms:7.3f} ms CPU/call ({calls} calls)")
                if args.profile:
                    for method in HOT:
                        calls = args.calls // 10 if method == "getActiveOrders" else args.calls
                        tag = f"p-{method}"
                        print(profile(caller, method, stage, calls, tag=tag, top=args.profile))
            finally:
                db.dispose()


if __name__ == "__main__":
    main()
