"""values.schema.json (and the templates' own checks) reject bad values with helm's error, at
install time, before anything reaches the cluster."""

from __future__ import annotations

import pytest
from chartlib import CHART_NAMES

BAD_VALUES = [
    # (values file text, words the error must contain)
    ("domain: 'not a domain!'\n", ["/domain", "does not match pattern"]),
    ("domain: Shop.Example.COM\n", ["/domain"]),
    ("host: 'bad host'\n", ["/host"]),
    ("store: {name: Bad_Name}\n", ["/store/name"]),
    ("store: {name: " + "a" * 41 + "}\n", ["/store/name"]),
    ("web: {persistence: {size: -1Gi}}\n", ["/web/persistence/size"]),
    ("web: {persistence: {size: lots}}\n", ["/web/persistence/size"]),
    ("database: {persistence: {size: 10}}\n", ["/database/persistence/size"]),
    ("ingress: {tls: {type: letsencrypt}}\n", ["/ingress/tls/type", "cert-manager", "secret"]),
    ("ingress: {tls: {enabled: true, type: cert-manager, clusterIssuer: ''}}\n", ["/ingress/tls/clusterIssuer"]),
    ("ingress: {controllerNamespace: 'Kube System'}\n", ["/ingress/controllerNamespace"]),
    ("persistence: {accessMode: ReadWriteSometimes}\n", ["/persistence/accessMode"]),
    # Values merge with the defaults: removing the limits takes an explicit null.
    ("web: {resources: {limits: null}}\n", ["/web/resources", "limits"]),
    ("web: {resources: {requests: {cpu: lots, memory: 1Gi}, limits: {cpu: 1, memory: 1Gi}}}\n", ["/web/resources/requests/cpu"]),
    ("setup: {backoffLimit: -1}\n", ["/setup/backoffLimit"]),
    ("ingres: {enabled: false}\n", ["additional properties", "ingres"]),
    ("web: {image: {tag: ''}}\n", ["/web/image/tag"]),
]


@pytest.mark.parametrize("chart", CHART_NAMES)
@pytest.mark.parametrize("text,expected", BAD_VALUES, ids=[t.split(":")[0] + str(i) for i, (t, _e) in enumerate(BAD_VALUES)])
def test_schema_rejects_bad_values(helm, chart, text, expected, tmp_path):
    values = tmp_path / "bad.yaml"
    values.write_text(text)
    result = helm.template(chart, values=[values], check=False)
    assert result.returncode != 0, f"{text!r} was accepted"
    assert "values don't meet the specifications of the schema" in result.stderr
    for word in expected:
        assert word in result.stderr, result.stderr


@pytest.mark.parametrize("chart", CHART_NAMES)
def test_latest_tag_is_refused(helm, chart, tmp_path):
    values = tmp_path / "latest.yaml"
    values.write_text("setup: {image: {tag: latest}}\n")
    result = helm.template(chart, values=[values], check=False)
    assert result.returncode != 0
    assert 'pin a version tag (got "latest")' in result.stderr


@pytest.mark.parametrize("chart", CHART_NAMES)
def test_schema_accepts_the_urumi_generated_values(helm, chart, tmp_path):
    values = tmp_path / "urumi.yaml"
    values.write_text("store: {name: shop}\ndomain: shops.example.com\nexistingSecret: store-credentials\n")
    helm.template(chart, "prod", values=[values])


def test_woocommerce_specific_values(helm, tmp_path):
    for text, field in [
        ("setup: {currency: dollars}\n", "/setup/currency"),
        ("setup: {sampleProducts: []}\n", "/setup/sampleProducts"),
        ("setup: {sampleProducts: [{sku: 'A\tB', name: x, price: '1'}]}\n", "/setup/sampleProducts/0/sku"),
        ("admin: {email: not-an-email}\n", "/admin/email"),
    ]:
        values = tmp_path / "bad.yaml"
        values.write_text(text)
        result = helm.template("woocommerce", values=[values], check=False)
        assert result.returncode != 0 and field in result.stderr, (text, result.stderr)


def test_medusa_specific_values(helm, tmp_path):
    for text, field in [
        ("setup: {medusaVersion: latest}\n", "/setup/medusaVersion"),
        ("setup: {region: {name: EU, currency: euro, countries: [de]}}\n", "/setup/region/currency"),
        ("web: {workerMode: worker}\n", "/web/workerMode"),
        ("cache: {persistence: {size: 1Tb}}\n", "/cache/persistence/size"),
    ]:
        values = tmp_path / "bad.yaml"
        values.write_text(text)
        result = helm.template("medusa", values=[values], check=False)
        assert result.returncode != 0 and field in result.stderr, (text, result.stderr)
