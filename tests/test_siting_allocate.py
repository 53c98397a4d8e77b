"""The siting's allocation MIP offers each customer only its cheapest sites at first
(`sanitation.siting._allocate.KEEP_SITES`) and widens the offer where the cut may bind."""

from __future__ import annotations

import numpy as np
import pytest

import sanitation.siting._allocate as allocate_module
from sanitation.siting import SitingProblem
from sanitation.siting._allocate import allocate


def _county(seed: int, *, groups: bool = False) -> tuple[SitingProblem, np.ndarray]:
    """60 customers, 12 sites on a plane, capacities that bind (each site holds 9 customers),
    prices = distance."""
    rng = np.random.default_rng(seed)
    customers = rng.uniform(0, 100, (60, 2))
    sites = rng.uniform(0, 100, (12, 2))
    prices = np.linalg.norm(customers[:, None, :] - sites[None, :, :], axis=2)
    problem = SitingProblem(
        opening_cost=rng.uniform(10, 60, 12),
        capacity=np.full(12, 9),
        demand=np.ones(60, dtype=int),
        allowed=rng.uniform(size=(60, 12)) < 0.9,
        assign_cost=np.zeros((60, 12)),
        estimate=prices,
        group=np.arange(60) // 2 if groups else None,
    )
    return problem, prices


@pytest.mark.parametrize(("seed", "groups"), [(1, False), (2, False), (3, True)])
@pytest.mark.parametrize("fixed", [False, True])
def test_a_cut_to_the_cheapest_sites_gives_the_whole_models_answer(
    monkeypatch, seed, groups, fixed
):
    """With every customer offered only its single cheapest site at first, the binding
    capacities force widening until the answer is the one the whole model gives (the same
    objective), both with the open sites chosen and fixed."""
    problem, prices = _county(seed, groups=groups)
    open_sites = np.arange(12) % 3 != 0 if fixed else None
    monkeypatch.setattr(allocate_module, "KEEP_SITES", 12)
    whole = allocate(problem, prices, open_sites=open_sites, time_limit_s=20, seed=1)
    calls = []
    real = allocate_module._allocate_offered

    def counted(problem_, prices_, allowed, *args):
        calls.append(int(allowed.sum(axis=1).max()))
        return real(problem_, prices_, allowed, *args)

    monkeypatch.setattr(allocate_module, "KEEP_SITES", 1)
    monkeypatch.setattr(allocate_module, "_allocate_offered", counted)
    cut = allocate(problem, prices, open_sites=open_sites, time_limit_s=20, seed=1)
    assert whole is not None and cut is not None
    assert cut[2] == pytest.approx(whole[2], rel=1e-6)
    assert len(calls) >= 2 and calls[0] == 1  # the first offer bound and was widened
    rows = np.arange(problem.n_customers)
    assert problem.allowed[rows, cut[1]].all()
