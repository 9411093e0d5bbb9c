"""Scheduled actions end to end, with celery beat in the stack's scheduler process ticking
every second: a schedule every minute restarts a container, as its owner, a normal job with its
audit entry; a schedule whose owner was removed from the team fails and says so."""
from datetime import datetime

import pytest

from tests.stack import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.privileged]


def test_a_schedule_every_minute_restarts_a_container_as_its_owner(stack):
    team = stack.new_team("sched-")
    keeper, _, keeper_api = stack.new_user("dev-", team)
    leaver, _, leaver_api = stack.new_user("dev-", team)
    job = keeper_api.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": "nightly", "cmd": ["sleep", "600"]})
    assert job["state"] == "succeeded", job
    container = job["container"]
    try:
        started = keeper_api.ok("GET", f"/api/containers/{container}/")["started_at"]
        kept = keeper_api.ok("POST", "/api/schedules/", {
            "container": container, "action": "restart", "cron": "* * * * *"})
        left = leaver_api.ok("POST", "/api/schedules/", {
            "container": container, "action": "restart", "cron": "* * * * *"})
        assert len(kept["next_runs"]) == 5
        stack.admin.ok("DELETE", f"/api/teams/{team['id']}/members/{leaver}/")
        stack.start_scheduler(tick_seconds=1)

        def ran(schedule_id):
            schedule = stack.admin.ok("GET", f"/api/schedules/{schedule_id}/")
            return schedule if schedule["last_run_at"] else None
        kept = wait_until(lambda: ran(kept["id"]), timeout=90, interval=0.5,
                          what="the schedule's first run")
        left = wait_until(lambda: ran(left["id"]), timeout=30, interval=0.5,
                          what="the other schedule's first run")
        assert kept["last_result"] == "requested" and kept["last_error"] == ""
        restart = stack.wait_job(kept["last_job"])
        assert (restart["kind"], restart["state"], restart["requested_by"]) == (
            "restart", "succeeded", keeper)
        now = keeper_api.ok("GET", f"/api/containers/{container}/")
        assert now["state"] == "running"
        assert datetime.fromisoformat(now["started_at"]) > datetime.fromisoformat(started)
        runs = stack.admin.ok("GET", f"/api/audit/?action=schedule.run&target={container}")
        assert {(e["actor"], e["result"]) for e in runs["results"]} >= {(keeper, "requested"),
                                                                        (leaver, "failed")}
        assert left["last_result"] == "failed" and left["last_job"] is None
        assert left["last_error"] == f"not run: {leaver} may no longer restart nightly."
    finally:
        stack.admin.call("DELETE", f"/api/containers/{container}/?force=1&wait=1")
