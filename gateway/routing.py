"""The routing table: which service answers a method and path, built from what each service
declares at /_onestory/routes. The most specific declaration wins; catch-alls come last."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_PARAMETER = re.compile(r"\{(\w+)(:path)?\}")


@dataclass(frozen=True, slots=True)
class Route:
    service: str
    base_url: str
    pattern: re.Pattern[str]
    methods: frozenset[str]
    timeout_seconds: float
    specificity: tuple[int, int]
    template: str = ""  # as declared (/fhir/{rest:path}): what telemetry may name

    def matches(self, method: str, path: str) -> bool:
        return ("*" in self.methods or method in self.methods) and bool(
            self.pattern.fullmatch(path)
        )


def compile_route(service: str, base_url: str, declaration: dict[str, Any]) -> Route:
    path: str = declaration["path"]
    regex = ""
    position = 0
    for match in _PARAMETER.finditer(path):
        regex += re.escape(path[position : match.start()])
        regex += ".*" if match.group(2) else "[^/]+"
        position = match.end()
    regex += re.escape(path[position:])
    literal = len(_PARAMETER.sub("", path))
    catch_all = 1 if ":path}" in path else 0
    return Route(
        service=service,
        base_url=base_url.rstrip("/"),
        pattern=re.compile(regex),
        methods=frozenset(m.upper() for m in declaration.get("methods", ["*"])),
        timeout_seconds=float(declaration.get("timeout_seconds", 30.0)),
        specificity=(-catch_all, literal),
        template=path,
    )


class RouteTable:
    def __init__(self, routes: list[Route] | None = None) -> None:
        self.routes = sorted(routes or [], key=lambda r: r.specificity, reverse=True)

    def match(self, method: str, path: str) -> Route | None:
        return next((r for r in self.routes if r.matches(method, path)), None)

    @property
    def services(self) -> set[str]:
        return {route.service for route in self.routes}
