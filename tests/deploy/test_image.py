"""The Dockerfile: a slim, unprivileged runtime that can check its own health; and, where a
Docker engine answers, the image itself."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess

import pytest

from tests.deploy.manifests import PORTS, ROOT

DOCKERFILE = ROOT / "Dockerfile"


def stages() -> list[list[str]]:
    """The Dockerfile's instructions, stage by stage, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    found: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            found.append([])
        found[-1].append(line)
    return found


def instructions(stage: list[str], keyword: str) -> list[str]:
    return [line[len(keyword) + 1 :] for line in stage if line.upper().startswith(keyword + " ")]


def test_given_the_dockerfile_then_it_builds_in_one_stage_and_runs_slim_in_another() -> None:
    builder, runtime = stages()
    assert instructions(builder, "FROM") == ["python:3.11-slim AS builder"]
    assert instructions(runtime, "FROM") == ["python:3.11-slim AS runtime"]
    assert any("requirements.lock" in run for run in instructions(builder, "RUN"))
    assert instructions(runtime, "COPY") == ["--from=builder /opt/onestory /opt/onestory"]
    assert not any("pip install" in run or "apt-get" in run for run in instructions(runtime, "RUN"))


def test_given_the_runtime_then_it_is_unprivileged_listens_everywhere_and_checks_its_health() -> (
    None
):
    runtime = stages()[-1]
    (user,) = instructions(runtime, "USER")
    assert user.split(":")[0] not in {"0", "root"}
    environment = " ".join(instructions(runtime, "ENV"))
    assert "ONESTORY_HOST=0.0.0.0" in environment
    exposed = {int(port) for line in instructions(runtime, "EXPOSE") for port in line.split()}
    assert exposed == set(PORTS.values())
    (healthcheck,) = instructions(runtime, "HEALTHCHECK")
    assert 'CMD ["python", "-m", "shared.healthcheck"]' in healthcheck
    (command,) = instructions(runtime, "CMD")
    assert command.startswith('["onestory", "serve"')


def test_given_the_dockerignore_then_everything_the_dockerfile_copies_reaches_the_build() -> None:
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copied = [
        source
        for stage in stages()
        for copy in instructions(stage, "COPY")
        if not copy.startswith("--from")
        for source in copy.split()[:-1]
    ]
    assert copied
    for source in copied:
        included = True  # the last matching rule wins, as Docker reads them
        for rule in rules:
            pattern = rule.removeprefix("!").rstrip("/")
            if fnmatch.fnmatch(source, pattern):
                included = rule.startswith("!")
        assert included, f"{source} is copied but .dockerignore leaves it out"
        assert (ROOT / source).exists()


def docker_engine() -> bool:
    if shutil.which("docker") is None:
        return False
    answer = subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False)
    return answer.returncode == 0


def test_given_a_docker_engine_then_the_image_builds_and_runs_as_its_own_user() -> None:
    if not docker_engine():
        pytest.skip("No Docker engine answers `docker info` here: the image was not built")
    tag = "onestory:test-deploy"
    subprocess.run(["docker", "build", "-t", tag, str(ROOT)], check=True, timeout=1200)
    ran = subprocess.run(
        ["docker", "run", "--rm", tag, "python", "-c", "import os, shared.cli; print(os.getuid())"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert ran.stdout.strip() == "10001"
    tools = subprocess.run(
        ["docker", "run", "--rm", tag, "python", "-c", "import pytest"],
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert tools.returncode != 0, "test tools are not installed in the runtime image"
