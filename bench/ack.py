"""Acknowledgement latency of Greenlight's production server against a Bolt app that only acks,
same server settings, same payloads, same run.

    .venv/bin/python bench/ack.py [--clients 50] [--requests 2000] [--workers 2] [--threads 8]

Measured: the time from sending a signed request to `POST /slack/events` until its whole HTTP
response has arrived (what Slack waits for, and must get within 3 s), for two kinds:

- `command`: the slash command `/greenlight queue` from an approver with 50 drafts waiting;
- `approve`: a click on the Approve button of a real approval card: the block_actions payload
  carries the card (taken from the Slack emulator) and its button's value, and every click
  approves a different post.

Two servers, both gunicorn with gthread workers and Bolt's WSGI adapter, with the same
`--workers` and `--threads` (defaults: WEB_CONCURRENCY and GUNICORN_THREADS as in
`bot/server.py`): `greenlight run` with Redis, and `bench/bare_app.py`, which only acks. Both
reach the Slack emulator (`bot.sandbox.emulator`) for the Web API; it runs in its own process,
so Greenlight's after-ack Slack calls do not share the load generator's interpreter.

Load: `--clients` threads, each with its own keep-alive connection, take requests from a shared
list until it is empty; each request is signed just before it is sent. Warm-up requests go first
(not counted). The measured requests are cut into `--rounds` slices, and the two servers take
each slice in turn, so a slower stretch of a shared machine lands on both. The drafts to
approve are created beforehand through the bot itself (message events in the intake channel),
and the bot's after-ack work is left to settle between slices.
`--slack-latency S` makes the emulator answer every Web API call S seconds late while measuring.
Also printed: CPU time per measured request of each process group (server, Redis when it runs
on this machine, emulator, load generator), after-ack work included. Exits 1 when any request
got no 2xx answer.

Point `--redis` at a Redis that no other Greenlight worker uses: workers walk every workspace,
and one on a shared Redis would take this run's audit entries (and post its cards elsewhere).
"""

from __future__ import annotations

import argparse
import http.client
import math
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.signing import Delivery, SlackRequestSender, _find_action
from bot.sandbox.workspace import Workspace
from bot.views.card import APPROVE
from workflows.models import PostState
from workflows.store import Store

ROOT = Path(__file__).resolve().parent.parent
SECRET = "ackbench-signing-secret"
AUTHOR, APPROVER, QUEUE_USER = "U0AUTHOR", "U0ANNA", "U0LUCA"
INTAKE, APPROVALS, ANNOUNCE = "C0DRAFTS", "C0APPROVALS", "C0ANNOUNCE"
WORKFLOW = f"""
admins: [U0ADMIN]
intake: {{channels: [{INTAKE}]}}
approvals_channel: {APPROVALS}
targets:
  announcements: {{type: slack, channel: {ANNOUNCE}}}
workflows:
  - name: standard
    targets: [announcements]
    steps:
      - name: Copy review
        approvers: {{users: [{APPROVER}, {QUEUE_USER}]}}
        quorum: 1
"""
KINDS = ("command", "approve")
SERVERS = ("greenlight", "bare")


# -- the Slack emulator, in a process of its own ---------------------------------------------


class BodyBuilder(SlackRequestSender):
    """Builds the bodies a `SlackRequestSender` would send, without sending them."""

    def send(self, body, content_type, *, signing="valid", headers=None, sent=None) -> Delivery:
        return Delivery(0, {"Content-Type": content_type}, body, sent or {})


Request = tuple[bytes, str]  # body, content type


def _emulator_main(team: str, conn: Connection) -> None:
    """Serve the Web API and build requests that need the emulator's state, on demand."""
    workspace = Workspace()
    workspace.add_team(team_id=team)
    slack = SlackEmulator(workspace).start()
    people = [AUTHOR, APPROVER, QUEUE_USER, "U0ADMIN"]
    for user in people:
        slack.add_user(user, tz="Europe/Rome", tz_offset=3600)
    for channel in (INTAKE, APPROVALS, ANNOUNCE):
        slack.add_channel(channel, channel.lower(), members=people)
    builder = BodyBuilder("http://unused/slack/events", SECRET, emulator=slack)
    conn.send((slack.api_url, slack.bot_token))
    while True:
        what, arg = conn.recv()
        if what == "stop":
            slack.stop()
            conn.send(None)
            return
        conn.send(_EMULATOR_REQUESTS[what](slack, builder, arg))


def _drafts(slack: SlackEmulator, builder: BodyBuilder, count: int) -> list[Request]:
    """Message events of `count` new drafts in the intake channel (put in the emulator too)."""
    stamp = uuid.uuid4().hex[:6]
    return [
        _request(builder.user_message(AUTHOR, INTAKE, f"Spring launch, part {i} ({stamp})"))
        for i in range(count)
    ]


def _commands(slack: SlackEmulator, builder: BodyBuilder, count: int) -> list[Request]:
    return [
        _request(builder.command("/greenlight", "queue", user_id=QUEUE_USER, channel_id=INTAKE))
        for _ in range(count)
    ]


def _approvals(slack: SlackEmulator, builder: BodyBuilder, _: Any) -> list[Request]:
    """An Approve click on every card in the approvals channel that still has its buttons."""
    requests = []
    for message in slack.messages(APPROVALS):
        if (action := _approve_action(message)) is not None:
            delivery = builder.block_actions(
                APPROVER, [action], channel_id=APPROVALS, message=message.to_api()
            )
            requests.append(_request(delivery))
    return requests


def _approve_action(message: Any) -> dict[str, Any] | None:
    try:
        return _find_action(message.blocks or [], APPROVE)
    except LookupError:
        return None


def _cards(slack: SlackEmulator, builder: BodyBuilder, _: Any) -> int:
    """How many cards the bot posted in the approvals channel. Polled while the drafts are
    created, so counted from the call log: `_approvals` copies every message and signs a click
    for each, which made the wait quadratic (--requests 5000 timed out)."""
    posts = slack.calls("chat.postMessage")
    return sum(call.ok and call.args.get("channel") == APPROVALS for call in posts)


def _activity(slack: SlackEmulator, builder: BodyBuilder, _: Any) -> int:
    """How many Web API calls and response_url posts the bots have made so far."""
    return len(slack.calls()) + len(slack.response_url_posts())


def _slow_down(slack: SlackEmulator, builder: BodyBuilder, seconds: float) -> None:
    """Answer every Web API call `seconds` late, as a distant Slack would."""
    slack.delay("*", seconds)


def _request(delivery: Delivery) -> Request:
    return delivery.body, delivery.headers["Content-Type"]


_EMULATOR_REQUESTS: dict[str, Callable[[SlackEmulator, BodyBuilder, Any], Any]] = {
    "drafts": _drafts,
    "commands": _commands,
    "approvals": _approvals,
    "cards": _cards,
    "activity": _activity,
    "slow_down": _slow_down,
}


class EmulatorProcess:
    def __init__(self, team: str) -> None:
        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_emulator_main, args=(team, child), daemon=True)
        self._process.start()
        self.api_url, self.bot_token = self._conn.recv()

    def ask(self, what: str, arg: Any = None) -> Any:
        self._conn.send((what, arg))
        return self._conn.recv()

    def settle(self, quiet: float = 1.0, timeout: float = 300.0) -> None:
        """Wait until the bots have made no Slack call for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        last = self.ask("activity")
        while time.monotonic() < deadline:
            time.sleep(quiet)
            now = self.ask("activity")
            if now == last:
                return
            last = now
        raise RuntimeError("the bot's after-ack work did not settle")

    @property
    def pid(self) -> int:
        return self._process.pid or 0

    def stop(self) -> None:
        self.ask("stop")
        self._process.join(timeout=10)


# -- the two servers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    name: str
    host: str
    port: int
    pid: int


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(name: str, command: list[str], env: dict[str, str], health: str) -> Iterator[Server]:
    """Run a server process until the block ends; waits for `health` to answer 200."""
    port = int(env["PORT"])
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=log)
        try:
            _wait_healthy(process, port, health, log)
            yield Server(name, "127.0.0.1", port, process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait_healthy(process: subprocess.Popen, port: int, path: str, log: Any) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    process.kill()
    log.seek(0)
    raise RuntimeError(f"server on port {port} did not start:\n{log.read().decode()}")


def server_env(args: argparse.Namespace, slack: EmulatorProcess, extra: dict[str, str]):
    return {
        **os.environ,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "SLACK_APP_TOKEN": "",
        "NO_PROXY": "127.0.0.1,localhost",
        "PORT": str(_free_port()),
        "WEB_CONCURRENCY": str(args.workers),
        "GUNICORN_THREADS": str(args.threads),
        "LOG_LEVEL": "warning",
        **extra,
    }


def greenlight_command() -> list[str]:
    return [sys.executable, "-m", "bot.cli", "run"]


@contextmanager
def greenlight_worker(env: dict[str, str]) -> Iterator[None]:
    """The Procfile's second process: it posts the cards and DMs (the web process sends none).
    It runs while the drafts are created, so their cards exist; the measured phases are the
    web process's alone (in production the worker runs beside it, on its own cores or not)."""
    with tempfile.TemporaryFile() as log:
        command = [sys.executable, "-m", "bot.cli", "worker", "--poll-seconds", "0.05"]
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=log)
        try:
            yield
        finally:
            process.terminate()
            process.wait(timeout=30)


def bare_command(args: argparse.Namespace, port: str) -> list[str]:
    """gunicorn with the options `bot.server.GunicornServer` sets."""
    return [
        *(sys.executable, "-m", "gunicorn", "bench.bare_app:app"),
        *("--worker-class", "gthread", "--workers", str(args.workers)),
        *("--threads", str(args.threads), "--bind", f"127.0.0.1:{port}"),
        *("--timeout", "30", "--graceful-timeout", "20", "--log-level", "warning"),
    ]


# -- load ------------------------------------------------------------------------------------


@dataclass
class Run:
    latencies: list[float]
    errors: int
    seconds: float
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by process group


# -- CPU time by process group (Linux /proc; empty elsewhere) -----------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()  # fields from the third on


def process_tree(root: int) -> list[int]:
    """`root` and every process descended from it (gunicorn's master and its workers)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(_stat(int(entry.name))[1])
            except (OSError, ValueError, IndexError):
                continue
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sorted(tree)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of `pids` so far (all their threads)."""
    total = 0
    for pid in pids:
        try:
            fields = _stat(pid)
            total += int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            continue
    return total / CLOCK_TICKS


def cpu_snapshot(groups: dict[str, list[int]]) -> dict[str, float]:
    return {name: cpu_seconds(pids) for name, pids in groups.items()}


def load(server: Server, requests: list[Request], clients: int) -> Run:
    """Send `requests` from `clients` threads, one keep-alive connection each."""
    signer = SlackRequestSender("http://unused", SECRET)
    pending = list(reversed(requests))
    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0]
    start = threading.Barrier(clients + 1)

    def take() -> Request | None:
        with lock:
            return pending.pop() if pending else None

    def client() -> None:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
        start.wait()
        mine, failed = [], 0
        while (request := take()) is not None:
            body, content_type = request
            headers = {"Content-Type": content_type, **signer.signature_headers(body)}
            began = time.perf_counter()
            try:
                conn.request("POST", "/slack/events", body, headers)
                response = conn.getresponse()
                response.read()
                ok = 200 <= response.status < 300
            except (OSError, http.client.HTTPException):
                conn.close()  # reconnects on the next request
                ok = False
            mine.append(time.perf_counter() - began)
            failed += not ok
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return Run(latencies, errors[0], time.perf_counter() - began)


# -- figures ---------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def report(results: dict[tuple[str, str], Run], clients: int) -> None:
    print(f"\n{clients} concurrent clients; latencies in ms")
    print(
        f"{'kind':<8} {'server':<11} {'requests':>8} {'p50':>7} {'p99':>7} {'max':>7} "
        f"{'errors':>6} {'req/s':>7}"
    )
    for (kind, server), run in results.items():
        ms = [s * 1000 for s in run.latencies]
        print(
            f"{kind:<8} {server:<11} {len(ms):>8} {percentile(ms, 50):>7.1f} "
            f"{percentile(ms, 99):>7.1f} {max(ms):>7.1f} {run.errors:>6} "
            f"{len(ms) / run.seconds:>7.0f}"
        )
    print("\nCPU ms per measured request (after-ack work included), by process")
    print(f"{'kind':<8} {'server':<11} {'server':>7} {'redis':>7} {'emulator':>8} {'load gen':>8}")
    for (kind, server), run in results.items():
        n = len(run.latencies)
        server_ms, redis_ms, emulator_ms, load_ms = (
            run.cpu.get(g, 0.0) * 1000 / n for g in ("server", "redis", "emulator", "load")
        )
        print(
            f"{kind:<8} {server:<11} {server_ms:>7.2f} {redis_ms:>7.2f} {emulator_ms:>8.2f} "
            f"{load_ms:>8.2f}"
        )
    for kind in KINDS:
        mine, bare = results[(kind, "greenlight")], results[(kind, "bare")]
        ratio = percentile(mine.latencies, 99) / percentile(bare.latencies, 99)
        print(f"p99 ratio greenlight/bare, {kind}: {ratio:.2f}")


# -- the run ---------------------------------------------------------------------------------


def measure(
    slack: EmulatorProcess,
    servers: dict[str, Server],
    kind: str,
    requests: list[Request],
    args: argparse.Namespace,
) -> dict[tuple[str, str], Run]:
    """Warm-up, then the measured requests of one kind in `args.rounds` slices that the two
    servers take in turns (who goes first swaps every round), so a stretch of time when the
    machine is slower (other tenants, frequency) falls on both alike instead of on whichever
    server happened to run then. Every slice starts with the bot settled and ends once its
    after-ack work is done, which its CPU figures include."""
    warm, counted = requests[: args.warmup], requests[args.warmup :]
    for name in SERVERS:
        slack.settle(args.settle)
        load(servers[name], warm, args.clients)
    groups = {
        name: {
            "server": process_tree(server.pid),
            "emulator": [slack.pid],
            "load": [os.getpid()],
            **({"redis": [args.redis_pid]} if args.redis_pid else {}),
        }
        for name, server in servers.items()
    }
    results = {(kind, name): Run([], 0, 0.0) for name in SERVERS}
    size = math.ceil(len(counted) / args.rounds)
    for round_ in range(args.rounds):
        chunk = counted[round_ * size : (round_ + 1) * size]
        for name in SERVERS if round_ % 2 == 0 else SERVERS[::-1]:
            slack.settle(args.settle)
            before = cpu_snapshot(groups[name])
            run = load(servers[name], chunk, args.clients)
            slack.settle(args.settle)  # the after-ack work of these requests is theirs
            after = cpu_snapshot(groups[name])
            total = results[(kind, name)]
            total.latencies += run.latencies
            total.errors += run.errors
            total.seconds += run.seconds
            for group in after:
                total.cpu[group] = total.cpu.get(group, 0.0) + after[group] - before[group]
    print(f"  {kind}: done", flush=True)
    return results


def local_redis_pid(redis_url: str) -> int | None:
    """The Redis server's process id when it runs on this machine (its CPU is then shown)."""
    client = redis.Redis.from_url(redis_url)
    try:
        pid = int(client.info("server")["process_id"])
    finally:
        client.close()
    return pid if Path(f"/proc/{pid}/stat").exists() else None


def create_drafts(slack: EmulatorProcess, greenlight: Server, count: int, clients: int) -> None:
    run = load(greenlight, slack.ask("drafts", count), clients)
    if run.errors:
        raise RuntimeError(f"{run.errors} of {count} drafts were refused")
    deadline = time.monotonic() + 300
    while slack.ask("cards") < count:  # polled: cheap, however many cards there are
        if time.monotonic() > deadline:
            raise RuntimeError("the bot did not post every card")
        time.sleep(0.5)


#: States a post reaches once its chain is complete (the worker may already have published it).
PAST_APPROVAL = (
    PostState.APPROVED,
    PostState.SCHEDULED,
    PostState.PUBLISHING,
    PostState.PUBLISHED,
    PostState.FAILED,
    PostState.OUTCOME_UNKNOWN,
    PostState.HELD,
)


def approved_posts(redis_url: str, team: str, expected: int, timeout: float = 30.0) -> int:
    """Posts the clicks approved, once the engine work after the acks has caught up."""
    client = redis.Redis.from_url(redis_url)
    store = Store(client, team)
    deadline = time.monotonic() + timeout
    try:
        while True:
            count = sum(len(store.ids_by_state(s, limit=1_000_000)) for s in PAST_APPROVAL)
            if count >= expected or time.monotonic() > deadline:
                return count
            time.sleep(0.2)
    finally:
        client.close()


def clear_team(redis_url: str, team: str) -> None:
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"gl:{{{team}}}:*", count=1000):
        client.delete(key)
    client.close()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000, help="measured, per kind and server")
    parser.add_argument("--warmup", type=int, default=200, help="per kind and server")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("GUNICORN_THREADS", "8")))
    parser.add_argument(
        "--slack-latency",
        type=float,
        default=0.0,
        help="seconds the emulator waits before answering each Web API call while measuring",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=1.0,
        help="seconds without a Slack call that mean the bot's after-ack work is done",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="slices of the measured requests that the two servers take in turns",
    )
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.redis_pid = local_redis_pid(args.redis)
    # Stopped with SIGTERM (`timeout`, a CI runner): exit normally, so the servers, workers
    # and receivers it started are stopped too instead of running on.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    team = "T0ACK" + uuid.uuid4().hex[:8].upper()
    per_server = args.warmup + args.requests
    print(
        f"workers {args.workers} x threads {args.threads} (gthread), {args.clients} clients, "
        f"{args.warmup} warm-up + {args.requests} measured requests per kind and server "
        f"in {args.rounds} rounds, Slack API latency {args.slack_latency * 1000:.0f} ms",
        flush=True,
    )
    slack = EmulatorProcess(team)
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        stack.callback(slack.stop)
        stack.callback(clear_team, args.redis, team)
        config = Path(tmp) / "workflow.yaml"
        config.write_text(WORKFLOW)
        env = server_env(args, slack, {"REDIS_URL": args.redis, "GREENLIGHT_CONFIG": str(config)})
        bare_env = server_env(args, slack, {})
        servers = {
            "greenlight": stack.enter_context(
                serve("greenlight", greenlight_command(), env, "/readyz")
            ),
            "bare": stack.enter_context(
                serve("bare", bare_command(args, bare_env["PORT"]), bare_env, "/healthz")
            ),
        }
        print(f"  creating {per_server} drafts through the bot", flush=True)
        with greenlight_worker(env):  # it posts the cards; stopped before measuring
            create_drafts(slack, servers["greenlight"], per_server, args.clients)
        slack.ask("slow_down", args.slack_latency)
        results = measure(slack, servers, "command", slack.ask("commands", per_server), args)
        # The same clicks go to both: Greenlight approves each post, the bare app only acks.
        clicks = slack.ask("approvals")
        results |= measure(slack, servers, "approve", clicks, args)
        slack.settle(args.settle)
        approved = approved_posts(args.redis, team, len(clicks))
        print(f"  posts approved by the clicks: {approved} of {len(clicks)}")
    report(results, args.clients)
    failed = sum(run.errors for run in results.values())
    if failed:
        print(f"{failed} request(s) got no 2xx answer", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
