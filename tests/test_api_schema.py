"""Schemathesis against the app's own OpenAPI schema: no input gives a server error (5xx).

Runs in-process (ASGI) with a planner key, the tiny scenario uploaded and no plan workers
(jobs stay queued), a bounded and derandomised number of examples per operation.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings

from api.keys import create_key
from api.main import create_app
from api.settings import Settings

TINY = Path(__file__).parent / "data" / "scenario" / "tiny"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    data = tmp_path_factory.mktemp("api-schema")
    app = create_app(Settings(data_dir=data, workers=0, max_upload_mb=1))
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
        yield app, key


def test_no_server_errors(served):
    app, key = served
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 19
    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=15,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            response = case.call(headers={"X-API-Key": key})
            statuses.append(response.status_code)
            assert response.status_code < 500, (
                case.method,
                case.formatted_path,
                response.text[:500],
            )

        check()
    # Every operation was exercised, and some requests got through validation.
    assert len(statuses) >= 5 * len(operations)
    assert any(200 <= code < 300 for code in statuses)
