"""A TCP proxy on loopback that a scenario can cut: the scenario's processes reach PostgreSQL (or the
broker) through it, so that the server can be taken away from them (as a restart does: every
connection dropped, new ones refused) without touching the server that the rest of the machine uses."""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import parse_qs, urlsplit

DEFAULT_PORTS = {"postgres": 5432, "postgresql": 5432, "amqp": 5672, "pyamqp": 5672, "redis": 6379}


def _target(server_url: str) -> tuple[int, str | tuple[str, int]]:
    """(address family, address) of the server a URL names: TCP, or PostgreSQL's Unix socket folder."""
    url = urlsplit(server_url)
    host = url.hostname or parse_qs(url.query).get("host", [""])[0]
    port = url.port or DEFAULT_PORTS[url.scheme]
    if host.startswith("/"):
        return socket.AF_UNIX, f"{host}/.s.PGSQL.{port}"
    return socket.AF_INET, (host or "127.0.0.1", port)


class CuttableProxy:
    """Forwards 127.0.0.1:``port`` to the server ``server_url`` names until ``cut()``, and again after
    ``restore()``."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.family, self.address = _target(server_url)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open = threading.Event()
        self.open.set()
        self.lock = threading.Lock()
        self.sockets: set[socket.socket] = set()
        self.cuts = 0

    @property
    def url(self) -> str:
        """``server_url`` pointed at the proxy."""
        url = urlsplit(self.server_url)
        auth = url.netloc.rpartition("@")[0]
        netloc = f"{auth}@127.0.0.1:{self.port}" if auth else f"127.0.0.1:{self.port}"
        return url._replace(netloc=netloc, query="").geturl()

    def start(self) -> CuttableProxy:
        threading.Thread(target=self._accept, daemon=True, name="faults-proxy").start()
        return self

    def cut(self) -> None:
        """Drop every connection and refuse new ones, as a stopped server does."""
        self.open.clear()
        self.cuts += 1
        with self.lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.sockets.clear()

    def restore(self) -> None:
        self.open.set()

    def close(self) -> None:
        self.cut()
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open.is_set():
                client.close()
                continue
            try:
                server = socket.socket(self.family, socket.SOCK_STREAM)
                server.connect(self.address)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets.update((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self.lock:
                for sock in (source, sink):
                    if sock in self.sockets:
                        self.sockets.discard(sock)
                        with contextlib.suppress(OSError):
                            sock.shutdown(socket.SHUT_RDWR)
                        sock.close()
