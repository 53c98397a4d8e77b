"""Readers and runners of the facility-location benchmarks on tiny instances."""

from pathlib import Path

import numpy as np
import pytest

from sanitation.bench import cflp, run_bench, sscflp

DATA = Path(__file__).parent / "data" / "assignment"


def test_read_cap():
    problem = cflp.read_cap(DATA / "instances" / "tiny_cap.txt")
    assert not problem.single_source
    assert problem.demand_kg.tolist() == [60, 60, 50, 30]
    assert problem.capacity_kg.tolist() == [100, 100, 300]
    assert problem.fixed_cost_cny.tolist() == [10.0, 10.0, 50.0]
    assert problem.collection_cost_cny[1].tolist() == [5.0, 1.0, 3.0]


def test_read_cap_capacity_word():
    with pytest.raises(ValueError, match="capacity="):
        cflp.read_cap(DATA / "instances" / "tiny_capx.txt")
    problem = cflp.read_cap(DATA / "instances" / "tiny_capx.txt", capacity=200)
    assert problem.capacity_kg.tolist() == [200, 200, 200]


def test_read_cap_rejects_truncated(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("2 1\n10 1\n10 1\n5 1.0\n", encoding="ascii")
    with pytest.raises(ValueError, match="expected 9 numbers for m=2, n=1, found 8"):
        cflp.read_cap(bad)


def test_cflp_run_uses_capopt_rows():
    results = cflp.run([DATA / "instances"], time_limit_s=10, engine=None, seed=1)
    by_name = {r["instance"]: r for r in results}
    assert sorted(by_name) == ["tiny_cap", "tiny_capx_100", "tiny_capx_200"]
    assert by_name["tiny_cap"]["cost"] == pytest.approx(26.0)
    assert by_name["tiny_capx_200"]["cost"] == pytest.approx(20.0)
    for result in results:
        assert result["gap_pct"] == pytest.approx(0.0)
        assert result["optimal"] is True
        assert result["feasible"] is True


def test_read_holmberg_is_facility_major():
    problem = sscflp.read_holmberg(DATA / "instances" / "p_tiny")
    assert problem.single_source
    assert problem.demand_kg.tolist() == [60, 60, 50, 30]
    np.testing.assert_array_equal(problem.collection_cost_cny[:, 0], [1, 5, 2, 2])
    np.testing.assert_array_equal(problem.collection_cost_cny[0], [1, 5, 3])


def test_sscflp_bench_report():
    report = run_bench("sscflp", [DATA / "instances"], time_limit_s=10, engine=None)
    assert report["problem"] == "sscflp"
    assert report["engine"] == "racing"
    [result] = report["results"]
    assert result["instance"] == "p_tiny"
    assert result["cost"] == 62.0
    assert result["bks"] == 62.0
    assert result["optimal"] is True
