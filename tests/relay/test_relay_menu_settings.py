"""Where the relay's menu and settings come from: menu.json by file or URL, env variables."""

from __future__ import annotations

from pathlib import Path

import pytest
import responses
from relay_support import menu_json

from hugo_pos.errors import HugoPosError
from hugo_pos.relay.database import connect
from hugo_pos.relay.menu import MenuSource
from hugo_pos.relay.settings import RelaySettings

URL = "https://omgsushi.example.com/hugo-pos/menu.json"


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@responses.activate
def test_a_menu_url_is_fetched_once_then_revalidated_with_its_etag():
    responses.add(responses.GET, URL, json=menu_json(), headers={"ETag": '"v1"'})
    clock = Ticks()
    source = MenuSource(url=URL, url_interval=60.0, clock=clock)
    assert source.current().menu.version == "v1"
    assert source.current().locations["town"].variants["CALI"][1].price == 4850
    assert len(responses.calls) == 1  # not re-read per request
    responses.replace(responses.GET, URL, status=304)
    clock.now = 61.0
    assert source.current().menu.version == "v1"
    assert responses.calls[1].request.headers["If-None-Match"] == '"v1"'
    changed = dict(menu_json(), version="v2")
    responses.replace(responses.GET, URL, json=changed, headers={"ETag": '"v2"'})
    clock.now = 122.0
    assert source.current().menu.version == "v2"


@responses.activate
def test_a_broken_menu_keeps_the_last_good_one():
    responses.add(responses.GET, URL, json=menu_json(), headers={"ETag": '"v1"'})
    clock = Ticks()
    source = MenuSource(url=URL, url_interval=1.0, clock=clock)
    assert source.current().menu.version == "v1"
    responses.replace(responses.GET, URL, json={"not": "a menu"}, headers={"ETag": '"x"'})
    clock.now = 5.0
    assert source.current().menu.version == "v1"
    assert "not a hugo_pos menu.json" in source.error


def test_settings_come_from_the_environment(tmp_path: Path):
    settings = RelaySettings.from_env({
        "HUGO_POS_SITE": str(tmp_path), "HUGO_POS_RATE_LIMIT": "120",
        "HUGO_POS_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1", "HUGO_POS_RETRY_BUDGET": "3600",
        "HUGO_POS_MENU_URL": URL, "HUGO_POS_WORKER": "off"})
    assert settings.site == tmp_path and settings.rate_limit == 120
    assert settings.trusted_proxies == ("10.0.0.0/8", "127.0.0.1")
    assert settings.retry_budget == 3600.0 and settings.menu_url == URL
    with pytest.raises(HugoPosError, match="HUGO_POS_RATE_LIMIT is 'lots', not a number"):
        RelaySettings.from_env({"HUGO_POS_RATE_LIMIT": "lots"})
    with pytest.raises(HugoPosError, match="HUGO_POS_TRUSTED_PROXIES has 'proxy.internal', "
                       "not an address or network"):
        RelaySettings.from_env({"HUGO_POS_TRUSTED_PROXIES": "10.0.0.0/8,proxy.internal"})
    with pytest.raises(HugoPosError) as missing:
        _ = RelaySettings.from_env({}).site_root
    assert missing.value.message == "the relay does not know which site to serve"
    assert missing.value.hint.startswith("set HUGO_POS_SITE to the site directory")


def test_database_urls(tmp_path: Path):
    relative = connect("sqlite:///relay.sqlite3")
    assert str(relative.path) == "relay.sqlite3" and relative.synchronous == "NORMAL"
    absolute = connect(f"sqlite:///{tmp_path}/r.db?synchronous=full")
    assert absolute.path == tmp_path / "r.db" and absolute.synchronous == "FULL"
    with pytest.raises(HugoPosError, match="in-memory"):
        connect("sqlite:///:memory:")
    with pytest.raises(HugoPosError, match="unsupported database URL scheme 'mysql'"):
        connect("mysql://x")


@responses.activate
def test_a_relay_without_a_site_checkout_uses_the_config_file_and_the_menu_url(tmp_path):
    import json

    from relay_support import FakeClock, make_app, order_body, write_site

    from hugo_pos.relay.service import Relay

    site = write_site(tmp_path / "site")
    config = tmp_path / "configmap" / "locations.yaml"
    config.parent.mkdir()
    config.write_text((site / "data" / "locations.yaml").read_text())
    responses.add(responses.GET, URL, json=menu_json(), headers={"ETag": '"v1"'})
    settings = RelaySettings.from_env({
        "HUGO_POS_CONFIG": str(config), "HUGO_POS_MENU_URL": URL, "HUGO_POS_WORKER": "off",
        "HUGO_POS_DATABASE_URL": f"sqlite:///{tmp_path}/relay.sqlite3"}, clock=FakeClock())
    client = make_app(Relay(settings)).test_client()
    assert client.get("/readyz").json["menu"] == "v1"
    response = client.post("/v1/orders", data=json.dumps(order_body()),
                           content_type="application/json", headers={"Idempotency-Key": "k"})
    assert response.status_code == 201 and response.json["total"]["amount"] == 24650
