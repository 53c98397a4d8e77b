"""Route-aware siting (`sanitation.siting.solve_siting`) against the estimate alone."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from sanitation.errors import InfeasibleError
from sanitation.siting import RoutedGroup, SitingProblem, solve_siting

CORNERS = np.array([[-10.0, 10.0], [10.0, 10.0], [10.0, -10.0], [-10.0, -10.0]])
SITES = np.array([[-40.0, 0.0], [0.0, 0.0]])  # A: west of the square, B: its centre


class TourOracle:
    """Exact single-vehicle tour (all permutations) on Euclidean distances; counts its calls."""

    def __init__(self, customers: np.ndarray, sites: np.ndarray) -> None:
        self.customers, self.sites, self.calls = customers, sites, 0

    def __call__(self, site, customers, *, time_limit_s, seed):
        self.calls += 1
        best = None
        for order in itertools.permutations(customers):
            pts = [self.sites[site], *(self.customers[c] for c in order), self.sites[site]]
            length = sum(math.dist(a, b) for a, b in itertools.pairwise(pts))
            if best is None or length < best[0] - 1e-12:
                best = (length, order)
        return RoutedGroup(best[0], (tuple(best[1]),))


def _square_problem(**overrides) -> SitingProblem:
    d = np.linalg.norm(CORNERS[:, None, :] - SITES[None, :, :], axis=2)
    fields = {
        "opening_cost": np.array([0.0, 49.0]),
        "capacity": np.array([4, 4]),
        "demand": np.ones(4, dtype=int),
        "allowed": np.ones((4, 2), dtype=bool),
        "assign_cost": np.zeros((4, 2)),
        # the project's estimate: a stem round trip per truckload, 2 d q / Q with Q = 4
        "estimate": 2.0 * d * 1 / 4,
    }
    fields.update(overrides)
    return SitingProblem(**fields)


def test_route_aware_siting_beats_the_estimate():
    """Four customers (demand 1, one vehicle of capacity 4) at the corners (+-10, +-10) of a square;
    site A at (-40, 0) opens free, site B at the centre (0, 0) costs 49 to open.

    Estimate (2 d q / Q summed): B: 4 x 2 x 14.142 / 4 = 28.28, total 49 + 28.28 = 77.28;
    A: corners at 31.62 (west) and 50.99 (east): 2 x (2 x 31.62 + 2 x 50.99) / 4 = 82.61.
    So the estimate opens B. Real tours: from B the square's perimeter through the centre,
    14.14 + 20 + 20 + 20 + 14.14 = 88.28 (the corner-to-corner edges cannot be avoided), total
    137.28; from A: 31.62 + 20 + 20 + 20 + 31.62 = 123.25, total 123.25. Route-aware opens A
    and saves 14.03. (Both open cost at least 49 + 83.25 + 48.28 = 180.5.)
    """
    problem = _square_problem()
    oracle = TourOracle(CORNERS, SITES)
    result = solve_siting(problem, oracle, time_limit_s=20, seed=1, max_evaluations=20)
    assert result.estimate_open.tolist() == [False, True]
    assert result.estimate_objective == pytest.approx(49 + 4 * 2 * math.sqrt(200) / 4)
    assert result.estimate_routed_total == pytest.approx(49 + 2 * math.sqrt(200) + 60)
    assert result.open.tolist() == [True, False]
    assert result.total_cost == pytest.approx(2 * math.sqrt(1000) + 60)
    assert result.site_of.tolist() == [0, 0, 0, 0]
    assert result.total_cost < result.estimate_routed_total - 14
    assert result.oracle_calls == oracle.calls  # cached: each (site, set) routed once
    assert len({(j, frozenset(g.routes[0])) for j, g in result.groups.items()}) == 1


def test_fixed_open_binds():
    """With B fixed open its 49 is paid anyway; B's tour (88.28) then beats A's (123.25)."""
    problem = _square_problem(fixed_open=np.array([False, True]))
    result = solve_siting(problem, TourOracle(CORNERS, SITES), time_limit_s=20, max_evaluations=20)
    assert result.open[1]
    assert result.total_cost == pytest.approx(49 + 2 * math.sqrt(200) + 60)


def test_fixed_closed_and_capacity_bind():
    """B closed and A's capacity 3 < demand 4: no siting exists."""
    problem = _square_problem(fixed_closed=np.array([False, True]), capacity=np.array([3, 4]))
    with pytest.raises(InfeasibleError, match="capacities"):
        solve_siting(problem, TourOracle(CORNERS, SITES), time_limit_s=5, max_evaluations=5)


def test_capacity_splits_customers():
    """A holds 2 units only: two customers go to B; each site's tour is exact and the whole is
    cheaper than any other split the search routed."""
    problem = _square_problem(capacity=np.array([2, 4]))
    result = solve_siting(problem, TourOracle(CORNERS, SITES), time_limit_s=20, max_evaluations=40)
    load = np.bincount(result.site_of, minlength=2)
    assert load[0] <= 2
    assert result.total_cost == pytest.approx(
        result.opening_cost + sum(g.cost for g in result.groups.values())
    )


def test_same_seed_same_result_under_a_work_budget():
    rng = np.random.default_rng(5)
    customers = rng.uniform(0, 30, size=(7, 2))
    sites = rng.uniform(0, 30, size=(3, 2))
    d = np.linalg.norm(customers[:, None] - sites[None], axis=2)
    problem = SitingProblem(
        opening_cost=np.array([20.0, 25.0, 15.0]),
        capacity=np.array([4, 4, 4]),
        demand=np.ones(7, dtype=int),
        allowed=np.ones((7, 3), dtype=bool),
        assign_cost=np.zeros((7, 3)),
        estimate=2 * d / 4,
    )
    runs = [
        solve_siting(problem, TourOracle(customers, sites), time_limit_s=30, max_evaluations=12)
        for _ in range(2)
    ]
    assert runs[0].site_of.tolist() == runs[1].site_of.tolist()
    assert runs[0].total_cost == runs[1].total_cost
    assert runs[0].stopped_by in ("evaluations", "converged")
    assert runs[0].total_cost <= runs[0].estimate_routed_total


def test_problem_names_bad_field():
    with pytest.raises(ValueError, match="estimate must have shape"):
        _square_problem(estimate=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="capacity must hold integers"):
        _square_problem(capacity=np.array([2.5, 4]))
    with pytest.raises(ValueError, match="both fixed_open and fixed_closed"):
        _square_problem(fixed_open=np.array([True, False]), fixed_closed=np.array([True, False]))


def _timing_out_first_mip(monkeypatch):
    """The first (estimate) MIP finds nothing in its time; later ones run."""
    from sanitation.siting import search

    real = search.allocate

    def fake(*args, timeout_is_error=False, **kwargs):
        if timeout_is_error:
            msg = "no feasible assignment found within 5 s; raise the limit"
            raise RuntimeError(msg)
        return real(*args, **kwargs)

    monkeypatch.setattr(search, "allocate", fake)


def test_timed_out_first_mip_is_not_infeasibility(monkeypatch):
    _timing_out_first_mip(monkeypatch)
    problem = _square_problem()
    oracle = TourOracle(CORNERS, SITES)
    with pytest.raises(RuntimeError, match="within"):
        solve_siting(problem, oracle, time_limit_s=5.0, max_evaluations=10, route_time_s=0.1)


def test_timed_out_first_mip_starts_from_initial(monkeypatch):
    from sanitation.siting import Whole

    _timing_out_first_mip(monkeypatch)
    problem = _square_problem()
    oracle = TourOracle(CORNERS, SITES)
    start = np.zeros(4, dtype=np.int64)  # everything at A (the estimate MIP would open B)
    groups = {0: oracle(0, (0, 1, 2, 3), time_limit_s=1.0, seed=1)}
    result = solve_siting(
        problem,
        oracle,
        time_limit_s=5.0,
        max_evaluations=10,
        route_time_s=0.1,
        initial=[Whole(start, groups)],
    )
    assert list(result.estimate_site_of) == [0, 0, 0, 0]
    assert result.total_cost <= result.estimate_routed_total


def test_costly_expansion_modules_are_avoided():
    """A holds 2 of the 4 units without modules; 2 modules of 1 unit would let it take all four
    (123.25 routed, the cheapest tours) but cost 100 each: 323.25 against B alone at 137.28, so
    the search keeps B. Priced after the search (capacity = base + every module, modules free
    inside), the search would pick A."""
    modules = {
        "capacity": np.array([2, 4]),
        "expansion_capacity": np.array([1, 1]),
        "expansion_max": np.array([2, 0]),
    }
    problem = _square_problem(**modules, expansion_cost=np.array([100.0, 0.0]))
    result = solve_siting(problem, TourOracle(CORNERS, SITES), time_limit_s=20, max_evaluations=20)
    assert result.open.tolist() == [False, True]
    assert result.modules.tolist() == [0, 0]
    assert result.total_cost == pytest.approx(49 + 2 * math.sqrt(200) + 60)


def test_cheap_expansion_modules_are_built_and_priced():
    """The same with modules at 1 each: A with its 2 modules costs 123.25 + 2 < 137.28."""
    problem = _square_problem(
        capacity=np.array([2, 4]),
        expansion_capacity=np.array([1, 1]),
        expansion_max=np.array([2, 0]),
        expansion_cost=np.array([1.0, 0.0]),
    )
    result = solve_siting(problem, TourOracle(CORNERS, SITES), time_limit_s=20, max_evaluations=20)
    assert result.open.tolist() == [True, False]
    assert result.modules.tolist() == [2, 0]
    assert result.expansion_cost == pytest.approx(2.0)
    assert result.total_cost == pytest.approx(2 * math.sqrt(1000) + 60 + 2)


def test_the_module_limit_binds():
    """One module at most: A holds 3 < 4, so A alone is no siting; B alone it is."""
    problem = _square_problem(
        capacity=np.array([2, 4]),
        expansion_capacity=np.array([1, 1]),
        expansion_max=np.array([1, 0]),
    )
    result = solve_siting(problem, TourOracle(CORNERS, SITES), time_limit_s=20, max_evaluations=20)
    assert np.bincount(result.site_of, minlength=2)[0] <= 3
    assert result.total_cost > 2 * math.sqrt(1000) + 60 + 1  # A alone (123.25) is out of reach
    with pytest.raises(ValueError, match="expansion_capacity of site"):
        _square_problem(expansion_max=np.array([1, 0]))


def _village_problem(group):
    """Sites A (0, 0) and B (100, 0), both fixed open; customers 0 (5, 0) and 1 (95, 0), 2 (0, 5)
    and 3 (100, 5): split, 0 and 2 go to A, 1 and 3 to B."""
    customers = np.array([[5.0, 0.0], [95.0, 0.0], [0.0, 5.0], [100.0, 5.0]])
    sites = np.array([[0.0, 0.0], [100.0, 0.0]])
    d = np.linalg.norm(customers[:, None] - sites[None], axis=2)
    problem = SitingProblem(
        opening_cost=np.array([10.0, 10.0]),
        capacity=np.array([4, 4]),
        demand=np.ones(4, dtype=int),
        allowed=np.ones((4, 2), dtype=bool),
        assign_cost=np.zeros((4, 2)),
        estimate=2 * d / 4,
        fixed_open=np.array([True, True]),
        group=group,
    )
    return problem, TourOracle(customers, sites)


def test_groups_stay_together_when_splitting_is_cheaper():
    """Customers 0 and 1 form one village: split they cost 2 x 20.2 (two short tours); together,
    one of them rides ~190 further. Ungrouped the search splits them; grouped it does not, at a
    higher cost (the constraint binds)."""
    free_problem, oracle = _village_problem(None)
    free = solve_siting(free_problem, oracle, time_limit_s=20, max_evaluations=20)
    assert free.site_of.tolist() == [0, 1, 0, 1]
    kept_problem, oracle = _village_problem(np.array([7, 7, 8, 9]))
    kept = solve_siting(kept_problem, oracle, time_limit_s=20, max_evaluations=20)
    assert kept.site_of[0] == kept.site_of[1]
    assert kept.estimate_site_of[0] == kept.estimate_site_of[1]
    assert kept.total_cost > free.total_cost + 100
    with pytest.raises(ValueError, match="not a valid siting"):
        solve_siting(
            kept_problem,
            oracle,
            time_limit_s=5,
            max_evaluations=5,
            estimate_site_of=np.array([0, 1, 0, 1]),
        )


def test_the_callers_estimate_replaces_the_first_mip(monkeypatch):
    """Given ``estimate_site_of`` (all at A, where the estimate MIP would open B), no estimate
    MIP runs; the estimate figures describe the caller's siting and the search starts from it;
    a partial initial whole (no groups) is routed by the search."""
    from sanitation.siting import Whole, search

    real = search.allocate
    estimate_mips = []  # free allocations run as the estimate MIP (the only ones whose timeout
    # is an error)

    def counted(problem, prices, *, open_sites, **kwargs):
        if open_sites is None and kwargs.get("timeout_is_error", False):
            estimate_mips.append(problem)
        return real(problem, prices, open_sites=open_sites, **kwargs)

    monkeypatch.setattr(search, "allocate", counted)
    problem = _square_problem()
    oracle = TourOracle(CORNERS, SITES)
    everything_at_b = np.ones(4, dtype=np.int64)
    result = solve_siting(
        problem,
        oracle,
        time_limit_s=20,
        max_evaluations=20,
        estimate_site_of=np.zeros(4, dtype=np.int64),
        initial=[Whole(everything_at_b, {})],
    )
    assert estimate_mips == []  # the caller's siting replaced the estimate MIP
    assert result.estimate_site_of.tolist() == [0, 0, 0, 0]
    assert result.estimate_open.tolist() == [True, False]
    assert result.estimate_routed_total == pytest.approx(2 * math.sqrt(1000) + 60)
    assert result.estimate_objective == pytest.approx(float(problem.estimate[:, 0].sum()), rel=1e-9)
    assert result.initial_totals == (pytest.approx(49 + 2 * math.sqrt(200) + 60),)
    assert result.total_cost <= result.estimate_routed_total
    assert result.site_of.tolist() == [0, 0, 0, 0]
