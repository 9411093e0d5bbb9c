"""`moor compose` on the command line: the verbs a Compose user types, on real containers."""

import json

import pytest

from tests.stack import wait_until

pytestmark = pytest.mark.privileged

FILE = """
name: clitest
services:
  db:
    image: busybox
    command: sh -c 'echo db ready; exec sleep 600'
    stop_grace_period: 1s
  web:
    image: busybox
    command: sh -c 'echo web $${GREETING}; exec sleep 600'
    stop_grace_period: 1s
    environment:
      GREETING: ${GREETING:-hello}
    depends_on: [db]
"""


@pytest.fixture
def project_file(tmp_path, moor):
    path = tmp_path / "compose.yaml"
    path.write_text(FILE)
    yield str(path)
    moor("compose", "-f", str(path), "down", "--remove-orphans")


def test_up_ps_logs_exec_run_down(moor, project_file, engine):
    up = moor("compose", "-f", project_file, "up", "-d", check=True)
    assert " Container clitest-web-1  Started" in up.stderr
    listed = moor("compose", "-f", project_file, "ps", check=True).stdout.splitlines()
    assert listed[0].split() == ["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS",
                                 "PORTS"]
    assert [line.split()[0] for line in listed[1:]] == ["clitest-db-1", "clitest-web-1"]
    quiet = moor("compose", "-f", project_file, "ps", "-q", check=True).stdout.split()
    assert len(quiet) == 2 and all(len(identifier) == 64 for identifier in quiet)

    def logs():
        return moor("compose", "-f", project_file, "logs", "--no-color", check=True).stdout

    merged = wait_until(lambda: "web hello" in logs() and "db ready" in logs() and logs(),
                        what="both services' first lines")
    assert "clitest-db-1   | db ready\n" in merged and "clitest-web-1  | web hello\n" in merged
    only_web = moor("compose", "-f", project_file, "logs", "--no-log-prefix", "web",
                    check=True).stdout
    assert only_web == "web hello\n"

    exec_ = moor("compose", "-f", project_file, "exec", "-T", "web", "sh", "-c",
                 "echo $GREETING; ping -c 1 -W 2 db >/dev/null && echo reached", check=True)
    assert exec_.stdout == "hello\nreached\n"
    run = moor("compose", "-f", project_file, "run", "--rm", "-T", "web", "echo", "one-off",
               check=True)
    assert run.stdout == "one-off\n"
    assert len(moor("ps", "-a", "-q").stdout.split()) == 2     # the one-off is gone

    dry = moor("compose", "-f", project_file, "up", "--dry-run", check=True,
               ).stdout.splitlines()
    assert dry == ["service db: keep", "service web: keep"]
    down = moor("compose", "-f", project_file, "down", check=True)
    assert " Network clitest_default  Removed" in down.stderr
    assert moor("ps", "-a", "-q").stdout == ""


def test_config_prints_the_resolved_file(moor, project_file, tmp_path):
    resolved = moor("compose", "-f", project_file, "config", "--format", "json",
                    check=True, ).stdout
    model = json.loads(resolved)
    assert model["name"] == "clitest"
    assert model["services"]["web"]["environment"] == {"GREETING": "hello"}
    assert model["services"]["web"]["command"] == ["sh", "-c", "echo web ${GREETING}; exec "
                                                               "sleep 600"]
    assert moor("compose", "-f", project_file, "config", "--services",
                check=True).stdout == "db\nweb\n"
    (tmp_path / "bad.yaml").write_text("services:\n  web:\n    image: busybox\n"
                                       "    privileged: true\n")
    refused = moor("compose", "-f", str(tmp_path / "bad.yaml"), "config")
    assert refused.returncode == 1
    assert refused.stderr == (f"Error: {tmp_path}/bad.yaml, line 4: services.web.privileged: "
                              f"Moorage does not support this key of the Compose "
                              f"Specification\n")


def test_stop_start_restart(moor, project_file, engine):
    moor("compose", "-f", project_file, "up", "-d", check=True)
    moor("compose", "-f", project_file, "stop", check=True)
    assert moor("compose", "-f", project_file, "ps", "-q").stdout == ""
    assert len(moor("compose", "-f", project_file, "ps", "-a", "-q").stdout.split()) == 2
    moor("compose", "-f", project_file, "start", check=True)
    assert len(moor("compose", "-f", project_file, "ps", "-q").stdout.split()) == 2
    before = moor("inspect", "-f", "{{.State.StartedAt}}", "clitest-db-1").stdout
    moor("compose", "-f", project_file, "restart", "db", check=True)
    assert moor("inspect", "-f", "{{.State.StartedAt}}", "clitest-db-1").stdout != before
