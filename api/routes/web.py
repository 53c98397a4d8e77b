"""The web page for dispatchers, coordinators and planners, and the small read-only JSON it needs.

``GET /`` serves the page; ``/static/...`` its JavaScript, CSS and the vendored Leaflet (no CDN).
``GET /web/config`` (no key) tells the page the optional base-map tile URL
(``SANITATION_TILE_URL``; without it the map draws only the project's own roads and routes).
``GET /me`` tells a key's role and townships; ``GET /scenarios/{id}/network.geojson`` gives the
scenario's road network, stations, depots and disposal sites for drawing the map without tiles.
"""

from __future__ import annotations

import gzip
import json
import math
import mimetypes
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Protocol

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from api import scenarios as store
from api.deps import AnyRole, ScenarioId, SessionDep, SettingsDep
from api.errors import NotFoundError
from api.routes.responses import ERRORS

router = APIRouter(tags=["web"])

STATIC = Path(str(files("api") / "static"))
STATIC_MEDIA = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}


class WebSettings(BaseSettings):
    """Settings of the page (``SANITATION_TILE_URL``, ``SANITATION_TILE_ATTRIBUTION``)."""

    model_config = SettingsConfigDict(env_prefix="SANITATION_", env_file=".env", extra="ignore")

    tile_url: str | None = Field(
        default=None,
        description="XYZ tile URL template of a base map, e.g. http://tiles.local/{z}/{x}/{y}.png",
    )
    tile_attribution: str = Field(default="", description="attribution shown with the tiles")


class WebConfig(BaseModel):
    """What the page needs before sign-in."""

    tile_url: str | None = Field(description="base-map tile URL template; null: no base map")
    tile_attribution: str


class MePublic(BaseModel):
    """The calling key: its role and (coordinators) its townships."""

    key_id: int
    role: str = Field(description="planner, dispatcher or coordinator")
    townships: list[str] = Field(description="9-digit township codes in scope (coordinators)")


@router.get("/", include_in_schema=False)
def index() -> HTMLResponse:
    """The page (sign in with an API key; views by role)."""
    return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))


@router.get("/static/{name:path}", include_in_schema=False)
def static(name: str) -> FileResponse:
    """A file of the page (JS, CSS, vendored Leaflet)."""
    root = STATIC.resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFoundError("name", name, "static file")
    media = STATIC_MEDIA.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    return FileResponse(
        path,
        media_type=media or "application/octet-stream",
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/web/config", response_model=WebConfig, summary="Page settings (no key)")
def web_config() -> WebConfig:
    """The optional base-map tile URL (``SANITATION_TILE_URL``) and its attribution."""
    web = WebSettings()
    return WebConfig(tile_url=web.tile_url or None, tile_attribution=web.tile_attribution)


@router.get("/me", response_model=MePublic, responses=ERRORS, summary="The calling key")
def me(caller: AnyRole) -> MePublic:
    """Role and township codes of the key sent (what the page may show)."""
    return MePublic(key_id=caller.key_id, role=caller.role, townships=sorted(caller.townships))


@router.get(
    "/scenarios/{scenario_id}/network.geojson",
    responses={**ERRORS, 200: {"content": {"application/geo+json": {}}}},
    summary="Road network and facilities of a scenario as GeoJSON",
)
def network_geojson(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    caller: AnyRole,
    scenario_id: ScenarioId,
) -> Response:
    """Roads (``feature: road``: road_id, road_class, width_m, speed_kph, synthetic; closed roads
    left out), stations, depots and disposal sites (WGS-84 lon/lat; ``synthetic`` when generated),
    for drawing the map without tiles.
    Sent gzip-compressed to clients that accept it."""
    row = store.get_row(session, scenario_id, caller)
    body, packed = _network_body(str(store.scenario_yaml(settings, row)))
    headers = {"Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(packed, media_type="application/geo+json", headers=headers)
    return Response(body, media_type="application/geo+json", headers=headers)


class _Facility(Protocol):
    """A station, depot or disposal site of a scenario, as the map draws it."""

    @property
    def name(self) -> str: ...
    @property
    def lon(self) -> float: ...
    @property
    def lat(self) -> float: ...
    @property
    def synthetic(self) -> bool: ...


@lru_cache(maxsize=8)
def _network_body(yaml_path: str) -> tuple[bytes, bytes]:
    from sanitation.scenario.network import build_network

    scenario = store.load_cached(yaml_path)
    _, edges = build_network(scenario).to_geodataframes()
    features = []
    seen: set[tuple] = set()
    for u, v, road_id, road_class, width, speed, synthetic, geom in zip(
        edges["u"],
        edges["v"],
        edges["road_id"],
        edges["road_class"],
        edges["width_m"],
        edges["speed_kph"],
        edges["synthetic"],
        edges.geometry,
        strict=True,
    ):
        pair = (min(u, v), max(u, v), str(road_id), round(float(geom.length), 9))
        if pair in seen:  # a two-way road is two directed edges: draw it once
            continue
        seen.add(pair)
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[round(x, 6), round(y, 6)] for x, y in geom.coords],
                },
                "properties": {
                    "feature": "road",
                    "road_id": None if road_id is None else str(road_id),
                    "road_class": None if road_class is None else str(road_class),
                    "width_m": _number(width),
                    "speed_kph": _number(speed),
                    "synthetic": synthetic is True or str(synthetic).lower() == "true",
                },
            }
        )
    facilities: list[tuple[str, str, str, _Facility]] = [
        *(("station", s.station_id, s.status, s) for s in scenario.stations),
        *(("depot", d.depot_id, "", d) for d in scenario.depots),
        *(("disposal", d.site_id, d.kind, d) for d in scenario.disposal_sites),
    ]
    for kind, ident, status, f in facilities:
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(f.lon, 6), round(f.lat, 6)]},
                "properties": {
                    "feature": kind,
                    "id": ident,
                    "name": f.name,
                    "status": str(status),
                    "synthetic": bool(f.synthetic),
                },
            }
        )
    collection = {"type": "FeatureCollection", "features": features}
    body = json.dumps(collection, ensure_ascii=False, separators=(",", ":")).encode()
    return body, gzip.compress(body, compresslevel=6, mtime=0)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
