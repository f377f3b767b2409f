"""Reading the deployment files the tests check: docker-compose.yml, the Dockerfile, the
Kubernetes manifests under deploy/k8s, and which settings each OneStory process reads."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic_settings import BaseSettings

from gateway.settings import GatewaySettings
from services.caseload.settings import CaseloadSettings
from services.discharge.settings import DischargeSettings
from services.dsr.settings import DsrSettings
from services.triage.settings import TriageSettings
from shared.cli import SERVICES
from shared.settings import RecordSettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
PRODUCTION = K8S / "overlays" / "production"
REALM = ROOT / "deploy" / "keycloak" / "onestory-realm.json"

PORTS = {service.name: service.port for service in SERVICES}
NAMES = tuple(PORTS)
DOMAIN_SERVICES = ("triage", "caseload", "discharge", "dsr")
SETTINGS: dict[str, tuple[type[BaseSettings], ...]] = {
    "record": (RecordSettings,),
    "gateway": (GatewaySettings,),
    "triage": (TriageSettings,),
    "caseload": (CaseloadSettings,),
    "discharge": (DischargeSettings,),
    "dsr": (DsrSettings,),
    "migrate": (RecordSettings, GatewaySettings),
}

Manifest = dict[str, Any]


def variables_read_by(name: str) -> set[str]:
    """The ONESTORY_* environment variables a process's settings read."""
    return {
        f"ONESTORY_{field.upper()}"
        for settings in SETTINGS[name]
        for field in settings.model_fields
    }


def variables_read_by_any() -> set[str]:
    return set().union(*(variables_read_by(name) for name in SETTINGS))


@cache
def compose() -> Manifest:
    loaded: Manifest = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def compose_service(name: str) -> Manifest:
    service: Manifest = compose()["services"][name]
    return service


@cache
def documents(folder: Path) -> tuple[tuple[Path, Manifest], ...]:
    """Every Kubernetes object in a folder's YAML files (kustomization files aside)."""
    found = []
    for path in sorted(folder.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        found += [(path, document) for document in yaml.safe_load_all(path.read_text()) if document]
    return tuple(found)


def objects(kind: str, folder: Path = BASE) -> dict[str, Manifest]:
    return {
        document["metadata"]["name"]: document
        for _, document in documents(folder)
        if document["kind"] == kind
    }


def pod_spec(workload: Manifest) -> Manifest:
    spec: Manifest = workload["spec"]["template"]["spec"]
    return spec


def containers(workload: Manifest) -> list[Manifest]:
    found: list[Manifest] = pod_spec(workload)["containers"]
    return found


def labels_match(selector: Manifest, labels: Manifest) -> bool:
    """Whether a label selector (matchLabels and matchExpressions with In) picks the labels."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", "only In is understood here"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def component_labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": "onestory", "app.kubernetes.io/component": name}
