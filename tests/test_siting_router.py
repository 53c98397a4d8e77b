"""The PyVRP matrix router of the siting core: capacities bind, moves only improve."""

from __future__ import annotations

import numpy as np

from sanitation.siting._moves import improve_routes
from sanitation.siting.pyvrp_router import MatrixRouter


def _line_router(site_capacity: list[int]) -> MatrixRouter:
    """Sites at x = 0 and x = 100; eight customers (demand 10) at x = 1..8; vehicle capacity 40,
    route cost 50; cost = 10 x |dx| (integers)."""
    xs = np.array([0, 100, *range(1, 9)], dtype=np.int64)
    cost = 10 * np.abs(xs[:, None] - xs[None, :])
    return MatrixRouter(
        cost=cost,
        demand=np.full(8, 10),
        vehicle_capacity=40,
        route_fixed_cost=50,
        site_capacity=np.array(site_capacity),
        allowed=np.ones((8, 2), dtype=bool),
        iterations_per_customer=50,
    )


def test_cvrp_oracle_on_a_line():
    """From x = 0: two full routes (capacity 40 = 4 customers), out to 4 and to 8 and back:
    2 x 50 + 10 x (2 x 4 + 2 x 8) = 340."""
    router = _line_router([80, 80])
    group = router(0, tuple(range(8)), time_limit_s=2, seed=1)
    assert group is not None
    assert group.cost == 340
    assert sorted(c for r in group.routes for c in r) == list(range(8))


def test_whole_router_respects_site_capacity():
    """Site 0 (x = 0) may take only 40 of the 80 units: the other four customers must go to the
    far site 1 although site 0 is far cheaper for all of them."""
    router = _line_router([40, 80])
    whole = router.whole((0, 1), time_limit_s=3, seed=1)
    assert whole is not None
    load0 = int((whole.site_of == 0).sum()) * 10
    assert load0 <= 40
    assert (whole.site_of >= 0).all()
    unbound = _line_router([80, 80]).whole((0, 1), time_limit_s=3, seed=1)
    assert unbound is not None
    assert (unbound.site_of == 0).all()  # without the bound everything goes to site 0


def test_moves_only_improve_and_keep_capacities():
    """Customer 0 (x = 1) starts alone at the far site 1; relocating it into site 0's route
    saves its own route. Site 0 has room for one more customer only."""
    router = _line_router([40, 80])
    routes = [(0, (1, 2, 3)), (1, (0,)), (1, (4, 5, 6, 7))]
    before = router.total(routes)
    after = improve_routes(
        routes,
        cost=router.cost,
        demand=router.demand,
        vehicle_capacity=40,
        route_fixed_cost=50,
        site_capacity=router.site_capacity,
        allowed=router.allowed,
        time_limit_s=2,
    )
    assert router.total(after) < before
    at_zero = [c for j, r in after if j == 0 for c in r]
    assert sorted(at_zero) == [0, 1, 2, 3]  # 40 units: site 0 is full
    assert sorted(c for _, r in after for c in r) == list(range(8))
    assert all(len(r) * 10 <= 40 for _, r in after)
