"""Background jobs: run off the event loop, report progress, keep results per organisation."""

from typing import Any

from api.jobs import service as jobs


def test_job_runs_in_background_and_reports_result(client: Any, make_user: Any) -> None:
    bank = make_user("bank", "officer")

    def work(progress: Any) -> dict[str, Any]:
        for i in range(4):
            progress((i + 1) / 4)
        return {"answer": 42}

    job_id, fut = jobs.submit("test", work, bank.user)
    fut.result(timeout=30)
    r = client.get(f"/api/v1/jobs/{job_id}", headers=bank.headers)
    assert r.status_code == 200
    assert r.json()["status"] == "succeeded" and r.json()["result"] == {"answer": 42} and r.json()["progress"] == 1.0
    other = make_user("bank", "officer")
    assert client.get(f"/api/v1/jobs/{job_id}", headers=other.headers).status_code == 404


def test_failed_job_keeps_its_error(client: Any, make_user: Any) -> None:
    bank = make_user("bank", "officer")

    def boom(progress: Any) -> dict[str, Any]:
        raise ValueError("paths: must be positive")

    job_id, fut = jobs.submit("test", boom, bank.user)
    fut.result(timeout=30)
    body = client.get(f"/api/v1/jobs/{job_id}", headers=bank.headers).json()
    assert body["status"] == "failed" and "paths: must be positive" in body["error"]
