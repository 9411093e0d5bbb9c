"""`diff` and `commit`: added, changed and deleted files, a replaced directory, the new
image's config, history and parent chain."""

import json

import pytest

from runtime.errors import InvalidArgument

pytestmark = [pytest.mark.privileged, pytest.mark.usefixtures("each_runtime")]

CHANGES = (
    "mkdir -p /app/old && echo a > /app/old/a && echo b > /app/old/b && "
    "echo added > /added.txt && echo changed >> /etc/motd && rm /bin/vi && "
    "rm -r /var/spool && mkdir /var/spool && echo fresh > /var/spool/only"
)


def test_diff_lists_added_changed_and_deleted(engine, moor, run_and_wait):
    container_id, code = run_and_wait(["sh", "-c", CHANGES])
    assert code == 0
    lines = moor("diff", container_id).stdout.splitlines()
    assert "A /added.txt" in lines
    assert "A /etc/motd" in lines  # busybox has no /etc/motd: an addition
    assert "C /etc" in lines
    assert "D /bin/vi" in lines
    assert "C /bin" in lines
    assert "A /app" in lines and "A /app/old/a" in lines
    assert "C /var/spool" in lines
    assert "D /var/spool/mail" in lines
    assert "A /var/spool/only" in lines


def test_commit_round_trip(engine, moor, run_and_wait):
    container_id, _ = run_and_wait(["sh", "-c", CHANGES + " && echo second >> /added.txt"])
    result = moor("commit", "-m", "add app", "-a", "Jane <jane@example.com>",
                  "-c", "ENV STAGE=committed", "-c", 'CMD ["cat", "/added.txt"]',
                  "-c", "EXPOSE 8080", "-c", "LABEL team=blue", "-c", "WORKDIR /app",
                  container_id, "snapshot:v1")
    assert result.returncode == 0, result.stderr
    image_id = result.stdout.strip()
    assert image_id.startswith("sha256:")

    # The new image runs with the changes: deleted files are gone, a replaced dir is replaced.
    child, code = run_and_wait(
        ["sh", "-c", "ls /bin/vi 2>&1; ls /var/spool; cat /added.txt; pwd; echo $STAGE"],
        image="snapshot:v1")
    output = "".join(r.data.decode() for r in engine.logs(child))
    assert "No such file" in output
    assert "only" in output and "mail" not in output
    assert "added\nsecond\n" in output
    assert "/app\ncommitted\n" in output

    # The default command comes from -c CMD.
    default = engine.run({"image": "snapshot:v1"})
    assert engine.wait(default) == 0
    assert b"".join(r.data for r in engine.logs(default)) == b"added\nsecond\n"
    config = json.loads(moor("inspect", "snapshot:v1").stdout)[0]
    assert config["Config"]["Cmd"] == ["cat", "/added.txt"]
    assert config["Config"]["ExposedPorts"] == {"8080/tcp": {}}
    assert config["Config"]["Labels"]["team"] == "blue"
    assert config["Author"] == "Jane <jane@example.com>"
    assert config["Parent"] == engine.image_id("busybox")
    assert len(config["RootFS"]["Layers"]) == 2


def test_history_walks_the_parents(engine, moor, run_and_wait):
    first, _ = run_and_wait(["sh", "-c", "echo one > /one"])
    moor("commit", "-m", "first step", first, "lineage:1", check=True)
    second, _ = run_and_wait(["sh", "-c", "echo two > /two"], image="lineage:1")
    moor("commit", "-m", "second step", second, "lineage:2", check=True)
    history = engine.history("lineage:2")
    assert [row["Comment"] for row in history[:2]] == ["second step", "first step"]
    assert history[0]["Id"] == engine.image_id("lineage:2")
    assert history[1]["Id"] == engine.image_id("lineage:1")
    assert history[2]["Id"] == engine.image_id("busybox")
    table = moor("history", "lineage:2").stdout.splitlines()
    assert table[0].split()[:4] == ["IMAGE", "CREATED", "CREATED", "BY"]
    assert len(table) == 4
    from runtime.image.listing import lineage
    assert lineage(engine, engine.image_id("lineage:2")) == [
        engine.image_id("lineage:2"), engine.image_id("lineage:1"), engine.image_id("busybox")]


def test_commit_of_an_unchanged_container_adds_an_empty_history_entry(engine, moor,
                                                                      run_and_wait):
    container_id, _ = run_and_wait(["true"])
    image_id = moor("commit", container_id, check=True).stdout.strip()
    config = engine.store.config(image_id)
    assert config["history"][-1]["empty_layer"] is True
    assert config["rootfs"] == engine.store.config(engine.image_id("busybox"))["rootfs"]


def test_commit_of_a_running_container_pauses_it_and_keeps_it_running(engine, moor):
    container_id = engine.run({"image": "busybox", "cmd": [
        "sh", "-c", "echo live > /live; sleep 300"]})
    import time
    time.sleep(0.3)
    moor("commit", container_id, "live:1", check=True)
    assert engine.inspect(container_id)["State"]["Status"] == "running"
    engine.remove(container_id, force=True)


def test_bad_changes_and_names_are_refused(engine, moor, run_and_wait):
    container_id, _ = run_and_wait(["true"])
    before = set(engine.store.image_ids())
    result = moor("commit", "-c", "FROB x", container_id)
    assert result.returncode == 1 and "not a valid change" in result.stderr
    result = moor("commit", container_id, "Bad Name")
    assert result.returncode == 1 and "invalid reference" in result.stderr
    with pytest.raises(InvalidArgument):
        from runtime.image.commit import apply_changes
        apply_changes({}, ["EXPOSE notaport"])
    assert set(engine.store.image_ids()) == before
