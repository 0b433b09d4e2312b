"""Deployment files: the Kubernetes manifests, the Dockerfile, env.example (issue #7).

Every manifest validates against the Kubernetes JSON schemas shipped by `kubernetes-validate`
(offline), strictly (an unknown field is an error). The security settings, probes and routes the
deployment guide relies on are asserted one by one.
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).parent.parent
K8S = REPO / "k8s"
KUBERNETES_VERSION = "1.30.0"  # the oldest version the manifests must work on (CronJob timeZone)
NAMESPACE = "omgsushi-pos"
SECRET = "omgsushi-pos-secrets"
API_HOST = "api.omgsushi.ttmenus.com"


def kustomization() -> dict:
    return yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))


@functools.cache
def _parsed(name: str) -> tuple[dict, ...]:
    text = (K8S / name).read_text(encoding="utf-8")
    return tuple(doc for doc in yaml.safe_load_all(text) if doc)


def documents(name: str) -> list[dict]:
    """The documents of one manifest (a fresh copy: tests may change them)."""
    return copy.deepcopy(list(_parsed(name)))


def resources() -> list[dict]:
    """Every resource kustomization.yaml applies."""
    return [doc for name in kustomization()["resources"] for doc in documents(name)]


def find(kind: str, name: str) -> dict:
    found = [r for r in resources() if r["kind"] == kind and r["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_specs() -> list[tuple[str, dict]]:
    """(workload name, pod spec) of every workload."""
    specs = []
    for r in resources():
        if r["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            specs.append((r["metadata"]["name"], r["spec"]["template"]["spec"]))
        elif r["kind"] == "CronJob":
            specs.append((r["metadata"]["name"],
                          r["spec"]["jobTemplate"]["spec"]["template"]["spec"]))
    return specs


def walk(node: object):
    """Every mapping inside ``node``, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def relay_container() -> dict:
    spec = find("Deployment", "pos-integration-service")["spec"]["template"]["spec"]
    return next(c for c in spec["containers"] if c["name"] == "relay")


# -- schemas -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", kustomization()["resources"])
def test_manifest_validates_against_the_kubernetes_schemas(name: str) -> None:
    import kubernetes_validate

    docs = documents(name)
    assert docs
    for doc in docs:
        # Raises ValidationError on a bad field and SchemaNotFoundError on an unknown kind.
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        assert doc["metadata"].get("namespace", NAMESPACE) == NAMESPACE


def test_kustomize_renders_valid_resources_with_generated_names_and_images() -> None:
    """What `kubectl apply -k k8s/` would send (kustomize runs offline; kubectl is optional)."""
    import shutil
    import subprocess

    import kubernetes_validate

    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed (the schema tests above still ran)")
    done = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    rendered = [doc for doc in yaml.safe_load_all(done.stdout) if doc]
    assert len(rendered) == len(resources()) + 1  # + the generated ConfigMap
    for doc in rendered:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        assert doc["metadata"].get("namespace", NAMESPACE) == NAMESPACE
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "hugo-pos"
    [config_map] = [d for d in rendered if d["kind"] == "ConfigMap"]
    assert config_map["metadata"]["name"].startswith("omgsushi-pos-site-")  # content hash
    assert sorted(config_map["data"]) == ["locations.yaml", "pos-mapping.yaml"]
    [deployment] = [d for d in rendered if d["kind"] == "Deployment"]
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["site-config"]["configMap"]["name"] == config_map["metadata"]["name"]
    image = kustomization()["images"][0]
    images = {c["image"] for node in walk(rendered) for c in node.get("containers", [])}
    assert f"{image['newName']}:{image['newTag']}" in images
    assert "hugo-pos" not in images


def test_strict_validation_catches_a_misspelt_field() -> None:
    import kubernetes_validate

    deployment = find("Deployment", "pos-integration-service")
    deployment["spec"]["template"]["spec"]["containers"][0]["readynessProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest_and_its_files_exist() -> None:
    config = kustomization()
    manifests = sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    assert sorted(config["resources"]) == manifests
    assert config["namespace"] == NAMESPACE
    generated = config["configMapGenerator"][0]
    assert generated["name"] == "omgsushi-pos-site"
    for rel in generated["files"]:
        assert (K8S / rel).is_file(), rel
    images = {i["name"] for i in config["images"]}
    used = {c["image"] for _, spec in pod_specs()
            for c in spec.get("containers", []) + spec.get("initContainers", [])
            if not c["image"].startswith(("postgres:", "alpine/git:"))}
    assert used == images == {"hugo-pos"}


def test_configmap_carries_the_example_sites_configuration() -> None:
    """k8s/config/ ships the example's files: they must not drift apart."""
    example = REPO / "examples" / "omgsushi" / "data"
    for rel in kustomization()["configMapGenerator"][0]["files"]:
        path = K8S / rel
        assert path.read_bytes() == (example / path.name).read_bytes(), rel


def test_the_shipped_configuration_loads_as_the_relay_loads_it(tmp_path: Path) -> None:
    """HUGO_POS_CONFIG=/etc/hugo-pos/locations.yaml: the mounted file validates on its own."""
    from hugo_pos.config import load_config

    mount = tmp_path / "etc-hugo-pos"
    mount.mkdir()
    for rel in kustomization()["configMapGenerator"][0]["files"]:
        (mount / Path(rel).name).write_bytes((K8S / rel).read_bytes())
    config = load_config(mount, env={}, locations_path=mount / "locations.yaml")
    assert config.location_ids == ("ariapita", "mucurapo", "diamond-vale")


# -- security ------------------------------------------------------------------------------------


@pytest.mark.parametrize("workload", [name for name, _ in pod_specs()])
def test_every_pod_runs_restricted(workload: str) -> None:
    spec = dict(pod_specs())[workload]
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["runAsUser"] != 0
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    for container in spec.get("initContainers", []) + spec["containers"]:
        where = f"{workload}/{container['name']}"
        sc = container["securityContext"]
        assert sc["runAsNonRoot"] is True, where
        assert sc["readOnlyRootFilesystem"] is True, where
        assert sc["allowPrivilegeEscalation"] is False, where
        assert sc.get("privileged", False) is False, where
        assert sc["capabilities"]["drop"] == ["ALL"], where
        assert "add" not in sc["capabilities"], where
        assert container["resources"]["requests"].keys() >= {"cpu", "memory"}, where
        assert container["resources"]["limits"].keys() >= {"cpu", "memory"}, where
        assert not any(e.get("value") and re.search(r"TOKEN|SECRET|PASSWORD|API_KEY", e["name"])
                       for e in container.get("env", [])), f"{where}: a secret written inline"


def test_namespace_enforces_the_restricted_pod_security_standard() -> None:
    labels = find("Namespace", NAMESPACE)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    deny = find("NetworkPolicy", "default-deny")["spec"]
    assert deny["podSelector"] == {} and deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny and "egress" not in deny


def test_relay_runs_two_replicas_with_probes_and_writable_tmp() -> None:
    deployment = find("Deployment", "pos-integration-service")
    assert deployment["spec"]["replicas"] >= 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    relay = relay_container()
    port = relay["ports"][0]
    assert (port["name"], port["containerPort"]) == ("http", 8000)
    assert relay["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert relay["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert relay["envFrom"] == [{"secretRef": {"name": SECRET}}]
    mounts = {m["mountPath"]: m["name"] for m in relay["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]  # gunicorn's heartbeat files; root is read-only
    env = {e["name"]: e.get("value") for e in relay["env"]}
    config_dir = str(Path(env["HUGO_POS_CONFIG"]).parent)
    assert volumes[mounts[config_dir]]["configMap"]["name"] == "omgsushi-pos-site"


def test_secret_keys_the_manifests_need_are_in_env_example() -> None:
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (REPO / "env.example").read_text(
        encoding="utf-8"), re.MULTILINE))
    needed = set()
    for ref in (node["secretKeyRef"] for node in walk(resources()) if "secretKeyRef" in node):
        assert ref["name"] == SECRET
        needed.add(ref["key"])
    assert needed >= {"POSTGRES_PASSWORD", "SITE_GIT_URL"}
    assert needed <= documented, needed - documented


# -- routing -------------------------------------------------------------------------------------


def ingress_prefixes() -> list[str]:
    ingress = find("Ingress", "pos-integration-service")
    [rule] = ingress["spec"]["rules"]
    assert rule["host"] == API_HOST
    assert ingress["spec"]["tls"] == [{"hosts": [API_HOST], "secretName": "omgsushi-pos-tls"}]
    for path in rule["http"]["paths"]:
        assert path["backend"]["service"] == {"name": "pos-integration-service",
                                              "port": {"name": "http"}}
    return [(p["path"], p["pathType"]) for p in rule["http"]["paths"]]


def test_the_ingress_lets_through_every_body_the_relay_takes():
    # Loyverse batches up to 100 full objects per webhook: a smaller proxy limit answers 413,
    # and after 200 failed tries Loyverse turns the webhook off.
    from hugo_pos.relay.app import MAX_BODY, MAX_WEBHOOK_BODY

    limit = find("Ingress", "pos-integration-service")["metadata"]["annotations"][
        "nginx.ingress.kubernetes.io/proxy-body-size"]
    size = int(limit[:-1]) * {"k": 1024, "m": 1024 ** 2}[limit[-1]]
    assert size >= max(MAX_BODY, MAX_WEBHOOK_BODY)


def routed(path: str) -> bool:
    """Whether the Ingress sends ``path`` to the relay (``Prefix`` matches element-wise)."""
    parts = path.strip("/").split("/")
    for rule, kind in ingress_prefixes():
        if kind == "Exact" and path == rule:
            return True
        if kind == "Prefix" and parts[:len(rule.strip("/").split("/"))] == rule.strip(
                "/").split("/"):
            return True
    return False


GUIDE_URLS = [("POST", "/v1/orders"), ("GET", "/v1/orders/7K3M-9QXP"),
              ("GET", "/v1/locations/ariapita/availability"), ("POST", "/webhooks/loyverse"),
              ("POST", "/webhooks/odoo/s3cret-token"), ("GET", "/board"),
              ("GET", "/healthz"), ("GET", "/readyz")]  # the last two for `hugo_pos doctor`


@pytest.fixture(scope="module")
def relay_urls(tmp_path_factory: pytest.TempPathFactory):
    """The URL map of the relay app, built from the example site as the container builds it."""
    from site_support import EXAMPLE, copy_site

    from hugo_pos.relay.app import create_app
    from hugo_pos.relay.settings import RelaySettings

    tmp = tmp_path_factory.mktemp("relay")
    site = copy_site(EXAMPLE, tmp / "site")
    settings = RelaySettings.from_env({
        "HUGO_POS_SITE": str(site), "HUGO_POS_WORKER": "off",
        "HUGO_POS_DATABASE_URL": f"sqlite:///{tmp / 'relay.db'}"})
    return create_app(settings).url_map.bind(API_HOST)


@pytest.mark.parametrize(("method", "path"), GUIDE_URLS)
def test_ingress_routes_the_guides_urls_to_a_relay_route(method: str, path: str,
                                                         relay_urls) -> None:
    assert routed(path)
    endpoint, _ = relay_urls.match(path, method=method)
    assert endpoint


@pytest.mark.parametrize("path", ["/metrics", "/openapi.json", "/healthz/x", "/"])
def test_ingress_keeps_internal_routes_private(path: str) -> None:
    assert not routed(path)


def test_service_hpa_pdb_and_network_policy_select_the_relay() -> None:
    labels = find("Deployment", "pos-integration-service")["spec"]["template"]["metadata"][
        "labels"]

    def selects(selector: dict) -> bool:
        return selector.items() <= labels.items()

    service = find("Service", "pos-integration-service")["spec"]
    assert selects(service["selector"])
    assert service["ports"][0]["targetPort"] == "http"
    hpa = find("HorizontalPodAutoscaler", "pos-integration-service")["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "name": "pos-integration-service"}
    assert hpa["minReplicas"] >= 2 and hpa["maxReplicas"] > hpa["minReplicas"]
    pdb = find("PodDisruptionBudget", "pos-integration-service")["spec"]
    assert selects(pdb["selector"]["matchLabels"]) and pdb["minAvailable"] >= 1
    policy = find("NetworkPolicy", "pos-integration-service")["spec"]
    assert selects(policy["podSelector"]["matchLabels"])
    assert policy["ingress"][0]["ports"] == [{"port": "http", "protocol": "TCP"}]
    database = find("NetworkPolicy", "postgres")["spec"]["ingress"][0]["from"]
    assert database == [{"podSelector": {"matchLabels": {
        "app.kubernetes.io/name": "pos-integration-service"}}}]


def test_menu_sync_cronjob_syncs_then_calls_the_rebuild_hook() -> None:
    cron = find("CronJob", "menu-sync-service")["spec"]
    assert cron["concurrencyPolicy"] == "Forbid"
    spec = cron["jobTemplate"]["spec"]["template"]["spec"]
    assert spec["restartPolicy"] == "Never"
    [sync] = spec["containers"]
    script = sync["command"][-1]
    assert re.search(r"^ *hugo_pos sync --site \S+ --provider \"\$provider\" --apply$", script,
                     re.MULTILINE)
    env = {e["name"]: e["value"] for e in sync["env"]}
    assert env["SYNC_PROVIDERS"].split() == ["loyverse", "odoo"]
    assert script.index("hugo_pos sync") < script.index("HUGO_POS_REBUILD_HOOK_URL")
    assert "set -eu" in script  # a failed sync must not trigger the rebuild
    assert sync["envFrom"] == [{"secretRef": {"name": SECRET}}]


# -- the image -----------------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of the Dockerfile, continuation lines joined."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def final_stage() -> list[tuple[str, str]]:
    steps = dockerfile()
    last = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last:]


def test_dockerfile_is_multi_stage_non_root_with_a_healthcheck() -> None:
    stages = [args for op, args in dockerfile() if op == "FROM"]
    assert len(stages) >= 2
    assert all("slim" in s or s.startswith("${PYTHON_IMAGE}") for s in stages)
    final = final_stage()
    users = [args for op, args in final if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    pod = dict(pod_specs())["pos-integration-service"]["securityContext"]
    assert users[-1] == f"{pod['runAsUser']}:{pod['runAsGroup']}"
    health = [args for op, args in final if op == "HEALTHCHECK"]
    assert len(health) == 1 and "/healthz" in health[0]
    cmd = [args for op, args in final if op == "CMD"][-1]
    assert cmd.startswith('["gunicorn"') and '"hugo_pos.relay.app:create_app()"' in cmd
    assert [args for op, args in final if op == "EXPOSE"] == ["8000"]
    # Only the venv comes from the build stage: no compiler, no source tree, no pip cache.
    assert [a for op, a in final if op == "COPY"][0] == "--from=build /opt/hugo-pos /opt/hugo-pos"


def test_dockerfile_bakes_no_secret_in() -> None:
    for op, args in dockerfile():
        if op in ("ENV", "ARG"):
            names = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", args) or [args.split()[0]]
            for name in names:
                assert not re.search(r"TOKEN|SECRET|PASSWORD|KEY|DATABASE_URL", name.upper()), \
                    f"{op} {name} in the Dockerfile"
        assert not (op == "COPY" and ".env" in args.split())


def test_dockerignore_admits_only_the_package() -> None:
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text(
        encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
    assert patterns[0] == "*"
    admitted = [p[1:].rstrip("/") for p in patterns if p.startswith("!")]
    assert "hugo_pos" in admitted and "gunicorn.conf.py" in admitted
    assert not any(a in (".env", "tests", "examples", ".git", "k8s") or a.startswith(".")
                   for a in admitted)
    assert "**/.env" in patterns
    for name in admitted:
        # Everything the Dockerfile's install needs exists (static/ and data/ may not yet).
        assert (REPO / name).exists() or name in ("static", "data", "i18n"), name


# -- env.example ---------------------------------------------------------------------------------


def env_example() -> str:
    return (REPO / "env.example").read_text(encoding="utf-8")


def documented_names() -> list[str]:
    return re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", env_example(), re.MULTILINE)


def names_read_by_the_project() -> set[str]:
    """Env var names the code, the example site, the manifests and gunicorn.conf.py read."""
    names: set[str] = set()
    sources = [*(REPO / "hugo_pos").rglob("*.py"), *(REPO / "k8s").glob("*.yaml"),
               *(REPO / "examples" / "omgsushi" / "data").glob("*.yaml"),
               REPO / "gunicorn.conf.py", REPO / "netlify.toml"]
    for path in sources:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".yaml":
            text = "\n".join(line for line in text.splitlines()
                             if not line.lstrip().startswith("#"))
        names.update(re.findall(r"[\"'](HUGO_POS_[A-Z0-9_]+)[\"']", text))
        names.update(re.findall(r"environ\.get\(\s*[\"']([A-Z][A-Z0-9_]+)", text))
        names.update(re.findall(r"env=\"([A-Z0-9_]+)\"", text))
        names.update(re.findall(r"env\s+[`\"]([A-Z0-9_]+)[`\"]", text))
        names.update(re.findall(r"key: ([A-Z0-9_]+)\b", text))
        names.update(re.findall(r"\$\{?([A-Z][A-Z0-9_]+)", text))
    # Docstrings show the syntax with placeholder names.
    return {n for n in names if len(n) > 1} - {"HOME", "PATH", "NAME"}


def test_env_example_documents_every_variable_read() -> None:
    documented = set(documented_names())
    read = names_read_by_the_project()
    assert {"POS_API_URL", "HUGO_POS_DATABASE_URL", "HUGO_POS_WEBHOOK_TOKEN",
            "LOYVERSE_ACCESS_TOKEN_ARIAPITA", "ODOO_API_KEY_DIAMOND_VALE"} <= read
    missing = read - documented - {"SYNC_PROVIDERS"}  # set by the CronJob itself
    assert not missing, f"read but not in env.example: {sorted(missing)}"


def test_env_example_lists_each_variable_once_in_a_format_kubectl_reads() -> None:
    names = documented_names()
    assert len(names) == len(set(names)), "a variable is listed twice"
    for line in env_example().splitlines():
        if line.strip() and not line.startswith("#"):
            # kubectl --from-env-file keeps quotes and "# ..." as part of the value.
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*=[^\s\"'#]*", line), line


def test_env_example_groups_each_location_by_provider() -> None:
    sections = dict(re.findall(r"^# ==== (.+?) =+\n(.*?)(?=^# ====|\Z)", env_example(),
                               re.MULTILINE | re.DOTALL))
    expected = {"ariapita": ("Loyverse", "Odoo"), "mucurapo": ("Loyverse",),
                "diamond-vale": ("Odoo",)}
    for location, providers in expected.items():
        [body] = [body for title, body in sections.items()
                  if title.startswith("Location:") and f"({location})" in title]
        suffix = location.upper().replace("-", "_")
        assert re.findall(r"^# -- (\w+)", body, re.MULTILINE) == list(providers)
        names = re.findall(r"^([A-Z0-9_]+)=", body, re.MULTILINE)
        assert names and all(n.endswith(f"_{suffix}") for n in names)


def test_public_relay_host_agrees_everywhere() -> None:
    """The Ingress host, POS_API_URL and the site's Content-Security-Policy name one origin."""
    import tomllib

    assert f"POS_API_URL=https://{API_HOST}\n" in env_example()
    netlify = tomllib.loads((REPO / "netlify.toml").read_text(encoding="utf-8"))
    csp = next(h["values"]["Content-Security-Policy"] for h in netlify["headers"]
               if h["for"] == "/*")
    connect = next(d for d in csp.split(";") if d.strip().startswith("connect-src"))
    assert f"https://{API_HOST}" in connect.split()


# -- the README's deployment steps ---------------------------------------------------------------


def readme_deployment() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return text.split("\n## Deployment\n", 1)[1].split("\n## ", 1)[0]


def test_readme_deployment_commands_name_real_files_and_objects() -> None:
    section = readme_deployment()
    commands = [line.strip() for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
                for line in block.splitlines() if line.strip()]
    steps = ["kubectl apply -f k8s/namespace.yaml",
             f"kubectl create secret generic {SECRET} --from-env-file=.env -n {NAMESPACE}",
             "kubectl apply -k k8s/",
             f"kubectl -n {NAMESPACE} rollout status deployment/pos-integration-service"]
    assert [c for c in commands if c.startswith("kubectl")] == steps  # in the guide's order
    for path in re.findall(r"`((?:k8s/|env\.example|netlify\.toml|Dockerfile)[\w./-]*)`",
                           section):
        assert (REPO / path).exists(), path
    for kind, name in re.findall(r"\b(deployment|svc)/([\w-]+)", section):
        find({"deployment": "Deployment", "svc": "Service"}[kind], name)
    image = kustomization()["images"][0]
    assert f"docker build -t {image['newName']}:{image['newTag']} ." in commands


def test_readme_webhook_urls_reach_the_relay(relay_urls) -> None:
    urls = set(re.findall(rf"https://{re.escape(API_HOST)}(/[\w/]+)", readme_deployment()))
    assert {"/webhooks/loyverse", "/webhooks/loyverse/TOKEN", "/webhooks/odoo/TOKEN",
            "/board"} <= urls
    for path in urls:
        assert routed(path), path
        method = "POST" if path.startswith("/webhooks/") else "GET"
        assert relay_urls.match(path, method=method)[0]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_container_command_and_healthcheck_serve_the_relay(built_example: Path,
                                                           tmp_path: Path) -> None:
    """Run the image's CMD and HEALTHCHECK as they are written (only the paths and the port
    differ): gunicorn serves the relay of a built site, /healthz and /readyz answer."""
    import json
    import os
    import subprocess
    import sys
    import time

    import requests

    final = final_stage()
    env_line = " ".join(args for op, args in final if op == "ENV")
    assert "HOME=/tmp" in env_line  # the only writable directory of the read-only root
    port = free_port()
    command = [{"/app/gunicorn.conf.py": str(REPO / "gunicorn.conf.py"),
                "0.0.0.0:8000": f"127.0.0.1:{port}"}.get(arg, arg)
               for arg in json.loads([args for op, args in final if op == "CMD"][-1])]
    conf = str(REPO / "gunicorn.conf.py")
    if not Path(conf).is_file():
        command = [arg for arg in command if arg not in ("--config", conf)]
    home = tmp_path / "tmp"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "HUGO_POS_SITE": str(built_example),
           "HUGO_POS_DATABASE_URL": f"sqlite:///{tmp_path / 'relay.db'}"}
    server = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
                break
            except requests.ConnectionError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "gunicorn did not start in 30 s"
                time.sleep(0.1)  # waiting for a real subprocess to bind its port
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        health = json.loads([args for op, args in final if op == "HEALTHCHECK"][-1].split(
            "CMD", 1)[1].strip())
        health = [arg.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for arg in health]
        assert health[0] == "python"
        done = subprocess.run([sys.executable, *health[1:]], timeout=10)
        assert done.returncode == 0
    finally:
        server.terminate()
        server.wait(timeout=30)
