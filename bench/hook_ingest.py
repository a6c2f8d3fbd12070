"""Durable webhooks per second and latency of the hook service, next to hello-world.

Starts, in one run: 4 hook worker processes on a fresh SQLite file, 4 on a fresh PostgreSQL
database, and 4 processes of a hello-world FastAPI app (``bench/hello_app.py``) served the
same way (uvicorn, uvloop, httptools, no access log, one process per port). Each target is
measured twice, round-robin over its 4 ports:

* closed loop: a fixed number of keep-alive connections, each sending its next request as
  soon as the previous answer arrives -> maximum throughput;
* open loop: requests started at a fixed offered rate (default 1,000/s), latency counted
  from the moment a request was due (no coordinated omission) -> p50/p99 and errors.

Every hook request is a distinct ``order.created`` with a few positions, so each one is a
real durable write (journal row, order, positions, outbox row, commit). The load generator
is a separate process with a bare asyncio HTTP/1.1 client (no httpx), so it costs little.
Each measurement is repeated (default 3 rounds, targets interleaved) and medians are shown;
the hook/hello ratios are computed from the same round and then their median taken.

Usage::

    .venv/bin/python -m bench.hook_ingest                      # prints the table
    .venv/bin/python -m bench.hook_ingest --write docs/benchmarks.md
    .venv/bin/python -m bench.hook_ingest --profile            # py-spy on one hook worker

``--profile`` needs ``py-spy`` on PATH (or ``--py-spy PATH``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from tests.support.environment import free_port, wait_until_up

from bench.load import Connection, Tally, clock, closed_loop, connect, summary
from smbridge.deploy import nginx
from smbridge.deploy.certificate import self_signed
from smbridge.domain.store import Store
from smbridge.entrypoints.supervisor import stop_processes
from smbridge.kernel.database import migrations
from smbridge.kernel.database.unit_of_work import Database
from smbridge.orders.repository import StoreRepository
from smbridge.settings import Settings

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TOKEN = "bench-token"  # noqa: S105 - the throwaway workers' Client-Token
STORE_SM_ID = "101"
HOOK_PATH = "/sbermarket/orders/hook/"
DEFAULT_PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

# --- the request bodies -------------------------------------------------------------------

_MARK = "@@ID@@"


def _order_template() -> list[bytes]:
    """An ``order.created`` body split around the places that carry the SM order id."""

    def line(sku: str, name: str, qty: int, price: str, weight: str | None = None) -> Any:
        body: dict[str, Any] = {
            "id": sku,
            "name": name,
            "originalQuantity": qty,
            "quantity": qty,
            "price": price,
            "discountPrice": price,
            "totalPrice": price,
            "totalDiscountPrice": price,
        }
        if weight is not None:
            body["weight"] = weight
        return body

    payload = {
        "originalOrderId": _MARK,
        "orderUUID": f"uuid-{_MARK}",
        "storeID": STORE_SM_ID,
        "comment": "Позвоните за 10 минут",
        "state": "new",
        "paymentState": "not_paid",
        "customer": {"name": "Иван Петров", "phone": "+79991111111"},
        "address": {
            "full_address": "Москва, ул. Ленина, д. 1, кв. 5",
            "city": "Москва",
            "lat": "55.75",
            "lon": "37.61",
        },
        "delivery": {
            "expectedFrom": "2026-11-29T10:00:00+03:00",
            "expectedTo": "2026-11-29T11:00:00+03:00",
            "isPlanned": True,
        },
        "total": {"totalPrice": "776.30", "discountTotalPrice": "736.30"},
        "paymentMethods": ["card_online"],
        "replacementPolicy": "call_or_replace",
        "positions": [
            line("100500", "Молоко Простоквашино 3,2% 930 мл", 2, "89.90"),
            line("100501", "Хлеб Бородинский 400 г", 1, "65.00"),
            line("100502", "Яйцо куриное С1, 10 шт", 1, "129.90"),
            line("200300", "Бананы весовые", 1, "148.75", weight="1250"),
            line("200301", "Сыр Российский весовой", 1, "252.85", weight="412"),
        ],
    }
    document = orjson.dumps({"event_type": "order.created", "payload": payload}).decode()
    return [part.encode() for part in document.split(_MARK)]


def request_factory(kind: str, host: str, port: int, prefix: str) -> Callable[[int], bytes]:
    """Complete HTTP/1.1 keep-alive requests; a hook body's order id is ``prefix`` + n."""
    del kind  # hello answers on the hook's path too, so nginx routes both alike
    head = (
        f"POST {HOOK_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nClient-Token: {TOKEN}\r\n"
        "Content-Type: application/json\r\n"
    ).encode()
    parts = _order_template()

    def make(n: int) -> bytes:
        body = f"{prefix}{n:09d}".encode().join(parts)
        return b"%sContent-Length: %d\r\n\r\n%s" % (head, len(body), body)

    return make


# --- the load generator (runs in its own process) -------------------------------------------


async def _closed_loop(spec: dict[str, Any]) -> dict[str, Any]:
    host, ports = spec["host"], spec["ports"]
    makers = {
        port: request_factory(spec["kind"], host, port, spec["prefix"] + f"{i}")
        for i, port in enumerate(ports)
    }
    return await closed_loop(
        lambda port, n: makers[port](n),
        ports,
        concurrency=spec["concurrency"],
        warmup=spec["warmup"],
        duration=spec["duration"],
        expect=spec["expect"].encode(),
        host=host,
        ca_file=spec.get("ca_file"),
    )


async def _open_loop(spec: dict[str, Any]) -> dict[str, Any]:
    host, ports, expect = spec["host"], spec["ports"], spec["expect"].encode()
    rate, duration = spec["rate"], spec["duration"]
    makers = [
        request_factory(spec["kind"], host, p, spec["prefix"] + f"{i}") for i, p in enumerate(ports)
    ]
    idle: list[list[Connection]] = [[] for _ in ports]
    ca_file = spec.get("ca_file")
    for i in range(spec["concurrency"]):  # opened before the clock starts
        idle[i % len(ports)].append(await connect(host, ports[i % len(ports)], ca_file))
    tally = Tally()
    in_flight: set[asyncio.Task[None]] = set()
    # At most this many requests on the wire; the rest wait in the generator (their latency
    # still counts from when they were due). One not sent within ``grace`` seconds after
    # the schedule ends is counted as not served: an overloaded server must not be buried
    # in a backlog that would spill into the next measurement.
    slots = asyncio.Semaphore(spec["max_in_flight"])
    total = int(rate * duration)
    start = clock() + 0.05
    give_up_at = start + duration + spec["grace"]
    sent = 0

    async def one(n: int, due: float) -> None:
        nonlocal sent
        try:
            await asyncio.wait_for(slots.acquire(), max(0.0, give_up_at - clock()))
        except TimeoutError:
            tally.errors["not sent: generator's in-flight limit reached (server overloaded)"] += 1
            tally.unserved += 1
            return
        sent += 1
        w = n % len(ports)
        try:
            connection = idle[w].pop() if idle[w] else await connect(host, ports[w], ca_file)
            try:
                status, body = await asyncio.wait_for(connection.request(makers[w](n)), 60)
            except (TimeoutError, ConnectionError) as exc:
                tally.errors[type(exc).__name__] += 1
                tally.unserved += 1
                connection.close()
                return
            tally.record(status, body, expect, clock() - due)
            if connection.open:
                idle[w].append(connection)
        finally:
            slots.release()

    cpu = time.process_time()
    lag = 0.0
    n = 0
    while n < total:
        now = clock()
        due = start + n / rate
        if due > now:
            await asyncio.sleep(due - now)
            continue
        lag = max(lag, now - due)
        while n < total and start + n / rate <= now:  # every request that is due by now
            task = asyncio.create_task(one(n, start + n / rate))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            n += 1
    if in_flight:
        await asyncio.wait(in_flight)
    elapsed = clock() - start
    cpu = time.process_time() - cpu
    for pool in idle:
        for connection in pool:
            connection.close()
    result = summary(tally, elapsed, cpu, elapsed)
    result.update(offered=rate, sent=sent, max_lag_ms=lag * 1000)
    return result


def generator_main(spec_json: str) -> None:
    spec = json.loads(spec_json)
    with suppress(ImportError):
        import uvloop

        uvloop.install()
    result = asyncio.run(_closed_loop(spec) if spec["mode"] == "closed" else _open_loop(spec))
    sys.stdout.write(json.dumps(result) + "\n")


def run_generator(spec: dict[str, Any]) -> dict[str, Any]:
    """One measurement, in a fresh generator process."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.hook_ingest", "_generate", json.dumps(spec)],
        cwd=ROOT,  # run as a module: the generator imports tests.support like the bench
        capture_output=True,
        text=True,
        check=False,
        timeout=spec.get("duration", 10) * 4 + 120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- the servers ----------------------------------------------------------------------------


@dataclass
class Pool:
    name: str
    kind: str  # "hook" or "hello"
    ports: list[int]
    processes: list[subprocess.Popen[bytes]]
    ca_file: str | None = None  # set: an nginx front, spoken to over TLS

    def stop(self) -> None:
        stop_processes(self.processes, grace_seconds=30)

    def check(self) -> None:
        dead = [p.args for p in self.processes if p.poll() is not None]
        if dead:
            raise RuntimeError(f"{self.name}: worker(s) died: {dead}")


def start_pool(name: str, kind: str, workers: int, env: dict[str, str], log_dir: Path) -> Pool:
    bin_dir = Path(sys.executable).parent
    pool = Pool(name, kind, [], [])
    for i in range(workers):
        port = free_port()
        if kind == "hook":
            command = [str(bin_dir / "smbridge"), "serve", "hook", "--port", str(port)]
        else:  # the same uvicorn options as `smbridge serve`
            command = [
                *(str(bin_dir / "uvicorn"), "--factory", "--app-dir", str(HERE)),
                *("hello_app:create_app", "--host", "127.0.0.1", "--port", str(port)),
                *("--workers", "1", "--loop", "uvloop", "--http", "httptools"),
                *("--no-access-log", "--log-level", "warning"),
            ]
        with (log_dir / f"{name}-{i}.log").open("wb") as log:
            pool.processes.append(
                subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
            )
        pool.ports.append(port)
    try:
        for port in pool.ports:
            wait_until_up(f"http://127.0.0.1:{port}/healthz", seconds=60)
    except BaseException:
        pool.stop()
        raise
    return pool


def start_front(name: str, backend: Pool, work: Path) -> Pool:
    """nginx, configured by ``smbridge nginx render``'s code, in front of ``backend``;
    limits set out of the way (they are per client, and here all load is one client)."""
    nginx_binary = nginx.find_binary()
    if nginx_binary is None:
        raise RuntimeError("nginx is not installed")
    directory = work / name.replace("+", "-")
    tls = self_signed(directory / "tls")
    port = free_port()
    workers = [f"127.0.0.1:{p}" for p in backend.ports]
    settings = Settings(
        nginx_certificate=str(tls.certificate),
        nginx_certificate_key=str(tls.key),
        nginx_https_port=port,
        nginx_http_port=free_port(),
        nginx_hook_servers=workers,
        nginx_assembly_servers=workers,
        nginx_hook_rate_per_second=1_000_000,
        nginx_connections_per_ip=60_000,
    )
    config = directory / "nginx.conf"
    nginx.write(nginx.plan_from_settings(settings, state_dir=str(directory)), config)
    process = subprocess.Popen(nginx.foreground_command(nginx_binary, config))
    time.sleep(0.5)
    if process.poll() is not None:
        raise RuntimeError(f"nginx did not start; see {directory}/logs/error.log")
    return Pool(name, backend.kind, [port], [process], str(tls.certificate))


# --- the databases --------------------------------------------------------------------------


def prepare_database(url: str) -> None:
    db = Database.from_settings(Settings(database_url=url))
    try:
        migrations.upgrade(db.engine)
        with db.unit_of_work() as uow:
            uow.repo(StoreRepository).add(Store(sm_store_id=STORE_SM_ID, name="Магазин на Ленина"))
            uow.commit()
    finally:
        db.dispose()


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    name = f"smbridge_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def count_orders(url: str) -> int:
    db = Database.from_settings(Settings(database_url=url))
    try:
        with db.engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM orders")).scalar_one())
    finally:
        db.dispose()


# --- profiling ------------------------------------------------------------------------------

#: Frames that mark where a hook worker's time goes (inclusive: a sample counts once per key).
PROFILE_KEYS = {
    "HTTP + ASGI + FastAPI (event-loop thread)": "run_asgi",
    "request parsing: orjson + pydantic (parse_webhook)": "parse_webhook",
    "use case in the thread pool (ingest_webhook)": "ingest_webhook",
    "  ORM flush (INSERT/UPDATE)": "flush (sqlalchemy/orm/session.py",
    "  queries (by_key, by_sm_id, stores, parked_for)": "_execute_internal",
    "  COMMIT (incl. fsync)": "commit (sqlalchemy/engine/base.py",
    "  pool checkout with pre-ping (SELECT 1)": "do_ping",
    "  logging (structlog)": "structlog",
    "  PostgreSQL advisory lock": "lock_order_key",
}


def profile_worker(py_spy: str, pid: int, seconds: int, out: Path) -> dict[str, float]:
    """Sample one worker with py-spy and group its stacks.

    ``--gil`` keeps only samples of the thread holding the GIL: where the process spends
    its CPU (a worker is one Python process, so this is its ceiling).
    """
    command = [py_spy, "record", "--pid", str(pid), "--duration", str(seconds)]
    command += ["--format", "raw", "--output", str(out), "--rate", "200", "--gil", "--nonblocking"]
    subprocess.run(command, check=True, capture_output=True)
    busy: Counter[str] = Counter()
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        samples = int(count)
        total += samples
        for label, key in PROFILE_KEYS.items():
            if key in stack:
                busy[label] += samples
    shares = {label: busy[label] / total * 100 if total else 0.0 for label in PROFILE_KEYS}
    return shares | {"GIL held, % of wall time": total / (seconds * 200) * 100}


# --- the run --------------------------------------------------------------------------------


@dataclass
class Measurement:
    closed: dict[str, Any]
    open: dict[str, Any]


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def measure(pool: Pool, args: argparse.Namespace, round_no: int, warm: bool) -> Measurement:
    tag = f"R{round_no}{pool.name[5:7] if pool.kind == 'hook' else 'HL'}"
    common = {
        "host": "127.0.0.1",
        "ports": pool.ports,
        "kind": pool.kind,
        "expect": '"created"',
        "ca_file": pool.ca_file,
    }
    if warm:  # fill caches, pools and the OS page cache before the first measurement
        run_generator(
            {**common, "mode": "closed", "concurrency": 16, "warmup": 0, "duration": 2}
            | {"prefix": f"W{uuid.uuid4().hex[:6]}"}
        )
    closed = run_generator(
        {**common, "mode": "closed", "concurrency": args.concurrency}
        | {"warmup": 1.0, "duration": args.duration, "prefix": f"{tag}C{uuid.uuid4().hex[:4]}"}
    )
    pool.check()
    opened = run_generator(
        {**common, "mode": "open", "rate": args.rate, "duration": args.open_duration}
        | {"concurrency": 32, "max_in_flight": 256, "grace": 2.0}
        | {"prefix": f"{tag}O{uuid.uuid4().hex[:4]}"}
    )
    pool.check()
    return Measurement(closed, opened)


def _ms(value: float) -> str:
    return "unserved" if value == float("inf") else f"{value:.1f}"


def render_table(
    results: dict[str, list[Measurement]], args: argparse.Namespace
) -> tuple[str, list[list[str]]]:
    hello = results["hello"]
    header = [
        "target",
        f"max req/s (closed, c={args.concurrency})",
        "ratio to hello",
        f"p50 ms @{args.rate}/s",
        f"p99 ms @{args.rate}/s",
        "achieved/s",
        "errors + unserved",
        "generator CPU (closed)",
    ]
    rows = []
    for name, runs in results.items():
        ratios = [m.closed["rps"] / h.closed["rps"] for m, h in zip(runs, hello, strict=True)]
        rows.append(
            [
                name,
                f"{_median([m.closed['rps'] for m in runs]):,.0f}",
                f"{_median(ratios):.2f}",
                _ms(_median([m.open["p50_ms"] for m in runs])),
                _ms(_median([m.open["p99_ms"] for m in runs])),
                f"{_median([m.open['rps'] for m in runs]):,.0f}",
                str(sum(m.closed["errors"] + m.open["errors"] for m in runs)),
                f"{_median([m.closed['generator_cpu'] for m in runs]) * 100:.0f} %",
            ]
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    return "\n".join(lines), rows


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=64, help="closed-loop connections")
    parser.add_argument("--duration", type=float, default=8.0, help="closed-loop seconds")
    parser.add_argument("--rate", type=int, default=1000, help="open-loop offered req/s")
    parser.add_argument("--open-duration", type=float, default=10.0, help="open-loop seconds")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--targets",
        default="hello,hook-sqlite,hook-postgresql,"
        "hello+nginx,hook-sqlite+nginx,hook-postgresql+nginx",
        help="a name+nginx target goes through nginx (TLS) to the same worker pool; "
        "name@N is a pool of N workers (hook-sqlite@1: one worker, same database)",
    )
    parser.add_argument(
        "--pg-admin-url", default=os.environ.get("SMBRIDGE_BENCH_PG", DEFAULT_PG_ADMIN)
    )
    parser.add_argument("--write", type=Path, help="write the report (markdown) here")
    parser.add_argument("--profile", action="store_true", help="py-spy one hook worker per DB")
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy")
    parser.add_argument("--raw", type=Path, help="dump every measurement as JSON here")
    return parser.parse_args()


@dataclass
class RunResult:
    results: dict[str, list[Measurement]]
    profiles: dict[str, dict[str, Any]]
    stored: dict[str, int]


def _run(args: argparse.Namespace, work: Path, pg_url: str) -> RunResult:
    targets = args.targets.split(",")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("SMBRIDGE_")}
    base_env |= {"SMBRIDGE_HOOK_TOKEN": TOKEN, "SMBRIDGE_LOG_LEVEL": "WARNING"}
    urls = {"hook-sqlite": f"sqlite:///{work / 'bench.db'}", "hook-postgresql": pg_url}
    pools: dict[str, Pool] = {}
    try:
        prepared: set[str] = set()
        for name in targets:
            backend = name.removesuffix("+nginx")
            # name@N: a pool of N workers beside the others (e.g. one worker against four)
            base, _, count = backend.partition("@")
            workers = int(count) if count else args.workers
            if backend not in pools:
                if base == "hello":
                    pools[backend] = start_pool(backend, "hello", workers, base_env, work)
                else:
                    if base not in prepared:
                        prepare_database(urls[base])
                        prepared.add(base)
                    env = base_env | {"SMBRIDGE_DATABASE_URL": urls[base]}
                    pools[backend] = start_pool(backend, "hook", workers, env, work)
            if name != backend:
                pools[name] = start_front(name, pools[backend], work)
        results: dict[str, list[Measurement]] = {name: [] for name in targets}
        for round_no in range(args.repeats):
            for name in targets:
                m = measure(pools[name], args, round_no, warm=round_no == 0)
                results[name].append(m)
                print(
                    f"round {round_no + 1} {name}: closed {m.closed['rps']:.0f}/s "
                    f"(gen CPU {m.closed['generator_cpu']:.0%}), open p50 "
                    f"{m.open['p50_ms']:.1f} p99 {m.open['p99_ms']:.1f} ms, "
                    f"errors {m.closed['errors'] + m.open['errors']}",
                    file=sys.stderr,
                    flush=True,
                )
        profiles = {
            name: _profile_under_load(pools[name], args, work)
            for name in targets
            if args.profile and pools[name].kind == "hook" and pools[name].ca_file is None
        }
        stored = {n: count_orders(urls[n]) for n in pools if n in urls}
    finally:
        for pool in pools.values():
            pool.stop()
    return RunResult(results, profiles, stored)


def main() -> None:
    args = _arguments()
    started = datetime.now(UTC)
    with (
        tempfile.TemporaryDirectory(prefix="smbridge-bench-") as tmp,
        postgres_database(args.pg_admin_url) as pg_url,
    ):
        run = _run(args, Path(tmp), pg_url)
    table, _ = render_table(run.results, args)
    print(table)
    for name, n in run.stored.items():
        print(f"{name}: {n} orders stored", file=sys.stderr)
    if args.raw:
        raw = {
            n: [{"closed": m.closed, "open": m.open} for m in ms] for n, ms in run.results.items()
        }
        args.raw.write_text(json.dumps(raw | {"profiles": run.profiles}, indent=1))
    for name, profile in run.profiles.items():
        print(f"\nprofile of one {name} worker under closed-loop load:", file=sys.stderr)
        for label, share in profile.items():
            print(f"  {label:60} {share:.1f}", file=sys.stderr)
    if args.write:
        command = " ".join([".venv/bin/python", *map(shlex.quote, sys.argv)])
        args.write.write_text(_report(table, started, command, run.profiles, args.write))


def _profile_under_load(pool: Pool, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Closed-loop load on the pool while py-spy samples its first worker."""
    spec = {
        "host": "127.0.0.1",
        "ports": pool.ports,
        "kind": pool.kind,
        "expect": '"created"',
        "mode": "closed",
        "concurrency": args.concurrency,
        "warmup": 0.0,
        "duration": 10.0,
        "prefix": f"P{uuid.uuid4().hex[:6]}",
    }
    generator = subprocess.Popen(
        [sys.executable, "-m", "bench.hook_ingest", "_generate", json.dumps(spec)],
        cwd=ROOT,  # run as a module: the generator imports tests.support like the bench
        stdout=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.0)
        return profile_worker(args.py_spy, pool.processes[0].pid, 8, work / f"{pool.name}.txt")
    finally:
        generator.wait()


def _report(
    table: str, started: datetime, command: str, profiles: dict[str, Any], path: Path
) -> str:
    previous = path.read_text() if path.exists() else ""
    marker = "<!-- analysis -->"
    analysis = previous.split(marker, 1)[1] if marker in previous else "\n"
    lines = [
        "# Benchmarks",
        "",
        "## Hook ingest: durable webhooks/s with 4 worker processes",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC on this machine ({os.cpu_count()} CPUs), with:",
        "",
        "```",
        command,
        "```",
        "",
        table,
        "",
    ]
    for name, profile in profiles.items():
        lines += [
            f"py-spy, one {name} worker under closed-loop load "
            "(py-spy --gil: share of the samples where it ran Python code, inclusive):",
            "",
        ]
        lines += [f"- {k.strip()}: {v:.0f} %" for k, v in profile.items()]
        lines.append("")
    return "\n".join(lines) + marker + analysis


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "_generate":
        generator_main(sys.argv[2])
    else:
        main()
