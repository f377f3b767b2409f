"""`onestory up --without NAME`: only a domain service may be left out; the record and the
gateway are the system itself."""

from __future__ import annotations

import pytest

from shared import cli


@pytest.mark.parametrize("name", ["record", "gateway", "nonsense"])
def test_given_a_service_that_cannot_be_left_out_when_asked_then_the_command_refuses(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        cli.main(["up", "--without", name])

    assert refused.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_given_domain_services_left_out_when_asked_then_they_are_not_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: dict[str, object] = {}
    monkeypatch.setattr(cli, "up_all", lambda **kwargs: asked.update(kwargs) or 0)

    cli.main(["up", "--without", "caseload", "--without", "dsr"])

    assert asked == {"demo": False, "without": frozenset({"caseload", "dsr"})}
