"""The page's own routes with TestClient: the page, its files, the tile setting (no browser)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.routes.web import STATIC
from api.settings import Settings


@pytest.fixture
def client(tmp_path):
    # no lifespan: these routes need no database
    return TestClient(create_app(Settings(data_dir=tmp_path, workers=0)))


def test_page_and_files(client):
    page = client.get("/")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text
    js = client.get("/static/app.js")
    assert js.headers["content-type"].startswith("text/javascript")
    css = client.get("/static/vendor/leaflet/leaflet.css")
    assert css.headers["content-type"].startswith("text/css")
    assert client.get("/static/vendor/leaflet/LICENSE").status_code == 200


@pytest.mark.parametrize(
    "name", ["../routes/web.py", "..%2Froutes%2Fweb.py", "vendor/../../main.py", "missing.js", ""]
)
def test_files_outside_static_are_not_served(client, name):
    assert client.get(f"/static/{name}").status_code == 404


def test_tile_url_setting(client, monkeypatch):
    assert client.get("/web/config").json()["tile_url"] is None
    monkeypatch.setenv("SANITATION_TILE_URL", "http://tiles.example/{z}/{x}/{y}.png")
    monkeypatch.setenv("SANITATION_TILE_ATTRIBUTION", "© 测试")
    config = client.get("/web/config").json()
    assert config == {
        "tile_url": "http://tiles.example/{z}/{x}/{y}.png",
        "tile_attribution": "© 测试",
    }


def test_vendored_leaflet_is_complete():
    leaflet = STATIC / "vendor" / "leaflet"
    names = {p.relative_to(leaflet).as_posix() for p in leaflet.rglob("*") if p.is_file()}
    assert {"leaflet.js", "leaflet.css", "LICENSE", "README.md", "images/marker-icon.png"} <= names
    assert "1.9.4" in (leaflet / "README.md").read_text(encoding="utf-8")
    assert "Leaflet 1.9.4" in (leaflet / "leaflet.js").read_text(encoding="utf-8")[:200]


def test_labels_exist_in_both_languages():
    import re

    text = (STATIC / "i18n.js").read_text(encoding="utf-8")
    zh, en = text.split("\n  en: {")
    keys = {lang: set(re.findall(r"(\w+): \"", body)) for lang, body in (("zh", zh), ("en", en))}
    assert keys["zh"] == keys["en"]
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    used = set(re.findall(r'data-i18n="(\w+)"', html))
    assert used <= keys["zh"], used - keys["zh"]
