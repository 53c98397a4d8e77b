"""WGS-84 ⇄ GCJ-02 conversion and metric projections."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geo.crs import (
    gcj02_to_wgs84,
    haversine_m,
    lonlat_to_xy,
    metric_crs,
    wgs84_to_gcj02,
    xy_to_lonlat,
)

DATA = Path(__file__).parent / "data" / "geo"


@pytest.fixture(params=["township_points_2023.csv", "village_points_partial.csv"])
def published(request) -> pd.DataFrame:
    return pd.read_csv(DATA / request.param)


def test_wgs84_to_gcj02_matches_published_points_within_1_m(published):
    lon, lat = wgs84_to_gcj02(published["lon_wgs84"].to_numpy(), published["lat_wgs84"].to_numpy())
    err = haversine_m(lon, lat, published["lon_gcj02"], published["lat_gcj02"])
    assert err.max() < 1.0


def test_gcj02_to_wgs84_matches_published_points_within_1_m(published):
    lon, lat = gcj02_to_wgs84(published["lon_gcj02"].to_numpy(), published["lat_gcj02"].to_numpy())
    err = haversine_m(lon, lat, published["lon_wgs84"], published["lat_wgs84"])
    assert err.max() < 1.0


def test_offset_near_wangjiang_is_the_documented_one():
    # README: GCJ-02 ≈ WGS-84 + (0.00497° lon, −0.00258° lat) around 望江
    lon, lat = wgs84_to_gcj02(116.69, 30.13)
    assert lon - 116.69 == pytest.approx(0.00497, abs=5e-5)
    assert lat - 30.13 == pytest.approx(-0.00258, abs=5e-5)
    assert isinstance(lon, float)


def test_round_trip_is_below_1_m_and_vectorised_over_shapes():
    rng = np.random.default_rng(3)
    lon = rng.uniform(100, 125, size=(20, 50))
    lat = rng.uniform(20, 45, size=(20, 50))
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    assert g_lon.shape == (20, 50)
    back_lon, back_lat = gcj02_to_wgs84(g_lon, g_lat)
    assert haversine_m(lon, lat, back_lon, back_lat).max() < 0.01
    # and the shift itself is hundreds of metres, so the test can fail
    assert haversine_m(lon, lat, g_lon, g_lat).min() > 50


def test_outside_china_is_unchanged():
    assert wgs84_to_gcj02(24.94, 60.17) == (24.94, 60.17)
    assert gcj02_to_wgs84(-0.1, 51.5) == (-0.1, 51.5)


def test_mismatched_shapes_are_rejected():
    with pytest.raises(ValueError, match="same shape"):
        wgs84_to_gcj02([116.0, 117.0], [30.0])


def test_metric_crs_is_utm_50n_near_wangjiang_and_south_zones_exist():
    assert metric_crs(116.69, 30.13).to_epsg() == 32650
    assert metric_crs([24.9, 25.0], [60.1, 60.2]).to_epsg() == 32635
    assert metric_crs(151.2, -33.9).to_epsg() == 32756


def test_projection_round_trip_and_metric_lengths():
    crs = metric_crs(116.69, 30.13)
    lon = np.array([116.60, 116.70, 116.80])
    lat = np.array([30.10, 30.20, 30.30])
    x, y = lonlat_to_xy(lon, lat, crs=crs)
    back_lon, back_lat = xy_to_lonlat(x, y, crs=crs)
    np.testing.assert_allclose(back_lon, lon, atol=1e-9)
    np.testing.assert_allclose(back_lat, lat, atol=1e-9)
    metric = np.hypot(x[1] - x[0], y[1] - y[0])
    assert metric == pytest.approx(float(haversine_m(lon[0], lat[0], lon[1], lat[1])), rel=2e-3)
