"""Sorted streams in the scenario: declared, per point, per truck and per site; bad input named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cli_helpers import run_cli

from sanitation.errors import ScenarioError
from sanitation.plan.streams import check_stream_capacity
from sanitation.scenario.load import load_scenario
from sanitation.scenario.model import split_stop_id, stop_id

DATA = Path(__file__).parent / "data" / "scenario"
WANGJIANG_SORTED = Path(__file__).parents[1] / "scenarios" / "wangjiang" / "sorted.yaml"
SORTED = DATA / "sorted" / "scenario.yaml"
TINY = DATA / "tiny" / "scenario.yaml"


def _what_if(tmp_path: Path, base: Path, **changes: object) -> Path:
    """A what-if of ``base`` with ``changes`` (``overrides`` merged by the loader)."""
    path = tmp_path / "what_if.yaml"
    path.write_text(yaml.safe_dump({"base": str(base), **changes}, allow_unicode=True))
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return caught.value.problems


def test_a_scenario_without_streams_has_the_one_stream():
    scenario = load_scenario(TINY)
    assert not scenario.sorted and scenario.facilities == ()
    for point in scenario.points:
        assert point.streams == ()
        (only,) = point.collections()
        assert (only.stream, only.waste_t_per_day, only.frequency) == (
            "",
            point.waste_t_per_day,
            point.frequency,
        )
        assert stop_id(point.point_id, only.stream) == point.point_id
    assert all(v.compartments == () for v in scenario.vehicle_types)
    assert all(s.streams is None for s in scenario.stations)


def test_streams_rates_frequencies_bins_trucks_and_sites():
    scenario = load_scenario(SORTED)
    assert [s.stream_id for s in scenario.streams] == ["residual", "perishable", "recyclable"]
    by_id = {p.point_id: {s.stream: s for s in p.streams} for p in scenario.points}
    # own rate (t/day), per-capita rate × population (400 × 0.3 kg), else the stream's share
    assert by_id["P1"]["perishable"].waste_t_per_day == pytest.approx(0.2)
    assert by_id["P2"]["perishable"].waste_t_per_day == pytest.approx(0.12)
    assert by_id["P1"]["residual"].waste_t_per_day == pytest.approx(0.3 * 0.5)
    # the point's generation is the sum of its streams
    p1 = next(p for p in scenario.points if p.point_id == "P1")
    assert p1.waste_t_per_day == pytest.approx(0.15 + 0.2 + 0.03)
    # perishable daily by default; a stream's default; a point's own; else the point's
    assert by_id["P5"]["perishable"].frequency == "daily"
    assert by_id["P5"]["recyclable"].frequency == "weekly"
    assert by_id["P3"]["recyclable"].frequency == "twice_weekly"
    assert by_id["P5"]["residual"].frequency == "twice_weekly"
    assert by_id["P5"]["perishable"].bin_capacity_t == 0.24
    assert by_id["P5"]["residual"].bin_capacity_t == 1.0
    types = {v.type_id: v for v in scenario.vehicle_types}
    assert types["compactor_5t"].compartments == (("residual", 3.5), ("perishable", 1.5))
    assert types["hooklift_8t"].compartments == ()
    assert scenario.stations[0].streams == frozenset({"residual"})
    assert {f.facility_id: f.streams for f in scenario.facilities} == {
        "F1": frozenset({"perishable"}),
        "R1": frozenset({"recyclable"}),
    }
    assert split_stop_id(stop_id("P1", "perishable")) == ("P1", "perishable")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # a point with a stream the scenario does not declare
        (
            {"data": {"point_streams": str(DATA / "sorted" / "bad_point_streams.csv")}},
            ["bad_point_streams.csv: record 'P1/glass', field 'stream': value 'glass'"],
        ),
        # a declared stream no truck can carry
        (
            {
                "overrides": {
                    "vehicle_types": {
                        "small_3t": {"compartments": "residual:2;perishable:1"},
                    }
                }
            },
            ["record 'recyclable': no collection truck of the fleet carries it"],
        ),
        # a declared stream no site accepts
        (
            {"data": {"facilities": str(DATA / "sorted" / "facilities_no_recycling.csv")}},
            ["record 'recyclable': no station or facility accepts it"],
        ),
        # compartments that do not sum to the truck's capacity
        (
            {
                "overrides": {
                    "vehicle_types": {"small_3t": {"compartments": "residual:1;perishable:1"}}
                }
            },
            ["record 'small_3t', field 'compartments': value 'residual:1;perishable:1'"],
        ),
        # a site accepting a stream nobody declared
        (
            {"overrides": {"stations": {"S1": {"streams": "residual;glass"}}}},
            ["record 'S1', field 'streams': value 'residual;glass'"],
        ),
        # shares of a point's generation that do not sum to 1
        (
            {
                "streams": [
                    {"id": "residual", "name_zh": "其他垃圾", "name_en": "residual", "share": 0.5},
                    {
                        "id": "perishable",
                        "name_zh": "易腐垃圾",
                        "name_en": "perishable",
                        "share": 0.2,
                    },
                    {
                        "id": "recyclable",
                        "name_zh": "可回收物",
                        "name_en": "recyclables",
                        "share": 0.1,
                    },
                ]
            },
            ["field 'streams': shares [0.5, 0.2, 0.1] sum to 0.8"],
        ),
        # a facility serving a station that does not exist
        (
            {"data": {"facilities": str(DATA / "sorted" / "facilities_bad_station.csv")}},
            ["facilities_bad_station.csv: record 'F1', field 'station_ids': value 'S1;S9'"],
        ),
        # a station whose trucks could unload a stream nowhere
        (
            {"data": {"facilities": str(DATA / "sorted" / "facilities_s1_only.csv")}},
            [
                "record 'S2', field 'streams': value 'residual'; expected a site for its trucks' "
                "perishable"
            ],
        ),
        # territories of sorted streams are not built
        (
            {"policy": {"consistency": "territory"}},
            ["field 'policy.consistency': value 'territory'"],
        ),
    ],
    ids=[
        "undeclared-point-stream",
        "no-truck",
        "no-site",
        "compartments",
        "site",
        "shares",
        "facility-station",
        "station-coverage",
        "territories",
    ],
)
def test_bad_streams_are_named(tmp_path, changes, expected):
    problems = _problems(_what_if(tmp_path, SORTED, **changes))
    for text in expected:
        assert any(text in problem for problem in problems), problems


def test_a_county_that_does_not_sort_names_no_stream(tmp_path):
    path = _what_if(tmp_path, TINY, overrides={"vehicle_types": {"small_3t": {"stream": "x"}}})
    problems = _problems(path)
    assert any("record 'small_3t', field 'stream': value 'x'" in p for p in problems), problems


def test_a_bad_stream_exits_2_naming_it(tmp_path, monkeypatch):
    path = _what_if(
        tmp_path, SORTED, data={"point_streams": str(DATA / "sorted" / "bad_point_streams.csv")}
    )
    result = run_cli(["validate", str(path)], monkeypatch)
    assert result.code == 2, result.message
    assert "'P1/glass', field 'stream': value 'glass'" in result.stderr
    assert "Traceback" not in result.message


def test_the_wangjiang_sorted_what_if_loads_with_four_streams():
    scenario = load_scenario(WANGJIANG_SORTED)
    assert [(s.stream_id, s.share, s.frequency) for s in scenario.streams] == [
        ("residual", 0.55, None),
        ("perishable", 0.34, "daily"),
        ("recyclable", 0.10, "weekly"),
        ("hazardous", 0.01, "weekly"),
    ]
    assert all(s.streams == frozenset({"residual"}) for s in scenario.stations)
    for station in (s for s in scenario.stations if s.status == "existing"):
        served = {f.kind for f in scenario.facilities if f.serves(station.station_id)}
        assert served == {"perishable_treatment", "recycling_centre", "hazardous_store"}
    for point in scenario.points:
        assert {p.stream: p.frequency for p in point.streams}["perishable"] == "daily"
        assert sum(p.waste_t_per_day for p in point.streams) == pytest.approx(point.waste_t_per_day)
    types = {v.type_id: v for v in scenario.vehicle_types}
    assert sum(t for _, t in types["compactor_5t"].compartments) == pytest.approx(5.0)
    check_stream_capacity(scenario)  # every stream fits the sites accepting it


def test_the_api_check_names_a_bad_stream(tmp_path):
    # the API's one ScenarioError handler answers 422 with these problems (api.main)
    from api.scenarios import validate
    from api.settings import Settings

    path = _what_if(
        tmp_path, SORTED, data={"point_streams": str(DATA / "sorted" / "bad_point_streams.csv")}
    )
    with pytest.raises(ScenarioError) as caught:
        validate(path, Settings(data_dir=tmp_path))
    assert any("'P1/glass', field 'stream': value 'glass'" in p for p in caught.value.problems)
