"""wrk with the benchmark's Lua script, against a small real HTTP server: every line of the
file is requested, POST bodies arrive whole, and the figures come back as JSON."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import wrk


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    """wrk, installed from Debian's packages as the benchmark would when it is missing."""
    try:
        wrk.ensure_wrk()
    except (SystemExit, OSError) as missing:
        pytest.skip(f"wrk is not installed and could not be: {missing}")


class Server(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.paths: set[str] = set()
        self.bodies: set[bytes] = set()
        self.authorised = True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def do_GET(self) -> None:
        self.server.paths.add(self.path)
        self._answer(404 if self.path.endswith("missing") else 200)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.bodies.add(body)
        self._answer(201)

    def _answer(self, status: int) -> None:
        if self.headers.get("Authorization") != "Bearer t0ken":
            self.server.authorised = False
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    yield running
    running.shutdown()


def _base(server: Server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/fhir"


def test_given_paths_when_run_then_each_is_asked_for_and_counted(server: Server) -> None:
    lines = [f"/fhir/Patient/p{n}" for n in range(5)]

    figures = wrk.run(_base(server), "t0ken", lines, connections=2, seconds=1)

    assert server.paths == set(lines)
    assert server.authorised
    assert figures["requests"] > 5 and figures["per_second"] > 0
    assert figures["bad_status"] == 0 and figures["errors"] == 0
    assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["max_ms"]


def test_given_bodies_when_posted_then_each_arrives_whole(server: Server) -> None:
    bodies = [f'{{"resourceType": "Observation", "n": {n}}}' for n in range(3)]

    figures = wrk.run(
        _base(server), "t0ken", bodies, post_to="/fhir/Observation", connections=2, seconds=1
    )

    assert server.bodies == {b.encode() for b in bodies}
    assert figures["bad_status"] == 0


def test_given_error_answers_when_run_then_they_are_counted_as_bad(server: Server) -> None:
    figures = wrk.run(_base(server), "t0ken", ["/fhir/missing"], connections=1, seconds=1)

    assert figures["bad_status"] == figures["requests"] > 0
