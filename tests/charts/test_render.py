"""`helm lint --strict` and `helm template` assertions for both charts and both overlays.

What urumi and a plain helm user rely on: the objects exist, the urumi contract holds (names,
labels, Secret keys, setup Job per revision), every image is pinned, every container has requests
and limits, the namespace quota fits everything the release runs, pods meet the restricted Pod
Security profile, and the NetworkPolicies isolate the store.
"""

from __future__ import annotations

import base64
import re
import shutil

import pytest
import yaml
from chartlib import CHART_NAMES, CHARTS, COMPONENTS, OVERLAYS, RELEASE, quantity

WEB_SERVICE = {"woocommerce": ("shop-wordpress", 8080), "medusa": ("shop-medusa", 9000)}
DB_PORT = {"woocommerce": 3306, "medusa": 5432}
SECRET_KEYS = {
    "woocommerce": {
        "admin-username", "admin-password", "db-password", "db-root-password",
        "auth-key", "secure-auth-key", "logged-in-key", "nonce-key",
        "auth-salt", "secure-auth-salt", "logged-in-salt", "nonce-salt",
    },
    "medusa": {"admin-username", "admin-password", "postgres-password", "jwt-secret", "cookie-secret"},
}
COMPONENTS_BY_CHART = {
    "woocommerce": {"web", "database", "setup", "test"},
    "medusa": {"web", "database", "cache", "setup"},
}

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module", params=[(c, o) for c in CHART_NAMES for o in OVERLAYS], ids=lambda p: f"{p[0]}-{p[1]}")
def rendered(request, helm):
    chart, overlay = request.param
    return chart, overlay, helm.template(chart, overlay)


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("chart", CHART_NAMES)
def test_lint_strict(any_helm, chart, overlay):
    result = any_helm.run("lint", "--strict", str(CHARTS / chart), "-f", str(CHARTS / chart / f"values-{overlay}.yaml"))
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("chart", CHART_NAMES)
def test_renders_with_its_own_values_only(any_helm, chart):
    # Plain `helm install shop charts/<chart>` without any overlay works too.
    manifests = any_helm.template(chart, overlay=None)
    assert manifests.kind("Job")


def test_expected_objects(rendered):
    chart, overlay, m = rendered
    web, _port = WEB_SERVICE[chart]
    m.get("Deployment", web)
    m.get("Service", web)
    m.get("Ingress", web)
    statefulsets = {s["metadata"]["name"] for s in m.kind("StatefulSet")}
    assert statefulsets == ({"shop-mariadb"} if chart == "woocommerce" else {"shop-postgresql", "shop-redis"})
    for name in statefulsets:
        m.get("Service", name)
        claim = m.get("StatefulSet", name)["spec"]["volumeClaimTemplates"][0]
        assert claim["spec"]["resources"]["requests"]["storage"]
    assert len(m.kind("PersistentVolumeClaim")) == 1
    assert len(m.kind("ResourceQuota")) == 1
    assert len(m.kind("LimitRange")) == 1
    assert len(m.kind("NetworkPolicy")) >= 4
    # urumi creates the namespace (with its labels); the charts never do.
    assert not m.kind("Namespace")
    # Plain helm: the chart's own Secret.
    assert m.get("Secret", "shop-credentials")


def test_storage_class_per_overlay(rendered):
    chart, overlay, m = rendered
    expected = {"local": "standard", "prod": "local-path"}[overlay]
    claims = [c["spec"] for c in m.kind("PersistentVolumeClaim")]
    claims += [t["spec"] for s in m.kind("StatefulSet") for t in s["spec"]["volumeClaimTemplates"]]
    assert claims and all(c.get("storageClassName") == expected for c in claims)


def test_ingress_host_class_and_tls(rendered):
    chart, overlay, m = rendered
    ingress = m.kind("Ingress")[0]
    spec = ingress["spec"]
    assert spec["ingressClassName"] == "traefik"
    host = spec["rules"][0]["host"]
    backend = spec["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == WEB_SERVICE[chart][0]
    if overlay == "local":
        assert host == "shop.localhost"
        assert "tls" not in spec
    else:
        assert host == "shop.example.com"
        assert spec["tls"] == [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}]
        assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"


def test_store_url_is_exact(rendered):
    chart, overlay, m = rendered
    url = {"local": "http://shop.localhost", "prod": "https://shop.example.com"}[overlay]
    job = m.kind("Job")[0]
    env = {e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    if chart == "woocommerce":
        assert env["WP_URL"] == url
        web = m.get("Deployment", "shop-wordpress")["spec"]["template"]["spec"]["containers"][0]
        extra = next(e["value"] for e in web["env"] if e["name"] == "WORDPRESS_CONFIG_EXTRA")
        assert f"define('WP_HOME', '{url}');" in extra and f"define('WP_SITEURL', '{url}');" in extra
    else:
        assert env["STORE_URL"] == url
        assert env["STORE_CORS"] == env["ADMIN_CORS"] == env["AUTH_CORS"] == url
    assert env["STORE_HOST"] == url.split("://")[1]


def test_pod_labels_follow_the_urumi_contract(rendered):
    chart, _overlay, m = rendered
    seen = set()
    for owner, meta, _spec, _replicas in m.pod_specs():
        labels = meta["labels"]
        assert labels["app.kubernetes.io/name"] == chart, owner
        assert labels["app.kubernetes.io/instance"] == RELEASE, owner
        assert labels["app.kubernetes.io/managed-by"] == "Helm", owner
        assert labels["app.kubernetes.io/component"] in COMPONENTS, owner
        seen.add(labels["app.kubernetes.io/component"])
    assert seen == COMPONENTS_BY_CHART[chart]


def test_setup_job_is_named_per_revision_and_bounded(rendered):
    chart, _overlay, m = rendered
    (job,) = m.kind("Job")
    assert job["metadata"]["name"] == "shop-setup-1"
    assert "helm.sh/hook" not in job["metadata"].get("annotations", {})
    assert 0 < job["spec"]["backoffLimit"] <= 3
    assert 60 <= job["spec"]["activeDeadlineSeconds"] <= 3600
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == "setup"


def test_woocommerce_setup_job_runs_the_verifying_script(helm):
    m = helm.template("woocommerce")
    job = m.get("Job", "shop-setup-1")["spec"]["template"]["spec"]
    (container,) = job["containers"]
    assert container["image"] == "wordpress:cli-2.12.0-php8.3"
    assert container["command"] == ["bash", "/urumi/setup.sh"]
    # wp-cli runs as www-data of the Apache image (33), not the cli image's 82.
    assert job["securityContext"]["runAsUser"] == 33 and job["securityContext"]["runAsGroup"] == 33
    # First the packages (a failed download is the Job's only failure), then WordPress core from
    # the web image itself, copied by the chart's script.
    fetch, init = job["initContainers"]
    web = m.get("Deployment", "shop-wordpress")["spec"]["template"]["spec"]
    assert fetch["name"] == "fetch-packages" and fetch["command"] == ["bash", "/urumi/fetch-packages.sh"]
    assert fetch["image"] == web["containers"][0]["image"]  # curl and PHP with zip, no image of its own
    fetch_env = {e["name"]: e.get("value") for e in fetch["env"]}
    assert fetch_env["WC_VERSION"] == "11.0.1" and fetch_env["PACKAGES_DIR"] == "/fetched"
    mounts = {v["name"]: v for v in fetch["volumeMounts"]}
    assert mounts["wp-content"]["readOnly"] is True and mounts["fetched-packages"]["mountPath"] == "/fetched"
    assert {v["name"]: v for v in container["volumeMounts"]}["fetched-packages"]["readOnly"] is True
    assert init == web["initContainers"][0]
    assert init["image"] == web["containers"][0]["image"]
    scripts = m.get("ConfigMap", "shop-scripts")["data"]
    assert scripts["setup.sh"] == (CHARTS / "woocommerce/files/setup.sh").read_text()
    assert scripts["fetch-packages.sh"] == (CHARTS / "woocommerce/files/fetch-packages.sh").read_text()
    for php in ("inspect.php", "activate.php", "configure.php", "verify.php"):
        assert scripts[php] == (CHARTS / "woocommerce/files/php" / php).read_text(), php
    assert "'woocommerce_enable_guest_checkout', 'yes'" in scripts["configure.php"]
    assert "'woocommerce_coming_soon', 'no'" in scripts["configure.php"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["WC_VERSION"] == "11.0.1" and env["STOREFRONT_VERSION"] == "4.6.2"
    assert env["WC_PACKAGE"] == env["STOREFRONT_PACKAGE"] == ""  # = downloads.wordpress.org
    assert env["URUMI_LOOPBACK_URL"] == "http://shop-wordpress"
    skus = [line.split("\t")[0] for line in scripts["products.tsv"].splitlines() if line]
    assert skus == ["URUMI-MUG", "URUMI-TEE", "URUMI-CAP"]


def test_woocommerce_core_is_copied_by_the_chart_not_the_image_entrypoint(helm):
    """The official entrypoint's tar copy fails as uid 33 in volumes it does not own: an init
    container runs files/copy-core.sh, and Apache starts without the entrypoint."""
    m = helm.template("woocommerce")
    pod = m.get("Deployment", "shop-wordpress")["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    assert init["name"] == "wordpress-core" and init["command"] == ["bash", "/urumi-web/copy-core.sh"]
    mounts = {v["mountPath"]: v["name"] for v in init["volumeMounts"]}
    assert mounts["/var/www/html"] == "docroot" and mounts["/var/www/html/wp-content"] == "wp-content"
    assert mounts["/urumi-web"] == "web-config"
    (web,) = pod["containers"]
    assert web["command"] == ["apache2-foreground"]
    env = {e["name"]: e.get("value") for e in web["env"]}
    assert env["URUMI_LOOPBACK_URL"] == "http://127.0.0.1:8080"
    assert "WORDPRESS_DB_HOST" in env and "WORDPRESS_CONFIG_EXTRA" in env  # read by wp-config-docker.php
    config = m.get("ConfigMap", "shop-wordpress-config")["data"]
    assert config["copy-core.sh"] == (CHARTS / "woocommerce/files/copy-core.sh").read_text()
    assert config["urumi-loopback.php"] == (CHARTS / "woocommerce/files/urumi-loopback.php").read_text()
    assert "tar" not in config["copy-core.sh"].split("# Environment")[1]


def test_woocommerce_packages_and_extra_volumes_reach_the_setup_job(helm, tmp_path):
    values = tmp_path / "offline.yaml"
    values.write_text(
        "setup:\n"
        "  woocommercePackage: /packages/woocommerce.11.0.1.zip\n"
        "  storefrontPackage: http://mirror.mirror.svc:8080/storefront.4.6.2.zip\n"
        "  extraVolumes: [{name: packages, persistentVolumeClaim: {claimName: wp-packages}}]\n"
        "  extraVolumeMounts: [{name: packages, mountPath: /packages, readOnly: true}]\n"
        "networkPolicy:\n"
        "  setupExtraEgress:\n"
        "    - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: mirror}}}]\n"
        "      ports: [{protocol: TCP, port: 8080}]\n")
    m = helm.template("woocommerce", values=[values])
    job = m.get("Job", "shop-setup-1")["spec"]["template"]["spec"]
    (container,) = job["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["WC_PACKAGE"] == "/packages/woocommerce.11.0.1.zip"
    assert env["STOREFRONT_PACKAGE"] == "http://mirror.mirror.svc:8080/storefront.4.6.2.zip"
    assert {"name": "packages", "mountPath": "/packages", "readOnly": True} in container["volumeMounts"]
    # The init container that fetches (and checks) the packages sees the same files.
    fetch = job["initContainers"][0]
    assert {"name": "packages", "mountPath": "/packages", "readOnly": True} in fetch["volumeMounts"]
    assert {e["name"]: e.get("value") for e in fetch["env"]}["WC_PACKAGE"] == "/packages/woocommerce.11.0.1.zip"
    assert {"name": "packages", "persistentVolumeClaim": {"claimName": "wp-packages"}} in job["volumes"]
    setup = _policies(m)["setup"]
    assert {"protocol": "TCP", "port": 8080} in setup["egress"][-1]["ports"]
    assert setup["egress"][-1]["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "mirror"}


def test_woocommerce_test_pods_are_not_setup_pods(helm):
    """helm test pods have their own component (urumi must not count them as the setup) and are
    replaced by the next test run, a failed one staying for inspection until then."""
    m = helm.template("woocommerce")
    pods = m.kind("Pod")
    assert sorted(p["metadata"]["name"] for p in pods) == ["shop-test-order", "shop-test-storefront"]
    for pod in pods:
        labels, annotations = pod["metadata"]["labels"], pod["metadata"]["annotations"]
        assert labels["app.kubernetes.io/component"] == "test"
        assert labels["urumi.dev/helm-test"] in ("order", "storefront")
        assert annotations["helm.sh/hook"] == "test"
        assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation"
        # curl and PHP are all the test scripts need: the web image, no image of their own to pull.
        assert pod["spec"]["containers"][0]["image"] == "wordpress:7.0.4-php8.3-apache"
    own = helm.template("woocommerce", sets={"tests.image.repository": "mirror/tools", "tests.image.tag": "v1"})
    assert {p["spec"]["containers"][0]["image"] for p in own.kind("Pod")} == {"mirror/tools:v1"}
    policies = _policies(m)
    tests = policies["tests"]
    assert tests["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "test"
    assert tests["ingress"] == []
    (egress,) = tests["egress"]
    assert egress["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "web"
    assert _allows_port(egress, 8080)
    web_sources = [s.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component")
                   for s in policies["web"]["ingress"][0]["from"]]
    assert "test" in web_sources and "setup" in web_sources
    database_sources = [s["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
                        for s in policies["database"]["ingress"][0]["from"]]
    assert "test" not in database_sources


def test_medusa_setup_job_installs_a_pinned_medusa(helm):
    m = helm.template("medusa")
    job = m.get("Job", "shop-setup-1")["spec"]["template"]["spec"]
    (container,) = job["containers"]
    assert container["image"] == "node:22.23.2-bookworm-slim"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["PREBUILT"] == "false"
    starter = m.get("ConfigMap", "shop-starter")["data"]
    deps = re.findall(r'"(@medusajs/[a-z-]+)": "([^"]+)"', starter["package.json"])
    assert deps and all(version == "2.21.2" for _name, version in deps)
    # The server waits for the marker of exactly this build.
    web = m.get("Deployment", "shop-medusa")["spec"]["template"]["spec"]
    (init,) = web["initContainers"]
    marker = next(e["value"] for e in init["env"] if e["name"] == "READY_MARKER")
    assert marker == env["READY_MARKER"]
    assert web["containers"][0]["workingDir"] == env["SERVER_DIR"] == env["PROJECT_DIR"] + "/.medusa/server"


def test_medusa_prebuilt_image_skips_npm(helm):
    m = helm.template("medusa", sets={
        "web.prebuilt": True, "web.image.repository": "registry.example.com/shop-medusa",
        "web.image.tag": "1.0.0", "web.appDir": "/server",
    })
    job = m.get("Job", "shop-setup-1")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in job["env"]}
    assert job["image"] == "registry.example.com/shop-medusa:1.0.0"
    assert env["PREBUILT"] == "true" and env["SERVER_DIR"] == "/server" and "PROJECT_DIR" not in env
    web = m.get("Deployment", "shop-medusa")["spec"]["template"]["spec"]["containers"][0]
    assert web["image"] == "registry.example.com/shop-medusa:1.0.0"
    assert web["command"][0] == "/server/node_modules/.bin/medusa"


def test_images_are_pinned(rendered):
    _chart, _overlay, m = rendered
    for owner, container in m.containers():
        image = container["image"]
        name, _, tag = image.rpartition(":")
        assert name and "/" not in tag, f"{owner}: {image} has no tag"
        assert tag != "latest", f"{owner}: {image}"
        assert re.match(r"^[\w.-]*\d+\.\d+[\w.-]*$", tag), f"{owner}: {image} is not a version tag"


def test_every_container_has_requests_and_limits(rendered):
    _chart, _overlay, m = rendered
    for owner, container in m.containers():
        for kind in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                assert quantity(container["resources"][kind][resource]) > 0, f"{owner}/{container['name']}"
        for resource in ("cpu", "memory"):
            assert quantity(container["resources"]["requests"][resource]) <= quantity(
                container["resources"]["limits"][resource]), f"{owner}/{container['name']} {resource}"


def _pod_resources(spec: dict, kind: str) -> dict:
    """What the quota charges for a pod: per resource, max(sum of containers, largest init)."""
    totals = {}
    for resource in ("cpu", "memory"):
        regular = sum(quantity(c["resources"][kind][resource]) for c in spec["containers"])
        init = max((quantity(c["resources"][kind][resource]) for c in spec.get("initContainers", [])), default=0)
        totals[resource] = max(regular, init)
    return totals


def test_quota_fits_every_pod_at_once(rendered):
    chart, _overlay, m = rendered
    hard = m.kind("ResourceQuota")[0]["spec"]["hard"]
    pods = m.pod_specs()
    for kind in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            used = sum(_pod_resources(spec, kind)[resource] * replicas for _o, _m, spec, replicas in pods)
            assert quantity(hard[f"{kind}.{resource}"]) >= used, f"{chart}: quota {kind}.{resource} < {used}"
    assert int(hard["pods"]) >= sum(replicas for *_rest, replicas in pods)
    # No rolling surge: the Deployments replace their pod (the volumes are ReadWriteOnce).
    assert all(d["spec"]["strategy"]["type"] == "Recreate" for d in m.kind("Deployment"))
    claims = [c["spec"]["resources"]["requests"]["storage"] for c in m.kind("PersistentVolumeClaim")]
    claims += [t["spec"]["resources"]["requests"]["storage"] for s in m.kind("StatefulSet")
               for t in s["spec"]["volumeClaimTemplates"]]
    assert int(hard["persistentvolumeclaims"]) >= len(claims)
    assert quantity(hard["requests.storage"]) >= sum(quantity(c) for c in claims)
    assert int(hard["services"]) >= len(m.kind("Service"))
    assert hard["services.nodeports"] == "0" and hard["services.loadbalancers"] == "0"


def test_limitrange_admits_every_container_and_claim(rendered):
    _chart, _overlay, m = rendered
    limits = {item["type"]: item for item in m.kind("LimitRange")[0]["spec"]["limits"]}
    maximum = limits["Container"]["max"]
    assert limits["Container"]["default"] and limits["Container"]["defaultRequest"]
    for owner, container in m.containers():
        for resource in ("cpu", "memory"):
            assert quantity(container["resources"]["limits"][resource]) <= quantity(maximum[resource]), owner
    largest = quantity(limits["PersistentVolumeClaim"]["max"]["storage"])
    for claim in m.kind("PersistentVolumeClaim"):
        assert quantity(claim["spec"]["resources"]["requests"]["storage"]) <= largest
    for sts in m.kind("StatefulSet"):
        for template in sts["spec"]["volumeClaimTemplates"]:
            assert quantity(template["spec"]["resources"]["requests"]["storage"]) <= largest


def test_pods_meet_the_restricted_pod_security_profile(rendered):
    _chart, _overlay, m = rendered
    for owner, _meta, spec, _replicas in m.pod_specs():
        pod = spec.get("securityContext", {})
        assert pod.get("runAsNonRoot") is True, owner
        assert pod.get("runAsUser", 0) > 0, owner
        assert pod.get("seccompProfile", {}).get("type") == "RuntimeDefault", owner
        assert not spec.get("hostNetwork") and not spec.get("hostPID") and not spec.get("hostIPC"), owner
        assert spec.get("automountServiceAccountToken") is False, owner
        for volume in spec.get("volumes", []):
            assert "hostPath" not in volume, owner
        for container in spec.get("initContainers", []) + spec["containers"]:
            ctx = container.get("securityContext", {})
            assert ctx.get("allowPrivilegeEscalation") is False, f"{owner}/{container['name']}"
            assert ctx.get("capabilities", {}).get("drop") == ["ALL"], f"{owner}/{container['name']}"
            assert not ctx.get("capabilities", {}).get("add"), f"{owner}/{container['name']}"
            assert not ctx.get("privileged"), f"{owner}/{container['name']}"
            assert "ports" not in container or all(p["containerPort"] > 1024 for p in container["ports"]), owner


def test_probes_have_sane_timings(rendered):
    _chart, _overlay, m = rendered
    for owner, _meta, spec, _replicas in m.pod_specs():
        if owner.startswith(("Job/", "Pod/")):
            continue
        for container in spec["containers"]:
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert probe in container, f"{owner}/{container['name']} has no {probe}"
                assert container[probe].get("initialDelaySeconds", 0) <= 30, f"{owner} {probe}"
            startup = container["startupProbe"]
            budget = startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3)
            assert 60 <= budget <= 600, f"{owner}: startup budget {budget}s"


def _policies(m) -> dict:
    return {p["metadata"]["name"].removeprefix("shop-"): p["spec"] for p in m.kind("NetworkPolicy")}


def _allows_port(rule: dict, port: int) -> bool:
    return any(p["port"] == port for p in rule.get("ports", []))


def test_network_policies_isolate_the_store(rendered):
    chart, overlay, m = rendered
    policies = _policies(m)
    deny = policies["default-deny"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny

    dns = policies["allow-dns"]["egress"][0]
    assert _allows_port(dns, 53)
    assert {p["protocol"] for p in dns["ports"]} == {"UDP", "TCP"}

    _web_name, web_port = WEB_SERVICE[chart]
    web = policies["web"]
    controller_ns = {"local": "traefik", "prod": "kube-system"}[overlay]
    sources = web["ingress"][0]["from"]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": controller_ns}}} in sources
    assert _allows_port(web["ingress"][0], web_port)
    assert any(_allows_port(rule, DB_PORT[chart]) for rule in web["egress"])

    database = policies["database"]
    assert database["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "database"
    allowed = [s["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for s in database["ingress"][0]["from"]]
    assert sorted(allowed) == ["setup", "web"]
    assert _allows_port(database["ingress"][0], DB_PORT[chart]) and database["egress"] == []

    setup = policies["setup"]
    internet = [r for r in setup["egress"] if "ipBlock" in r["to"][0]]
    assert internet and _allows_port(internet[0], 443)
    assert "10.0.0.0/8" in internet[0]["to"][0]["ipBlock"]["except"]
    assert any(_allows_port(rule, web_port) for rule in setup["egress"])
    if chart == "medusa":
        cache = policies["cache"]
        assert _allows_port(cache["ingress"][0], 6379)
        assert any(_allows_port(rule, 6379) for rule in web["egress"])


def test_network_policy_can_be_disabled(helm):
    assert not helm.template("woocommerce", sets={"networkPolicy.enabled": False}).kind("NetworkPolicy")


def test_chart_secret_has_the_contract_keys_and_is_kept(rendered):
    chart, _overlay, m = rendered
    secret = m.get("Secret", "shop-credentials")
    assert set(secret["data"]) == SECRET_KEYS[chart]
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    values = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert all(len(v) >= 5 for v in values.values())
    if chart == "medusa":
        assert values["admin-username"] == "admin@shop." + ("localhost" if _overlay == "local" else "example.com")
        assert re.fullmatch(r"[A-Za-z0-9_-]+", values["postgres-password"])  # goes into DATABASE_URL


def _secret_refs(m):
    for owner, container in m.containers():
        for env in container.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                yield owner, ref


@pytest.mark.parametrize("chart", CHART_NAMES)
def test_existing_secret_from_urumi(helm, chart, tmp_path):
    generated = tmp_path / "urumi.yaml"
    generated.write_text("store: {name: shop}\ndomain: localhost\nexistingSecret: store-credentials\n")
    m = helm.template(chart, values=[generated])
    assert not m.kind("Secret")
    refs = list(_secret_refs(m))
    assert refs and all(ref["name"] == "store-credentials" for _owner, ref in refs)
    used = {ref["key"] for _owner, ref in refs}
    assert used <= SECRET_KEYS[chart] and {"admin-username", "admin-password"} <= used


@pytest.mark.parametrize("chart", CHART_NAMES)
def test_every_secret_reference_exists_in_the_chart_secret(helm, chart):
    m = helm.template(chart)
    keys = set(m.get("Secret", "shop-credentials")["data"])
    for owner, ref in _secret_refs(m):
        assert ref["name"] == "shop-credentials" and ref["key"] in keys, owner


@pytest.mark.parametrize("chart", CHART_NAMES)
def test_store_name_domain_and_host(helm, chart):
    m = helm.template(chart, "prod", sets={"store.name": "boutique", "domain": "shops.example.org"})
    assert m.kind("Ingress")[0]["spec"]["rules"][0]["host"] == "boutique.shops.example.org"
    m = helm.template(chart, sets={"host": "www.example.net"})
    assert m.kind("Ingress")[0]["spec"]["rules"][0]["host"] == "www.example.net"


@pytest.mark.parametrize("chart", CHART_NAMES)
def test_simulation_knobs_reach_every_pod(helm, chart):
    """podAnnotations (release-wide and per component), nodeSelector, image and resources."""
    m = helm.template(chart, sets={
        "podAnnotations.urumi\\.test/all": "yes",
        "setup.podAnnotations.urumi\\.test/simulate": "fail",
        "web.nodeSelector.disktype": "ssd",
        "web.image.tag": "9.9.9-test",
        "database.resources.limits.memory": "900Mi",
    })
    for owner, meta, spec, _replicas in m.pod_specs():
        assert meta["annotations"]["urumi.test/all"] == "yes", owner
        if meta["labels"]["app.kubernetes.io/component"] == "setup" and owner.startswith("Job/"):
            assert meta["annotations"]["urumi.test/simulate"] == "fail"
        if owner.startswith("Deployment/"):
            assert spec["nodeSelector"] == {"disktype": "ssd"}
            assert spec["containers"][0]["image"].endswith(":9.9.9-test")
        if meta["labels"]["app.kubernetes.io/component"] == "database":
            assert spec["containers"][0]["resources"]["limits"]["memory"] == "900Mi"


@pytest.mark.parametrize("chart", CHART_NAMES)
def test_helm_tests_exist(helm, chart):
    tests = [p for p in helm.template(chart).kind("Pod") if p["metadata"]["annotations"].get("helm.sh/hook") == "test"]
    names = sorted(p["metadata"]["name"] for p in tests)
    assert names == ["shop-test-order", {"woocommerce": "shop-test-storefront", "medusa": "shop-test-server"}[chart]]
    for pod in tests:
        assert pod["spec"]["restartPolicy"] == "Never"


@pytest.mark.parametrize("chart", CHART_NAMES)
def test_release_name_must_be_a_short_dns_label(helm, chart):
    result = helm.template(chart, release="a" * 41, check=False)
    assert result.returncode != 0
    assert "at most 40 characters" in result.stderr


def _notes(helm, chart: str, tmp_path, overlay: str = "local") -> str:
    """NOTES.txt rendered offline (`helm install --dry-run` wants a cluster): a copy of the chart
    with one extra template that includes the notes."""
    copy = tmp_path / chart
    shutil.copytree(CHARTS / chart, copy)
    (copy / "templates" / "zz-notes.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\n"
        "data:\n  notes: {{ include (print .Chart.Name \"/templates/NOTES.txt\") . | quote }}\n"
    )
    result = helm.run("template", RELEASE, str(copy), "-n", "store-shop", "-f",
                      str(CHARTS / chart / f"values-{overlay}.yaml"), "--show-only", "templates/zz-notes.yaml")
    return yaml.safe_load(result.stdout)["data"]["notes"]


@pytest.mark.parametrize("chart", CHART_NAMES)
def test_notes_tell_url_and_credentials(helm, chart, tmp_path):
    notes = _notes(helm, chart, tmp_path)
    assert ("http://shop.localhost/" if chart == "woocommerce" else "http://shop.localhost/app/") in notes
    assert "get secret shop-credentials" in notes and "admin-password" in notes
    assert "helm test shop" in notes
    prod = _notes(helm, chart, tmp_path / "prod", overlay="prod")
    assert "https://shop.example.com/" in prod and "letsencrypt-prod" in prod


def test_medusa_setup_trusts_extra_cas_only_when_given(helm):
    """A TLS-inspecting proxy or a private registry: npm in the setup Job trusts setup.extraCACerts
    (seen on our machines, whose registry traffic passes an inspecting egress proxy)."""
    pem = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
    m = helm.template("medusa", sets={"setup.extraCACerts": pem})
    assert m.get("ConfigMap", "shop-extra-ca")["data"]["extra-ca.crt"] == pem
    (container,) = m.get("Job", "shop-setup-1")["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["NODE_EXTRA_CA_CERTS"] == "/urumi/ca/extra-ca.crt"
    # @swc/core refuses its native cache under HOME=/tmp (a world-writable emptyDir).
    assert env["SWC_NATIVE_BINDING_CACHE"] == "/home/node/.cache/swc" and env["HOME"] == "/tmp"
    plain = helm.template("medusa")
    (container,) = plain.get("Job", "shop-setup-1")["spec"]["template"]["spec"]["containers"]
    assert "NODE_EXTRA_CA_CERTS" not in {e["name"] for e in container["env"]}
    assert not [c for c in plain.kind("ConfigMap") if c["metadata"]["name"].endswith("-extra-ca")]
