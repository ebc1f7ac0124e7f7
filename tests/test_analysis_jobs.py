"""The analysis through OCA's job queue, as production runs it: Odoo with workers and queue_job loaded server-wide,
the analysis cron queues batches on the channel root.mro_analysis, and the job runner has Odoo's workers run
them. Nothing is called in-process: readings arrive through the ingest API, the cron is run with the button an
administrator has, and the jobs are watched in the Jobs menu's model."""

import time
import uuid

import odoo_server
import pytest
from odoo_server import ADMIN, bridge_credentials


@pytest.fixture
def odoo_with_runner(template_db, tmp_path):
    db = f"mro_pytest_jobs_{uuid.uuid4().hex[:8]}"
    odoo_server.copy_db(template_db, db)
    server = odoo_server.OdooServer(
        db=db,
        workers=2,
        log_path=tmp_path / "odoo.log",
        extra_args=("--load=base,web,queue_job",),
        env={"ODOO_QUEUE_JOB_MAX_CAPACITY": "2"},
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()
        odoo_server.drop_db(db)


def wait_for_jobs(odoo, uid, timeout=120.0):
    deadline = time.monotonic() + timeout
    while True:
        jobs = odoo.call(
            uid,
            ADMIN[1],
            "queue.job",
            "search_read",
            [("method_name", "=", "_job_analyze")],
            fields=["state", "channel", "result", "exc_info", "args"],
        )
        if jobs and all(job["state"] in ("done", "failed") for job in jobs):
            return jobs
        if time.monotonic() > deadline:
            raise AssertionError(f"the job runner did not run the analysis jobs: {jobs}")
        time.sleep(0.5)


def test_the_cron_queues_and_the_runner_analyses(odoo_with_runner):
    odoo = odoo_with_runner
    _gateway_id, login, key = bridge_credentials(odoo)
    now = time.time()
    readings = [["P101-VIB-DE", now - 60 * k, 2.0 + 0.001 * k] for k in range(120)]
    answer = odoo.models().execute_kw(odoo.db, odoo.login(login, key), key, "mro.sensor.reading", "ingest", [readings])
    assert answer["accepted"] == 120

    uid = odoo.login(*ADMIN)
    [sensor] = odoo.call(
        uid, ADMIN[1], "mro.sensor", "search_read", [("code", "=", "P101-VIB-DE")], fields=["equipment_id"]
    )
    pump = sensor["equipment_id"][0]
    [cron] = odoo.call(
        uid,
        ADMIN[1],
        "ir.model.data",
        "search_read",
        [("module", "=", "mro_predictive"), ("name", "=", "ir_cron_analyze_health")],
        fields=["res_id"],
    )
    cron = cron["res_id"]
    odoo.call(uid, ADMIN[1], "ir.cron", "method_direct_trigger", [cron])
    jobs = wait_for_jobs(odoo, uid)

    assert {job["channel"] for job in jobs} == {"root.mro_analysis"}
    assert [job["exc_info"] for job in jobs if job["state"] == "failed"] == []
    assert any(pump in job["args"][0] for job in jobs)
    assert all("analysed" in job["result"] for job in jobs)
    [equipment] = odoo.call(
        uid,
        ADMIN[1],
        "maintenance.equipment",
        "read",
        [pump],
        fields=[
            "mro_last_analysis",
            "mro_analysis_data_ts",
            "mro_analysis_error",
            "mro_analysis_queued",
            "mro_health_state",
        ],
    )
    assert equipment["mro_last_analysis"] and equipment["mro_health_state"], equipment
    assert not equipment["mro_analysis_error"] and not equipment["mro_analysis_queued"], equipment
    # Nothing is left to queue: the next run of the cron finds no work.
    odoo.call(uid, ADMIN[1], "ir.cron", "method_direct_trigger", [cron])
    assert len(wait_for_jobs(odoo, uid)) == len(jobs)
