"""Settings are checked as a process starts: a bad one stops it at once with one paragraph
naming the ONESTORY_ variable (never its value), no traceback, and a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shared.settings import RecordSettings, Settings
from tests.support.services import REPO, free_port


def _serve(service: str, tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shared.cli", "serve", service, "--port", str(free_port())],
        cwd=REPO,
        env={"PATH": "", "ONESTORY_DATA_DIR": str(tmp_path), **variables},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("service", "variable", "value", "fault"),
    [
        ("record", "ONESTORY_DATABASE_POOL_SIZE", "plenty", "valid integer"),
        ("record", "ONESTORY_ENVIRONMENT", "staging", "'development', 'test' or 'production'"),
        ("gateway", "ONESTORY_SERVICES", '{"record": ', "could not be read as JSON"),
        ("triage", "ONESTORY_LOG_FORMAT", "xml", "'json', 'text'"),
        ("dsr", "ONESTORY_SHUTDOWN_GRACE_SECONDS", "-1", "0 or more seconds"),
    ],
)
def test_given_a_bad_setting_when_serving_then_one_paragraph_names_it_and_exit_is_non_zero(
    service: str, variable: str, value: str, fault: str, tmp_path: Path
) -> None:
    started = _serve(service, tmp_path, **{variable: value})

    assert started.returncode == 2
    message = started.stderr.strip()
    assert message.startswith(f"{service} will not start: its settings are not valid.")
    assert f"{variable}: " in message or f"{variable} " in message
    assert fault in message
    assert "Traceback" not in started.stderr and "\n" not in message
    if variable != "ONESTORY_ENVIRONMENT":
        assert value not in message  # values may be secrets


def test_given_two_bad_settings_then_both_are_named_at_once(tmp_path: Path) -> None:
    started = _serve(
        "record",
        tmp_path,
        ONESTORY_DATABASE_POOL_SIZE="plenty",
        ONESTORY_LOG_LEVEL="chatty",
    )
    assert started.returncode == 2
    assert "ONESTORY_DATABASE_POOL_SIZE" in started.stderr
    assert "ONESTORY_LOG_LEVEL" in started.stderr


def test_given_a_secrets_folder_then_settings_are_read_from_its_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "onestory_client_secret").write_text("from-a-mounted-secret\n")
    monkeypatch.setenv("ONESTORY_SECRETS_DIR", str(tmp_path))
    monkeypatch.delenv("ONESTORY_CLIENT_SECRET", raising=False)
    assert Settings().client_secret == "from-a-mounted-secret"
    monkeypatch.setenv("ONESTORY_CLIENT_SECRET", "from-the-environment")
    assert RecordSettings().client_secret == "from-the-environment"


def test_given_no_log_format_then_json_in_production_and_text_elsewhere() -> None:
    assert Settings(environment="production").effective_log_format() == "json"
    assert Settings(environment="development").effective_log_format() == "text"
    assert Settings(environment="development", log_format="json").effective_log_format() == "json"
