"""What ``smbridge run`` starts: the worker pools, the scheduler, nginx in front of them
(when installed) and, for a demo stand («тестовый контур»), the SM emulator and simulated
pickers feeding it."""

from __future__ import annotations

import secrets
import shutil
import signal
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from smbridge.accounts.passwords import hash_password
from smbridge.accounts.repository import StaffAccounts
from smbridge.accounts.service import create_account
from smbridge.assembly.repository import ApiTokenRepository, PickerRepository
from smbridge.assembly.service import token_hash
from smbridge.deploy import nginx
from smbridge.deploy.certificate import self_signed
from smbridge.domain.picker import Picker
from smbridge.domain.staff import Role
from smbridge.domain.store import Store
from smbridge.entrypoints.cli.picker_emulator import PICKERS_TOKEN_ENV
from smbridge.entrypoints.supervisor import Supervisor, child_environment
from smbridge.intake.views import HOOK_PATH
from smbridge.kernel.clock import utc_now
from smbridge.kernel.database.unit_of_work import Database, UnitOfWork
from smbridge.metrics.prometheus import MULTIPROC_ENV
from smbridge.orders.repository import StoreRepository
from smbridge.settings import Settings, get_settings

DEMO_STORE = "101"  # the simulated pickers work its orders
DEMO_PICKUP_SHARE = 0.2  # of the demo's orders, collected by their customers at the store
#: The simulated pickers leave this store alone: a person picks its orders in the browser.
DEMO_MANUAL_STORE = "102"
DEMO_MANUAL_STORE_NAME = "Демо-магазин на Мира (сборка вручную)"
DEMO_MANUAL_STORE_CHAT = "-1001002"
DEMO_MANUAL_PICKER = "Сборщик у экрана"
MANUAL_SHARE = 4  # SM's orders for the simulated pickers' store per one for the manual store
DEMO_STORE_CHAT = "-1001001"  # a group: the store's staff
DEMO_OPERATIONS_CHAT = "-1009999"  # a group: e-commerce operations
DEMO_BOT_TOKEN = "demo-bot-token"  # noqa: S105 - the test stand's emulated bot
DEMO_TOKEN_LABEL = "demo pickers"  # noqa: S105 - a label, not a token
#: A demo day runs fast: alerts and sales documents show up within seconds.
DEMO_JOB_PACE = {
    "SMBRIDGE_JOB_TELEGRAM_SECONDS": "2",
    "SMBRIDGE_JOB_MONITORING_SECONDS": "10",
    "SMBRIDGE_JOB_SALES_SECONDS": "15",
}


@dataclass(frozen=True)
class StackPlan:
    host: str = "127.0.0.1"
    hook_workers: int = 4
    hook_port: int = 8100  # workers listen on consecutive ports from here
    assembly_workers: int = 4
    assembly_port: int = 8200
    demo: bool = False
    sm_port: int = 9000
    telegram_port: int = 9100
    demo_rate: float = 1.0  # SM orders per second
    demo_orders: int = 0  # 0: no limit
    demo_chaos: bool = False
    demo_speed: float = 60.0  # courier delays: real minutes become seconds
    demo_pickers: int = 3
    demo_pick_seconds: float = 0.0  # how long a picker takes per line
    #: SM also sends orders to the store that a person picks in the browser; off for the
    #: full-loop tests, which wait for every order to be delivered.
    demo_hand_picked_store: bool = True
    demo_pickup_share: float = DEMO_PICKUP_SHARE
    #: Some pickup customers never come (their orders wait for the storage period); off for
    #: the full-loop tests, which wait for every order to end.
    demo_pickup_no_shows: bool = True
    seed: int | None = None
    nginx_binary: str | None = None  # None: no nginx in front
    https_port: int = 8443
    http_port: int = 8080
    state_dir: Path = Path(".smbridge")  # the private nginx lives under it

    def hook_urls(self) -> list[str]:
        return [
            f"http://{self.host}:{port}{HOOK_PATH}/"
            for port in range(self.hook_port, self.hook_port + self.hook_workers)
        ]

    @property
    def ui_url(self) -> str:
        """Where a person opens the web UI: through nginx when it runs, else the first
        assembly worker (the UI is served by the assembly pool)."""
        if self.nginx_binary is not None:
            return f"https://{self.host}:{self.https_port}/ui/"
        return f"http://{self.host}:{self.assembly_port}/ui/"

    def assembly_urls(self) -> list[str]:
        return [
            f"http://{self.host}:{port}"
            for port in range(self.assembly_port, self.assembly_port + self.assembly_workers)
        ]

    @property
    def sm_url(self) -> str:
        return f"http://{self.host}:{self.sm_port}"

    @property
    def telegram_url(self) -> str:
        return f"http://{self.host}:{self.telegram_port}"


@dataclass(frozen=True)
class Secrets:
    """Tokens the processes of one stand share; made fresh for a demo."""

    hook_token: str
    sm_token: str = ""
    api_token: str = ""
    picker_ids: tuple[int, ...] = ()
    sign_ins: tuple[DemoSignIn, ...] = ()  # the web UI's demo accounts, new secrets each run


@dataclass(frozen=True)
class DemoSignIn:
    login: str
    secret: str  # a password, or a picker's PIN
    role: Role
    store: str | None  # SM storeID of a store role


#: The web UI's demo accounts: the office's roles, and the staff of the store that a person
#: picks by hand (its picker signs in to the picker app with a PIN).
DEMO_ACCOUNTS: tuple[tuple[str, str, Role, str | None], ...] = (
    ("demo-admin", "Администратор (демо)", Role.ADMIN, None),
    ("demo-ops", "Операционный отдел (демо)", Role.OPERATIONS, None),
    ("demo-manager", "Директор магазина (демо)", Role.STORE_MANAGER, DEMO_MANUAL_STORE),
    ("demo-operator", "Оператор магазина (демо)", Role.STORE_OPERATOR, DEMO_MANUAL_STORE),
    ("demo-picker", DEMO_MANUAL_PICKER, Role.PICKER, DEMO_MANUAL_STORE),
)


def prepare_demo(db: Database, plan: StackPlan, hook_token: str) -> Secrets:
    """Two demo stores, pickers and the web UI's demo accounts (made once), a new API token
    and new passwords each run: the earlier runs' tokens are revoked and the accounts'
    passwords replaced, so no forgotten demo secret stays valid."""
    api_token = secrets.token_urlsafe(24)
    now = utc_now()
    with db.unit_of_work() as uow:
        store = uow.repo(StoreRepository).by_sm_id(DEMO_STORE)
        if store is None:
            store = Store(
                sm_store_id=DEMO_STORE,
                name="Демо-магазин на Ленина",
                telegram_chat_id=DEMO_STORE_CHAT,
            )
            uow.repo(StoreRepository).add(store)
        assert store.id is not None
        pickers = list(uow.repo(PickerRepository).of_store(store.id))
        for index in range(len(pickers), plan.demo_pickers):
            picker = Picker(
                store_id=store.id, name=f"Сборщик {index + 1}", telegram_chat_id=str(5001 + index)
            )
            uow.repo(PickerRepository).add(picker)
            pickers.append(picker)
        manual = _demo_store(uow, DEMO_MANUAL_STORE, DEMO_MANUAL_STORE_NAME, DEMO_MANUAL_STORE_CHAT)
        if not list(uow.repo(PickerRepository).of_store(manual)):
            uow.repo(PickerRepository).add(Picker(store_id=manual, name=DEMO_MANUAL_PICKER))
        uow.repo(ApiTokenRepository).revoke_labelled(store.id, DEMO_TOKEN_LABEL, now)
        uow.repo(ApiTokenRepository).add(store.id, token_hash(api_token), DEMO_TOKEN_LABEL, now)
        uow.commit()
        ids = tuple(picker.id for picker in pickers[: plan.demo_pickers] if picker.id is not None)
        human = uow.repo(PickerRepository).of_store(manual)[0].id
    return Secrets(
        hook_token or secrets.token_urlsafe(24),
        secrets.token_urlsafe(24),
        api_token,
        ids,
        demo_accounts(db, {DEMO_MANUAL_STORE: manual}, human, now),
    )


def demo_accounts(
    db: Database, stores: dict[str, int], picker_id: int | None, now: datetime
) -> tuple[DemoSignIn, ...]:
    """Each demo account with a fresh secret: made the first time, its password replaced
    on every later start."""
    made = []
    for login, name, role, store in DEMO_ACCOUNTS:
        secret = (
            f"{secrets.randbelow(10**6):06d}"  # a PIN, typed with gloves
            if role is Role.PICKER
            else secrets.token_urlsafe(12)
        )
        with db.unit_of_work() as uow:
            found = uow.repo(StaffAccounts).with_hash(login)
            if found is not None:
                uow.repo(StaffAccounts).set_password(found[0].id, hash_password(secret))
                uow.commit()
        if found is None:
            create_account(
                db,
                login=login,
                display_name=name,
                role=role,
                password=secret,
                now=now,
                store_id=stores[store] if store is not None else None,
                picker_id=picker_id if role is Role.PICKER else None,
            )
        made.append(DemoSignIn(login, secret, role, store))
    return tuple(made)


def _demo_store(uow: UnitOfWork, sm_store_id: str, name: str, chat: str) -> int:
    store = uow.repo(StoreRepository).by_sm_id(sm_store_id)
    if store is None:
        store = Store(sm_store_id=sm_store_id, name=name, telegram_chat_id=chat)
        uow.repo(StoreRepository).add(store)
    assert store.id is not None
    return store.id


def _demo_stores(plan: StackPlan) -> list[str]:
    if not plan.demo_hand_picked_store:
        return ["--store", DEMO_STORE]
    return [*("--store", DEMO_STORE) * MANUAL_SHARE, "--store", DEMO_MANUAL_STORE]


def build_supervisor(plan: StackPlan, keys: Secrets, quiet: bool) -> Supervisor:
    env = {"SMBRIDGE_HOOK_TOKEN": keys.hook_token}
    if plan.demo:
        env |= {
            "SMBRIDGE_SM_BASE_URL": plan.sm_url,
            "SMBRIDGE_SM_TOKEN": keys.sm_token,
            "SMBRIDGE_SM_API_GENERATION": "classic",
            "SMBRIDGE_TELEGRAM_API_URL": plan.telegram_url,
            "SMBRIDGE_TELEGRAM_BOT_TOKEN": DEMO_BOT_TOKEN,
            "SMBRIDGE_OPERATIONS_CHAT_ID": DEMO_OPERATIONS_CHAT,
            **DEMO_JOB_PACE,
        }
    if quiet:  # the live table is the screen: children only log warnings and errors
        env["SMBRIDGE_LOG_LEVEL"] = "WARNING"
    env[MULTIPROC_ENV] = str(fresh_metrics_directory(plan.state_dir))
    supervisor = Supervisor(child_environment(**env))
    pools = (
        ("hook", plan.hook_port, plan.hook_workers),
        ("assembly", plan.assembly_port, plan.assembly_workers),
    )
    for service, first_port, size in pools:
        for port in map(str, range(first_port, first_port + size)):
            supervisor.add(
                f"{service}:{port}",
                *("serve", service, "--host", plan.host, "--port", port),
                health_url=f"http://{plan.host}:{port}/healthz",
            )
    front = None
    if plan.nginx_binary is not None:
        front = write_nginx_config(plan, get_settings())
        argv = nginx.foreground_command(plan.nginx_binary, front.config)
        # nginx: SIGQUIT is its graceful stop (SIGTERM would drop requests in flight)
        supervisor.add_program("nginx", argv, signal.SIGQUIT)
    supervisor.add("scheduler", "scheduler")  # the periodic jobs and the SM dispatcher
    if plan.demo:  # the emulators read their tokens from the environment, as the workers
        supervisor.add("sm-emulator", *_sm_emulator_args(plan, front))
        supervisor.add(
            "telegram-emulator",
            *("emulate", "telegram", "--host", plan.host, "--port", str(plan.telegram_port)),
        )
        if keys.picker_ids:
            supervisor.add(
                "pickers",
                *_pickers_args(plan, keys, front),
                env={PICKERS_TOKEN_ENV: keys.api_token},
            )
    return supervisor


def fresh_metrics_directory(state_dir: Path) -> Path:
    """Where the workers of both pools keep their metrics, so that any worker's
    ``/metrics`` sums them all; emptied at start, or dead processes' files would count."""
    directory = (state_dir / "metrics").absolute()
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


@dataclass(frozen=True)
class StandFront:
    """The nginx of a one-machine stand, which the emulators go through like SM would."""

    config: Path
    url: str
    ca_file: str | None  # None: the configured certificate, trusted as the system trusts it


def write_nginx_config(plan: StackPlan, settings: Settings) -> StandFront:
    """The private front of a one-machine stand: unprivileged ports, a self-signed
    certificate unless the configured one exists; allow-lists and limits from settings."""
    directory = (plan.state_dir / "nginx").absolute()
    certificate = _readable(settings.nginx_certificate)
    certificate_paths: dict[str, str] = {}
    ca_file = None
    if not (certificate and _readable(settings.nginx_certificate_key)):
        pair = self_signed(directory / "tls")
        ca_file = str(pair.certificate)
        certificate_paths = {"nginx_certificate": ca_file, "nginx_certificate_key": str(pair.key)}
    stand = settings.model_copy(
        update={
            "worker_host": plan.host,
            "hook_first_port": plan.hook_port,
            "hook_workers": plan.hook_workers,
            "assembly_first_port": plan.assembly_port,
            "assembly_workers": plan.assembly_workers,
            "nginx_hook_servers": [],
            "nginx_assembly_servers": [],
            "nginx_https_port": plan.https_port,
            "nginx_http_port": plan.http_port,
            # on one machine every client is 127.0.0.1: a per-address limit would throttle
            # the simulated pickers of all stores together
            "nginx_api_rate_per_second": max(settings.nginx_api_rate_per_second, 1000),
            **certificate_paths,
        }
    )
    output = directory / "nginx.conf"
    nginx.write(nginx.plan_from_settings(stand, state_dir=str(directory)), output)
    return StandFront(output, f"https://{plan.host}:{plan.https_port}", ca_file)


def _sm_emulator_args(plan: StackPlan, front: StandFront | None) -> list[str]:
    args = [
        "emulate",
        "sm",
        "--host",
        plan.host,
        "--port",
        str(plan.sm_port),
        # the emulator deals orders to its stores in turn: one in five goes to the store a
        # person picks by hand (slower than the simulated pickers)
        *_demo_stores(plan),
        "--rate",
        str(plan.demo_rate),
        "--orders",
        str(plan.demo_orders),
        "--speed",
        str(plan.demo_speed),
        "--chaos" if plan.demo_chaos else "--no-chaos",
        "--pickup-share",
        str(plan.demo_pickup_share),
        *(() if plan.demo_pickup_no_shows else ("--no-show-share", "0")),
    ]
    urls = plan.hook_urls() if front is None else [f"{front.url}{HOOK_PATH}/"]
    for url in urls:
        args += ["--hook-url", url]
    args += _trust(front)
    if plan.seed is not None:
        args += ["--seed", str(plan.seed)]
    return args


def _pickers_args(plan: StackPlan, keys: Secrets, front: StandFront | None) -> list[str]:
    args = [
        "emulate",
        "pickers",
        "--seconds-per-line",
        str(plan.demo_pick_seconds),
    ]
    for url in plan.assembly_urls() if front is None else [front.url]:
        args += ["--api-url", url]
    args += _trust(front)
    for picker_id in keys.picker_ids:
        args += ["--picker-id", str(picker_id)]
    # the pickup customers the SM emulator plays come to the demo store's counter
    args += ["--counter-url", f"{plan.sm_url}/counter/{DEMO_STORE}"]
    if plan.seed is not None:
        args += ["--seed", str(plan.seed)]
    return args


def _readable(path: str) -> bool:
    """A production certificate's directory may be closed to a stand's user: not usable."""
    try:
        return Path(path).is_file()
    except OSError:
        return False


def _trust(front: StandFront | None) -> list[str]:
    return ["--ca-file", front.ca_file] if front is not None and front.ca_file else []
