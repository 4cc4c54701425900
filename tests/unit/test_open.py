"""`store open`: the storefront or admin URL from the store's namespace; a browser only for a
person at a terminal, the URL printed otherwise."""

from __future__ import annotations

import json

import pytest

from fakes import FakeBrowser
from urumi_cli.actions.contract import ANNOTATION_URL, LABEL_NAME, LABEL_TYPE, MANAGED_BY

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def cli(tmp_path, runner, kube, helm):
    from test_cli import Cli

    class WithBrowser(Cli):
        browser = FakeBrowser()

        def deps(self):
            deps = super().deps()
            deps.browser = self.browser
            return deps

    made = WithBrowser(tmp_path, runner, kube, helm)
    made.browser = FakeBrowser()
    for name, store_type in (("shop", "woocommerce"), ("med", "medusa")):
        kube.add_namespace(f"store-{name}", {MANAGED_BY: "urumi", LABEL_NAME: name, LABEL_TYPE: store_type},
                           {ANNOTATION_URL: f"https://{name}.example.com/"})
    return made


@pytest.mark.parametrize("name, admin, url", [
    ("shop", False, "https://shop.example.com/"),
    ("shop", True, "https://shop.example.com/wp-admin/"),
    ("med", True, "https://med.example.com/app"),
])
def test_on_a_terminal_the_browser_opens_the_page(cli, name, admin, url):
    cli.tty = True
    result = cli("store", "open", name, *(["--admin"] if admin else []))
    assert result.exit_code == 0, result.output
    assert cli.browser.opened == [url]
    assert f"opened {url}" in result.stderr and result.stdout == ""


def test_without_a_browser_the_url_is_printed(cli):
    cli.tty = True
    cli.browser.available = False
    result = cli("store", "open", "shop")
    assert result.exit_code == 0 and result.stdout == "https://shop.example.com/\n"


def test_off_a_terminal_no_browser_is_asked(cli):
    result = cli("store", "open", "shop", "--admin")
    assert result.exit_code == 0 and result.stdout == "https://shop.example.com/wp-admin/\n"
    assert cli.browser.opened == []


def test_json_is_the_address_and_opens_nothing(cli):
    cli.tty = True
    result = cli("store", "open", "shop", "-o", "json")
    assert json.loads(result.stdout) == {"name": "shop", "url": "https://shop.example.com/", "admin": False}
    assert cli.browser.opened == []


def test_an_unknown_store_is_exit_4(cli):
    result = cli("store", "open", "nope", "-o", "json")
    assert result.exit_code == 4 and result.stderr.startswith("error: store nope not found")
    assert cli.browser.opened == []


def test_the_browser_adapter_says_false_when_webbrowser_finds_none(monkeypatch):
    import threading
    import webbrowser

    from urumi_cli.adapters.browser import Browser

    def none_found(using=None):
        raise webbrowser.Error("could not locate runnable browser")

    monkeypatch.setattr(webbrowser, "get", none_found)
    assert Browser().open("http://shop.localhost/") is False

    shown, done = [], threading.Event()

    class Recording(webbrowser.BaseBrowser):
        def open(self, url, new=0, autoraise=True):
            shown.append(url)
            done.set()
            return True

    monkeypatch.setattr(webbrowser, "get", lambda using=None: Recording())
    assert Browser().open("http://shop.localhost/") is True
    assert done.wait(5) and shown == ["http://shop.localhost/"]
