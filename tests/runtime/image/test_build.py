"""`moor build` end to end: real RUN containers, layers, the cache, stages, build arguments,
.dockerignore, failures and interruptions — through the `moor` command line and the engine
API, against the session's engine root with the busybox image."""

import io
import os
import re
import select
import signal
import subprocess
import sys
import tarfile
import time
import uuid

import pytest

from runtime.errors import MoorError
from tests.runtime.conftest import REPOSITORY

pytestmark = pytest.mark.privileged


def make_context(tmp_path, dockerfile: str, files: dict | None = None,
                 name: str = "context") -> str:
    root = tmp_path / name
    root.mkdir()
    (root / "Dockerfile").write_text(dockerfile)
    for path, content in (files or {}).items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
        target.chmod(0o644)
    return str(root)


def tar_of(entries: dict) -> bytes:
    """A tar archive of {name: (content, mode)}."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, (content, mode) in entries.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), mode, 1_600_000_000
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def steps(output: str) -> dict[int, str]:
    """The build output cut into its steps: {step number: the lines under it}."""
    blocks, current = {}, None
    for line in output.splitlines():
        match = re.match(r"^Step (\d+)/\d+ : ", line)
        if match:
            current = int(match.group(1))
            blocks[current] = ""
        elif current is not None:
            blocks[current] += line + "\n"
    return blocks


def run_image(engine, image: str, cmd: list[str] | None = None, **options) -> tuple[int, str]:
    container_id = engine.run({"image": image, **({"cmd": cmd} if cmd else {}), **options})
    try:
        code = engine.wait(container_id)
        return code, "".join(r.data.decode() for r in engine.logs(container_id))
    finally:
        engine.remove(container_id, force=True)


def chain_of(engine, image_id: str) -> list[str]:
    chain = []
    while image_id:
        chain.append(image_id)
        image_id = engine.store.parent(image_id)
    return chain


MULTI_STEP = """\
FROM busybox
ENV TOKEN={token} GREETING="hello there"
WORKDIR /srv/app
COPY app /srv/app/
COPY version.txt .
RUN echo "$GREETING" > greeting && mkdir scratch && echo x > scratch/f && rm -r scratch \\
    && rm /etc/group
ADD bundle.tar /opt/
EXPOSE 8080
""" + ('CMD ["sh", "-c", "ls -R /srv/app /opt; cat greeting version.txt; '
       'test -e /etc/group || echo no-group"]\n')


def multi_step_context(tmp_path, token: str) -> str:
    bundle = tar_of({"pkg/readme.txt": (b"read me\n", 0o644),
                     "pkg/bin/tool": (b"#!/bin/sh\necho tool\n", 0o755)})
    return make_context(tmp_path, MULTI_STEP.format(token=token), {
        "app/main.sh": "echo main\n", "app/lib/util.sh": "echo util\n",
        "version.txt": f"version {token}\n", "bundle.tar": bundle})


def test_multi_step_build_runs_and_shows_its_files(engine, moor, tmp_path):
    token = uuid.uuid4().hex[:12]
    busybox = engine.image_id("busybox")
    result = moor("build", "-t", f"build-test:{token}", multi_step_context(tmp_path, token))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Step 1/9 : FROM busybox\n ---> " + busybox[7:19] + "\n")
    assert "Step 6/9 : RUN echo \"$GREETING\" > greeting" in out
    assert re.search(r" ---> Running in [0-9a-f]{12}\nRemoving intermediate container "
                     r"[0-9a-f]{12}\n ---> [0-9a-f]{12}\n", out)
    image_id = engine.image_id(f"build-test:{token}")
    assert out.endswith(f"Successfully built {image_id[7:19]}\n"
                        f"Successfully tagged build-test:{token}\n")

    code, listing = run_image(engine, f"build-test:{token}")
    assert code == 0, listing
    for expected in ("main.sh", "lib", "util.sh", "readme.txt", "tool", "hello there",
                     f"version {token}", "no-group"):
        assert expected in listing
    assert "scratch" not in listing

    config = engine.image_inspect(image_id)["Config"]
    assert f"TOKEN={token}" in config["Env"] and "GREETING=hello there" in config["Env"]
    assert config["WorkingDir"] == "/srv/app"
    assert config["ExposedPorts"] == {"8080/tcp": {}}
    assert config["Cmd"][:2] == ["sh", "-c"]


def test_history_has_one_entry_per_step_chained_down_to_busybox(engine, moor, tmp_path):
    token = uuid.uuid4().hex[:12]
    result = moor("build", "-t", f"build-test:{token}", multi_step_context(tmp_path, token))
    assert result.returncode == 0, result.stderr
    image_id = engine.image_id(f"build-test:{token}")
    busybox = engine.image_id("busybox")
    rows = engine.history(image_id)
    assert len(rows) == len(engine.history("busybox")) + 8
    mine = rows[:8]
    nop = "/bin/sh -c #(nop) "
    assert mine[0]["CreatedBy"].startswith(nop + 'CMD ["sh" "-c" "ls -R /srv/app /opt;')
    assert mine[1]["CreatedBy"] == nop + "EXPOSE 8080"
    assert re.fullmatch(re.escape(nop) + r"ADD file:[0-9a-f]{64} in /opt/ ",
                        mine[2]["CreatedBy"])
    assert mine[3]["CreatedBy"].startswith('/bin/sh -c echo "$GREETING" > greeting && mkdir')
    assert re.fullmatch(re.escape(nop) + r"COPY file:[0-9a-f]{64} in \. ", mine[4]["CreatedBy"])
    assert re.fullmatch(re.escape(nop) + r"COPY dir:[0-9a-f]{64} in /srv/app/ ",
                        mine[5]["CreatedBy"])
    assert mine[6]["CreatedBy"] == nop + "WORKDIR /srv/app"
    assert mine[7]["CreatedBy"] == nop + 'ENV TOKEN=' + token + ' GREETING=hello there'

    # Metadata steps have no layer; the others have one, with the size the store records
    # (the bytes of its files: WORKDIR's layer holds only a directory, as in Docker: 0 B).
    empty = [row["Size"] for i, row in enumerate(mine) if i in (0, 1, 7)]
    assert empty == [0, 0, 0]
    with_layers = [mine[i] for i in (2, 3, 4, 5, 6)]
    assert all(row["Size"] > 0 for row in with_layers[:4])
    assert mine[6]["Size"] == 0
    config = engine.store.config(image_id)
    flags = [bool(entry.get("empty_layer")) for entry in config["history"][-8:]]
    assert flags == [True, False, False, False, False, False, True, True]
    layer_sizes = [engine.store.layer_info(chain)["size"]
                   for chain in engine.store.layers(image_id)[-5:]]
    assert layer_sizes == [row["Size"] for row in reversed(with_layers)]
    assert mine[4]["Size"] == len(f"version {token}\n")

    # Each step's image is the next one's parent, down to busybox; only the last is tagged.
    chain = chain_of(engine, image_id)
    assert [row["Id"] for row in mine] == chain[:8]
    assert chain[8] == busybox
    assert all(engine.store.tags_of(step) == [] for step in chain[1:8])


def test_rebuild_hits_the_cache_for_every_step(engine, moor, tmp_path):
    token = uuid.uuid4().hex[:12]
    context = multi_step_context(tmp_path, token)
    first = moor("build", context)
    assert first.returncode == 0, first.stderr
    assert "Using cache" not in first.stdout
    images_before = set(engine.store.image_ids())
    second = moor("build", "-t", f"build-test:{token}", context)
    assert second.returncode == 0, second.stderr
    blocks = steps(second.stdout)
    assert all(" ---> Using cache\n" in blocks[n] for n in range(2, 10))
    assert "Running in" not in second.stdout
    assert set(engine.store.image_ids()) == images_before
    assert first.stdout.splitlines()[-1] == second.stdout.splitlines()[-2]

    no_cache = moor("build", "--no-cache", context)
    assert no_cache.returncode == 0, no_cache.stderr
    assert "Using cache" not in no_cache.stdout and "Running in" in no_cache.stdout
    assert no_cache.stdout.splitlines()[-1] != first.stdout.splitlines()[-1]


def test_changing_a_copy_source_invalidates_the_cache_from_that_step(engine, moor, tmp_path):
    token = uuid.uuid4().hex[:12]
    context = multi_step_context(tmp_path, token)
    assert moor("build", context).returncode == 0
    with open(os.path.join(context, "version.txt"), "w") as f:
        f.write("a new version\n")
    result = moor("build", "-t", f"build-test:{token}", context)
    assert result.returncode == 0, result.stderr
    blocks = steps(result.stdout)
    assert all("Using cache" in blocks[n] for n in (2, 3, 4))
    assert all("Using cache" not in blocks[n] for n in range(5, 10))
    code, listing = run_image(engine, f"build-test:{token}")
    assert "a new version" in listing

    # Only the content counts, not the file's time: touching it changes nothing.
    os.utime(os.path.join(context, "app", "main.sh"), (1, 1))
    again = moor("build", context)
    assert all("Using cache" in block for block in list(steps(again.stdout).values())[1:])


def test_multi_stage_build_copies_from_earlier_stages(engine, moor, tmp_path):
    token = uuid.uuid4().hex[:12]
    context = make_context(tmp_path, f"""\
FROM busybox AS builder
RUN mkdir /out && echo built-{token} > /out/artifact && echo other > /out/other
FROM busybox AS unused
RUN echo unused > /unused
FROM busybox
COPY --from=builder /out/artifact /artifact
COPY --from=0 /out/other /other
CMD ["sh", "-c", "cat /artifact /other; test -e /out || echo no-out"]
""")
    result = moor("build", "-t", f"stages:{token}", context)
    assert result.returncode == 0, result.stderr
    assert "Step 1/8 : FROM busybox AS builder" in result.stdout
    code, output = run_image(engine, f"stages:{token}")
    assert (code, output) == (0, f"built-{token}\nother\nno-out\n")
    chain = chain_of(engine, engine.image_id(f"stages:{token}"))
    assert len(chain) == 4 and chain[-1] == engine.image_id("busybox")

    target = moor("build", "--target", "builder", "-t", f"stages-builder:{token}", context)
    assert target.returncode == 0, target.stderr
    assert "Step 2/2 : RUN mkdir /out" in target.stdout and "unused" not in target.stdout
    code, output = run_image(engine, f"stages-builder:{token}", ["cat", "/out/artifact"])
    assert output == f"built-{token}\n"

    missing = moor("build", "--target", "nosuch", context)
    assert missing.returncode == 1
    assert "failed to reach build target nosuch" in missing.stderr


def test_build_arguments(engine, moor, tmp_path):
    token = uuid.uuid4().hex[:12]
    context = make_context(tmp_path, f"""\
ARG BASE=busybox
FROM ${{BASE}}
ARG BASE
ARG WHO=nobody
ARG UNSET
ENV GREETING="hi ${{WHO}}" TOKEN={token}
RUN echo "$WHO/$GREETING/${{UNSET:-unset}}/$BASE" > /args
CMD ["cat", "/args"]
""")
    result = moor("build", "--build-arg", "WHO=alice", "--build-arg", "EXTRA=1",
                  "-t", f"args:{token}", context)
    assert result.returncode == 0, result.stderr
    assert "[Warning] One or more build-args [EXTRA] were not consumed" in result.stdout
    assert run_image(engine, f"args:{token}") == (0, "alice/hi alice/unset/busybox\n")
    image_id = engine.image_id(f"args:{token}")
    env = engine.image_inspect(image_id)["Config"]["Env"]
    assert "GREETING=hi alice" in env and not any(e.startswith("WHO=") for e in env)
    run_entry = engine.history(image_id)[1]["CreatedBy"]
    assert run_entry.startswith("|2 BASE=busybox WHO=alice /bin/sh -c echo")

    default = moor("build", "-t", f"args-default:{token}", context)
    assert default.returncode == 0, default.stderr
    blocks = steps(default.stdout)
    assert "Using cache" in blocks[5] and "Using cache" not in blocks[6]
    assert run_image(engine, f"args-default:{token}") == (0, "nobody/hi nobody/unset/busybox\n")


def test_dockerignore_leaves_files_out_of_the_context(engine, moor, tmp_path):
    context = make_context(tmp_path, "FROM busybox\nCOPY . /ctx/\nCMD [\"find\", \"/ctx\"]\n", {
        ".dockerignore": "# build output\n*.log\n**/*.log\nsecrets\ndocs\n!docs/README.md\n",
        "keep.txt": uuid.uuid4().hex, "debug.log": "x", "sub/deep/trace.log": "x",
        "sub/keep.c": "x", "secrets/key": "x", "docs/a.md": "x", "docs/README.md": "x"})
    result = moor("build", "-t", "ignored:1", context)
    assert result.returncode == 0, result.stderr
    code, found = run_image(engine, "ignored:1")
    assert set(found.split()) == {"/ctx", "/ctx/.dockerignore", "/ctx/Dockerfile",
                                  "/ctx/keep.txt", "/ctx/sub", "/ctx/sub/deep",
                                  "/ctx/sub/keep.c", "/ctx/docs", "/ctx/docs/README.md"}
    with open(os.path.join(context, "Dockerfile"), "w") as f:
        f.write("FROM busybox\nCOPY secrets/key /key\n")
    excluded = moor("build", context)
    assert excluded.returncode == 1
    assert "file not found in build context or excluded by .dockerignore" in excluded.stderr


def test_copy_globs_owners_modes_and_destinations(engine, moor, tmp_path):
    context = make_context(tmp_path, """\
FROM busybox
COPY *.txt /globbed/
COPY --chown=bin:bin c.md /owned/c.md
COPY --chown=33 dir /owned/dir
COPY --chmod=600 a.txt /moded
COPY a.txt /etc
COPY a.txt b.txt /two/
RUN stat -c '%a %u:%g %n' /globbed/* /owned/c.md /owned/dir /owned/dir/x /owned/dir/sub/y \\
    /moded /etc/a.txt /two/* > /report
CMD ["cat", "/report"]
""", {"a.txt": "a", "b.txt": "b", "c.md": uuid.uuid4().hex, "dir/x": "x", "dir/sub/y": "y"})
    result = moor("build", "-t", "copies:1", context)
    assert result.returncode == 0, result.stderr
    code, report = run_image(engine, "copies:1")
    assert report.splitlines() == [
        "644 0:0 /globbed/a.txt", "644 0:0 /globbed/b.txt", "644 2:2 /owned/c.md",
        "755 33:33 /owned/dir", "644 33:33 /owned/dir/x", "644 33:33 /owned/dir/sub/y",
        "600 0:0 /moded", "644 0:0 /etc/a.txt", "644 0:0 /two/a.txt", "644 0:0 /two/b.txt"]

    with open(os.path.join(context, "Dockerfile"), "w") as f:
        f.write("FROM busybox\nCOPY a.txt b.txt /two\n")
    several = moor("build", context)
    assert several.returncode == 1
    assert "the destination must be a directory and end with a /" in several.stderr


def test_metadata_instructions_set_the_config(engine, moor, tmp_path):
    token = uuid.uuid4().hex[:12]
    context = make_context(tmp_path, f"""\
FROM busybox
LABEL org.example.name="demo app" token={token}
VOLUME ["/data", "/logs"]
STOPSIGNAL SIGINT
SHELL ["/bin/sh", "-ec"]
HEALTHCHECK --interval=30s --retries=2 CMD wget -q -O- localhost || exit 1
ENTRYPOINT ["echo"]
ONBUILD ENV TRIGGERED=yes
MAINTAINER Jane <jane@example.com>
USER nobody
""")
    result = moor("build", "-t", f"meta:{token}", context)
    assert result.returncode == 0, result.stderr
    image_id = engine.image_id(f"meta:{token}")
    inspected = engine.image_inspect(image_id)
    config = inspected["Config"]
    assert config["Labels"] == {"org.example.name": "demo app", "token": token}
    assert config["Volumes"] == {"/data": {}, "/logs": {}}
    assert config["StopSignal"] == "SIGINT"
    assert config["Shell"] == ["/bin/sh", "-ec"]
    assert config["Healthcheck"] == {"Test": ["CMD-SHELL", "wget -q -O- localhost || exit 1"],
                                     "Interval": 30_000_000_000, "Retries": 2}
    assert config["Entrypoint"] == ["echo"] and "Cmd" not in config  # busybox's CMD dropped
    assert config["OnBuild"] == ["ENV TRIGGERED=yes"]
    assert config["User"] == "nobody"
    assert inspected["Author"] == "Jane <jane@example.com>"
    history = engine.store.config(image_id)["history"][-9:]
    assert all(entry.get("empty_layer") for entry in history)
    assert [entry["created_by"] for entry in history[3:6]] == [
        "/bin/sh -ec #(nop) SHELL [/bin/sh -ec]",  # Docker uses the new shell already
        '/bin/sh -ec #(nop) HEALTHCHECK &{["CMD-SHELL" "wget -q -O- localhost || exit 1"] '
        "\"30s\" \"0s\" \"0s\" \"0s\" '\\x02'}",
        '/bin/sh -ec #(nop) ENTRYPOINT ["echo"]']

    child = make_context(tmp_path, f"FROM meta:{token}\nCMD [\"child\"]\n", name="child")
    built = moor("build", "-t", f"meta-child:{token}", child)
    assert built.returncode == 0, built.stderr
    assert "# Executing 1 build trigger\n" in built.stdout
    child_config = engine.image_inspect(f"meta-child:{token}")["Config"]
    assert "TRIGGERED=yes" in child_config["Env"] and "OnBuild" not in child_config
    assert run_image(engine, f"meta-child:{token}") == (0, "child\n")


def test_an_entrypoint_keeps_a_cmd_set_in_the_same_stage(engine, tmp_path):
    context = make_context(tmp_path, 'FROM busybox\nCMD ["world"]\nENTRYPOINT ["echo", "hello"]\n')
    image_id = engine.build(context, tags=["entry:1"])
    assert run_image(engine, image_id) == (0, "hello world\n")


def test_run_steps_use_the_stage_user_and_working_directory(engine, moor, tmp_path):
    context = make_context(tmp_path, f"""\
FROM busybox
RUN mkdir -p /home/app && chown nobody /home/app
USER nobody
WORKDIR /home/app
RUN id -u > uid && pwd >> uid && echo {uuid.uuid4().hex} > /dev/null
CMD ["cat", "/home/app/uid"]
""")
    assert moor("build", "-t", "user:1", context).returncode == 0
    assert run_image(engine, "user:1") == (0, "65534\n/home/app\n")

    with open(os.path.join(context, "Dockerfile"), "w") as f:
        f.write("FROM busybox\nUSER nosuch\nRUN true\n")
    result = moor("build", context)
    assert result.returncode == 1
    assert "unable to find user nosuch" in result.stderr


def test_from_scratch(engine, moor, tmp_path):
    context = make_context(tmp_path, "FROM scratch\nCOPY hello.txt /\nLABEL kind=scratch\n",
                           {"hello.txt": uuid.uuid4().hex})
    result = moor("build", "-t", "scratch-test:1", context)
    assert result.returncode == 0, result.stderr
    assert "Step 1/3 : FROM scratch\n ---> \n" in result.stdout
    image_id = engine.image_id("scratch-test:1")
    assert len(engine.store.layers(image_id)) == 1
    assert len(chain_of(engine, image_id)) == 2

    for text, message in (("FROM scratch\nRUN true\n", "the stage starts FROM scratch"),
                          ("FROM scratch\n", "No image was generated")):
        with open(os.path.join(context, "Dockerfile"), "w") as f:
            f.write(text)
        failed = moor("build", context)
        assert failed.returncode == 1 and message in failed.stderr


def test_failing_run_step_stops_the_build_and_leaves_no_container(engine, moor, tmp_path):
    token = uuid.uuid4().hex[:12]
    context = make_context(tmp_path, f"""\
FROM busybox
ENV TOKEN={token}
RUN echo before-failure && exit 3
RUN echo never
""")
    images_before = set(engine.store.image_ids())
    containers_before = engine.containers(all=True)
    result = moor("build", "-t", f"failing:{token}", context)
    assert result.returncode == 1
    assert "before-failure\n" in result.stdout and "never" not in result.stdout
    assert result.stderr.strip() == ("Error: The command '/bin/sh -c echo before-failure && "
                                     "exit 3' returned a non-zero code: 3")
    assert engine.containers(all=True) == containers_before
    new = set(engine.store.image_ids()) - images_before
    assert len(new) == 1  # the ENV step, which completed
    assert engine.store.config(new.pop())["history"][-1]["created_by"].endswith(token)
    with pytest.raises(MoorError):
        engine.image_id(f"failing:{token}")


def test_quiet_build_prints_only_the_image_id(engine, moor, tmp_path):
    context = make_context(tmp_path, f"FROM busybox\nRUN echo {uuid.uuid4().hex}\n")
    result = moor("build", "-q", context)
    assert result.returncode == 0
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", result.stdout)
    with open(os.path.join(context, "Dockerfile"), "w") as f:
        f.write("FROM busybox\nRUN echo quiet-failure; false\n")
    failed = moor("build", "-q", context)
    assert failed.returncode == 1 and failed.stdout == ""
    assert "quiet-failure" in failed.stderr and "returned a non-zero code: 1" in failed.stderr


def test_interrupted_build_removes_its_container(engine, tmp_path):
    # The marker is printed by the command, not found in the step's own line ("Step 2/2 :
    # RUN ..."), so the interrupt comes while the command runs, as meant.
    context = make_context(tmp_path, f"FROM busybox\nRUN echo st''arted; sleep 60 # "
                                     f"{uuid.uuid4().hex}\n")
    containers_before = {c["Id"] for c in engine.containers(all=True)}
    process = subprocess.Popen(
        [sys.executable, "-m", "runtime", "build", context], cwd=REPOSITORY,
        env={**os.environ, "MOORAGE_ROOT": engine.paths.root},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Read from the pipe itself: a buffered readline() may take in the marker's line with
        # the one before, and select() then waits on an empty pipe.
        seen = ""
        deadline = time.monotonic() + 60
        while "\nstarted\n" not in "\n" + seen and time.monotonic() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], 1)
            if ready:
                chunk = os.read(process.stdout.fileno(), 4096)
                if not chunk:
                    break
                seen += chunk.decode(errors="replace")
        assert "\nstarted\n" in "\n" + seen, seen
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 130, stderr[-2000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert {c["Id"] for c in engine.containers(all=True)} == containers_before


def test_engine_api_streams_output_and_takes_build_args(engine, tmp_path):
    token = uuid.uuid4().hex[:12]
    context = str(tmp_path / "context")
    os.makedirs(os.path.join(context, "sub"))
    with open(os.path.join(context, "sub", "Dockerfile.dev"), "w") as f:
        f.write("FROM busybox\nARG WHAT\nRUN echo \"$WHAT\" > /what\n")
    lines = []
    image_id = engine.build(context, dockerfile="sub/Dockerfile.dev", tags=[f"api:{token}"],
                            build_args={"WHAT": token}, output=lines.append)
    assert engine.image_id(f"api:{token}") == image_id
    text = "".join(lines)
    assert text.startswith("Step 1/3 : FROM busybox\n")
    assert text.endswith(f"Successfully tagged api:{token}\n")
    assert run_image(engine, image_id, ["cat", "/what"]) == (0, f"{token}\n")


def test_add_extracts_archives_by_content_and_copy_does_not(engine, moor, tmp_path):
    import gzip
    plain = tar_of({"p/one": (b"1", 0o644)})
    compressed = gzip.compress(tar_of({"z/two": (b"2", 0o600)}))
    context = make_context(tmp_path, """\
FROM busybox
ADD plain.tar /a
ADD packed.bin /b/
ADD notes.txt /c/
COPY plain.tar /d/
RUN find /a /b /c /d -type f | sort > /report && stat -c '%a' /b/z/two >> /report
CMD ["cat", "/report"]
""", {"plain.tar": plain, "packed.bin": compressed, "notes.txt": uuid.uuid4().hex})
    result = moor("build", "-t", "archives:1", context)
    assert result.returncode == 0, result.stderr
    assert run_image(engine, "archives:1") == (0, "/a/p/one\n/b/z/two\n/c/notes.txt\n"
                                                  "/d/plain.tar\n600\n")


def test_run_forms_empty_changes_and_relative_workdirs(engine, moor, tmp_path):
    token = uuid.uuid4().hex[:12]
    context = make_context(tmp_path, f"""\
FROM busybox
WORKDIR /srv
WORKDIR app
RUN ["sh", "-c", "pwd > /where"]
RUN true # {token}
""")
    result = moor("build", "-t", f"forms:{token}", context)
    assert result.returncode == 0, result.stderr
    image_id = engine.image_id(f"forms:{token}")
    history = engine.store.config(image_id)["history"][-4:]
    assert [entry["created_by"] for entry in history] == [
        "/bin/sh -c #(nop) WORKDIR /srv", "/bin/sh -c #(nop) WORKDIR /srv/app",
        "sh -c pwd > /where", f"/bin/sh -c true # {token}"]
    assert [bool(entry.get("empty_layer")) for entry in history] == [False, False, False, True]
    assert run_image(engine, image_id, ["cat", "/where"]) == (0, "/srv/app\n")


def test_bad_tags_are_refused_before_building(engine, moor, tmp_path):
    context = make_context(tmp_path, f"FROM busybox\nRUN echo {uuid.uuid4().hex}\n")
    images = set(engine.store.image_ids())
    result = moor("build", "-t", "Bad Name", context)
    assert result.returncode == 1 and "invalid reference format" in result.stderr
    assert result.stdout == "" and set(engine.store.image_ids()) == images
