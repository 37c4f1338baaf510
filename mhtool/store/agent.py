"""The unlock agent: one staff member's slot key, unwrapped once and held by a small process for a while.

``mhtool unlock`` opens the store with the passphrase (Argon2id, once), starts
this module as a process of its own (``python -m mhtool.store.agent``) and hands
it the slot's X25519 private key over a pipe. The agent holds that key and
nothing else: not the passphrase, not the tier keys. Later commands of the same
OS user find it by a socket named after the store and the staff member and ask
it for the X25519 exchanges that open their slot's bundles (:class:`AgentKey`),
so they open the store without Argon2id; the key itself never leaves the agent.

Protocol: one request per connection, one line of JSON each way::

    {"op": "hello"}                                    -> store, store_id, user, public_key, until, pid
    {"op": "exchange", "store_id": S, "peer": HEX}     -> {"shared": HEX}   (X25519 with the slot key)
    {"op": "stop", "reason": "lock" | "replaced"}      -> the hello answer; the agent has ended

An error is ``{"error": TEXT}``. The agent answers only a peer of its own uid
(``SO_PEERCRED``), only for its own store id, and only until ``until``; it ends
then, on ``stop``, or when the session ``mhtool unlock`` ran in ends, zeroing
its copy of the key. When it ends by itself it opens the store once more, with
that key, to record ``agent.expire`` in the audit log.
"""

from __future__ import annotations

import _socket  # the C module alone: socket.py would add selectors and enums to every command that asks an agent
import hashlib
import json
import os
import stat
import sys
import time
from pathlib import Path

from mhtool.errors import AuthenticationFailed, StoreError
from mhtool.i18n import _

# How long an unlock may last: `mhtool unlock --for` defaults to the first, refuses more than the second.
DEFAULT_SECONDS = 30 * 60
MAX_SECONDS = 12 * 3600
KEY_BYTES = 32
_LINE_LIMIT = 64 * 1024
# How often the agent checks on a watched session where the system offers no process handle to wait on.
_POLL_SECONDS = 5.0
# A wall-clock deadline: the agent wakes at least this often, so a laptop resumed after its unlock
# ran out ends the agent within this time even though the monotonic clock stood still while asleep.
_WAKE_SECONDS = 30.0


class _Gone(Exception):
    """No agent answers at that socket (none started, ended, or killed and left its socket behind).

    ``dead``: nothing listens there any more (the socket is left over), as opposed to an agent too slow to answer.
    """

    def __init__(self, message: str, *, dead: bool = False):
        super().__init__(message)
        self.dead = dead


def supported() -> bool:
    """Whether this system can run the agent: Unix sockets and a way to learn the peer's uid."""
    return hasattr(_socket, "AF_UNIX") and hasattr(_socket, "SO_PEERCRED") and hasattr(os, "getuid")


# -- where agents live -------------------------------------------------------------------------


def _folder() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime) and os.path.isdir(runtime):
        return Path(runtime) / "mhtool"
    return Path(os.environ.get("TMPDIR") or "/tmp") / f"mhtool-{os.getuid()}"


def private_folder(*, create: bool = False) -> Path | None:
    """The folder of this user's agent sockets, mode 0700 and owned by them; None when there is none (and ``create`` is false).

    A folder of that name owned by someone else, or a link, is never used: with
    ``create`` it is an error, otherwise there is no agent to ask.
    """
    path = _folder()
    if create:
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise StoreError(
                _("cannot create the folder {path} for the unlock agent: {problem}").format(path=path, problem=exc.strerror or exc),
                hint=_("set XDG_RUNTIME_DIR to a folder only you can use"),
            ) from None
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        if not create:
            return None
        raise StoreError(
            _("{path} is not a private folder of yours (it is a link, or someone else owns it), so the unlock agent will not use it").format(path=path),
            hint=_("remove it, or set XDG_RUNTIME_DIR to a folder only you can use"),
        )
    if stat.S_IMODE(info.st_mode) != 0o700:
        # Nobody else may even reach the socket: the peer check in the agent is the second lock, not the only one.
        try:
            os.chmod(path, 0o700)
        except OSError:
            return None
    return path


def socket_name(store_path: str | os.PathLike, store_id: str, user: str) -> str:
    """One agent per store file, store and staff member: the socket's name is a digest of the three."""
    resolved = os.path.realpath(store_path)
    return hashlib.sha256(f"mhtool-agent\0{resolved}\0{store_id}\0{user}".encode()).hexdigest()[:32] + ".sock"


def _store_id(store_path: str | os.PathLike) -> str | None:
    """The store id in the file's own pages, read without a lock or a -wal/-shm (``immutable``).

    A normal open would create and remove the side files and checkpoint on close:
    that costs a command ~20 ms of waiting on the disk. The id is written when the
    store is created and never changes, so the file's pages hold it; a file
    that cannot be read this way has no agent, and the command asks as before.
    """
    import sqlite3

    path = os.path.realpath(store_path)
    if not os.path.isfile(path):
        return None
    uri = "file:" + path.replace("%", "%25").replace("?", "%3f").replace("#", "%23") + "?mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:  # not an mhtool store, or unreadable: then there is no agent for it either
        return None
    return row[0] if row else None


# -- the client side ---------------------------------------------------------------------------


def _ask(path: str | os.PathLike, request: dict, *, timeout: float = 5.0) -> dict:
    conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        conn.settimeout(timeout)
        try:
            conn.connect(os.fspath(path))
            conn.sendall(json.dumps(request).encode() + b"\n")
            line = _read_line(conn)
        except (ConnectionRefusedError, FileNotFoundError) as exc:
            raise _Gone(str(exc), dead=True) from None
        except OSError as exc:
            raise _Gone(str(exc)) from None
    finally:
        conn.close()
    try:
        answer = json.loads(line)
    except ValueError:
        raise _Gone("not an mhtool agent") from None
    if not isinstance(answer, dict):
        raise _Gone("not an mhtool agent")
    return answer


def _read_line(conn: _socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
        if len(data) > _LINE_LIMIT:
            raise OSError("answer too long")
    return data


class AgentKey:
    """Stands in for the X25519 private key an agent holds: :meth:`exchange` asks the agent, the key stays there.

    It opens a store like the key it stands for (``Store.open`` opens the
    slot's bundles with :meth:`exchange` and checks :meth:`public_key`), but it
    cannot be written into a new key slot: changing one's own passphrase needs
    the current one.
    """

    def __init__(self, path: Path, store_id: str, hello: dict):
        self.path = path
        self.store_id = store_id
        self.hello = hello
        self._public = bytes.fromhex(hello["public_key"])

    def public_key(self):
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

        return X25519PublicKey.from_public_bytes(self._public)

    def exchange(self, peer) -> bytes:
        try:
            answer = _ask(self.path, {"op": "exchange", "store_id": self.store_id, "peer": peer.public_bytes_raw().hex()})
        except _Gone:
            answer = {"error": "gone"}
        if "shared" not in answer:
            raise AuthenticationFailed(
                _("the unlock agent stopped answering while the store was being opened"),
                hint=_("run the command again (it asks for the passphrase if the agent has ended), or `mhtool unlock` again"),
            )
        return bytes.fromhex(answer["shared"])

    def private_bytes(self, *args, **kwargs) -> bytes:
        raise AuthenticationFailed(
            _("the unlock agent never hands out your key, so changing your own passphrase or key file needs the current passphrase"),
            hint=_("set MHTOOL_PASSPHRASE_FILE for this command, or run `mhtool lock` first to be asked for it"),
        )

    private_bytes_raw = private_bytes


def find(store_path: str | os.PathLike, user: str | None) -> AgentKey | None:
    """The agent holding ``user``'s slot key for the store at ``store_path``, or None (none running, or not for this store)."""
    if not user or not supported():
        return None
    folder = private_folder()
    if folder is None:
        return None
    store_id = _store_id(store_path)
    if store_id is None:
        return None
    path = folder / socket_name(store_path, store_id, user)
    if not os.path.exists(path):
        return None
    try:
        hello = _ask(path, {"op": "hello"})
    except _Gone as gone:
        _remove_stale(path, gone)
        return None
    if hello.get("store_id") != store_id or hello.get("user") != user or "public_key" not in hello:
        return None
    return AgentKey(path, store_id, hello)


def credential(store_path: str | os.PathLike, user: str | None):
    """A credential for the store from the running agent of ``user``, or None: then the command asks as before."""
    from mhtool.store import crypto

    key = find(store_path, user)
    return None if key is None else crypto.Credential(unlocked=key, source="the unlock agent")


def _remove_stale(path: str | os.PathLike, gone: _Gone) -> None:
    """Remove the socket an agent left behind when it was killed; a socket something still listens on is kept."""
    if gone.dead:
        try:
            os.unlink(path)
        except OSError:
            pass


def running() -> list[dict]:
    """Every agent of this OS user that answers: what each said of itself, with its socket as ``socket``."""
    folder = private_folder()
    if folder is None or not supported():
        return []
    found = []
    for path in sorted(folder.glob("*.sock")):
        try:
            hello = _ask(path, {"op": "hello"})
        except _Gone as gone:
            _remove_stale(path, gone)
            continue
        if "store_id" in hello and "user" in hello:
            found.append({**hello, "socket": str(path)})
    return found


def serves(found: dict, store_path: str | os.PathLike, user: str | None) -> bool:
    """Whether an agent ``running()`` listed holds a key to the store at ``store_path`` (of ``user``, when given)."""
    return found.get("store") == os.path.realpath(store_path) and (user is None or found.get("user") == user)


def stop(path: str | os.PathLike, reason: str = "lock") -> dict | None:
    """Ask the agent at ``path`` to end; what it said of itself, or None when none was running there."""
    try:
        answer = _ask(path, {"op": "stop", "reason": reason})
    except _Gone as gone:
        _remove_stale(path, gone)
        return None
    return answer if "store_id" in answer else None


def _iso(epoch: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")


def _session_to_watch() -> int | None:
    """The process whose end ends the agent: the session (terminal) ``mhtool unlock`` runs in, else its parent."""
    try:
        leader = os.getsid(0)
    except OSError:
        leader = None
    if leader is None or leader == os.getpid() or leader <= 1:
        parent = os.getppid()
        return parent if parent > 1 else None
    return leader


def start(store, seconds: int = DEFAULT_SECONDS, *, watch: int | None | bool = True) -> dict:
    """Hand the open store's slot key to a new agent for ``seconds``, recorded as ``agent.unlock`` in the audit log.

    An agent already holding this member's key to this store is ended first
    (the new one replaces it; the entry names the end it had). ``watch``: end
    the agent with the session this process runs in (True), with the given
    process id, or only on time and ``stop`` (False or None).
    Returns ``store``, ``user``, ``until`` (epoch seconds), ``pid`` and
    ``replaced`` (the old agent's ``until``, or None).
    """
    if not supported():
        raise StoreError(_("the unlock agent needs Unix sockets with peer credentials (Linux); use MHTOOL_PASSPHRASE_FILE or a key file here"))
    if not isinstance(seconds, int) or isinstance(seconds, bool) or not 1 <= seconds <= MAX_SECONDS:
        raise StoreError(_("an unlock lasts from 1 second to {hours} hours").format(hours=MAX_SECONDS // 3600))
    if isinstance(store.private_key, AgentKey):
        raise StoreError(_("this store was opened through the unlock agent; `mhtool unlock` needs the passphrase"))
    raw = store.private_key.private_bytes_raw()
    folder = private_folder(create=True)
    path = folder / socket_name(store.path, store.store_id, store.staff.name)
    if len(os.fsencode(path)) >= 100:  # sun_path holds 104–108 bytes depending on the system
        raise StoreError(
            _("the path {path} is too long for the unlock agent's socket").format(path=path),
            hint=_("set XDG_RUNTIME_DIR to a shorter folder only you can use"),
        )
    old = stop(path, "replaced")
    until = time.time() + seconds
    watched = _session_to_watch() if watch is True else (watch or None)
    details = {"until": _iso(until), "seconds": seconds}
    if old is not None:
        details["replaced"] = _iso(float(old.get("until") or 0))
    header = {
        "socket": str(path),
        "store": os.path.realpath(store.path),
        "store_id": store.store_id,
        "user": store.staff.name,
        "until": until,
        "watch": watched,
    }
    started: list[int] = []
    try:
        with store.write("agent.unlock", details=details) as txn:
            # The agent starts after the audit entry is appended and before COMMIT: it runs only if its entry commits.
            txn.before_commit.append(lambda: started.append(_spawn(header, raw)))
    except BaseException:
        if started:
            stop(path, "replaced")
        raise
    return {"store": header["store"], "user": header["user"], "until": until, "pid": started[0], "replaced": (old or {}).get("until")}


def _spawn(header: dict, raw: bytes) -> int:
    import select
    import subprocess

    package_root = Path(__file__).resolve().parent.parent.parent
    proc = subprocess.Popen(
        [sys.executable, "-m", "mhtool.store.agent"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        # Its own session: the terminal's hang-up and Ctrl-C do not reach it (it watches the session itself).
        start_new_session=True,
        # Run from the folder that holds this very package, so `-m` finds the same mhtool.
        cwd=package_root,
    )
    encoded = json.dumps(header).encode()
    try:
        proc.stdin.write(len(encoded).to_bytes(4, "big") + encoded + raw)
        proc.stdin.close()
    except OSError:
        pass
    ready = select.select([proc.stdout], [], [], 30.0)[0]
    line = proc.stdout.readline() if ready else b""
    proc.stdout.close()
    if not line.startswith(b"ready"):
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        problem = line.decode("utf-8", "replace").removeprefix("error ").strip() or _("it did not answer")
        raise StoreError(_("the unlock agent did not start: {problem}").format(problem=problem))
    return proc.pid


def end(found: dict, reason: str = "lock") -> dict:
    """End an agent ``running()`` listed, recorded as ``agent.lock`` in its store's audit log through the key it holds.

    Returns ``found`` with ``recorded`` (whether the entry was written) and, when
    it was not (the store moved, or no longer opens with that key), ``problem``.
    The agent is ended either way.
    """
    from mhtool.errors import MhtoolError
    from mhtool.store import crypto
    from mhtool.store.core import Store

    path = found["socket"]
    result = {**found, "recorded": False, "problem": None}
    try:
        key = AgentKey(Path(path), found["store_id"], found)
        with Store.open(found["store"], crypto.Credential(unlocked=key, source="the unlock agent"), found["user"]) as store:
            if store.store_id != found["store_id"]:
                raise StoreError(_("{path} now holds another store").format(path=found["store"]))
            with store.write("agent.lock", details={"until": _iso(float(found.get("until") or 0))}):
                pass
        result["recorded"] = True
    except MhtoolError as exc:
        result["problem"] = exc.message
    finally:
        stop(path, reason)
    return result


# -- the agent itself --------------------------------------------------------------------------


def peer_uid(conn: _socket.socket) -> int | None:
    """The uid of the process at the other end of a Unix socket (Linux ``SO_PEERCRED``), or None when the system cannot tell."""
    import struct

    option = getattr(_socket, "SO_PEERCRED", None)
    if option is None:
        return None
    try:
        _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(_socket.SOL_SOCKET, option, struct.calcsize("3i")))
    except OSError:
        return None
    return uid


def peer_allowed(conn: _socket.socket, uid: int) -> bool:
    """Whether the peer runs as ``uid``: the agent serves its own user only, whatever the socket's mode (root excepted, who can read anything)."""
    return peer_uid(conn) == uid


class _Ended(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _read_exact(stream, size: int, into: bytearray | None = None) -> bytearray:
    buf = into if into is not None else bytearray(size)
    view = memoryview(buf)
    got = 0
    while got < size:
        n = stream.readinto(view[got:size])
        if not n:
            raise EOFError("the pipe closed early")
        got += n
    view.release()
    return buf


def _protect(key: bytearray) -> None:
    """What Python allows to keep the key out of other hands: no core dumps, not readable by other processes of the user, not swapped."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        # PR_SET_DUMPABLE = 4: /proc/PID/mem and ptrace are closed to the user's other processes (root keeps them).
        libc.prctl(4, 0, 0, 0, 0)
        locked = (ctypes.c_char * len(key)).from_buffer(key)
        libc.mlock(ctypes.c_void_p(ctypes.addressof(locked)), ctypes.c_size_t(len(key)))
        del locked
    except (OSError, AttributeError, TypeError, ValueError):
        pass


def _listen(path: Path):
    import socket

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    # Owner only, whatever the umask: the folder is 0700 too, and the peer check refuses other uids regardless.
    os.chmod(path, 0o600)
    listener.listen(16)
    return listener, os.stat(path).st_ino


def _unlink_own(path: Path, inode: int) -> None:
    """Remove our socket, and never one a newer agent bound at the same path."""
    try:
        if os.stat(path).st_ino == inode:
            os.unlink(path)
    except OSError:
        pass


def _watch(pid: int | None) -> tuple[int | None, int | None]:
    """A descriptor that becomes readable when ``pid`` ends (Linux), or the pid to poll; (None, None) for no watch."""
    if not pid:
        return None, None
    if hasattr(os, "pidfd_open"):
        try:
            return os.pidfd_open(pid), None
        except ProcessLookupError:
            raise _Ended("session ended") from None
        except OSError:
            pass
    return None, pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _answer(conn: _socket.socket, key: bytearray, info: dict, on_stop) -> None:
    """Answer one request on ``conn`` (``info``: the agent's orders, ``uid`` the only user it serves); raises :class:`_Ended` when it must end."""
    conn.settimeout(2.0)
    if not peer_allowed(conn, info["uid"]):
        conn.sendall(b'{"error": "this agent serves its own user only"}\n')
        return
    request = json.loads(_read_line(conn) or b"null")
    if not isinstance(request, dict):
        raise ValueError("not a request")
    public = {k: info[k] for k in ("store", "store_id", "user", "public_key", "until", "pid")}
    if time.time() >= info["until"]:
        conn.sendall(b'{"error": "expired"}\n')
        raise _Ended("timeout")
    op = request.get("op")
    if op == "hello":
        reply = public
    elif op == "exchange":
        if request.get("store_id") != info["store_id"]:
            reply = {"error": "this agent holds a key to another store"}
        else:
            from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

            peer = X25519PublicKey.from_public_bytes(bytes.fromhex(request.get("peer") or ""))
            reply = {"shared": X25519PrivateKey.from_private_bytes(key).exchange(peer).hex()}
    elif op == "stop":
        # The socket is gone before the answer leaves, so a new agent can bind it at once.
        on_stop()
        conn.sendall(json.dumps(public).encode() + b"\n")
        raise _Ended(request.get("reason") if request.get("reason") in ("lock", "replaced") else "lock")
    else:
        reply = {"error": "unknown request"}
    conn.sendall(json.dumps(reply).encode() + b"\n")


def serve(listener: _socket.socket, key: bytearray, info: dict, watch: int | None, on_stop) -> str:
    """Answer requests until the deadline, a stop request or the end of the watched session; return why it ended."""
    import select

    try:
        pidfd, polled = _watch(watch)
    except _Ended as ended:
        return ended.reason
    waiting = [listener] + ([pidfd] if pidfd is not None else [])
    try:
        while True:
            remaining = info["until"] - time.time()
            if remaining <= 0:
                return "timeout"
            if polled is not None and not _alive(polled):
                return "session ended"
            timeout = min(remaining, _WAKE_SECONDS, _POLL_SECONDS if polled is not None else _WAKE_SECONDS)
            readable = select.select(waiting, [], [], timeout)[0]
            if pidfd is not None and pidfd in readable:
                return "session ended"
            if listener in readable:
                try:
                    conn, _address = listener.accept()
                except OSError:
                    continue
                try:
                    _answer(conn, key, info, on_stop)
                except _Ended as ended:
                    return ended.reason
                except (OSError, ValueError, TypeError, KeyError):
                    pass  # a client that went away or sent nonsense: the next one is served
                finally:
                    conn.close()
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _record_end(info: dict, key: bytearray, reason: str) -> None:
    """Record in the store's audit log that the agent ended by itself (best effort: the store may be gone)."""
    try:
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

        from mhtool.store import crypto
        from mhtool.store.core import Store

        private = X25519PrivateKey.from_private_bytes(key)
        with Store.open(info["store"], crypto.Credential(unlocked=private, source="the unlock agent"), info["user"]) as store:
            if store.store_id == info["store_id"]:
                with store.write("agent.expire", details={"until": _iso(info["until"]), "reason": reason}):
                    pass
    except Exception:
        pass


def main() -> int:
    """The agent process: read its orders and the key from stdin, say ``ready`` on stdout, then serve."""
    import signal

    key = bytearray(KEY_BYTES)
    listener = None
    path: Path | None = None
    inode = 0
    reason = "terminated"
    try:
        with os.fdopen(0, "rb", buffering=0) as pipe:
            size = int.from_bytes(_read_exact(pipe, 4), "big")
            info = json.loads(bytes(_read_exact(pipe, size)))
            _read_exact(pipe, KEY_BYTES, into=key)
        _protect(key)
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

        info["public_key"] = X25519PrivateKey.from_private_bytes(key).public_key().public_bytes_raw().hex()
        info["pid"] = os.getpid()
        info["uid"] = os.getuid()
        path = Path(info["socket"])
        listener, inode = _listen(path)
    except Exception as exc:
        key[:] = bytes(KEY_BYTES)
        os.write(1, f"error {exc}\n".encode())
        return 1

    def on_stop() -> None:
        listener.close()
        _unlink_own(path, inode)

    def terminate(signum, frame):
        raise _Ended("terminated")

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    os.write(1, b"ready\n")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    os.chdir("/")
    try:
        reason = serve(listener, key, info, info.get("watch"), on_stop)
    except _Ended as ended:
        reason = ended.reason
    finally:
        listener.close()
        _unlink_own(path, inode)
        if reason in ("timeout", "session ended"):
            _record_end(info, key, reason)
        key[:] = bytes(KEY_BYTES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
