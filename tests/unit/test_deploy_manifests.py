"""deploy/compose.yaml and deploy/k8s/ run what `orderly cluster up` runs from deploy/cluster.toml:
each process with its arguments and port, probed on its health routes, the replicated contexts
with their second processes, migrated once, with the cluster's shared settings."""

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from orderly.bootstrap import DRAIN_WITHIN
from orderly.config import ALL_CONTEXTS
from orderly.entrypoints.cluster.plan import Cluster, Process, load

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
CLUSTER = DEPLOY / "cluster.toml"
# the compose services that are not processes of the plan
INFRASTRUCTURE = {"postgres", "rabbitmq", "migrate"}
# what the settings' URLs name instead of the plan's host: the services of these names
SERVICES = {"ORDERLY_DATABASE_URL": "postgres", "ORDERLY_BROKER_URL": "rabbitmq"}

Processes = dict[str, tuple[tuple[str, ...], int]]


@pytest.fixture
def cluster(tmp_path: Path) -> Cluster:
    return load(CLUSTER, tmp_path)


def compose() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    return services


def k8s(kind: str) -> dict[str, dict[str, Any]]:
    """Every resource of `kind` in deploy/k8s/*.yaml, by name."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for resource in yaml.safe_load_all(path.read_text()):
            if resource and resource["kind"] == kind:
                assert resource["metadata"]["name"] not in found, f"two {kind}s of one name"
                found[resource["metadata"]["name"]] = resource
    return found


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(only)


def compose_processes() -> Processes:
    return {
        name: (tuple(service["command"]), int(service["ports"][0].rsplit(":", 1)[1]))
        for name, service in compose().items()
        if name not in INFRASTRUCTURE
    }


def k8s_processes() -> Processes:
    found: Processes = {}
    for name, deployment in k8s("Deployment").items():
        (port,) = container(deployment)["ports"]
        assert port["name"] == "http", name
        found[name] = (tuple(container(deployment)["args"]), int(port["containerPort"]))
    return found


def expected(cluster: Cluster) -> Processes:
    """The plan's processes as a container runs them: listening on every address."""
    return {p.name: (in_container(p.args), p.port) for p in cluster.processes}


def in_container(args: tuple[str, ...]) -> tuple[str, ...]:
    host = args.index("--host") + 1
    return (*args[:host], "0.0.0.0", *args[host + 1 :])


def same_as_plan(found: Processes, cluster: Cluster) -> None:
    assert found == expected(cluster)


def health_paths(process: Process) -> tuple[str, str]:
    """Readiness and liveness: a simulator has only /health."""
    return ("/health/ready", "/health/live") if process.context else ("/health", "/health")


def label(process: Process) -> str:
    """What the manifests call a process's context (a simulator is its own)."""
    return process.context or process.name


READERS: dict[str, Callable[[], Processes]] = {
    "compose": compose_processes,
    "kubernetes": k8s_processes,
}


@pytest.mark.parametrize("read", READERS.values(), ids=READERS.keys())
def test_every_process_of_the_cluster_runs_with_its_arguments_and_port(
    read: Callable[[], Processes], cluster: Cluster
) -> None:
    same_as_plan(read(), cluster)


@pytest.mark.parametrize("read", READERS.values(), ids=READERS.keys())
def test_a_process_added_to_the_cluster_alone_is_missed(
    read: Callable[[], Processes], tmp_path: Path
) -> None:
    # given the cluster's config with a replica the manifests do not have
    config = tmp_path / "cluster.toml"
    config.write_text(CLUSTER.read_text().replace("[replicas]\n", "[replicas]\ncatalog = [3102]\n"))
    grown = load(config, tmp_path / "home")
    assert "catalog-2" in {p.name for p in grown.processes}

    # then the manifests are found wanting
    with pytest.raises(AssertionError):
        same_as_plan(read(), grown)


def test_compose_checks_each_process_on_its_health_route(cluster: Cluster) -> None:
    services = compose()
    for process in cluster.processes:
        service = services[process.name]
        ready, _ = health_paths(process)
        probe = " ".join(service["healthcheck"]["test"])
        assert f"http://127.0.0.1:{process.port}{ready}'" in probe, process.name
        assert service["restart"] == "unless-stopped", process.name
        assert seconds(service["stop_grace_period"]) > DRAIN_WITHIN, process.name


def test_compose_migrates_once_before_any_process_of_a_context_starts(cluster: Cluster) -> None:
    services = compose()
    migrate = services["migrate"]
    assert migrate["command"] == ["migrate"]
    assert migrate["restart"] == "no"
    assert migrate["environment"]["ORDERLY_CONTEXTS"] == ",".join(ALL_CONTEXTS)
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for process in cluster.processes:
        if process.context:
            after = services[process.name]["depends_on"]["migrate"]["condition"]
            assert after == "service_completed_successfully", process.name


def test_compose_database_and_broker_are_checked_and_kept_on_volumes() -> None:
    services = compose()
    for name, where in (
        ("postgres", "/var/lib/postgresql/data"),
        ("rabbitmq", "/var/lib/rabbitmq"),
    ):
        assert services[name]["healthcheck"]["test"], name
        assert f"{name}:{where}" in services[name]["volumes"]
        assert services[name]["restart"] == "unless-stopped"


def test_compose_gives_each_process_the_clusters_settings(cluster: Cluster) -> None:
    services = compose()
    for process in cluster.processes:
        if process.context:
            # the secrets come from deploy/.env, never from the file itself
            environment = services[process.name]["environment"]
            assert shared_settings(environment, cluster) == [], process.name


def test_k8s_probes_each_process_on_its_health_routes(cluster: Cluster) -> None:
    deployments = k8s("Deployment")
    for process in cluster.processes:
        deployment = deployments[process.name]
        runs = container(deployment)
        ready, live = health_paths(process)
        assert runs["readinessProbe"]["httpGet"] == {"path": ready, "port": "http"}
        assert runs["livenessProbe"]["httpGet"] == {"path": live, "port": "http"}
        assert set(runs["resources"]) == {"requests", "limits"}, process.name
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert grace > DRAIN_WITHIN, process.name


def test_k8s_runs_as_many_processes_of_each_context_as_the_cluster(cluster: Cluster) -> None:
    planned = Counter(label(p) for p in cluster.processes)
    deployments = k8s("Deployment")
    running: Counter[str] = Counter()
    for deployment in deployments.values():
        running[context_of(deployment)] += deployment["spec"]["replicas"]
    assert {c: running[c] for c in planned} == planned
    # the outbox relay runs in one process of each context: its first
    for context in planned:
        relaying = [
            name
            for name, deployment in deployments.items()
            if context_of(deployment) == context
            and "--no-relay" not in container(deployment)["args"]
        ]
        assert len(relaying) == 1, context


def test_k8s_keeps_one_process_of_a_replicated_context_up_in_a_disruption(
    cluster: Cluster,
) -> None:
    replicated = {c for c, n in Counter(label(p) for p in cluster.processes).items() if n > 1}
    assert replicated, "the cluster replicates no context"
    budgets = {
        budget["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]: budget["spec"]
        for budget in k8s("PodDisruptionBudget").values()
    }
    assert set(budgets) == replicated
    assert all(budget["minAvailable"] == 1 for budget in budgets.values())


def test_k8s_serves_each_context_on_its_port_from_all_its_processes(cluster: Cluster) -> None:
    services, deployments = k8s("Service"), k8s("Deployment")
    for process in cluster.processes:
        if process.name != label(process):
            continue  # a second process, behind its context's Service
        service = services[process.name]["spec"]
        (port,) = service["ports"]
        assert (port["port"], port["targetPort"]) == (process.port, "http"), process.name
        selected = {
            name
            for name, deployment in deployments.items()
            if service["selector"].items() <= pod_labels(deployment).items()
        }
        assert selected == {p.name for p in cluster.processes if label(p) == process.name}


def test_k8s_migrates_every_context_in_a_job() -> None:
    (job,) = k8s("Job").values()
    runs = job["spec"]["template"]["spec"]["containers"][0]
    assert runs["args"] == ["migrate"]
    env = {item["name"]: item.get("value") for item in runs["env"]}
    assert env["ORDERLY_CONTEXTS"] == ",".join(ALL_CONTEXTS)


def test_k8s_gives_each_process_the_clusters_settings(cluster: Cluster) -> None:
    (config,) = k8s("ConfigMap").values()
    (secret,) = k8s("Secret").values()
    # no secret is committed: each is filled in where the cluster is deployed
    assert secret["stringData"] == dict.fromkeys(secret["stringData"], "")
    assert "ORDERLY_SERVICE_KEY" in secret["stringData"]
    deployments = k8s("Deployment")
    for process in cluster.processes:
        if process.context:
            runs = container(deployments[process.name])
            assert runs["envFrom"] == [{"configMapRef": {"name": config["metadata"]["name"]}}]
            environment = {**config["data"], **own_env(runs)}
            assert shared_settings(environment, cluster) == [], process.name


def test_k8s_database_and_broker_are_stateful_sets_behind_services() -> None:
    sets, services = k8s("StatefulSet"), k8s("Service")
    for name in ("postgres", "rabbitmq"):
        assert sets[name]["spec"]["serviceName"] == name
        assert sets[name]["spec"]["volumeClaimTemplates"], name
        assert name in services


def shared_settings(environment: dict[str, str], cluster: Cluster) -> list[str]:
    """The plan's shared settings this environment lacks or gets wrong."""
    ports = {p.port: p.name for p in cluster.processes}
    return [
        key
        for key, value in cluster.shared.items()
        if not setting_matches(key, value, str(environment.get(key, "")), ports, cluster.host)
    ]


def setting_matches(key: str, planned: str, found: str, ports: dict[int, str], host: str) -> bool:
    """The plan's value, or the same place where the plan names its host: a URL of the
    database's or broker's service, or of the process on that port; the service key is
    the deployment's own."""
    # Compose's ${NAME:?...} and Kubernetes' $(NAME) stand for a secret
    found = re.sub(r"\$\{[^}]*\}|\$\([A-Z_]+\)", "secret", found)
    if key == "ORDERLY_SERVICE_KEY":
        return found == "secret"
    if key in SERVICES:
        url, plan = urlsplit(found), urlsplit(planned)
        return (url.scheme, url.hostname, url.port) == (plan.scheme, SERVICES[key], plan.port)
    if planned.startswith(f"http://{host}:"):
        port = urlsplit(planned).port or 0
        return found == f"http://{ports.get(port)}:{port}"
    return found == planned


def own_env(runs: dict[str, Any]) -> dict[str, str]:
    """A container's own variables; one taken from a Secret stands as $(SECRET)."""
    secret = "$(SECRET)"
    return {item["name"]: item.get("value", secret) for item in runs["env"]}


def context_of(deployment: dict[str, Any]) -> str:
    return str(pod_labels(deployment)["app.kubernetes.io/name"])


def pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    return dict(deployment["spec"]["template"]["metadata"]["labels"])


def seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)s", duration)
    assert match, duration
    return float(match[1])
