"""deploy/k8s: every service deployed safely (probes, limits, non-root, read-only), reachable
only as the architecture says, configured without a secret in git; the migration Job and the
CloudNativePG cluster with its backups."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.manifests import (
    BASE,
    DOMAIN_SERVICES,
    K8S,
    NAMES,
    PORTS,
    PRODUCTION,
    ROOT,
    Manifest,
    component_labels,
    containers,
    documents,
    labels_match,
    objects,
    pod_spec,
    variables_read_by_any,
)

SECRET_LIKE = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN$|API_KEY|PRIVATE", re.IGNORECASE)
CREDENTIALS_IN_URL = re.compile(r"://[^/@\s:]+:[^/@\s]+@")


def dockerfile_data_dir() -> str:
    match = re.search(r"ONESTORY_DATA_DIR=(\S+)", (ROOT / "Dockerfile").read_text())
    assert match, "the Dockerfile sets ONESTORY_DATA_DIR"
    return match.group(1)


def workloads() -> list[Manifest]:
    return [*objects("Deployment").values(), *objects("Job").values()]


def test_given_every_kustomization_then_the_files_it_lists_exist() -> None:
    kustomizations = sorted(K8S.rglob("kustomization.yaml"))
    assert {path.parent for path in kustomizations} == {BASE, PRODUCTION}
    for path in kustomizations:
        kustomization = yaml.safe_load(path.read_text())
        listed = [*kustomization.get("resources", [])]
        listed += [patch["path"] for patch in kustomization.get("patches", []) if "path" in patch]
        assert listed, path
        for entry in listed:
            assert (path.parent / entry).exists(), f"{path} lists {entry}, which is missing"


def test_given_the_base_then_every_manifest_file_is_listed_in_its_kustomization() -> None:
    listed = set(yaml.safe_load((BASE / "kustomization.yaml").read_text())["resources"])
    on_disk = {path.name for path in BASE.glob("*.yaml")} - {"kustomization.yaml"}
    assert on_disk == listed


@pytest.mark.parametrize("folder", [BASE, PRODUCTION])
def test_given_every_manifest_then_it_names_its_api_kind_and_name(folder: Path) -> None:
    found = documents(folder)
    assert found
    for path, document in found:
        assert document.get("apiVersion") and document.get("kind"), path
        assert document["metadata"]["name"], path


@pytest.mark.parametrize("name", NAMES)
def test_given_a_service_then_it_has_a_deployment_service_budget_and_autoscaler(name: str) -> None:
    deployment = objects("Deployment")[name]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels_match(deployment["spec"]["selector"], labels)
    assert labels_match({"matchLabels": component_labels(name)}, labels)
    assert objects("Service")[name]["spec"]["selector"] == component_labels(name)
    assert labels_match(objects("PodDisruptionBudget")[name]["spec"]["selector"], labels)
    autoscaler = objects("HorizontalPodAutoscaler")[name]
    assert autoscaler["apiVersion"] == "autoscaling/v2"
    assert autoscaler["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": name,
    }
    assert 1 < autoscaler["spec"]["minReplicas"] <= autoscaler["spec"]["maxReplicas"]


@pytest.mark.parametrize("name", NAMES)
def test_given_a_service_then_its_container_service_and_cli_agree_on_the_port(name: str) -> None:
    (container,) = containers(objects("Deployment")[name])
    assert container["command"] == ["onestory", "serve", name]
    assert container["ports"] == [{"name": "http", "containerPort": PORTS[name]}]
    (port,) = objects("Service")[name]["spec"]["ports"]
    assert port["targetPort"] == PORTS[name]
    assert port["port"] == PORTS[name]


@pytest.mark.parametrize("name", NAMES)
def test_given_a_service_then_it_is_probed_for_readiness_and_liveness(name: str) -> None:
    (container,) = containers(objects("Deployment")[name])
    assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/health/live"


@pytest.mark.parametrize("name", NAMES)
def test_given_a_service_then_kubernetes_waits_for_its_graceful_shutdown(name: str) -> None:
    """Requests in flight get the grace, then the record's deliveries in flight get it again,
    before Kubernetes may kill the container."""
    config = objects("ConfigMap")["onestory-config"]["data"]
    grace = int(config["ONESTORY_SHUTDOWN_GRACE_SECONDS"])

    assert pod_spec(objects("Deployment")[name])["terminationGracePeriodSeconds"] > 2 * grace


def test_given_every_container_then_it_requests_and_is_limited_in_cpu_and_memory() -> None:
    for workload in workloads():
        for container in containers(workload):
            resources = container["resources"]
            for bound in ("requests", "limits"):
                assert set(resources[bound]) == {"cpu", "memory"}, workload["metadata"]["name"]


def test_given_every_pod_then_it_runs_unprivileged_on_a_read_only_root_filesystem() -> None:
    data_dir = dockerfile_data_dir()
    for workload in workloads():
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] != 0
        assert spec["automountServiceAccountToken"] is False
        scratch = {volume["name"] for volume in spec["volumes"] if "emptyDir" in volume}
        for container in containers(workload):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
            assert mounts[data_dir] in scratch
            assert mounts["/tmp"] in scratch


def test_given_every_container_then_its_configuration_and_secret_come_from_the_namespace() -> None:
    made_by_external_secrets = {
        external["spec"]["target"]["name"] for external in objects("ExternalSecret").values()
    }
    for workload in workloads():
        for container in containers(workload):
            sources = container["envFrom"]
            assert {"configMapRef": {"name": "onestory-config"}} in sources
            secrets = [source["secretRef"]["name"] for source in sources if "secretRef" in source]
            assert secrets == [f"onestory-{container['name']}"]
            assert set(secrets) <= made_by_external_secrets


def test_given_the_manifests_then_no_secret_is_written_in_them() -> None:
    for folder in (BASE, PRODUCTION):
        for path, document in documents(folder):
            if document["kind"] == "Secret":
                assert not {"data", "stringData"} & set(document), f"a Secret in {path}"
            if document["kind"] != "ExternalSecret":  # its templates are checked below
                assert not CREDENTIALS_IN_URL.search(yaml.safe_dump(document)), path
    for workload in workloads():
        for container in containers(workload):
            for variable in container.get("env", []):
                assert not (SECRET_LIKE.search(variable["name"]) and "value" in variable)
    for config in objects("ConfigMap").values():
        assert not [key for key in config["data"] if SECRET_LIKE.search(key)]


def test_given_the_external_secrets_then_each_reads_the_store_and_writes_only_known_variables() -> (
    None
):
    readable = variables_read_by_any()
    for external in objects("ExternalSecret").values():
        assert external["spec"]["secretStoreRef"]["kind"] == "ClusterSecretStore"
        template = external["spec"]["target"].get("template", {})
        for key, value in template.get("data", {}).items():
            assert key in readable or key in {"username", "password"}, key
            assert "{{" in value or key == "username", f"{key} is written in git"
        assert all(item["remoteRef"]["key"] for item in external["spec"]["data"])


def test_given_the_config_map_then_it_holds_only_variables_a_process_reads() -> None:
    data = objects("ConfigMap")["onestory-config"]["data"]
    onestory = {key for key in data if key.startswith("ONESTORY_")}
    assert onestory <= variables_read_by_any(), onestory - variables_read_by_any()
    assert data["ONESTORY_ENVIRONMENT"] == "production"
    assert data["ONESTORY_TELEMETRY_EXPORTER"] == "otlp"
    routes = json.loads(data["ONESTORY_SERVICES"])
    assert routes == {name: f"http://{name}:{PORTS[name]}" for name in NAMES if name != "gateway"}
    assert data["ONESTORY_GATEWAY_URL"] == f"http://gateway:{PORTS['gateway']}/fhir"
    for name in DOMAIN_SERVICES:
        assert data[f"ONESTORY_{name.upper()}_PUBLIC_URL"] == f"http://{name}:{PORTS[name]}"


def allowed_sources(name: str) -> tuple[set[str], set[int]]:
    """The components (and namespaces) that may open connections to a service's pods."""
    labels = component_labels(name)
    sources: set[str] = set()
    ports: set[int] = set()
    for policy in objects("NetworkPolicy").values():
        if not labels_match(policy["spec"]["podSelector"], labels):
            continue
        assert policy["spec"]["policyTypes"] == ["Ingress"]
        for rule in policy["spec"].get("ingress", []):
            ports |= {port["port"] for port in rule.get("ports", [])}
            for peer in rule["from"]:
                if "podSelector" in peer:
                    sources.add(peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"])
                if "namespaceSelector" in peer:
                    namespace = peer["namespaceSelector"]["matchLabels"]
                    sources.add("namespace:" + namespace["kubernetes.io/metadata.name"])
    return sources, ports


def test_given_the_namespace_then_ingress_is_denied_unless_a_policy_allows_it() -> None:
    deny = objects("NetworkPolicy")["default-deny-ingress"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress"]}


def test_given_the_network_policies_then_only_the_gateway_reaches_the_record() -> None:
    assert allowed_sources("record") == ({"gateway"}, {PORTS["record"]})


def test_given_the_network_policies_then_the_gateway_is_reached_from_outside_and_the_services() -> (
    None
):
    sources, ports = allowed_sources("gateway")
    assert sources == {"namespace:ingress-nginx", *DOMAIN_SERVICES}
    assert ports == {PORTS["gateway"]}


@pytest.mark.parametrize("name", DOMAIN_SERVICES)
def test_given_the_network_policies_then_a_domain_service_hears_from_gateway_and_record(
    name: str,
) -> None:
    assert allowed_sources(name) == ({"gateway", "record"}, {PORTS[name]})


def test_given_the_ingress_then_it_leads_to_the_gateway_alone() -> None:
    backends = [
        path["backend"]["service"]
        for ingress in objects("Ingress").values()
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]
    assert backends == [{"name": "gateway", "port": {"number": PORTS["gateway"]}}]


def test_given_the_migration_job_then_it_runs_onestory_migrate_from_the_same_image() -> None:
    (container,) = containers(objects("Job")["onestory-migrate"])
    assert container["command"] == ["onestory", "migrate"]
    images = {c["image"] for workload in workloads() for c in containers(workload)}
    assert images == {"onestory"}
    (image,) = yaml.safe_load((PRODUCTION / "kustomization.yaml").read_text())["images"]
    assert image["name"] == "onestory" and image["newTag"]


def test_given_the_database_then_three_instances_back_up_to_object_storage_every_night() -> None:
    cluster = objects("Cluster")["onestory-db"]
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    assert cluster["spec"]["instances"] == 3
    store = cluster["spec"]["backup"]["barmanObjectStore"]
    assert store["destinationPath"].startswith("s3://")
    credentials = {ref["name"] for ref in store["s3Credentials"].values()}
    targets = {e["spec"]["target"]["name"] for e in objects("ExternalSecret").values()}
    assert credentials <= targets
    assert cluster["spec"]["bootstrap"]["initdb"]["secret"]["name"] in targets
    (backup,) = objects("ScheduledBackup").values()
    assert backup["spec"]["cluster"]["name"] == "onestory-db"
    assert len(backup["spec"]["schedule"].split()) == 6  # CloudNativePG: seconds first


def test_given_the_database_then_the_processes_using_it_may_connect() -> None:
    policy = objects("NetworkPolicy")["onestory-db"]["spec"]
    assert policy["podSelector"] == {"matchLabels": {"cnpg.io/cluster": "onestory-db"}}
    clients = {
        peer["podSelector"]["matchLabels"].get("app.kubernetes.io/component")
        for rule in policy["ingress"]
        for peer in rule["from"]
        if "podSelector" in peer
    }
    assert {"record", "gateway", "discharge", "migrate"} <= clients


def test_given_the_production_overlay_then_it_patches_only_what_the_base_has_and_scales_up() -> (
    None
):
    base = {(d["kind"], d["metadata"]["name"]) for _, d in documents(BASE)}
    for _, patch in documents(PRODUCTION):
        assert (patch["kind"], patch["metadata"]["name"]) in base
    for name, autoscaler in objects("HorizontalPodAutoscaler", PRODUCTION).items():
        base_autoscaler = objects("HorizontalPodAutoscaler")[name]["spec"]
        assert autoscaler["spec"]["minReplicas"] >= base_autoscaler["minReplicas"]
        assert autoscaler["spec"]["maxReplicas"] >= base_autoscaler["maxReplicas"]
    assert set(objects("HorizontalPodAutoscaler", PRODUCTION)) == set(NAMES)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_given_the_production_overlay_then_kustomize_renders_it_with_the_image_tag() -> None:
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(PRODUCTION)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    objects_rendered = [d for d in yaml.safe_load_all(rendered) if d]
    deployments = [d for d in objects_rendered if d["kind"] == "Deployment"]
    assert {d["metadata"]["name"] for d in deployments} == set(NAMES)
    assert all(d["metadata"]["namespace"] == "onestory" for d in deployments)
    (image,) = yaml.safe_load((PRODUCTION / "kustomization.yaml").read_text())["images"]
    for deployment in deployments:
        (container,) = containers(deployment)
        assert container["image"] == f"{image['newName']}:{image['newTag']}"


def test_given_the_secret_store_then_every_key_it_must_hold_is_documented() -> None:
    guide = (ROOT / "docs" / "deployment.md").read_text()
    keys = {
        item["remoteRef"]["key"]
        for external in objects("ExternalSecret").values()
        for item in external["spec"]["data"]
    }
    assert keys
    assert not [key for key in keys if f"`{key}`" not in guide]
