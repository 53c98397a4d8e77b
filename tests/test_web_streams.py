"""Sorted streams on the page in headless Chromium (issue 18): the dispatcher's stop table shows
each stop's stream and the compartment loads after each visit, the trucks table each route's
compartments, the map each stop in its stream's colour with a legend and a stream filter; the
planner's comparison a table of KPIs by stream; the coordinator sees a table of collection
weekdays per point and stream (and no county figures by stream).

The browser and tab are those of tests/test_web_e2e.py; this module's own server plans a week
of the sorted tiny county (``tests/data/scenario/sorted``, OR-Tools, 1 s). A county that does not
sort shows none of it (tests/test_web_e2e.py checks that on the tiny plan).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from api_helpers import Server, cli_key, folder_zip

from tests.test_web_e2e import browser, page, shot, sign_in

__all__ = ["browser", "page"]  # the fixtures
pytestmark = pytest.mark.slow
DATA = Path(__file__).parent / "data" / "scenario"
MONDAY = dt.date(2026, 11, 30)
WEEKDAYS_ZH = {1: "周一", 2: "周二", 3: "周三", 4: "周四", 5: "周五", 6: "周六", 7: "周日"}
# the page's fixed stream colours (api/static/app.js STREAM_COLOURS): China's bin colours
COLOURS = {"residual": "#5f6b76", "perishable": "#2e8540", "recyclable": "#1f5fbf"}


def _rgb(colour: str) -> str:
    """A #rrggbb colour as getComputedStyle gives it."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def _num(x: float, digits: int) -> str:
    """A number as the page shows it (Intl rounds the shortest decimal form half up)."""
    exact = Decimal(repr(x)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return f"{exact:,.{digits}f}"


def _pct(x: float) -> str:
    return f"{_num(100 * x, 1)}%"


@pytest.fixture(scope="module")
def live(tmp_path_factory, wait_job):
    """A server with a planned week of the sorted tiny county and a key per role."""
    data = tmp_path_factory.mktemp("web-streams")
    server = Server(data, tile_url="").start()
    try:
        keys = {
            "planner": cli_key(data, "--role", "planner"),
            "dispatcher": cli_key(data, "--role", "dispatcher"),
            "coordinator": cli_key(data, "--role", "coordinator", "--township", "990000001"),
        }
        with server.client(keys["planner"]) as client:
            archive = folder_zip(DATA / "tiny", DATA / "sorted")
            answer = client.post(
                "/scenarios",
                files={"file": ("sorted.zip", archive, "application/zip")},
                data={"yaml_name": "sorted/scenario.yaml"},
            )
            assert answer.status_code == 201, answer.text
            started = client.post(
                f"/scenarios/{answer.json()['id']}/plans",
                json={"engine": "ortools", "time_limit_s": 1, "week": MONDAY.isoformat()},
            )
            assert started.status_code == 202, started.text
            job = wait_job(client, started.json()["job_id"])
            assert job["state"] == "done", job
            yield {
                "url": server.url,
                "keys": keys,
                "plan_id": started.json()["plan_id"],
                "api": client,
            }
    finally:
        server.stop()


def test_dispatcher_sees_each_stops_stream_and_the_compartment_loads(page, live):
    sign_in(page, live["keys"]["dispatcher"])
    page.select_option("#d-plan", str(live["plan_id"]))
    page.wait_for_selector("#d-map[data-drawn]:not([data-drawn=''])")
    vehicle, date = page.input_value("#d-truck"), page.input_value("#d-date")
    body = (
        live["api"]
        .get(f"/plans/{live['plan_id']}/routes", params={"date": date, "vehicle": vehicle})
        .json()
    )
    names = {s["id"]: s["name_zh"] for s in body["streams"]}
    route = body["routes"][0]
    assert page.is_visible("#d-stops th.stream-col") and page.is_visible("#d-trucks th.stream-col")
    rows = page.eval_on_selector_all(
        "#d-stops tbody tr",
        "rs => rs.map(r => [r.dataset.id, ...[...r.querySelectorAll('td.stream-col')]"
        ".map(c => c.textContent)])",
    )
    expected = []
    for v in route["visits"]:
        kg = v.get("load_after_by_stream_kg", {})
        loads = " · ".join(
            f"{names[c['stream']]} {kg.get(c['stream'], 0):,}" for c in route["compartments"]
        )
        expected.append([v["id"], names.get(v.get("stream"), ""), loads])
    assert rows == expected
    assert any(r[1] for r in rows)  # stops of streams
    truck = page.inner_text(f"#d-trucks tr[data-vehicle='{vehicle}'] td.stream-col")
    for c in route["compartments"]:
        tonnes = f"{c['collected_kg'] / 1000:.2f}/{c['capacity_kg'] / 1000:.1f}"
        assert f"{names[c['stream']]} {tonnes}" in truck
    shot(page, "dispatcher-streams.png", full_page=True)
    page.click("#lang")  # English names
    page.wait_for_selector("#d-map[data-drawn]:not([data-drawn=''])")
    english = {s["id"]: s["name_en"] for s in body["streams"]}
    shown = page.eval_on_selector_all(
        "#d-stops tbody tr[data-kind='stop'] td.stream-col:first-of-type",
        "cs => cs.map(c => c.textContent)",
    )
    assert set(shown) <= set(english.values())


def test_coordinator_sees_collection_weekdays_per_stream(page, live):
    sign_in(page, live["keys"]["coordinator"])
    page.wait_for_selector("#c-map[data-drawn^='990000001 ']")
    assert page.is_visible("#c-streams-card")
    summary = (
        live["api"].get("/townships/990000001/summary", params={"plan_id": live["plan_id"]}).json()
    )
    heads = page.eval_on_selector_all("#c-streams thead th", "hs => hs.map(h => h.textContent)")
    assert heads[2:] == [s["name_zh"] for s in summary["streams"]]
    cells = page.eval_on_selector_all(
        "#c-streams tbody td[data-stream]",
        "cs => cs.map(c => [c.closest('tr').dataset.id, c.dataset.stream,"
        " c.querySelector('.weekdays').textContent])",
    )
    expected = [
        [p["point_id"], s["stream"], "、".join(WEEKDAYS_ZH[w] for w in s["weekdays"]) or "–"]
        for p in summary["points"]
        for s in p["streams"]
    ]
    assert cells == expected
    assert {c[0] for c in cells} == {"P1", "P2", "P3"}
    # perishable waste is collected daily: every weekday of the week, unless left unserved
    for p in summary["points"]:
        perishable = next(s for s in p["streams"] if s["stream"] == "perishable")
        assert len(perishable["weekdays"]) + len(perishable["unserved_days"]) == 7
    # the KPIs by stream are the county's: not on a coordinator's page (GET /compare is 403)
    assert not page.is_visible("#view-planner") and not page.is_visible("#compare-streams")
    shot(page, "coordinator-streams.png", full_page=True)


def _drawn(page, stream: str) -> None:
    """Wait until the dispatcher's map is drawn showing ``stream`` ("": every stream)."""
    page.wait_for_selector(f"#d-map[data-stream='{stream}'][data-drawn]:not([data-drawn=''])")


def test_the_map_colours_each_stop_by_its_stream_with_a_legend_and_a_filter(page, live):
    sign_in(page, live["keys"]["dispatcher"])
    page.select_option("#d-plan", str(live["plan_id"]))
    _drawn(page, "")
    vehicle, date = page.input_value("#d-truck"), page.input_value("#d-date")
    api = live["api"]
    body = api.get(
        f"/plans/{live['plan_id']}/routes", params={"date": date, "vehicle": vehicle}
    ).json()
    stops = [v for v in body["routes"][0]["visits"] if v["kind"] == "stop"]
    markers = page.eval_on_selector_all(
        "#d-map .vmark.stop",
        "ms => ms.map(m => [m.textContent, m.dataset.stream, getComputedStyle(m).backgroundColor])",
    )
    assert sorted(markers) == sorted(
        [str(v["order"]), v["stream"], _rgb(COLOURS[v["stream"]])] for v in stops
    )
    # the legend names every stream in its colour, in place of the one stop colour
    assert page.is_visible("#d-stream-legend") and not page.is_visible("#d-legend-stop")
    legend = page.eval_on_selector_all(
        "#d-stream-legend > span",
        "ss => ss.map(s => [s.dataset.stream, s.textContent,"
        " getComputedStyle(s.querySelector('.dot')).backgroundColor])",
    )
    assert legend == [[s["id"], s["name_zh"], _rgb(COLOURS[s["id"]])] for s in body["streams"]]
    # one stream: only its stops stay on the map
    options = page.eval_on_selector_all("#d-stream option", "os => os.map(o => o.value)")
    assert options == ["", *(s["id"] for s in body["streams"])]
    chosen = max({v["stream"] for v in stops}, key=lambda s: sum(v["stream"] == s for v in stops))
    page.select_option("#d-stream", chosen)
    _drawn(page, chosen)
    shown = page.eval_on_selector_all("#d-map .vmark.stop", "ms => ms.map(m => m.dataset.stream)")
    assert shown == [chosen] * sum(v["stream"] == chosen for v in stops)
    shot(page, "dispatcher-stream-filter.png")
    # every truck of the day: stops filled in their stream's colour, the filter kept
    day = api.get(f"/plans/{live['plan_id']}/routes", params={"date": date}).json()
    every = [v for r in day["routes"] for v in r["visits"] if v["kind"] == "stop"]
    page.select_option("#d-truck", "*")
    page.wait_for_selector(f"#d-map[data-stream='{chosen}'][data-drawn='* {date}']")
    fills = page.eval_on_selector_all(
        "#d-map path.allstop", "ps => ps.map(p => [p.dataset.stream, p.getAttribute('fill')])"
    )
    assert fills == [[chosen, COLOURS[chosen]]] * sum(v["stream"] == chosen for v in every)
    page.select_option("#d-stream", "")
    page.wait_for_selector(f"#d-map[data-stream=''][data-drawn='* {date}']")
    fills = page.eval_on_selector_all(
        "#d-map path.allstop", "ps => ps.map(p => [p.dataset.stream, p.getAttribute('fill')])"
    )
    assert sorted(fills) == sorted([v["stream"], COLOURS[v["stream"]]] for v in every)
    shot(page, "dispatcher-streams-all.png")
    page.click("#lang")  # the legend and the filter in English
    english = [s["name_en"] for s in body["streams"]]
    page.wait_for_function(
        "names => [...document.querySelectorAll('#d-stream-legend > span')]"
        ".map(s => s.textContent).join('|') === names.join('|')",
        arg=english,
    )
    labels = page.eval_on_selector_all("#d-stream option", "os => os.map(o => o.textContent)")
    assert labels == ["All streams", *english]


def test_the_planners_comparison_shows_the_kpis_by_stream(page, live):
    sign_in(page, live["keys"]["planner"])
    plan_id = live["plan_id"]
    box = f"#plan-table tbody input[value='{plan_id}']:not([disabled])"
    page.wait_for_selector(box)
    page.check(box)
    page.click("#compare-btn")
    page.wait_for_selector("#compare-streams-table tbody tr")
    stored = live["api"].get(f"/plans/{plan_id}/files/plan.json").json()
    county = next(k for k in stored["kpis"] if k["scope"] == "county")
    by_stream = [k for k in stored["kpis"] if k["scope"] == "stream"]
    names = {
        s["id"]: s["name_zh"] for s in live["api"].get(f"/plans/{plan_id}/routes").json()["streams"]
    }
    heads = page.eval_on_selector_all(
        "#compare-streams-table thead th", "hs => hs.map(h => h.textContent)"
    )
    assert heads == [
        "规划",
        "分类",
        "收运量 t",
        "里程占比",
        "成本占比",
        "吨均成本 元/t",
        "分流率（不进焚烧/填埋）",
    ]
    rows = page.eval_on_selector_all(
        "#compare-streams-table tbody tr",
        "rs => rs.map(r => [r.dataset.stream || '', ...[...r.cells].map(c => c.textContent)])",
    )

    def row(stream: str, label: str, k: dict) -> list[str]:
        return [
            stream,
            f"#{plan_id}",
            label,
            _num(k["collected_t"], 2),
            _pct(k["distance_km"] / county["distance_km"]),
            _pct(k["total_cost_cny"] / county["total_cost_cny"]),
            _num(k["cost_cny_per_t"], 0),
            _pct(k["diverted_share"]),
        ]

    assert rows == [
        *(row(k["id"], names[k["id"]], k) for k in by_stream),
        row("", "全县", county),
    ]
    dots = page.eval_on_selector_all(
        "#compare-streams-table tbody tr[data-stream] .dot",
        "ds => ds.map(d => getComputedStyle(d).backgroundColor)",
    )
    assert dots == [_rgb(COLOURS[k["id"]]) for k in by_stream]
    # the county row's cost per tonne and diverted share in the KPI table
    assert page.inner_text("#compare-table tr[data-kpi='diverted_share'] td:nth-child(2)") == (
        _pct(county["diverted_share"])
    )
    assert page.inner_text("#compare-table tr[data-kpi='cost_cny_per_t'] td:nth-child(2)") == (
        _num(county["cost_cny_per_t"], 0)
    )
    shot(page, "planner-streams.png", full_page=True)
    page.click("#lang")  # the table follows the language
    page.wait_for_function(
        "() => document.querySelector('#compare-streams-table thead th:nth-child(4)')"
        ".textContent === 'Share of km'"
    )
    english = page.eval_on_selector_all(
        "#compare-streams-table tbody tr[data-stream] td:nth-child(2)",
        "cs => cs.map(c => c.textContent)",
    )
    streams = live["api"].get(f"/plans/{plan_id}/routes").json()["streams"]
    assert english == [next(s["name_en"] for s in streams if s["id"] == k["id"]) for k in by_stream]
