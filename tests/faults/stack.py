"""A production-like stack on private loopback ports, for the fault tests and
the load benchmark (`make bench`): its own PostgreSQL and Redis, `migrate`, gunicorn with the
production settings and, if asked, a Celery worker and beat.

    with Stack(web_workers=2, celery_worker=True) as stack:
        stack.base_url            # http://127.0.0.1:<port>
        stack.stop_redis(); stack.start_redis()
        stack.restart_postgres(down_for=3)
        stack.kill_web_worker()
        stack.kill_celery_worker(); stack.start_celery_worker()

PostgreSQL and Redis are started by scripts/services.sh (the same code as
`make run`), pointed at a temp dir and at free ports, so the shared servers on
the default ports are never touched. Everything the stack started is stopped
when the `with` block ends, however it ends; its logs are copied to
`keep_logs_in` if the block raised.

The child processes get a clean environment: nothing of the caller's
DATABASE_URL, REDIS_URL or settings module leaks into them.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The sandbox payment provider's webhook secret of every stack this process
# starts: its load (tests.faults.traffic, the bench's Locust) pays as the
# sandbox's checkout does, by posting the provider's signed success.
SANDBOX_WEBHOOK_SECRET = os.environ.get("PAYMENT_WEBHOOK_SECRET") or (
    "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
)


def sandbox_success(payment: dict, secret: str = SANDBOX_WEBHOOK_SECRET) -> tuple[bytes, dict]:
    """The sandbox provider's signed `payment.succeeded` for a payment as the
    API answered it: the body and headers to POST to its webhook URL."""
    from standardwebhooks.webhooks import Webhook

    message = {
        "type": "payment.succeeded",
        "data": {
            "payment_id": payment["id"],
            "amount": payment["amount"],
            "currency": payment["currency"],
        },
    }
    body = json.dumps(message, separators=(",", ":"))
    webhook_id = f"msg_{secrets.token_hex(12)}"
    now = datetime.now(UTC)
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, now, body),
        "content-type": "application/json",
    }
    return body.encode(), headers


def _pg_bin() -> Path:
    """PostgreSQL's programs, found as services.sh finds them."""
    if "LOADTEST_PG_BIN" in os.environ:
        return Path(os.environ["LOADTEST_PG_BIN"])
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: [int(x) if x.isdigit() else 0 for x in p.parent.name.split(".")],
    )
    if debian:
        return debian[-1]
    pg_ctl = shutil.which("pg_ctl")
    return Path(os.path.realpath(pg_ctl)).parent if pg_ctl else Path("/usr/bin")


PG_BIN = _pg_bin()
PYTHON = ROOT / ".venv" / "bin" / "python"
VENV_BIN = ROOT / ".venv" / "bin"

# Only these of the caller's variables reach the stack's processes.
_PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "USER", "LOGNAME", "TMPDIR")

_running: set[Stack] = set()


class StackError(RuntimeError):
    """A part of the stack did not start or stop as it should."""


def wait_until(
    condition: Callable[[], object],
    *,
    timeout: float,
    interval: float = 0.05,
    what: str = "condition",
):
    """Poll `condition` until it returns something truthy (returned), or raise
    TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not true after {timeout:.1f}s")
        time.sleep(interval)


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports that nothing listens on right now."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _is_root() -> bool:
    return os.geteuid() == 0


class Stack:
    """One private stack. Use it as a context manager, or call `start()` and
    make sure `stop()` runs."""

    def __init__(
        self,
        *,
        web_workers: int = 2,
        worker_class: str = "sync",
        threads: int = 1,
        celery_worker: bool = False,
        celery_concurrency: int = 1,
        celery_beat: bool = False,
        settings: dict[str, str] | None = None,
        ready_timeout: float = 60.0,
        keep_logs_in: Path | None = None,
        template: Path | None = None,
        setup: Callable[[Stack], object] | None = None,
        name: str = "stack",
    ):
        """`web_workers`, `worker_class` (sync, as in production, or gthread)
        and `threads`: the gunicorn processes (config/gunicorn.py reads them
        from the environment).
        `settings`: environment values for the settings (THROTTLING,
        EXPIRY_BATCH_SIZE, ...) on top of production's; `keep_logs_in`: where the
        logs go if the stack's block raised.
        `template`: a migrated data dir from `make_template`, copied instead
        of running initdb and migrate (much faster; same result). `setup`: run
        with the stack once its database is ready, before gunicorn and Celery
        start (e.g. to create beat's periodic tasks before beat reads them)."""
        self.web_workers = web_workers
        self.worker_class = worker_class
        self.threads = threads
        self.template = template
        self.setup = setup
        self.with_celery_worker = celery_worker
        self.celery_concurrency = celery_concurrency
        self.with_celery_beat = celery_beat
        self.extra_settings = dict(settings or {})
        self.ready_timeout = ready_timeout
        self.keep_logs_in = keep_logs_in
        self.name = name

        self.dir: Path | None = None
        self.pg_port = self.redis_port = self.web_port = 0
        self.pgdata: Path | None = None
        self.env: dict[str, str] = {}
        self.timings: dict[str, float] = {}
        self._web: subprocess.Popen | None = None
        self._worker: subprocess.Popen | None = None
        self._beat: subprocess.Popen | None = None
        self._worker_starts = 0

    # --- addresses ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def database_url(self) -> str:
        return f"postgres://travel@127.0.0.1:{self.pg_port}/travel"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def broker_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/1"

    @property
    def state_file(self) -> Path:
        return self.dir / "services.state"

    def log(self, name: str) -> Path:
        return self.dir / "logs" / name

    # --- lifecycle ---------------------------------------------------------------

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.stop(keep_logs=exc_type is not None)

    def start(self) -> None:
        _running.add(self)
        try:
            self._start()
        except BaseException:
            self.stop(keep_logs=True)
            raise

    def _prepare(self) -> None:
        # Under /tmp and world-traversable: as root, PostgreSQL runs as `postgres`,
        # which must reach its data dir (else services.sh would fall back to a
        # dir shared by every stack of this checkout).
        self.dir = Path(tempfile.mkdtemp(prefix="travel-stack-", dir="/tmp"))
        self.dir.chmod(0o755)
        (self.dir / "logs").mkdir()
        self.pg_port, self.redis_port, self.web_port = free_ports(3)
        self.env = self._environment()

    def _start(self) -> None:
        started = time.monotonic()
        self._prepare()
        if self.template is not None:
            self._copy_template()
        self._services("up", self.state_file)
        # Both must be ours: services.sh reuses a server that already answers
        # on the port, and this stack will stop and restart them.
        self.pgdata = Path(self._state_entry("postgres"))
        self._state_entry("redis")
        self.timings["services"] = time.monotonic() - started

        if self.template is None:
            mark = time.monotonic()
            self.manage("migrate", "--noinput", timeout=180)
            self.timings["migrate"] = time.monotonic() - mark

        if self.setup is not None:
            self.setup(self)
        mark = time.monotonic()
        self.start_web()
        if self.with_celery_worker:
            self.start_celery_worker()
        if self.with_celery_beat:
            self.start_celery_beat()
        self.wait_ready()
        self.timings["processes"] = time.monotonic() - mark
        self.timings["start"] = time.monotonic() - started

    @classmethod
    def make_template(cls, directory: Path) -> Path:
        """Initialise and migrate a database once, stop it, and leave its data
        dir in `directory`/postgres for `Stack(template=...)` to copy."""
        stack = cls(name="template")
        _running.add(stack)
        try:
            stack._prepare()
            stack._services("up", stack.state_file)
            stack.pgdata = Path(stack._state_entry("postgres"))
            stack.manage("migrate", "--noinput", timeout=180)
            stack._services("down", stack.state_file)
            Path(directory).mkdir(parents=True, exist_ok=True)
            target = Path(directory) / "postgres"
            subprocess.run(["cp", "-a", str(stack.pgdata), str(target)], check=True)
            return target
        finally:
            stack.stop()

    def _copy_template(self) -> None:
        pgdata = self.dir / "postgres"
        # cp -a keeps the files' owner (`postgres` when we are root).
        subprocess.run(["cp", "-a", str(self.template), str(pgdata)], check=True)
        # services.sh wrote the template's port and socket dir; later lines win.
        with open(pgdata / "postgresql.conf", "a") as conf:
            conf.write(f"port = {self.pg_port}\nunix_socket_directories = '{pgdata}'\n")

    def stop(self, *, keep_logs: bool = False) -> None:
        """Stop everything this stack started, each part even if another fails."""
        started = time.monotonic()
        with contextlib.suppress(Exception):
            terminate_all([self._beat, self._worker, self._web])
        self._beat = self._worker = self._web = None
        if self.dir is not None and self.state_file.exists():
            with contextlib.suppress(Exception):
                self._services("down", self.state_file, check=False)
        if self.dir is not None:
            if keep_logs and self.keep_logs_in is not None:
                with contextlib.suppress(Exception):
                    self._copy_logs(self.keep_logs_in)
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        self.timings["stop"] = time.monotonic() - started
        _running.discard(self)

    def _copy_logs(self, target: Path) -> None:
        target = Path(target) / self.name
        target.mkdir(parents=True, exist_ok=True)
        for path in (self.dir / "logs").iterdir():
            shutil.copy(path, target / path.name)
        for path in (self.pgdata / "server.log", self.dir / "redis" / "redis.log"):
            if path and path.exists():
                shutil.copy(path, target / path.name)

    def _environment(self) -> dict[str, str]:
        env = {key: os.environ[key] for key in _PASSED_THROUGH if key in os.environ}
        env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '/usr/bin:/bin')}"
        env.update(
            PYTHONUNBUFFERED="1",
            PYTHONPATH=str(ROOT),
            LOCAL_DATA_DIR=str(self.dir),
            LOCAL_PG_PORT=str(self.pg_port),
            LOCAL_REDIS_PORT=str(self.redis_port),
            DJANGO_SETTINGS_MODULE="config.settings.production",
            PAYMENT_PROVIDER="sandbox",
            PAYMENT_WEBHOOK_SECRET=SANDBOX_WEBHOOK_SECRET,
            SECRET_KEY=secrets.token_urlsafe(50),
            DEBUG="false",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            CELERY_BROKER_URL=self.broker_url,
            # Plain HTTP on loopback: no TLS redirect, no secure-only cookies.
            SECURE_SSL_REDIRECT="false",
            SESSION_COOKIE_SECURE="false",
            CSRF_COOKIE_SECURE="false",
            SECURE_HSTS_SECONDS="0",
            BIND_ADDRESS="127.0.0.1",
            PORT=str(self.web_port),
            WEB_CONCURRENCY=str(self.web_workers),
            GUNICORN_WORKER_CLASS=self.worker_class,
            GUNICORN_THREADS=str(self.threads),
            GUNICORN_ACCESS_LOG=str(self.log("access.log")),
        )
        env.update(self.extra_settings)
        return env

    # --- scripts/services.sh -----------------------------------------------------

    def _services(self, command: str, state: Path, *, check: bool = True, **overrides: str) -> None:
        env = {k: v for k, v in self.env.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(overrides)
        with open(self.log("services.log"), "a") as out:
            result = subprocess.run(
                [str(ROOT / "scripts" / "services.sh"), command, str(state)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=120,
            )
        if check and result.returncode != 0:
            raise StackError(f"services.sh {command} failed:\n{self._tail('services.log')}")

    def _state_entry(self, kind: str) -> str:
        """What services.sh noted it started of `kind` (postgres: data dir,
        redis: port)."""
        for line in self.state_file.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == kind:
                return value
        raise StackError(f"services.sh did not start {kind} (state: {self.state_file})")

    # --- Django --------------------------------------------------------------------

    def manage(
        self, *args: str, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess:
        """Run `manage.py` with the stack's settings; output is captured."""
        result = subprocess.run(
            [str(PYTHON), "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise StackError(
                f"manage.py {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
            )
        return result

    def seed(self, command: str, timeout: float = 180, **arguments):
        """Run one `loadtest.seed` command against the stack's database and
        return its result."""
        return self.seed_batch([(command, arguments)], timeout=timeout)[0]

    def seed_batch(self, steps: list[tuple[str, dict]], timeout: float = 180) -> list:
        """Several `loadtest.seed` commands in one process (Django starts
        once), in order; their results in a list."""
        result = subprocess.run(
            [str(PYTHON), "-m", "loadtest.seed", json.dumps([list(step) for step in steps])],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise StackError(f"loadtest.seed {steps} failed:\n{result.stderr[-4000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])

    def seed_inventory(self, **arguments):
        from loadtest.seed import Inventory

        return Inventory.from_json(self.seed("inventory", **arguments))

    def seed_customers(self, count: int) -> list[dict]:
        """`count` customers as `{id, username, token}`."""
        return self.seed("customers", count=count)

    def seed_overdue_holds(self, **arguments) -> dict:
        return self.seed("overdue_holds", **arguments)

    # --- HTTP --------------------------------------------------------------------------

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            try:
                return error.code, json.loads(error.read() or b"{}")
            except ValueError:
                return error.code, {}

    def ready(self) -> bool:
        try:
            return self.get("/readyz", timeout=2.0)[0] == 200
        except (OSError, ValueError):
            return False

    def wait_ready(self, timeout: float | None = None) -> float:
        """Wait until /readyz answers 200; returns the seconds it took."""
        started = time.monotonic()

        def ready():
            if self._web is not None and self._web.poll() is not None:
                raise StackError(f"gunicorn exited:\n{self._tail('gunicorn.log')}")
            return self.ready()

        wait_until(ready, timeout=timeout or self.ready_timeout, interval=0.1, what="/readyz")
        return time.monotonic() - started

    # --- gunicorn ----------------------------------------------------------------------

    def start_web(self) -> None:
        self._web = self._spawn(
            [str(VENV_BIN / "gunicorn"), "config.wsgi", "--config", "config/gunicorn.py"],
            "gunicorn.log",
        )

    def stop_web(self) -> None:
        self._web = self._terminate(self._web)

    def web_worker_pids(self) -> list[int]:
        """The gunicorn workers: the master's children."""
        if self._web is None:
            return []
        return _children(self._web.pid)

    def busy_web_workers(self) -> list[int]:
        """The workers holding an established connection on the web port:
        with clients that close the connection after each answer, those
        serving a request right now."""
        established = _established_sockets(self.web_port)
        return [pid for pid in self.web_worker_pids() if _socket_inodes(pid) & established]

    def kill_web_worker(
        self, pid: int | None = None, *, busy: bool = False, wait: float = 2.0
    ) -> int:
        """SIGKILL one gunicorn worker: `pid`, else one serving a request if
        `busy` (waiting up to `wait` seconds for one), else a random one. The
        master starts another."""
        if pid is None and busy:
            with contextlib.suppress(TimeoutError):
                pid = random.choice(
                    wait_until(
                        self.busy_web_workers,
                        timeout=wait,
                        interval=0.005,
                        what="a busy gunicorn worker",
                    )
                )
        if pid is None:
            pids = self.web_worker_pids()
            if not pids:
                raise StackError("no gunicorn worker to kill")
            pid = random.choice(pids)
        os.kill(pid, signal.SIGKILL)
        return pid

    def wait_web_workers(self, timeout: float = 30.0) -> None:
        """Wait until the master has its full count of workers again."""
        wait_until(
            lambda: len(self.web_worker_pids()) >= self.web_workers,
            timeout=timeout,
            what="gunicorn workers",
        )

    # --- Celery ---------------------------------------------------------------------

    def start_celery_worker(self, timeout: float = 60.0) -> None:
        """Start the worker and wait until it says it is ready to take tasks."""
        if self._worker is not None and self._worker.poll() is None:
            raise StackError("the Celery worker is already running")
        self._worker_starts += 1
        log = f"celery-worker-{self._worker_starts}.log"
        command = [
            str(VENV_BIN / "celery"),
            "--app",
            "config",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            str(self.celery_concurrency),
            "--hostname",
            f"{self.name}@%h",
        ]
        self._worker = self._spawn(command, log)

        def ready():
            if self._worker.poll() is not None:
                raise StackError(f"the Celery worker exited:\n{self._tail(log)}")
            return " ready." in self.log(log).read_text(errors="replace")

        wait_until(ready, timeout=timeout, interval=0.1, what="Celery worker ready")

    def kill_celery_worker(self) -> None:
        """SIGKILL the worker and its pool processes at once, as a crash would."""
        if self._worker is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._worker.pid, signal.SIGKILL)
        self._worker.wait(timeout=10)
        wait_until(
            lambda: not _group_alive(self._worker.pid),
            timeout=10,
            what="Celery worker processes gone",
        )
        self._worker = None

    def stop_celery_worker(self) -> None:
        self._worker = self._terminate(self._worker)

    def start_celery_beat(self) -> None:
        self._beat = self._spawn(
            [
                str(VENV_BIN / "celery"),
                "--app",
                "config",
                "beat",
                "--loglevel",
                "INFO",
                "--scheduler",
                "django_celery_beat.schedulers:DatabaseScheduler",
                "--pidfile",
                str(self.dir / "beat.pid"),
            ],
            "celery-beat.log",
        )

    def stop_celery_beat(self) -> None:
        self._beat = self._terminate(self._beat)

    def alive(self) -> dict[str, bool]:
        """Which of the stack's long-running processes are running."""
        return {
            name: process is not None and process.poll() is None
            for name, process in (
                ("gunicorn", self._web),
                ("celery worker", self._worker),
                ("celery beat", self._beat),
            )
        }

    def send_task(self, name: str, *args, **kwargs) -> None:
        """Queue a task by name on the stack's broker, as beat would."""
        from celery import Celery

        app = Celery("stack-client", broker=self.broker_url)
        try:
            app.send_task(name, args=args, kwargs=kwargs)
        finally:
            app.close()

    # --- Redis ------------------------------------------------------------------------

    def redis_up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.redis_port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop_redis(self) -> None:
        """Shut the stack's Redis down (no save) and wait until it is gone."""
        state = self.dir / "redis-only.state"
        state.write_text(f"redis {self.redis_port}\n")
        self._services("down", state)
        wait_until(lambda: not self.redis_up(), timeout=10, what="Redis stopped")

    def start_redis(self) -> None:
        """Start the stack's Redis again with services.sh (empty: it saves nothing)."""
        scratch = self.dir / "redis-restart.state"
        scratch.write_text("")
        # DATABASE_URL set: services.sh leaves PostgreSQL alone.
        self._services("up", scratch, DATABASE_URL=self.database_url)
        if "redis" not in scratch.read_text():
            raise StackError(f"another Redis took port {self.redis_port} while ours was down")
        wait_until(self.redis_up, timeout=10, what="Redis started")

    # --- PostgreSQL ----------------------------------------------------------------------

    def _pg_ctl(self, *args: str) -> None:
        command = [str(PG_BIN / "pg_ctl"), "-D", str(self.pgdata), *args]
        if _is_root():
            command = ["runuser", "-u", "postgres", "--", *command]
        with open(self.log("pg_ctl.log"), "a") as out:
            # pg_ctl's server inherits stdout unless -l is given: never a pipe here.
            result = subprocess.run(
                command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=90
            )
        if result.returncode != 0:
            raise StackError(f"pg_ctl {' '.join(args)} failed:\n{self._tail('pg_ctl.log')}")

    def stop_postgres(self) -> None:
        """Fast shutdown: open transactions are rolled back, clients cut off."""
        self._pg_ctl("-m", "fast", "-w", "-t", "60", "stop")

    def start_postgres(self) -> None:
        self._pg_ctl("-l", str(self.pgdata / "server.log"), "-w", "-t", "60", "start")

    def restart_postgres(self, *, down_for: float = 0.0) -> None:
        """Fast shutdown, `down_for` seconds with no server, then start."""
        self.stop_postgres()
        if down_for:
            time.sleep(down_for)  # the outage itself: a timed fault, not a wait
        self.start_postgres()

    def postgres_pid(self) -> int:
        return int((self.pgdata / "postmaster.pid").read_text().split()[0])

    # --- processes ---------------------------------------------------------------------

    def _spawn(self, command: list[str], log: str) -> subprocess.Popen:
        out = open(self.log(log), "ab")  # noqa: SIM115 -- the child keeps it
        try:
            return subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            out.close()

    @staticmethod
    def _terminate(process: subprocess.Popen | None) -> None:
        terminate_all([process])

    def _tail(self, log: str, lines: int = 40) -> str:
        try:
            return "\n".join(self.log(log).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def terminate_all(processes: list[subprocess.Popen | None], grace: float = 8.0) -> None:
    """SIGTERM each process group, SIGKILL whatever is left after `grace`
    seconds (all of them together, not one after another)."""
    processes = [p for p in processes if p is not None]
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)


def _established_sockets(port: int) -> set[int]:
    """Inodes of ESTABLISHED TCP sockets whose local port is `port`."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                inodes.add(int(fields[9]))
    return inodes


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for fd in fds:
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    return inodes


def _children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is `pid`, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces or parentheses: split after the last ")".
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry))
    return found


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # Zombies count as gone: the group may hold reaped-but-unwaited children.
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[2]) == pgid and stat[0] != "Z":
                return True
    return False


@atexit.register
def _stop_forgotten_stacks() -> None:
    for stack in list(_running):
        with contextlib.suppress(Exception):
            stack.stop()


def main(argv: list[str] | None = None) -> None:
    """`python -m tests.faults.stack [workers]`: start a stack and keep it up until
    Ctrl-C, printing its addresses (for poking at it by hand)."""
    argv = sys.argv[1:] if argv is None else argv
    workers = int(argv[0]) if argv else 2
    with Stack(web_workers=workers, celery_worker=True, celery_beat=True) as stack:
        print(
            json.dumps(
                {
                    "base_url": stack.base_url,
                    "database_url": stack.database_url,
                    "redis_url": stack.redis_url,
                    "dir": str(stack.dir),
                    "timings": stack.timings,
                },
                indent=2,
            ),
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
