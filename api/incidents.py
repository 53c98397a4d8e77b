"""Incidents: overflowing points and blocked roads, used by the scenario's next plan."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from api import scenarios as store
from api.errors import BadRequestError, NotFoundError
from api.keys import Caller
from api.models import IncidentRow
from api.schemas import IncidentCreate
from api.settings import Settings
from geo.crs import haversine_m

if TYPE_CHECKING:
    import geopandas as gpd


@lru_cache(maxsize=4)
def _edges(yaml_path: str) -> gpd.GeoDataFrame:
    """Road edges of a scenario (closures applied), projected to metres."""
    from sanitation.scenario.network import build_network

    _, edges = build_network(store.load_cached(yaml_path)).to_geodataframes()
    return edges.to_crs(edges.estimate_utm_crs())


def roads_near(yaml_path: str, lon: float, lat: float, radius_m: float) -> list[str]:
    """Road ids of the scenario's open roads within ``radius_m`` metres of a WGS-84 point."""
    import geopandas as gpd
    import shapely

    edges = _edges(yaml_path)
    where = gpd.GeoSeries([shapely.Point(lon, lat)], crs="EPSG:4326").to_crs(edges.crs).iloc[0]
    near = edges[edges.distance(where) <= radius_m]
    return sorted({str(r) for r in near["road_id"] if r is not None})


def report(
    settings: Settings, session: Session, request: IncidentCreate, caller: Caller
) -> IncidentRow:
    """Store an incident (a coordinator only for its townships).

    Raises
    ------
    NotFoundError
        Unknown scenario, point or township, or one outside the caller's townships.
    BadRequestError
        A missing field for the kind, or a blocked road with no road near the location.
    """
    row = store.get_row(session, request.scenario_id, caller)
    scenario = store.load_row(settings, row)
    township_of = scenario.township_of_point()
    road_ids: list[str] = []
    if request.kind == "overflow":
        if request.point_id is None:
            raise BadRequestError("point_id", "an overflow report needs the point_id")
        code = township_of.get(request.point_id)
        if code is None or not caller.sees_township(code):
            raise NotFoundError("point_id", request.point_id, "collection point")
        point = next(p for p in scenario.points if p.point_id == request.point_id)
        lon = point.lon if request.lon is None else request.lon
        lat = point.lat if request.lat is None else request.lat
    else:
        if request.lon is None or request.lat is None:
            field = "lon" if request.lon is None else "lat"
            raise BadRequestError(field, "a blocked-road report needs lon and lat (WGS-84, °)")
        lon, lat = request.lon, request.lat
        codes = {t.code for t in scenario.townships}
        if request.township_code is not None:
            code = request.township_code
            if code not in codes:
                raise NotFoundError("township_code", code, "township")
        else:
            nearest = min(
                scenario.points, key=lambda p: haversine_m(p.lon, p.lat, lon, lat), default=None
            )
            code = township_of[nearest.point_id] if nearest else scenario.townships[0].code
            if not caller.sees_township(code) and len(caller.townships) == 1:
                code = next(iter(caller.townships))
        if not caller.sees_township(code):
            raise NotFoundError("township_code", code, "township")
        yaml_path = str(store.scenario_yaml(settings, row))
        road_ids = roads_near(yaml_path, lon, lat, settings.incident_radius_m)
        if not road_ids:
            raise BadRequestError(
                "lon",
                f"no open road within {settings.incident_radius_m:g} m of ({lon}, {lat})",
            )
    incident = IncidentRow(
        kind=request.kind,
        scenario_id=row.id,
        township_code=code,
        point_id=request.point_id if request.kind == "overflow" else None,
        lon=lon,
        lat=lat,
        road_ids=road_ids,
        note=request.note,
        reported_by=caller.key_id,
    )
    session.add(incident)
    session.commit()
    return incident


def listing(
    session: Session,
    caller: Caller,
    *,
    scenario_id: int | None,
    status: str | None,
    township: str | None,
) -> list[IncidentRow]:
    """Incidents visible to the caller, newest first."""
    query = select(IncidentRow).order_by(IncidentRow.id.desc())
    if scenario_id is not None:
        query = query.where(IncidentRow.scenario_id == scenario_id)
    if status is not None:
        query = query.where(IncidentRow.status == status)
    if township is not None:
        query = query.where(IncidentRow.township_code == township)
    return [i for i in session.scalars(query) if caller.sees_township(i.township_code)]


def get(session: Session, incident_id: int, caller: Caller) -> IncidentRow:
    """One incident.

    Raises
    ------
    NotFoundError
        Unknown id or outside the caller's townships.
    """
    row = session.get(IncidentRow, incident_id)
    if row is None or not caller.sees_township(row.township_code):
        raise NotFoundError("incident_id", incident_id, "incident")
    return row
