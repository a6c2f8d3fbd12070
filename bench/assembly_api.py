"""The assembly API over a pool of 4 workers: latency and calls/s of a picker's hot calls.

Starts, for SQLite and for PostgreSQL, 4 ``smbridge serve assembly`` workers on a fresh
database holding one store with ``--orders`` (500) active orders, created through the real
use cases (``ingest_webhook`` for each order, ``openShift`` for each picker). A load
generator in its own process (the bare asyncio HTTP/1.1 client of ``bench.load``)
keeps a fixed number of keep-alive connections, round-robin over the 4 ports, each sending
its next call as soon as the previous answer arrived (closed loop). Measured per method:

* ``getActiveOrders``: the store's board, all 500 orders (``--read-concurrency`` connections);
* ``takeOrder``: round-robin over the 250 orders not taken yet, each by its own picker (the
  first pass takes the order and queues ``order.in_work``; later passes take it again, which
  changes nothing but still locks, checks and answers the card);
* ``recordPick``: line 1 of the 250 orders taken while preparing, round-robin, quantity 1 and 2
  in turn (an UPDATE of the position and the order each time).

State-changing calls carry a fresh ``requestId`` each (as the picking app sends them), so each
one also stores its answer. Each measurement is repeated (``--repeats``, DBs interleaved) and
medians are shown. A call counts as done only with a 200 and a result; anything else is an
error. The last column is the largest resident memory (VmRSS) of the 4 workers after the run.

Usage::

    .venv/bin/python -m bench.assembly_api
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import orjson
import structlog
from tests.support.environment import free_port, wait_until_up

from bench.hook_ingest import (
    DEFAULT_PG_ADMIN,
    STORE_SM_ID,
    _order_template,
    postgres_database,
    prepare_database,
)
from bench.load import RequestMaker, closed_loop
from bench.worker_limits import memory_mb
from smbridge.assembly.methods import METHODS
from smbridge.assembly.repository import ApiTokenRepository, PickerRepository
from smbridge.assembly.service import AssemblyPolicy, Call, execute, token_hash
from smbridge.domain.picker import Picker
from smbridge.entrypoints.supervisor import stop_processes
from smbridge.intake.events import parse_webhook
from smbridge.intake.service import IntakePolicy, ingest_webhook
from smbridge.kernel.clock import utc_now
from smbridge.kernel.database.unit_of_work import Database
from smbridge.orders.repository import OrderRepository, StoreRepository
from smbridge.settings import Settings

TOKEN = "bench-assembly-token"  # noqa: S105 - a throwaway database's token
API = "/sbermarket/orders/api/"
PICKERS = 8

# --- the stage -------------------------------------------------------------------------------


def prepare_store(url: str, orders: int) -> dict[str, Any]:
    """Schema, one store with a token and pickers on shift, ``orders`` new orders; returns
    what the generator needs: the order numbers and the picker of each order."""
    prepare_database(url)  # migrations and the store SM knows as STORE_SM_ID
    db = Database.from_settings(Settings(database_url=url))
    try:
        with db.unit_of_work() as uow:
            store = uow.repo(StoreRepository).by_sm_id(STORE_SM_ID)
            assert store is not None
            assert store.id is not None
            store_id = store.id
            uow.repo(ApiTokenRepository).add(store_id, token_hash(TOKEN), "bench", utc_now())
            pickers = [Picker(store_id=store_id, name=f"Сборщик {i}") for i in range(PICKERS)]
            for picker in pickers:
                uow.repo(PickerRepository).add(picker)
            uow.commit()
        picker_ids = [picker.id for picker in pickers]
        for picker_id in picker_ids:
            _call(db, "openShift", pickerId=picker_id)
        parts = _order_template()
        for n in range(orders):
            body = f"A{n:09d}".encode().join(parts)
            ingest_webhook(db, parse_webhook(body), IntakePolicy(), utc_now)
        with db.unit_of_work(read_only=True) as uow:
            numbers = [o.number for o in uow.repo(OrderRepository).active_for_store(store_id)]
        assert len(numbers) == orders, f"{len(numbers)} active orders, wanted {orders}"
        taken = numbers[: orders // 2]  # recordPick's orders; takeOrder takes the others
        for i, number in enumerate(taken):
            _call(db, "takeOrder", orderNumber=number, pickerId=picker_ids[i % PICKERS])
        return {"taken": taken, "untaken": numbers[orders // 2 :], "pickers": picker_ids}
    finally:
        db.dispose()


def _call(db: Database, method: str, **data: Any) -> dict[str, Any]:
    spec = METHODS[method]
    call = Call(TOKEN, spec, None, spec.request.model_validate(data))
    return execute(db, call, AssemblyPolicy(), utc_now).result


@contextmanager
def assembly_pool(
    url: str, workers: int, log_dir: Path, name: str, src: Path | None = None
) -> Iterator[list[Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMBRIDGE_")}
    env |= {"SMBRIDGE_DATABASE_URL": url, "SMBRIDGE_LOG_LEVEL": "WARNING"}
    if src is not None:  # the workers run another checkout's code (e.g. before a change)
        env["PYTHONPATH"] = str(src.resolve())
    smbridge = str(Path(sys.executable).parent / "smbridge")
    processes: list[subprocess.Popen[bytes]] = []
    ports: list[int] = []
    try:
        for i in range(workers):
            port = free_port()
            with (log_dir / f"{name}-{i}.log").open("wb") as log:
                command = [smbridge, "serve", "assembly", "--port", str(port)]
                processes.append(
                    subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
                )
            ports.append(port)
        for port in ports:
            wait_until_up(f"http://127.0.0.1:{port}/healthz", seconds=60)
        yield [ports, processes]
    finally:
        stop_processes(processes, grace_seconds=30)


# --- the load generator (its own process) ----------------------------------------------------


def request_maker(spec: dict[str, Any]) -> RequestMaker:
    """``make(port, n)``: the n-th call of the spec's method, a complete keep-alive request."""
    method, pickers = spec["method"], spec["pickers"]
    numbers = spec["untaken"] if method == "takeOrder" else spec["taken"]
    keyed = spec["request_ids"] and method != "getActiveOrders"
    tag = spec["tag"]

    def data(n: int) -> dict[str, Any]:
        i = n % len(numbers)
        if method == "getActiveOrders":
            return {}
        if method == "takeOrder":
            return {"orderNumber": numbers[i], "pickerId": pickers[i % len(pickers)]}
        return {"orderNumber": numbers[i], "lineNo": 1, "quantity": str(1 + n % 2)}

    def make(port: int, n: int) -> bytes:
        envelope: dict[str, Any] = {"requestData": data(n)}
        if keyed:
            envelope["requestId"] = f"{tag}-{n}"
        body = orjson.dumps(envelope)
        head = (
            f"POST {API}{method} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Client-Token: {TOKEN}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    return make


async def _closed_loop(spec: dict[str, Any]) -> dict[str, Any]:
    return await closed_loop(
        request_maker(spec),
        spec["ports"],
        concurrency=spec["concurrency"],
        warmup=spec["warmup"],
        duration=spec["duration"],
        expect=b'"result"',
    )


def generator_main(spec_json: str) -> None:
    spec = json.loads(spec_json)
    with suppress(ImportError):
        import uvloop

        uvloop.install()
    sys.stdout.write(json.dumps(asyncio.run(_closed_loop(spec))) + "\n")


def run_generator(spec: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.assembly_api", "_generate", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
        timeout=spec["duration"] * 4 + 120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- the run ---------------------------------------------------------------------------------

METHOD_NAMES = ("getActiveOrders", "takeOrder", "recordPick")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--orders", type=int, default=500, help="active orders of the store")
    parser.add_argument("--read-concurrency", type=int, default=4, help="getActiveOrders")
    parser.add_argument("--write-concurrency", type=int, default=32, help="takeOrder, recordPick")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--no-request-ids", dest="request_ids", action="store_false")
    parser.add_argument("--src", type=Path, help="run the workers from this src directory")
    parser.add_argument(
        "--pg-admin-url", default=os.environ.get("SMBRIDGE_BENCH_PG", DEFAULT_PG_ADMIN)
    )
    return parser.parse_args()


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    args = _arguments()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    databases = args.databases.split(",")
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    rss: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory(prefix="smbridge-bench-") as tmp,
        contextmanager_all(args, Path(tmp), databases) as pools,
    ):
        for round_no in range(args.repeats):
            for name in databases:
                ports, stage, _ = pools[name]
                for method in METHOD_NAMES:
                    concurrency = (
                        args.read_concurrency
                        if method == "getActiveOrders"
                        else args.write_concurrency
                    )
                    spec = {
                        "ports": ports,
                        "method": method,
                        "concurrency": concurrency,
                        "warmup": 1.0,
                        "duration": args.duration,
                        "request_ids": args.request_ids,
                        "tag": f"{name}-{method}-{round_no}",
                    } | stage
                    result = run_generator(spec)
                    results.setdefault((name, method), []).append(result)
                    print(
                        f"round {round_no + 1} {name} {method}: {result['rps']:.0f}/s "
                        f"p50 {result['p50_ms']:.1f} p99 {result['p99_ms']:.1f} ms, "
                        f"errors {result['errors']} {result['error_kinds']}",
                        file=sys.stderr,
                        flush=True,
                    )
        for name in databases:
            rss[name] = max(memory_mb(p.pid)[0] for p in pools[name][2])
    print(render_table(results, rss, args))


@contextmanager
def contextmanager_all(
    args: argparse.Namespace, work: Path, databases: list[str]
) -> Iterator[dict[str, tuple[list[int], dict[str, Any], list[Any]]]]:
    """Both databases prepared and a pool of workers on each, for the whole run."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        pools = {}
        for name in databases:
            if name == "sqlite":
                url = f"sqlite:///{work / 'bench.db'}"
            else:
                url = stack.enter_context(postgres_database(args.pg_admin_url))
            started = time.perf_counter()
            stage = prepare_store(url, args.orders)
            print(
                f"{name}: {args.orders} orders in {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )
            ports, processes = stack.enter_context(
                assembly_pool(url, args.workers, work, name, args.src)
            )
            pools[name] = (ports, stage, processes)
        yield pools


def render_table(
    results: dict[tuple[str, str], list[dict[str, Any]]],
    rss: dict[str, float],
    args: argparse.Namespace,
) -> str:
    header = [
        "database",
        "method",
        "connections",
        "calls/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "max worker RSS MB after",
    ]
    rows = []
    for (name, method), runs in results.items():
        concurrency = (
            args.read_concurrency if method == "getActiveOrders" else args.write_concurrency
        )
        rows.append(
            [
                name,
                method,
                str(concurrency),
                f"{_median([r['rps'] for r in runs]):,.0f}",
                f"{_median([r['p50_ms'] for r in runs]):.1f}",
                f"{_median([r['p99_ms'] for r in runs]):.1f}",
                str(sum(r["errors"] for r in runs)),
                f"{rss[name]:.0f}",
            ]
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        f"assembly API, {args.workers} workers, store with {args.orders} active orders, "
        f"{args.repeats} rounds of {args.duration:.0f} s (medians)"
        + (f", workers from {args.src}" if args.src else ""),
        "| " + " | ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "_generate":
        generator_main(sys.argv[2])
    else:
        main()
