"""shared.healthcheck: the container finds the service it serves and asks it how it is."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from shared.healthcheck import LIVE, READY, check, main, served_port


@pytest.mark.parametrize(
    ("command_line", "port"),
    [
        (["/opt/onestory/bin/python", "/opt/onestory/bin/onestory", "serve", "record"], 8081),
        (["onestory", "serve", "gateway"], 8080),
        (["onestory", "serve", "dsr", "--port", "9000"], 9000),
        (["onestory", "serve", "triage", "--port=9001"], 9001),
        (["python", "-m", "shared.cli", "serve", "caseload"], 8083),
        (["onestory", "migrate"], None),
        (["onestory", "serve"], None),
        (["onestory", "serve", "nothing-of-ours"], None),
        (["sh", "-c", "sleep 5"], None),
    ],
)
def test_given_a_command_line_then_the_served_port_is_found(
    command_line: list[str], port: int | None
) -> None:
    assert served_port(command_line) == port


class Answers(BaseHTTPRequestHandler):
    """Live, not ready: as a service whose database is still migrating."""

    def do_GET(self) -> None:
        self.send_response(200 if self.path == LIVE else 503)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def service_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def fake_proc(root: Path, *command_lines: list[str]) -> Path:
    for pid, command_line in enumerate(command_lines, start=1):
        (root / str(pid)).mkdir()
        (root / str(pid) / "cmdline").write_bytes(b"\0".join(a.encode() for a in command_line))
    (root / "self").mkdir()  # not a process id: ignored
    return root


def test_given_a_live_service_that_is_not_ready_then_live_passes_and_ready_fails(
    tmp_path: Path, service_port: int
) -> None:
    proc = fake_proc(tmp_path, ["onestory", "serve", "record", "--port", str(service_port)])
    assert check(LIVE, proc) is True
    assert check(READY, proc) is False


def test_given_nothing_listening_then_the_service_is_unhealthy(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, ["onestory", "serve", "record", "--port", "9"])
    assert check(LIVE, proc, timeout=1.0) is False


def test_given_a_one_shot_container_then_there_is_nothing_to_ask(tmp_path: Path) -> None:
    assert check(LIVE, fake_proc(tmp_path, ["onestory", "migrate"])) is True


def test_given_the_command_then_its_exit_status_says_healthy_or_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []
    monkeypatch.setattr("shared.healthcheck.check", lambda path: asked.append(path) or False)
    assert main(["--ready"]) == 1
    assert asked == [READY]
