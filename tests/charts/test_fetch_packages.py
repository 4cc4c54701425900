"""charts/woocommerce/files/fetch-packages.sh, the setup Job's first init container, with the real
curl and PHP (ZipArchive) it runs with in the web image: zips made here, served by file:// URLs or
given as paths; a download that cannot resolve its host (`.invalid` never resolves, RFC 6761)."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from chartlib import CHARTS

SCRIPT = CHARTS / "woocommerce" / "files" / "fetch-packages.sh"


def _php_has_zip() -> bool:
    if not shutil.which("php"):
        return False
    return "zip" in subprocess.run(["php", "-m"], capture_output=True, text=True).stdout.split()


pytestmark = [
    pytest.mark.skipif(not _php_has_zip(), reason="needs php with the zip extension (apt-get install php-cli php-zip)"),
    pytest.mark.skipif(not shutil.which("curl"), reason="needs curl"),
]


def make_zip(path: Path, slug: str, member: str, version: str | None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        header = "/*\nPlugin Name: X\n" if member.endswith(".php") else "/*\nTheme Name: X\n"
        if version is not None:
            header += f"Version: {version}\n"
        zf.writestr(f"{slug}/{member}", ("<?php\n" if member.endswith(".php") else "") + header + "*/\n")
        zf.writestr(f"{slug}/readme.txt", "readme\n")
    return path


@pytest.fixture
def env(tmp_path):
    content = tmp_path / "wp-content"
    (content / "plugins").mkdir(parents=True)
    (content / "themes").mkdir()
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    make_zip(mirror / "woocommerce.11.0.1.zip", "woocommerce", "woocommerce.php", "11.0.1")
    make_zip(mirror / "storefront.4.6.2.zip", "storefront", "style.css", "4.6.2")
    return {
        "PATH": os.environ["PATH"], "HOME": str(tmp_path),
        "WC_VERSION": "11.0.1", "STOREFRONT_VERSION": "4.6.2",
        "WC_PACKAGE": f"file://{mirror}/woocommerce.11.0.1.zip",
        "STOREFRONT_PACKAGE": f"file://{mirror}/storefront.4.6.2.zip",
        "PACKAGES_DIR": str(tmp_path / "packages"), "CONTENT_DIR": str(content),
        "_mirror": str(mirror),
    }


def run(env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in env.items() if not k.startswith("_")}
    return subprocess.run(["bash", str(SCRIPT)], env=clean, capture_output=True, text=True, timeout=120)


def last_line(result) -> str:
    return result.stderr.rstrip("\n").splitlines()[-1]


def test_fetches_both_packages_from_the_given_urls(env):
    result = run(env)
    assert result.returncode == 0, result.stderr
    packages = Path(env["PACKAGES_DIR"])
    assert sorted(p.name for p in packages.iterdir()) == ["storefront.zip", "woocommerce.zip"]
    assert zipfile.ZipFile(packages / "woocommerce.zip").read("woocommerce/woocommerce.php").startswith(b"<?php")
    assert f"fetched plugin woocommerce 11.0.1 from {env['WC_PACKAGE']}" in result.stderr


def test_installed_at_the_pinned_version_fetches_nothing(env):
    content = Path(env["CONTENT_DIR"])
    (content / "plugins/woocommerce").mkdir()
    (content / "plugins/woocommerce/woocommerce.php").write_text("<?php\n/**\n * Plugin Name: WooCommerce\n * Version: 11.0.1\n */\n")
    (content / "themes/storefront").mkdir()
    (content / "themes/storefront/style.css").write_text("/*\nTheme Name: Storefront\nVersion: 4.6.2\n*/\n")
    env["WC_PACKAGE"] = env["STOREFRONT_PACKAGE"] = "https://downloads.invalid/never-asked.zip"
    result = run(env)
    assert result.returncode == 0, result.stderr
    assert list(Path(env["PACKAGES_DIR"]).iterdir()) == []
    assert "plugin woocommerce 11.0.1 is installed: nothing to fetch" in result.stderr


def test_an_older_installed_version_is_fetched_again(env):
    content = Path(env["CONTENT_DIR"])
    (content / "plugins/woocommerce").mkdir()
    (content / "plugins/woocommerce/woocommerce.php").write_text("<?php\n/*\n * Version: 10.9.0\n */\n")
    result = run(env)
    assert result.returncode == 0, result.stderr
    assert (Path(env["PACKAGES_DIR"]) / "woocommerce.zip").is_file()


def test_a_download_that_cannot_resolve_its_host_names_the_package_the_url_and_the_cause(env):
    env["WC_PACKAGE"] = "https://downloads.invalid/plugin/woocommerce.11.0.1.zip"
    result = run(env)
    assert result.returncode == 1
    assert last_line(result) == ("setup: step download failed: download of woocommerce from "
                                 "https://downloads.invalid/plugin/woocommerce.11.0.1.zip failed: "
                                 "could not resolve host: downloads.invalid")


def test_a_zip_of_another_version_is_refused_before_setup_runs(env):
    make_zip(Path(env["_mirror"]) / "woocommerce.11.0.1.zip", "woocommerce", "woocommerce.php", "10.3.0")
    result = run(env)
    assert result.returncode == 1
    assert last_line(result) == (f"setup: step download failed: package of woocommerce from {env['WC_PACKAGE']} "
                                 "holds version 10.3.0, not 11.0.1 (setup.woocommerceVersion)")


def test_a_file_that_is_no_zip_is_refused(env):
    bogus = Path(env["_mirror"]) / "error-page.zip"
    bogus.write_text("<html>Service Unavailable</html>\n")
    env["STOREFRONT_PACKAGE"] = str(bogus)
    result = run(env)
    assert result.returncode == 1
    assert last_line(result) == f"setup: step download failed: package of storefront from {bogus} is not a zip file"


def test_a_zip_of_something_else_is_refused(env):
    other = make_zip(Path(env["_mirror"]) / "other.zip", "hello-dolly", "hello.php", "1.7.2")
    env["WC_PACKAGE"] = str(other)
    result = run(env)
    assert result.returncode == 1
    assert last_line(result) == (f"setup: step download failed: package of woocommerce from {other} has no "
                                 "woocommerce/woocommerce.php: not the plugin woocommerce")


def test_a_path_is_copied_and_a_missing_path_is_named(env):
    env["WC_PACKAGE"] = str(Path(env["_mirror"]) / "woocommerce.11.0.1.zip")
    assert run(env).returncode == 0
    assert (Path(env["PACKAGES_DIR"]) / "woocommerce.zip").is_file()
    env["WC_PACKAGE"] = "/packages-volume/woocommerce.zip"
    result = run(env)
    assert result.returncode == 1
    assert last_line(result) == ("setup: step download failed: package of woocommerce not found: "
                                 "/packages-volume/woocommerce.zip is not a readable file")
