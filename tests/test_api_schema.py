"""Schemathesis against the app's own OpenAPI schema: the contract holds (no 5xx, only
documented statuses, answers as documented).

Runs in-process (ASGI) with a planner key, the tiny scenario uploaded and no plan workers
(jobs stay queued), a bounded and derandomised number of examples per operation.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from pathlib import Path
from urllib.parse import urlencode

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, positive_data_acceptance
from schemathesis.core.failures import FailureGroup
from schemathesis.python.asgi import shutdown_lifespans
from sqlalchemy import Engine, event

from api.keys import create_key
from api.main import create_app
from api.settings import Settings

TINY = Path(__file__).parent / "data" / "scenario" / "tiny"


@pytest.fixture(scope="module")
def served(tmp_path_factory, database):
    data = tmp_path_factory.mktemp("api-schema")
    url = database.url_for(data)
    app = create_app(Settings(data_dir=data, database_url=url, workers=0, max_upload_mb=1))
    opened: list = []  # every DBAPI connection the app opens in this module

    def remember(dbapi_connection, _record) -> None:
        opened.append(dbapi_connection)

    event.listen(Engine, "connect", remember)
    try:
        with TestClient(app) as client:
            with app.state.sessions() as session:
                key = create_key(session, "planner")[1]
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                for path in sorted(TINY.iterdir()):
                    archive.write(path, path.name)
            answer = client.post(
                "/scenarios",
                files={"file": ("tiny.zip", buffer.getvalue(), "application/zip")},
                headers={"X-API-Key": key},
            )
            assert answer.status_code == 201
            try:
                yield app, key
            finally:
                # schemathesis started the app's lifespan a second time (kept for the
                # process): stop it while the module's database still exists
                shutdown_lifespans()
    finally:
        event.remove(Engine, "connect", remember)
        # Requests that schemathesis's in-process client abandoned (its event loop lives until
        # the interpreter exits) may still hold a session; close their connections here, before
        # the module's database is dropped, instead of at interpreter exit.
        for connection in opened:
            connection.close()


# Bodies whose validity the schema cannot express (a scenario's YAML and files, a what-if's
# overrides, an incident's location, the planned scenario): a schema-valid request may be 422.
SEMANTIC = {
    "POST /scenarios",
    "POST /scenarios/json",
    "POST /scenarios/{scenario_id}/whatifs",
    "POST /scenarios/{scenario_id}/plans",
    "POST /incidents",
}
EXAMPLES = 20


def test_the_contract_holds(served):
    """Every check of schemathesis (no 5xx, only documented statuses, answers that match their
    schema and content type, invalid requests refused, valid ones accepted) on schema-valid and
    schema-violating requests, EXAMPLES of each per operation."""
    app, key = served
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 19
    statuses: list[int] = []
    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if mode is GenerationMode.POSITIVE or _has_inputs(operation):
                _exercise(operation, mode, key, statuses, failures)
    assert not failures, "\n\n".join(failures[:5])
    # Every operation was exercised, and some requests got through validation.
    assert len(statuses) >= 5 * len(operations)
    assert any(200 <= code < 300 for code in statuses)


def _exercise(operation, mode, key: str, statuses: list[int], failures: list[str]) -> None:
    excluded = [positive_data_acceptance] if operation.label in SEMANTIC else []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        response = case.call(headers={"X-API-Key": key})
        statuses.append(response.status_code)
        # a body over the limit is refused with 413 before it is read (documented)
        also = [negative_data_rejection] if response.status_code == 413 else []
        try:
            case.validate_response(response, excluded_checks=[*excluded, *also])
        except FailureGroup as group:
            failures.append(f"{operation.label} ({mode.value}): {group.exceptions[0]}"[:600])

    check()


def _has_inputs(operation) -> bool:
    """Whether there is anything to get wrong (parameters or a body) besides the key."""
    definition = operation.definition.raw
    return bool(definition.get("parameters") or definition.get("requestBody"))


# -- a bounded fuzz of our own: hostile values in every JSON body and query --------------------
HOSTILE = st.one_of(
    st.sampled_from(
        [
            math.nan,
            math.inf,
            -math.inf,
            10**400,
            -(2**63),
            2**63,
            1e300,
            -1e-300,
            0,
            -1,
            "",
            "\x00",
            "\ud800",
            "../../etc/passwd",
            "长" * 300,
            "9" * 9,
            "2026-02-30",
            "NOPE",
            None,
            True,
            [],
            {},
            [[[[[[[[[[[]]]]]]]]]]],
        ]
    ),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
BODIES = {
    "/scenarios/{sid}/plans": {"date": "2026-11-27", "engine": "pyvrp", "time_limit_s": 1},
    "/scenarios/{sid}/whatifs": {
        "name": "w",
        "overrides": {"stations": {"S1": {"capacity_t_per_day": 30}}},
        "closed_road_ids": ["EW0"],
        "seasonal_multipliers": [
            {"name": "s", "start": "2026-01-01", "end": "2026-01-31", "multiplier": 1.2}
        ],
        "policy": {"max_point_station_travel_s": 3600},
        "costs": {"driver_cost_cny_per_hour": 40},
    },
    "/incidents": {"kind": "blocked_road", "scenario_id": 1, "lon": 116.745, "lat": 30.1351},
    "/scenarios/json": {"yaml": "name: x\n", "files": {"a.csv": "a\n"}},
}
QUERIES = {
    "/plans/1/routes": {"date": "2026-11-27", "station": "S1", "vehicle": "D1"},
    "/compare": {"plans": "1,2"},
    "/incidents": {"scenario_id": 1, "status": "open", "township": "990000001"},
    "/townships/990000001/summary": {"plan_id": 1, "date": "2026-11-27"},
    "/jobs": {"state": "queued"},
}
FIELD = re.compile(r"^[\w.\[\]\-{}/ ]+: ")


def _mutate(body: dict, data) -> dict:
    """``body`` with one value (perhaps nested) replaced by a hostile one, or a key added."""
    mutated = json.loads(json.dumps(body))
    target = mutated
    while True:
        key = data.draw(st.sampled_from([*target, "extra"]))
        if isinstance(target.get(key), dict) and target[key] and data.draw(st.booleans()):
            target = target[key]
            continue
        target[key] = data.draw(HOSTILE)
        return mutated


def _names_a_field(answer) -> bool:
    detail = answer.json().get("detail")
    if isinstance(detail, list):
        return bool(detail) and all(e.get("loc") and e.get("msg") for e in detail)
    return isinstance(detail, str) and bool(FIELD.match(detail))


@given(data=st.data())
@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_hostile_bodies_and_queries_get_a_4xx_naming_a_field(served, data):
    app, key = served
    client = TestClient(app)  # the app is already started by the fixture
    headers = {"X-API-Key": key}
    if data.draw(st.booleans()):
        path = data.draw(st.sampled_from(sorted(BODIES)))
        body = _mutate(BODIES[path], data)
        answer = client.post(
            path.format(sid=1),
            content=json.dumps(body, allow_nan=True).encode("utf-8", "surrogatepass"),
            headers={**headers, "content-type": "application/json"},
        )
    else:
        path = data.draw(st.sampled_from(sorted(QUERIES)))
        params = _mutate(QUERIES[path], data)
        query = urlencode({k: str(v).encode("utf-8", "surrogatepass") for k, v in params.items()})
        answer = client.get(f"{path}?{query}", headers=headers)
    assert answer.status_code < 500, (path, answer.text[:300])
    if answer.status_code >= 400:
        assert _names_a_field(answer), (path, answer.status_code, answer.text[:300])
