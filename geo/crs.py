"""Coordinate systems: WGS-84 ⇄ GCJ-02 and metric (UTM) projections.

All functions take and return ``(lon, lat)`` in degrees, in that order (x before y), as floats
or as numpy arrays of any shape. GCJ-02 is the obfuscated datum used by Chinese map providers
(Amap/高德, Tencent); around 望江 it is about WGS-84 + (0.00497° lon, −0.00258° lat), i.e.
≈ 480 m east and 290 m south. The forward formula is the public one; the inverse is
iterative (fixed point), accurate to well under 1 mm after convergence. Outside mainland China's
bounding box GCJ-02 equals WGS-84.

Metric work (snapping, lengths) uses a UTM zone chosen by :func:`metric_crs`
(EPSG:32650, UTM 50N, near 望江).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import overload

import numpy as np
import numpy.typing as npt
from pyproj import CRS, Transformer

__all__ = [
    "WGS84",
    "gcj02_to_wgs84",
    "haversine_m",
    "lonlat_to_xy",
    "metric_crs",
    "wgs84_to_gcj02",
    "xy_to_lonlat",
]

WGS84 = CRS.from_epsg(4326)
"""EPSG:4326, lon/lat degrees (always_xy order everywhere in `geo`)."""

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by the GCJ-02 formula, m
_EE = 0.00669342162296594323  # its first eccentricity squared
_EARTH_RADIUS_M = 6371008.8

ArrayLike = float | npt.ArrayLike


def _transform_lat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _in_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def _gcj_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS-84, in degrees, at WGS-84 point (lon, lat)."""
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    inside = _in_china(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray, bool]:
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    lon_a = np.asarray(lon, dtype=float)
    lat_a = np.asarray(lat, dtype=float)
    if lon_a.shape != lat_a.shape:
        msg = f"lon and lat must have the same shape, got {lon_a.shape} and {lat_a.shape}."
        raise ValueError(msg)
    return lon_a, lat_a, scalar


def _out(lon: np.ndarray, lat: np.ndarray, scalar: bool):
    if scalar:
        return float(lon), float(lat)
    return lon, lat


@overload
def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]: ...
def wgs84_to_gcj02(lon, lat):
    """Convert WGS-84 lon/lat (degrees) to GCJ-02 lon/lat (degrees).

    Parameters
    ----------
    lon, lat
        WGS-84 longitude and latitude in degrees; floats or arrays of equal shape.

    Returns
    -------
    tuple
        GCJ-02 ``(lon, lat)``: floats for float input, arrays otherwise.
    """
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    dlon, dlat = _gcj_offset(lon_a, lat_a)
    return _out(lon_a + dlon, lat_a + dlat, scalar)


@overload
def gcj02_to_wgs84(
    lon: float, lat: float, *, tolerance_deg: float = ..., max_iterations: int = ...
) -> tuple[float, float]: ...
@overload
def gcj02_to_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tolerance_deg: float = ..., max_iterations: int = ...
) -> tuple[np.ndarray, np.ndarray]: ...
def gcj02_to_wgs84(lon, lat, *, tolerance_deg: float = 1e-10, max_iterations: int = 30):
    """Convert GCJ-02 lon/lat (degrees) to WGS-84 by iterating the forward formula.

    Parameters
    ----------
    lon, lat
        GCJ-02 longitude and latitude in degrees; floats or arrays of equal shape.
    tolerance_deg
        Stop when every point's forward image is within this many degrees of the input
        (1e-10° ≈ 0.01 mm).
    max_iterations
        Upper bound on fixed-point iterations (convergence takes about 5).

    Returns
    -------
    tuple
        WGS-84 ``(lon, lat)``: floats for float input, arrays otherwise.
    """
    g_lon, g_lat, scalar = _as_arrays(lon, lat)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _ in range(max_iterations):
        dlon, dlat = _gcj_offset(w_lon, w_lat)
        err_lon = g_lon - (w_lon + dlon)
        err_lat = g_lat - (w_lat + dlat)
        w_lon = w_lon + err_lon
        w_lat = w_lat + err_lat
        if np.all(np.abs(err_lon) < tolerance_deg) and np.all(np.abs(err_lat) < tolerance_deg):
            break
    return _out(w_lon, w_lat, scalar)


def metric_crs(lon: ArrayLike, lat: ArrayLike) -> CRS:
    """Return the UTM zone CRS (metres) containing the mean of the given points.

    Parameters
    ----------
    lon, lat
        WGS-84 degrees; floats or arrays (the mean position picks the zone).

    Returns
    -------
    pyproj.CRS
        ``EPSG:326zz`` north of the equator, ``EPSG:327zz`` south (EPSG:32650 near 望江).
    """
    lon_m = float(np.nanmean(np.asarray(lon, dtype=float)))
    lat_m = float(np.nanmean(np.asarray(lat, dtype=float)))
    if not (-180.0 <= lon_m <= 180.0 and -90.0 <= lat_m <= 90.0):
        msg = f"mean point ({lon_m}, {lat_m}) is not a WGS-84 lon/lat."
        raise ValueError(msg)
    zone = min(math.floor((lon_m + 180.0) / 6.0) + 1, 60)
    return CRS.from_epsg((32600 if lat_m >= 0 else 32700) + zone)


@lru_cache(maxsize=32)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst), always_xy=True)


def _crs_key(crs: CRS | str | int) -> str:
    return CRS.from_user_input(crs).to_wkt()


def lonlat_to_xy(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, crs: CRS | str | int
) -> tuple[np.ndarray, np.ndarray]:
    """Project WGS-84 lon/lat (degrees) to ``crs`` coordinates (metres for UTM).

    Returns
    -------
    tuple of numpy.ndarray
        ``(x, y)`` with the input's shape.
    """
    t = _transformer(_crs_key(WGS84), _crs_key(crs))
    x, y = t.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def xy_to_lonlat(
    x: npt.ArrayLike, y: npt.ArrayLike, *, crs: CRS | str | int
) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`lonlat_to_xy`: ``crs`` coordinates to WGS-84 ``(lon, lat)`` degrees."""
    t = _transformer(_crs_key(crs), _crs_key(WGS84))
    lon, lat = t.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def haversine_m(
    lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike
) -> np.ndarray:
    """Great-circle distance in metres between WGS-84 points (broadcasting)."""
    p1, p2 = np.radians(np.asarray(lat1, float)), np.radians(np.asarray(lat2, float))
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2, float) - np.asarray(lon1, float))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(a))
