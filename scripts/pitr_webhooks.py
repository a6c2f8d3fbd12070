"""The webhooks of scripts/drill-pitr: SM's new orders through the real hook app, and what a
restored database holds of them.

Run with the project's Python and SMBRIDGE_DATABASE_URL / SMBRIDGE_HOOK_TOKEN set:

    pitr_webhooks.py post LABEL COUNT FILE   # COUNT order.created, each must be answered 200;
                                             # FILE gets "sm_order_id number" per acknowledgement
    pitr_webhooks.py found FILE              # prints "<in the journal> <as orders>" of FILE's ids
    pitr_webhooks.py head                    # the schema revision this code migrates to
    pitr_webhooks.py numbers FILE            # the lowest and highest order number in FILE
                                             # (their digits: SM00000042 -> 42)

The app is the hook service's own, made as uvicorn makes it in each worker
(``app_from_environment``: settings, logging, route, intake use case, unit of work), driven
in-process: the drill is about the database, not HTTP.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import orjson
from sqlalchemy import func, select
from starlette.testclient import TestClient

from smbridge.emulators.sm import baskets
from smbridge.entrypoints.hook_app import app_from_environment
from smbridge.kernel.clock import utc_now
from smbridge.kernel.database import migrations
from smbridge.kernel.database.tables import orders, webhook_journal
from smbridge.kernel.database.unit_of_work import Database
from smbridge.settings import get_settings

HOOK = "/sbermarket/orders/hook/"
STORE = "101"  # the drill maps this SM store first (smbridge stores create --sm-id 101)


def post(label: str, count: int, file: Path) -> int:
    """SM sends ``count`` new orders; every answer must be 200 with our number."""
    settings = get_settings()
    rng = random.Random(label)
    token = settings.hook_token.get_secret_value()
    headers = {"Client-Token": token, "Content-Type": "application/json"}
    started = time.monotonic()
    acknowledged: list[str] = []
    with TestClient(app_from_environment()) as client:
        for n in range(count):
            sm_id = f"H{label}{n:05d}"
            payload = baskets.order(sm_id, STORE, utc_now(), rng)
            body = {"event_type": "order.created", "payload": payload}
            answer = client.post(HOOK, content=orjson.dumps(body), headers=headers)
            number = answer.json().get("number") if answer.status_code == 200 else None
            if not number:
                print(f"{sm_id}: {answer.status_code} {answer.text}", file=sys.stderr)
                return 1
            acknowledged.append(f"{sm_id} {number}\n")
    file.write_text("".join(acknowledged))
    print(f"batch {label}: {count} webhooks acknowledged in {time.monotonic() - started:.1f} s")
    return 0


def found(file: Path) -> int:
    """How many of the file's SM orders the database has in its journal, and as orders."""
    wanted = [line.split()[0] for line in file.read_text().splitlines()]
    db = Database.from_settings(get_settings())
    try:
        with db.engine.connect() as c:
            journal = c.execute(
                select(func.count(func.distinct(webhook_journal.c.sm_order_id))).where(
                    webhook_journal.c.sm_order_id.in_(wanted)
                )
            ).scalar_one()
            stored = c.execute(
                select(func.count()).where(orders.c.sm_order_id.in_(wanted))
            ).scalar_one()
    finally:
        db.dispose()
    print(journal, stored)
    return 0


def numbers(file: Path) -> int:
    """The lowest and highest order number SM was told, as integers (SM00000042 -> 42)."""
    told = [
        int("".join(ch for ch in line.split()[1] if ch.isdigit()))
        for line in file.read_text().splitlines()
    ]
    print(min(told), max(told))
    return 0


def main(argv: list[str]) -> int:
    match argv:
        case ["post", label, count, file]:
            return post(label, int(count), Path(file))
        case ["found", file]:
            return found(Path(file))
        case ["head"]:
            print(migrations.head_revision())
            return 0
        case ["numbers", file]:
            return numbers(Path(file))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
