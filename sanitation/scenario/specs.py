"""Declared columns of every scenario table (names, types, units, defaults).

Times of day are ``HH:MM`` in the files and seconds after midnight in the model. Every number
has a stated physical range (``minimum``/``maximum``, said in the error message): the upper
bounds are far above any real county (the largest plant, the biggest fleet) and keep the
solvers' integer arithmetic and memory bounded.
"""

from __future__ import annotations

from sanitation.scenario.tables import Column, TableSpec

CODE9 = r"\d{9}"
CODE12 = r"\d{12}"
ID = r"[A-Za-z0-9_.\-]+"
# a collection truck as plans name it: depot/type#n (`sanitation.scenario.model.truck_id`)
TRUCK_ID = r"[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+#[1-9][0-9]{0,3}"

# Upper bounds (physical ranges) shared by several columns.
MAX_PERSONS = 10_000_000  # persons in one village unit or at one point
MAX_SITE_T_PER_DAY = 100_000.0  # t/day through one station or disposal site
MAX_CNY_PER_DAY = 10_000_000.0  # CNY/day of one facility or truck
MAX_DURATION_S = 86_400  # s: a service or unload time within one day

LON = Column("lon", "float", unit="degrees WGS-84")
LAT = Column("lat", "float", unit="degrees WGS-84")
SITE_CAPACITY = Column(
    "capacity_t_per_day",
    "float",
    minimum=0,
    maximum=MAX_SITE_T_PER_DAY,
    exclusive_minimum=True,
    unit="t/day",
)
SYNTHETIC = Column("synthetic", "bool", required=False, default=False)
# sorted streams a site accepts: stream ids separated by ";" (empty: every stream)
STREAM_LIST = r"[A-Za-z0-9_.\-]+(;[A-Za-z0-9_.\-]+)*"
SITE_STREAMS = Column("streams", required=False, default=None, pattern=STREAM_LIST)
FACILITY_KINDS = ("perishable_treatment", "recycling_centre", "hazardous_store")
FREQUENCIES = ("daily", "every_2_days", "twice_weekly", "weekly")

TOWNSHIPS = TableSpec(
    "townships",
    "code",
    (
        Column("code", pattern=CODE9),
        Column("name"),
        Column("kind", required=False, default=""),
        Column("seat_lon", "float", unit="degrees WGS-84"),
        Column("seat_lat", "float", unit="degrees WGS-84"),
        SYNTHETIC,
        Column("source", required=False, default=""),
    ),
)

VILLAGES = TableSpec(
    "villages",
    "code",
    (
        Column("code", pattern=CODE12),
        Column("name"),
        Column("township_code", pattern=CODE9),
        Column("urban_rural_class", required=False, default=""),
        Column("population", "int", minimum=0, maximum=MAX_PERSONS, unit="persons"),
        LON,
        LAT,
        SYNTHETIC,
        Column("source", required=False, default=""),
    ),
)

POINTS = TableSpec(
    "points",
    "point_id",
    (
        Column("point_id", pattern=ID),
        Column("name", required=False, default=""),
        Column("village_code", pattern=CODE12),
        LON,
        LAT,
        Column("waste_t_per_day", "float", required=False, minimum=0, maximum=1_000, unit="t/day"),
        Column("population", "int", required=False, minimum=0, maximum=MAX_PERSONS, unit="persons"),
        Column(
            "kg_per_person_day",
            "float",
            required=False,
            minimum=0,
            maximum=10,
            unit="kg/(person·day)",
        ),
        Column(
            "bin_capacity_t", "float", minimum=0, maximum=1_000, exclusive_minimum=True, unit="t"
        ),
        Column("frequency", "choice", choices=FREQUENCIES),
        Column("service_s", "int", minimum=0, maximum=MAX_DURATION_S, unit="s"),
        Column("tw_open", "time", required=False, default=None),
        Column("tw_close", "time", required=False, default=None),
        Column("access_class", required=False, default=None),
        Column("priority", "int", required=False, default=1, minimum=1, maximum=1_000),
        SYNTHETIC,
        Column("station_id", required=False, default=None),
        Column("truck_id", required=False, default=None, pattern=TRUCK_ID),
    ),
)

# A territory layer (`policy.consistency`): point → truck, e.g. the ``territories`` layer of a
# plan's GeoPackage as a planner edited it in QGIS. The other columns that layer carries are
# accepted and ignored (the point's own record holds the truth of them).
TERRITORIES = TableSpec(
    "territories",
    "point_id",
    (
        Column("point_id", pattern=ID),
        Column("truck_id", pattern=TRUCK_ID),
        Column("station_id", required=False, default=None),
        Column("type_id", required=False, default=None),
        Column("village_code", required=False, default=None),
        Column("name", required=False, default=""),
        Column("visits", "int", required=False, default=0, minimum=0, maximum=7),
        Column("fixed", "bool", required=False, default=False),
        Column("apart", "bool", required=False, default=False),
        Column("lon", "float", required=False, default=None, unit="degrees WGS-84"),
        Column("lat", "float", required=False, default=None, unit="degrees WGS-84"),
    ),
)

STATIONS = TableSpec(
    "stations",
    "station_id",
    (
        Column("station_id", pattern=ID),
        Column("name"),
        Column("township_code", pattern=CODE9),
        LON,
        LAT,
        Column("status", "choice", choices=("existing", "candidate", "closed")),
        SITE_CAPACITY,
        Column(
            "fixed_cost_cny_per_day", "float", minimum=0, maximum=MAX_CNY_PER_DAY, unit="CNY/day"
        ),
        Column(
            "opening_cost_cny_per_day",
            "float",
            required=False,
            default=0.0,
            minimum=0,
            maximum=MAX_CNY_PER_DAY,
            unit="CNY/day, amortised",
        ),
        Column("open", "time"),
        Column("close", "time"),
        Column("unload_s", "int", minimum=0, maximum=MAX_DURATION_S, unit="s"),
        Column(
            "expansion_module_t_per_day",
            "float",
            required=False,
            default=0.0,
            minimum=0,
            maximum=MAX_SITE_T_PER_DAY,
            unit="t/day",
        ),
        Column(
            "expansion_cost_cny_per_day",
            "float",
            required=False,
            default=0.0,
            minimum=0,
            maximum=MAX_CNY_PER_DAY,
            unit="CNY/day",
        ),
        Column("max_expansions", "int", required=False, default=0, minimum=0, maximum=100),
        Column(
            "container_t",
            "float",
            required=False,
            default=8.0,
            minimum=0,
            maximum=100,
            exclusive_minimum=True,
            unit="t",
        ),
        SYNTHETIC,
        SITE_STREAMS,
    ),
)

DISPOSAL_SITES = TableSpec(
    "disposal_sites",
    "site_id",
    (
        Column("site_id", pattern=ID),
        Column("name"),
        Column("kind", "choice", choices=("wte", "landfill", "export")),
        LON,
        LAT,
        SITE_CAPACITY,
        Column("gate_open", "time"),
        Column("gate_close", "time"),
        Column("gate_fee_cny_per_t", "float", minimum=0, maximum=100_000, unit="CNY/t"),
        Column("unload_s", "int", minimum=0, maximum=MAX_DURATION_S, unit="s"),
        Column("location_note", required=False, default=""),
        SYNTHETIC,
        SITE_STREAMS,
    ),
)

DEPOTS = TableSpec(
    "depots",
    "depot_id",
    (
        Column("depot_id", pattern=ID),
        Column("name"),
        LON,
        LAT,
        Column("station_id", required=False, default=None),
        SYNTHETIC,
    ),
)

VEHICLE_TYPES = TableSpec(
    "vehicle_types",
    "type_id",
    (
        Column("type_id", pattern=ID),
        Column("name"),
        Column("role", "choice", choices=("collection", "transfer")),
        Column("capacity_t", "float", minimum=0, maximum=100, exclusive_minimum=True, unit="t"),
        Column("access_class"),
        Column(
            "fixed_cost_cny_per_day", "float", minimum=0, maximum=MAX_CNY_PER_DAY, unit="CNY/day"
        ),
        Column("cost_per_km_cny", "float", minimum=0, maximum=10_000, unit="CNY/km"),
        Column("cost_per_hour_cny", "float", minimum=0, maximum=100_000, unit="CNY/h"),
        Column("shift_start", "time"),
        Column("shift_end", "time"),
        Column("max_duration_h", "float", minimum=0, exclusive_minimum=True, maximum=24, unit="h"),
        Column(
            "lunch_duration_min",
            "int",
            required=False,
            default=0,
            minimum=0,
            maximum=1_440,
            unit="min",
        ),
        Column("lunch_window_start", "time", required=False, default=None),
        Column("lunch_window_end", "time", required=False, default=None),
        Column("fuel_l_per_100km", "float", minimum=0, maximum=1_000, unit="L/100 km"),
        # sorted streams: the one stream a dedicated truck carries, or its compartments as
        # ``stream:capacity_t`` separated by ";" (capacities summing to capacity_t)
        Column("stream", required=False, default=None, pattern=r"[A-Za-z0-9_.\-]+"),
        Column(
            "compartments",
            required=False,
            default=None,
            pattern=r"[A-Za-z0-9_.\-]+:[0-9.]+(;[A-Za-z0-9_.\-]+:[0-9.]+)*",
        ),
    ),
)

# Sorted streams: a point's own generation, frequency and bin for one stream (one record per
# point and stream; a stream without a record takes the stream's share of the point's
# generation, its default frequency and bin).
POINT_STREAMS = TableSpec(
    "point_streams",
    "point_id",
    (
        Column("point_id", pattern=ID),
        Column("stream", pattern=r"[A-Za-z0-9_.\-]+"),
        Column("waste_t_per_day", "float", required=False, minimum=0, maximum=1_000, unit="t/day"),
        Column(
            "kg_per_person_day",
            "float",
            required=False,
            minimum=0,
            maximum=10,
            unit="kg/(person·day), × the point's population",
        ),
        Column("frequency", "choice", required=False, choices=FREQUENCIES),
        Column(
            "bin_capacity_t",
            "float",
            required=False,
            minimum=0,
            maximum=1_000,
            exclusive_minimum=True,
            unit="t",
        ),
    ),
    key_columns=("point_id", "stream"),
)

# Sorted streams: where collection trucks unload them besides the transfer stations. The
# capacity bound is the largest site bound; a township composting plant takes 1-50 t/day.
FACILITIES = TableSpec(
    "facilities",
    "facility_id",
    (
        Column("facility_id", pattern=ID),
        Column("name"),
        Column(
            "kind",
            "choice",
            choices=("perishable_treatment", "recycling_centre", "hazardous_store"),
        ),
        LON,
        LAT,
        Column("streams", pattern=STREAM_LIST),
        # the stations whose trucks unload here, separated by ";" (empty: every station's)
        Column("station_ids", required=False, default=None, pattern=STREAM_LIST),
        SITE_CAPACITY,
        Column("open", "time"),
        Column("close", "time"),
        Column("unload_s", "int", minimum=0, maximum=MAX_DURATION_S, unit="s"),
        Column(
            "gate_fee_cny_per_t",
            "float",
            required=False,
            default=0.0,
            minimum=0,
            maximum=100_000,
            unit="CNY/t",
        ),
        SYNTHETIC,
    ),
)

FLEET = TableSpec(
    "fleet",
    "fleet_id",
    (
        Column("fleet_id", pattern=ID),
        Column("depot_id"),
        Column("type_id"),
        Column("count", "int", minimum=0, maximum=10_000, unit="trucks"),
    ),
)

TABLE_SPECS: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TOWNSHIPS,
        VILLAGES,
        POINTS,
        STATIONS,
        DISPOSAL_SITES,
        DEPOTS,
        VEHICLE_TYPES,
        FLEET,
    )
}
