"""docker-compose.yml: every OneStory process from the one image, configured with variables
its settings read, credentials the Keycloak realm knows, health checks and start order."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.deploy.manifests import (
    DOMAIN_SERVICES,
    NAMES,
    PORTS,
    REALM,
    ROOT,
    compose,
    compose_service,
    variables_read_by,
)

IMAGE = "onestory:local"
OTLP_HTTP = "http://otel-collector:4318"


def realm() -> dict[str, object]:
    loaded: dict[str, object] = json.loads(REALM.read_text())
    return loaded


def realm_client(client_id: str) -> dict[str, object]:
    clients = realm()["clients"]
    assert isinstance(clients, list)
    return next(client for client in clients if client["clientId"] == client_id)


def test_given_compose_then_every_service_runs_from_the_dockerfile_image_by_its_command() -> None:
    for name in NAMES:
        service = compose_service(name)
        assert service["build"] == ".", name
        assert service["image"] == IMAGE, name
        assert service["command"] == ["onestory", "serve", name]


@pytest.mark.parametrize("name", NAMES)
def test_given_a_service_then_compose_waits_for_its_graceful_shutdown(name: str) -> None:
    """Twice the default ONESTORY_SHUTDOWN_GRACE_SECONDS: requests, then deliveries."""
    grace = compose_service(name)["stop_grace_period"]

    assert grace.endswith("s") and int(grace[:-1]) > 2 * 20


def test_given_compose_then_the_migration_runs_once_from_the_same_image() -> None:
    migrate = compose_service("migrate")
    assert migrate["image"] == IMAGE
    assert migrate["command"] == ["onestory", "migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"] == {"condition": "service_healthy"}


@pytest.mark.parametrize("name", NAMES)
def test_given_a_service_then_it_waits_for_the_migration_and_has_a_readiness_check(
    name: str,
) -> None:
    service = compose_service(name)
    assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    check = service["healthcheck"]["test"]
    assert check == ["CMD", "python", "-m", "shared.healthcheck", "--ready"]


@pytest.mark.parametrize("name", [*NAMES, "migrate"])
def test_given_a_process_then_every_onestory_variable_it_is_given_is_one_it_reads(
    name: str,
) -> None:
    given = {key for key in compose_service(name)["environment"] if key.startswith("ONESTORY_")}
    unread = given - variables_read_by(name)
    assert not unread, f"{name} is given variables its settings ignore: {sorted(unread)}"


@pytest.mark.parametrize("name", [*NAMES, "migrate"])
def test_given_a_process_then_it_runs_in_production_mode_and_exports_traces_to_the_collector(
    name: str,
) -> None:
    environment = compose_service(name)["environment"]
    assert environment["ONESTORY_ENVIRONMENT"] == "production"
    assert environment["ONESTORY_TELEMETRY_EXPORTER"] == "otlp"
    assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == OTLP_HTTP
    assert "otel-collector" in compose_service(name)["depends_on"]


def test_given_the_tokens_keycloak_issues_then_every_process_expects_that_issuer() -> None:
    hostname = compose_service("keycloak")["environment"]["KC_HOSTNAME"]
    issuer = f"{hostname}/realms/{realm()['realm']}"
    for name in NAMES:
        environment = compose_service(name)["environment"]
        assert environment["ONESTORY_AUTH_ISSUER"] == issuer, name
        assert environment["ONESTORY_AUTH_JWKS_URL"].startswith("http://keycloak:8080/realms/")


@pytest.mark.parametrize("name", ["gateway", *DOMAIN_SERVICES])
def test_given_a_process_calling_in_its_own_name_then_its_client_and_secret_are_in_the_realm(
    name: str,
) -> None:
    environment = compose_service(name)["environment"]
    client = realm_client(environment["ONESTORY_CLIENT_ID"])
    assert environment["ONESTORY_CLIENT_ID"] == f"onestory-{name}"
    assert client["serviceAccountsEnabled"] is True
    assert client["secret"] == environment["ONESTORY_CLIENT_SECRET"]
    scopes = [*client["defaultClientScopes"], *client["optionalClientScopes"]]  # type: ignore[misc]
    assert "system/*.cruds" in scopes  # what shared.auth.credentials asks for


def test_given_the_gateway_then_it_routes_to_every_service_by_its_compose_name_and_port() -> None:
    routes = json.loads(compose_service("gateway")["environment"]["ONESTORY_SERVICES"])
    assert routes == {name: f"http://{name}:{PORTS[name]}" for name in NAMES if name != "gateway"}
    assert "8080:8080" in compose_service("gateway")["ports"]


@pytest.mark.parametrize("name", DOMAIN_SERVICES)
def test_given_a_domain_service_then_it_calls_the_gateway_and_is_told_at_its_own_address(
    name: str,
) -> None:
    environment = compose_service(name)["environment"]
    assert environment["ONESTORY_GATEWAY_URL"] == f"http://gateway:{PORTS['gateway']}/fhir"
    assert environment[f"ONESTORY_{name.upper()}_PUBLIC_URL"] == f"http://{name}:{PORTS[name]}"
    assert environment[f"ONESTORY_{name.upper()}_NOTIFICATION_SECRET"]


def test_given_the_demo_loader_then_its_token_comes_from_a_realm_client_and_its_python_runs() -> (
    None
):
    loader = compose_service("demo-loader")
    environment = loader["environment"]
    assert realm_client(environment["CLIENT_ID"])["secret"] == environment["CLIENT_SECRET"]
    assert environment["TOKEN_URL"].startswith("http://keycloak:8080/realms/onestory/")
    script = loader["command"][-1].replace("$$", "$")  # compose's escape for a literal $
    assert "python -m services.record.demo_loader --base" in script
    snippets = [part.split("'")[0] for part in script.split("python -c '")[1:]]
    assert len(snippets) == 2
    for snippet in snippets:
        compile(snippet, "demo-loader", "exec")
    for name in ("gateway", *DOMAIN_SERVICES):
        assert loader["depends_on"][name] == {"condition": "service_healthy"}
    mounted = [volume.split(":")[0] for volume in loader["volumes"]]
    assert all((ROOT / path).is_file() for path in mounted)


def test_given_the_collector_then_it_receives_otlp_over_http_and_sends_traces_to_jaeger() -> None:
    collector = compose_service("otel-collector")
    config_path = next(v.split(":")[0] for v in collector["volumes"] if "collector" in v)
    config = yaml.safe_load((ROOT / config_path).read_text())
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    traces = config["service"]["pipelines"]["traces"]
    assert traces["receivers"] == ["otlp"]
    assert config["exporters"]["otlp/jaeger"]["endpoint"] == "jaeger:4317"
    assert all(exporter in config["exporters"] for exporter in traces["exporters"])
    assert "16686:16686" in compose_service("jaeger")["ports"]


def test_given_compose_then_its_header_no_longer_lists_missing_parts() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert "Not here yet" not in text
    for login in ("case.manager", "discharge.coordinator", "dsr.lead", "resident"):
        assert login in text
    assert set(compose()["services"]) >= {"postgres", "keycloak", "jaeger", "demo-loader"}
