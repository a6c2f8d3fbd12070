"""CPU per webhook of the hook's use case, in one process (issue 11).

    .venv/bin/python -m bench.hook_cpu [--url URL] [--webhooks 1000] [--profile 25]

Parses and ingests distinct ``order.created`` webhooks (the body of bench/hook_ingest.py)
into a fresh SQLite database (or ``--url``, a throwaway database you made), and prints
``time.process_time`` per webhook for the whole use case and for parsing alone. CPU time,
not wall time: load on a shared box moves it far less. For another source tree put its src
first: ``PYTHONPATH=/tmp/before/src:. .venv/bin/python -m bench.hook_cpu``.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import pstats
import tempfile
import time
from datetime import UTC, datetime

import structlog

from bench.hook_ingest import _order_template, prepare_database
from smbridge.intake.events import parse_webhook
from smbridge.intake.service import ingest_webhook, intake_policy
from smbridge.kernel.database.unit_of_work import Database
from smbridge.settings import Settings

WARM_UP = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a database URL (default: a new SQLite file)")
    parser.add_argument("--webhooks", type=int, default=1000)
    parser.add_argument("--profile", type=int, default=0, help="cProfile top entries (0: none)")
    args = parser.parse_args()
    # The worker logs as JSON at info; the console renderer would be measured instead.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    url = args.url or f"sqlite:///{tempfile.mkdtemp()}/hook-cpu.db"
    prepare_database(url)
    settings = Settings(database_url=url)
    db = Database.from_settings(settings)
    policy = intake_policy(settings)
    at = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    parts = _order_template()
    bodies = [f"C{n:09d}".encode().join(parts) for n in range(WARM_UP + 2 * args.webhooks)]
    try:
        for body in bodies[:WARM_UP]:
            ingest_webhook(db, parse_webhook(body), policy, lambda: at)
        measured = bodies[WARM_UP : WARM_UP + args.webhooks]
        started = time.process_time()
        for body in measured:
            ingest_webhook(db, parse_webhook(body), policy, lambda: at)
        whole = (time.process_time() - started) / len(measured) * 1000
        started = time.process_time()
        for body in measured:
            parse_webhook(body)
        parsing = (time.process_time() - started) / len(measured) * 1000
        print(f"{db.engine.dialect.name}: {whole:.2f} ms CPU/webhook, of it parsing {parsing:.2f}")
        if args.profile:
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            for body in bodies[WARM_UP + args.webhooks :]:
                ingest_webhook(db, parse_webhook(body), policy, lambda: at)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(args.profile)
    finally:
        db.dispose()


if __name__ == "__main__":
    main()
