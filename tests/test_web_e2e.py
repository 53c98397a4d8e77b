"""The web page end to end in headless Chromium against a live server on 127.0.0.1.

The module starts `sanitation serve` on a free loopback port with its own data directory, makes
keys with `sanitation keys create`, uploads the tiny scenario and plans it with PyVRP (1 s). The
browser is Debian's /usr/bin/chromium driven by Playwright for Python (never `playwright
install`; `make test` installs chromium with apt where it is missing). Screenshots of every view
are written to out/test-artifacts/web/ (outside git) and their paths printed.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = Path(__file__).parent / "data" / "scenario" / "tiny"
SANITATION = Path(sys.executable).parent / "sanitation"
ARTIFACTS = ROOT / "out" / "test-artifacts" / "web"
CHROMIUM = os.environ.get("SANITATION_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 20_000
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tiny_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(TINY.iterdir()):
            archive.write(path, f"tiny/{path.name}")
    return buffer.getvalue()


def _start_key(data: Path, *args: str) -> subprocess.Popen:
    """`sanitation keys create ARGS` in the background (its key is the last line printed)."""
    env = {**os.environ, "SANITATION_DATA_DIR": str(data)}
    return subprocess.Popen(
        [str(SANITATION), "keys", "create", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _key_of(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=90)
    assert process.returncode == 0, err
    return out.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def live(tmp_path_factory, wait_job):
    """A served, planned tiny scenario and one key per role (made with the CLI)."""
    data = tmp_path_factory.mktemp("web-data")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SANITATION_DATA_DIR": str(data),
        "SANITATION_POLL_S": "0.2",
        "SANITATION_TILE_URL": "",
    }
    started_at = time.monotonic()
    # The first key migrates the new database; the server and the other keys then start together.
    keys = {"planner": _key_of(_start_key(data, "--role", "planner"))}
    keyed_at = time.monotonic()
    log = (data / "server.log").open("wb")
    process = subprocess.Popen(
        [str(SANITATION), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    makers = {
        "dispatcher": _start_key(data, "--role", "dispatcher"),
        "coordinator": _start_key(data, "--role", "coordinator", "--township", "990000001"),
    }
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, (data / "server.log").read_text()
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        served_at = time.monotonic()
        with httpx.Client(
            base_url=url, headers={"X-API-Key": keys["planner"]}, timeout=30
        ) as client:
            upload = client.post(
                "/scenarios", files={"file": ("tiny.zip", _tiny_zip(), "application/zip")}
            )
            assert upload.status_code == 201, upload.text
            scenario_id = upload.json()["id"]
            started = client.post(
                f"/scenarios/{scenario_id}/plans", json={"engine": "pyvrp", "time_limit_s": 1}
            )
            assert started.status_code == 202, started.text
            keys.update({role: _key_of(maker) for role, maker in makers.items()})
            job = wait_job(client, started.json()["job_id"])
            assert job["state"] == "done", job
            planned_s = time.monotonic() - served_at
            print(
                f"web fixture: first key {keyed_at - started_at:.1f} s, server "
                f"{served_at - keyed_at:.1f} s, upload and plan {planned_s:.1f} s"
            )
            yield {
                "url": url,
                "keys": keys,
                "scenario_id": scenario_id,
                "plan_id": started.json()["plan_id"],
                "api": client,
            }
    finally:
        for maker in makers.values():
            if maker.poll() is None:
                maker.kill()
                maker.communicate(timeout=30)
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium through Playwright; a clear failure when either is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: pip install -e '.[dev]' (Python package only)")
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.fail(
            f"no chromium at {CHROMIUM}: install Debian's package (apt-get install -y chromium; "
            "`make test` does this as root) or set SANITATION_CHROMIUM to a Chromium binary"
        )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live):
    """A fresh tab (own sessionStorage) on the page; any script error fails the test."""
    context = browser.new_context(
        viewport={"width": 1440, "height": 1000}, locale="zh-CN", accept_downloads=True
    )
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    tab.goto(live["url"] + "/")
    tab.wait_for_selector("body[data-ready='1']")
    tab.script_errors = errors  # a test that expects a refused request clears it
    yield tab
    context.close()
    assert not errors, errors


def sign_in(page, key: str) -> None:
    page.fill("#key", key)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("body[data-role]")


def shot(page, name: str, **options) -> Path:
    path = ARTIFACTS / name
    page.screenshot(path=str(path), **options)
    print(f"screenshot: {path}")
    return path


def visible_tabs(page) -> list[str]:
    return page.eval_on_selector_all(
        "#tabs button", "bs => bs.filter(b => !b.hidden).map(b => b.dataset.view)"
    )


# -- plain HTTP ---------------------------------------------------------------------------------
def test_page_and_assets_are_served_without_a_cdn(live):
    with httpx.Client(base_url=live["url"], timeout=10) as client:
        page = client.get("/")
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        assert "/static/vendor/leaflet/leaflet.js" in page.text
        assert "https://" not in page.text and "http://" not in page.text
        for name in ("app.js", "app.css", "i18n.js", "vendor/leaflet/leaflet.css"):
            asset = client.get(f"/static/{name}")
            assert asset.status_code == 200, name
            if name.startswith("vendor/"):
                continue  # leaflet.css cites browser bug URLs in comments only
            external = re.findall(r"https?://[^\s\"'`)]+", asset.text)
            assert all(u.startswith("http://www.w3.org/") for u in external), (name, external)
        assert client.get("/static/vendor/leaflet/images/marker-icon.png").status_code == 200
        assert client.get("/static/../routes/web.py").status_code == 404
        assert client.get("/static/nothing.js").status_code == 404
        assert client.get("/web/config").json() == {"tile_url": None, "tile_attribution": ""}
        assert client.get("/me").status_code == 401


def test_me_and_network_geojson(live):
    keys = live["keys"]
    with httpx.Client(base_url=live["url"], timeout=10) as client:
        me = client.get("/me", headers={"X-API-Key": keys["coordinator"]}).json()
        assert me["role"] == "coordinator"
        assert me["townships"] == ["990000001"]
        bearer = {"Authorization": f"Bearer {keys['dispatcher']}"}
        assert client.get("/me", headers=bearer).json()["role"] == "dispatcher"
        net = client.get(
            f"/scenarios/{live['scenario_id']}/network.geojson",
            headers={"X-API-Key": keys["coordinator"]},
        )
        assert net.status_code == 200
        assert net.headers["content-encoding"] == "gzip"  # httpx asks for it and unpacks it
        kinds = [f["properties"]["feature"] for f in net.json()["features"]]
        assert kinds.count("station") == 2
        assert kinds.count("road") > 10
        assert "depot" in kinds and "disposal" in kinds
        stations = [f for f in net.json()["features"] if f["properties"]["feature"] == "station"]
        assert all(f["properties"]["synthetic"] for f in stations)  # tiny says so
        missing = client.get("/scenarios/999/network.geojson", headers=bearer)
        assert missing.status_code == 404


# -- browser ------------------------------------------------------------------------------------
def test_bad_key_is_refused(page):
    page.fill("#key", "san_000000000000_nope")
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#message.error:not([hidden])")
    assert "401" in page.inner_text("#message")
    assert page.is_visible("#view-signin")
    shot(page, "signin.png")
    assert all("401" in e for e in page.script_errors), page.script_errors
    page.script_errors.clear()


def test_planner_starts_a_plan_and_compares(page, live):
    sign_in(page, live["keys"]["planner"])
    assert visible_tabs(page) == ["planner", "dispatcher", "coordinator", "incidents"]
    page.wait_for_selector("#scenario-table tbody tr")
    assert page.inner_text("#scenario-table tbody tr td:nth-child(2)") == "tiny"
    page.select_option("#plan-engine", "pyvrp")
    page.fill("#plan-limit", "1")
    page.click("#plan-start")
    page.wait_for_selector("#job-state[data-state='done']", timeout=90_000)
    page.wait_for_function(
        "document.querySelectorAll('#plan-table tbody input:not([disabled])').length >= 2"
    )
    for box in page.query_selector_all("#plan-table tbody input:not([disabled])")[:2]:
        box.check()
    page.click("#compare-btn")
    page.wait_for_selector("#chart svg rect")
    assert len(page.query_selector_all("#chart svg rect")) == 2
    assert len(page.query_selector_all("#compare-table thead th")) == 3
    cost = page.inner_text("#compare-table tr[data-kpi='total_cost_cny'] td:first-child")
    assert cost == "总成本 元"
    # a county that does not sort: no KPIs by stream (issue 18)
    assert not page.is_visible("#compare-streams")
    assert not page.query_selector_all("#compare-table tr[data-kpi='diverted_share']")
    page.select_option("#chart-kpi", "distance_km")
    assert page.get_attribute("#chart svg", "aria-label") == "里程 km"
    # a what-if derived from the scenario, with a road closed
    page.click("#whatif summary")
    page.fill("#w-name", "封路假设")
    page.fill("#w-roads", "EW2")
    page.click("#whatif-form button[type=submit]")
    page.wait_for_selector("#scenario-table tbody tr:nth-child(2)")
    made = live["api"].get("/scenarios").json()[-1]
    assert made["kind"] == "whatif" and made["closed_road_ids"] == ["EW2"]
    assert page.input_value("#plan-scenario") == str(made["id"])
    shot(page, "planner.png", full_page=True)
    # the plan's files for QGIS and Excel, downloaded from the plan table
    menu = f"#plan-table select[data-files='{live['plan_id']}']"
    options = page.eval_on_selector_all(f"{menu} option", "os => os.map(o => o.value)")
    assert {"plan.gpkg", "route_sheets.xlsx", "kpis.csv", "map.png"} <= set(options)
    assert not [o for o in options if o.startswith("route_sheets/")]  # per truck: dispatcher
    with page.expect_download() as download:
        page.select_option(menu, "plan.gpkg")
    assert download.value.suggested_filename == f"tiny_plan{live['plan_id']}_plan.gpkg"
    saved = ARTIFACTS / "plan.gpkg"
    download.value.save_as(saved)
    assert saved.read_bytes()[:16] == b"SQLite format 3\x00"
    with page.expect_download() as download:
        page.select_option(menu, "kpis.csv")
    assert download.value.path().read_bytes()[:3] == b"\xef\xbb\xbf"  # BOM: Excel reads UTF-8
    assert page.input_value(menu) == ""  # the menu is ready for the next file
    page.click(f"#plan-table button[data-open='{live['plan_id']}']")
    page.wait_for_selector("#view-dispatcher:not([hidden]) #d-stops tbody tr")
    assert page.input_value("#d-plan") == str(live["plan_id"])


def _kg(text: str) -> int:
    """A load as the page shows it ("1,000", "−2,300" for an unload) in kg, unsigned."""
    return int(re.sub(r"\D", "", text))


def test_dispatcher_route_matches_the_api(page, live):
    sign_in(page, live["keys"]["dispatcher"])
    assert visible_tabs(page) == ["dispatcher", "coordinator", "incidents"]
    page.select_option("#d-plan", str(live["plan_id"]))
    # the change marks the map stale at once; it is redrawn after the table
    page.wait_for_selector("#d-map[data-drawn]:not([data-drawn=''])")
    vehicle = page.input_value("#d-truck")
    date = page.input_value("#d-date")
    assert page.get_attribute("#d-map", "data-drawn") == f"{vehicle} {date}"
    answer = live["api"].get(
        f"/plans/{live['plan_id']}/routes", params={"date": date, "vehicle": vehicle}
    )
    visits = answer.json()["routes"][0]["visits"]
    rows = page.eval_on_selector_all(
        "#d-stops tbody tr",
        "rs => rs.map(r => [Number(r.dataset.order), r.dataset.kind, r.dataset.id,"
        " r.children[3].textContent, r.children[4].textContent, r.children[5].textContent])",
    )
    assert [[*r[:4], _kg(r[4]), _kg(r[5])] for r in rows] == [
        [v["order"], v["kind"], v["id"], v["arrival"], v["load_kg"], v["load_after_kg"]]
        for v in visits
    ]
    assert any(v["kind"] == "unload" for v in visits)
    # a county that does not sort: no stream columns (issue 18)
    assert page.eval_on_selector_all(
        "th.stream-col", "hs => hs.length > 0 && hs.every(h => h.hidden)"
    )
    assert not page.query_selector_all("td.stream-col")
    # ... nor stream colours, legend or filter: the stops in the one stop colour, as before
    assert not page.is_visible("#d-stream-box") and not page.is_visible("#d-stream-legend")
    assert page.is_visible("#d-legend-stop")
    assert page.eval_on_selector_all(
        "#d-map .vmark.stop",
        "ms => ms.length > 0 && ms.every(m => m.dataset.stream === undefined"
        " && getComputedStyle(m).backgroundColor === 'rgb(31, 111, 209)')",
    )
    # numbered stop markers, unload markers (卸 + visit numbers) and the route line on the map
    numbers = page.eval_on_selector_all(
        "#d-map .vmark.stop", "ms => ms.map(m => Number(m.textContent))"
    )
    assert sorted(numbers) == [v["order"] for v in visits if v["kind"] == "stop"]
    unloads = page.eval_on_selector_all("#d-map .vmark.unload", "ms => ms.map(m => m.textContent)")
    assert len(unloads) == len({v["id"] for v in visits if v["kind"] == "unload"})
    assert sorted(int(o) for u in unloads for o in u.removeprefix("卸").split("·")) == [
        v["order"] for v in visits if v["kind"] == "unload"
    ]
    assert len(page.query_selector_all("#d-map path.leaflet-interactive")) > 10
    assert page.is_visible("#d-map .synthetic-badge")  # tiny's sites are synthetic
    shot(page, "dispatcher.png", full_page=True)
    # switching trucks faster than the map draws leaves only the last truck's markers
    trucks = page.eval_on_selector_all("#d-truck option", "os => os.map(o => o.value)")
    assert "*" in trucks  # the day's overview of all trucks is one of the choices
    for other in [*[t for t in trucks if t != vehicle][:3], vehicle]:
        page.select_option("#d-truck", other)
    page.wait_for_selector(f"#d-map[data-drawn='{vehicle} {date}']")
    assert len(page.query_selector_all("#d-map .vmark.stop")) == len(numbers)
    assert not page.query_selector_all("#d-map path.allstop")
    # the day's overview of all trucks, then back to one truck by clicking its row
    page.select_option("#d-truck", "*")
    page.wait_for_selector(f"#d-map[data-drawn='* {date}']")
    day = live["api"].get(f"/plans/{live['plan_id']}/routes", params={"date": date}).json()
    assert len(page.query_selector_all("#d-map path.allstop")) == sum(
        r["n_stops"] for r in day["routes"]
    )
    # each truck's stops in its route's colour (a sorted plan: in their stream's)
    fills = page.eval_on_selector_all(
        "#d-map path.allstop", "ps => new Set(ps.map(p => p.getAttribute('fill'))).size"
    )
    assert fills == len(day["routes"])
    shot(page, "dispatcher-all.png")
    page.click(f"#d-stops tr.legend-row[data-vehicle='{vehicle}']")
    page.wait_for_selector("#d-stops tbody tr[data-order]")
    with page.expect_download() as download:
        page.click("#d-xlsx")
    saved = ARTIFACTS / "route-sheet.xlsx"
    download.value.save_as(saved)
    assert saved.read_bytes()[:2] == b"PK"
    page.emulate_media(media="print")
    assert not page.is_visible("#d-print")
    assert page.is_visible(".print-head h1")
    assert vehicle in page.inner_text(".print-head h1")
    shot(page, "dispatcher-print.png", full_page=True)
    page.emulate_media(media="screen")


def _road_point_near(live, lon: float, lat: float) -> tuple[float, float]:
    """A vertex of the scenario's roads near a location (to click a road on the map)."""
    net = live["api"].get(f"/scenarios/{live['scenario_id']}/network.geojson").json()
    vertices = [
        c
        for f in net["features"]
        if f["properties"]["feature"] == "road"
        for c in f["geometry"]["coordinates"]
    ]
    return min(vertices, key=lambda c: (c[0] - lon) ** 2 + (c[1] - lat) ** 2)


def _click_map(page, lon: float, lat: float) -> None:
    x, y = page.evaluate(
        "([lat, lon]) => { const p = sanitationApp.state.maps['c-map'].map"
        ".latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        [lat, lon],
    )
    page.click("#c-map", position={"x": x, "y": y})


def test_coordinator_sees_its_township_and_reports_incidents(page, live):
    sign_in(page, live["keys"]["coordinator"])
    assert page.is_hidden("#tabs")
    assert page.is_visible("#view-coordinator")
    page.wait_for_selector("#c-map[data-drawn^='990000001 ']")
    options = page.eval_on_selector_all("#c-township option", "os => os.map(o => o.value)")
    assert options == ["990000001"]
    summary = live["api"].get("/townships/990000001/summary").json()
    rows = page.eval_on_selector_all(
        "#c-points tbody tr", "rs => rs.map(r => [r.dataset.id, r.dataset.status])"
    )
    served = {v["point_id"] for v in summary["service"]}
    assert sorted(r[0] for r in rows) == sorted(p["point_id"] for p in summary["points"])
    assert {r[0] for r in rows if r[1] == "served"} == served
    assert len(page.query_selector_all("#c-map path.pt")) == len(summary["points"])
    assert page.is_hidden("#c-streams-card")  # a county that does not sort (issue 18)
    page.select_option("#c-filter", "served")
    assert len(page.query_selector_all("#c-points tbody tr")) == len(served)
    page.select_option("#c-filter", "")
    shot(page, "coordinator.png", full_page=True)

    # an overflow: click the point on the map, then submit
    point = summary["points"][0]
    page.click(f"#c-map path.pt-{point['point_id']}", force=True)
    assert point["point_id"] in page.inner_text("#r-where")
    page.fill("#r-note", "垃圾桶满溢")
    page.click("#r-submit")
    page.wait_for_selector("#c-incidents tbody tr[data-kind='overflow']")
    assert page.get_attribute(f"#c-points tr[data-id='{point['point_id']}']", "data-status") == (
        "incident"
    )
    # a blocked road: switch the kind, click a road on the map, then submit
    page.check("input[name=r-kind][value=blocked_road]")
    lon, lat = _road_point_near(live, point["lon"], point["lat"])
    _click_map(page, lon, lat)
    page.fill("#r-note", "道路塌方")
    page.click("#r-submit")
    page.wait_for_selector("#c-incidents tbody tr[data-kind='blocked_road']")
    listed = live["api"].get("/incidents", params={"township": "990000001"}).json()
    assert {i["kind"] for i in listed} == {"overflow", "blocked_road"}
    blocked = next(i for i in listed if i["kind"] == "blocked_road")
    assert blocked["road_ids"] and blocked["note"] == "道路塌方"
    shot(page, "coordinator-incidents.png", full_page=True)


def test_dispatcher_lists_incidents_and_english_toggle(page, live):
    if not live["api"].get("/incidents").json():  # when run on its own
        made = live["api"].post(
            "/incidents",
            json={"kind": "overflow", "scenario_id": live["scenario_id"], "point_id": "P4"},
        )
        assert made.status_code == 201, made.text
    sign_in(page, live["keys"]["dispatcher"])
    page.click("#tabs button[data-view=incidents]")
    page.wait_for_selector("#i-table tbody tr")
    opened = live["api"].get("/incidents", params={"status": "open"}).json()
    assert len(page.query_selector_all("#i-table tbody tr")) == len(opened)
    page.select_option("#i-status", "")
    page.wait_for_function(
        f"document.querySelectorAll('#i-table tbody tr').length === "
        f"{len(live['api'].get('/incidents').json())}"
    )
    assert page.inner_text("#tabs button[data-view=dispatcher]") == "调度"
    page.click("#lang")
    assert page.inner_text("#tabs button[data-view=dispatcher]") == "Dispatch"
    assert page.inner_text("#i-table thead th:nth-child(2)") == "Kind"
    shot(page, "incidents-en.png", full_page=True)
    page.click("#tabs button[data-view=coordinator]")
    page.wait_for_selector("#c-points tbody tr")
    assert page.inner_text("#view-coordinator h2 >> nth=0") == "Report an incident"
    page.click("#lang")
    assert page.inner_text("#view-coordinator h2 >> nth=0") == "上报事件"


def test_planner_uploads_a_zip_plans_a_week_and_cancels(page, live, tmp_path):
    api = live["api"]
    before = {s["id"] for s in api.get("/scenarios").json()}
    sign_in(page, live["keys"]["planner"])
    page.wait_for_selector("#scenario-table tbody tr")
    archive = tmp_path / "tiny.zip"
    archive.write_bytes(_tiny_zip())
    page.set_input_files("#upload-file", str(archive))
    page.click("#upload-form button[type=submit]")
    page.wait_for_function(
        f"document.querySelectorAll('#scenario-table tbody tr').length === {len(before) + 1}"
    )
    (made,) = [s for s in api.get("/scenarios").json() if s["id"] not in before]
    assert made["n_points"] == 5
    assert page.input_value("#plan-scenario") == str(made["id"])  # chosen for the next plan
    # a week plan: seven dates, one map per day among the plan's files
    page.check("input[name=plan-span][value=week]")
    page.select_option("#plan-engine", "pyvrp")
    page.fill("#plan-limit", "1")
    page.click("#plan-start")
    page.wait_for_selector("#job-state[data-state='done']", timeout=120_000)
    (week,) = [p for p in api.get("/plans").json() if p["scenario_id"] == made["id"]]
    assert week["status"] == "done" and len(week["dates"]) == 7
    menu = f"#plan-table select[data-files='{week['id']}']"
    page.wait_for_selector(menu)
    dates = page.locator(f"#plan-table tr[data-id='{week['id']}'] td:nth-child(4)")
    assert dates.inner_text() == f"{week['dates'][0]} … {week['dates'][-1]} (7 天)"
    assert dates.get_attribute("title") == ", ".join(week["dates"])
    options = page.eval_on_selector_all(f"{menu} option", "os => os.map(o => o.value)")
    assert sorted(o for o in options if o.startswith("maps/")) == [
        f"maps/{day}.png" for day in week["dates"]
    ]
    # a long plan cancelled while it runs
    page.fill("#plan-limit", "60")
    page.click("#plan-start")
    page.wait_for_selector("#job-state[data-state='running']", timeout=60_000)
    job_id = int(page.inner_text("#job-id").lstrip("#"))
    page.click("#job-cancel")
    page.wait_for_selector("#job-state[data-state='cancelled']", timeout=60_000)
    assert api.get(f"/jobs/{job_id}").json()["state"] == "cancelled"
    assert page.is_hidden("#job-cancel")
    shot(page, "planner-week-cancelled.png", full_page=True)


def test_dispatcher_replans_with_open_incidents(page, live):
    """An open report becomes an event of the day's re-plan (the page's one re-plan: a new
    version of the plan, on the same day)."""
    api, scenario_id = live["api"], live["scenario_id"]
    for incident in api.get("/incidents", params={"status": "open"}).json():
        api.patch(f"/incidents/{incident['id']}", json={"status": "dismissed"})
    made = api.post(
        "/incidents", json={"kind": "overflow", "scenario_id": scenario_id, "point_id": "P3"}
    )
    assert made.status_code == 201, made.text
    ident = made.json()["id"]
    sign_in(page, live["keys"]["dispatcher"])
    page.select_option("#d-plan", str(live["plan_id"]))
    page.wait_for_selector("#d-map[data-drawn]:not([data-drawn=''])")
    date = page.input_value("#d-date")
    assert not page.query_selector("#d-replan")  # one re-plan control: the day's
    page.fill("#d-at", "07:00")
    page.click(f"#d-incidents li[data-incident='{ident}'] button.as-event")
    page.click("#d-replan-day")
    page.wait_for_function(
        "document.querySelector('#d-replan-day-state').textContent.includes('#')",
        timeout=90_000,
    )
    newest = api.get(f"/plans/{live['plan_id']}/versions").json()[-1]
    assert newest["status"] == "done", newest
    assert [e["type"] for e in newest["events"]] == ["urgent_point"]
    assert page.inner_text("#d-replan-day-state").endswith(f"#{newest['plan_id']}")
    page.wait_for_selector("#d-map[data-drawn]:not([data-drawn=''])")
    assert page.input_value("#d-plan") == str(newest["plan_id"])  # the new version is shown
    assert page.input_value("#d-date") == date  # on the same day
    assert not page.query_selector(f"#d-incidents li[data-incident='{ident}']")  # used
    assert api.get(f"/incidents/{ident}").json()["status"] == "used"
