"""Incidents: overflowing points and blocked roads, used by the scenario's next plan."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from api import scenarios as store
from api.errors import BadRequestError, ForbiddenError, NotFoundError
from api.keys import Caller
from api.models import IncidentRow
from api.schemas import IncidentCreate
from api.settings import Settings
from geo.crs import haversine_m

if TYPE_CHECKING:
    import geopandas as gpd

    from sanitation.scenario import Scenario


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


def township_at(scenario: Scenario, lon: float, lat: float) -> str:
    """The township a WGS-84 location lies in: that of the scenario's nearest collection point.

    (Scenarios carry township seats, not township polygons; the nearest point's township is the
    township whose service area holds the location.)
    """
    township_of = scenario.township_of_point()
    nearest = min(scenario.points, key=lambda p: haversine_m(p.lon, p.lat, lon, lat), default=None)
    if nearest is not None:
        return township_of[nearest.point_id]
    seat = min(scenario.townships, key=lambda t: haversine_m(t.seat_lon, t.seat_lat, lon, lat))
    return seat.code


def _in_scope(caller: Caller, code: str, what: str) -> None:
    """Refuse (403, naming the township) a report about a place outside the caller's townships."""
    if not caller.sees_township(code):
        mine = ", ".join(sorted(caller.townships))
        raise ForbiddenError(
            "township_code",
            f"{what} lies in township {code}; this key may report only in township {mine}",
        )


def _locate(
    request: IncidentCreate, scenario: Scenario, caller: Caller
) -> tuple[str, float, float]:
    """Township code and location of a report (the location must lie in the caller's scope)."""
    if request.kind == "overflow":
        if request.point_id is None:
            raise BadRequestError("point_id", "an overflow report needs the point_id")
        code = scenario.township_of_point().get(request.point_id)
        if code is None:
            raise NotFoundError("point_id", request.point_id, "collection point")
        _in_scope(caller, code, f"point {request.point_id}")
        point = next(p for p in scenario.points if p.point_id == request.point_id)
        lon = point.lon if request.lon is None else request.lon
        lat = point.lat if request.lat is None else request.lat
    else:
        if request.lon is None or request.lat is None:
            field = "lon" if request.lon is None else "lat"
            raise BadRequestError(field, "a blocked-road report needs lon and lat (WGS-84, °)")
        lon, lat = request.lon, request.lat
        code = township_at(scenario, lon, lat)
        if request.township_code is not None:
            if request.township_code not in {t.code for t in scenario.townships}:
                raise NotFoundError("township_code", request.township_code, "township")
            if request.township_code != code:
                raise BadRequestError(
                    "township_code",
                    f"value {request.township_code!r}; the location ({lon}, {lat}) lies in "
                    f"township {code}",
                )
    if request.lon is not None or request.lat is not None:
        _in_scope(caller, township_at(scenario, lon, lat), f"the location ({lon}, {lat})")
    return code, lon, lat


def report(
    settings: Settings, session: Session, request: IncidentCreate, caller: Caller
) -> IncidentRow:
    """Store an incident; it must lie in one of the caller's townships (coordinators).

    Raises
    ------
    NotFoundError
        Unknown scenario, point or township, or a scenario outside the caller's townships.
    ForbiddenError
        The point or location lies in a township outside the caller's townships.
    BadRequestError
        A missing field for the kind, a township code that is not the location's, or a
        blocked road with no road near the location.
    """
    row = store.get_row(session, request.scenario_id, caller)
    scenario = store.load_row(settings, row)
    code, lon, lat = _locate(request, scenario, caller)
    road_ids: list[str] = []
    if request.kind == "blocked_road":
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
