"""Commit through the console with the real engine: the job records the new image (tagged,
owned by the container's team, its parent the container's image) and the file changes; a
container run from it sees those changes."""
import pytest

from tests.stack import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.privileged]


def test_commit_a_container_and_run_the_new_image(stack):
    api = stack.admin
    job = api.ok("POST", "/api/containers/?wait=1", {
        "image": "busybox", "host": "e2e", "name": "builder",
        "cmd": ["sh", "-c", "echo hello > /added.txt && echo extra >> /etc/passwd && "
                            "rm /etc/group && sleep 300"]})
    assert job["state"] == "succeeded", job
    wait_until(lambda: "added.txt" in stack.moor("e2e", "diff", "builder").stdout, timeout=10,
               what="the container's changes")
    job = api.ok("POST", "/api/containers/builder/commit/?wait=1", {
        "repository": "e2e/tool", "tag": "v1", "message": "add a file",
        "changes": ['CMD ["cat", "/added.txt"]']})
    assert job["state"] == "succeeded", job
    assert job["result"]["reference"] == "e2e/tool:v1" and job["result"]["files_changed"] >= 3
    images = {tuple(i["tags"]): i for i in api.ok("GET", "/api/images/?host=e2e")["results"]}
    image = images[("e2e/tool:v1",)]
    base = images[("busybox:latest",)]
    assert image["team"] == "default" and image["parent"] == base["id"]
    assert image["id"] == job["result"]["image_id"]
    # The builder kept running through the (pausing) commit.
    assert api.ok("GET", "/api/containers/builder/")["state"] == "running"

    job = api.ok("POST", "/api/containers/?wait=1", {
        "image": "e2e/tool:v1", "host": "e2e", "name": "from-commit",
        "cmd": ["sh", "-c", "grep -q hello /added.txt && grep -q extra /etc/passwd && "
                            "test ! -e /etc/group"]})
    assert job["state"] == "succeeded", job
    done = wait_until(lambda: (lambda c: c if c["state"] == "exited" else None)(
        api.ok("GET", "/api/containers/from-commit/")), timeout=20, what="from-commit exited")
    assert done["exit_code"] == 0
    audit = api.ok("GET", "/api/audit/?action=container.commit")["results"]
    assert audit[0]["actor"] == "admin" and audit[0]["job_state"] == "succeeded"
    for name in ("from-commit", "builder"):
        api.ok("DELETE", f"/api/containers/{name}/?force=1&wait=1")
