"""Hostile Dockerfiles and contexts for `moor build` (the classes of CVE-2019-13139 and
CVE-2024-21626 among them): each is a clean one-line error, and nothing on the host is read,
written or run. The engine fixture also fails a test that leaves a container, mount or staging
directory behind."""

import hashlib
import io
import os
import tarfile
import uuid

import pytest

from runtime.errors import MoorError
from tests.runtime.image.test_build import make_context, run_image

pytestmark = pytest.mark.privileged


def digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture
def host_untouched(engine):
    """Host files a hostile build would go for stay as they were, and no image appears."""
    watched = {path: digest(path) for path in ("/etc/passwd", "/etc/shadow", "/etc/hosts")}
    images = set(engine.store.image_ids())
    yield images
    assert {path: digest(path) for path in watched} == watched


def failed_build(moor, context: str, *flags) -> str:
    result = moor("build", *flags, context)
    assert result.returncode == 1, result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert len(lines[0]) < 400
    return lines[0]


@pytest.mark.parametrize("source", ["../../etc/passwd", "a/../../../etc/passwd", "/../x"])
def test_sources_that_climb_out_of_the_context_are_refused(engine, moor, tmp_path, source,
                                                            host_untouched):
    context = make_context(tmp_path, f"FROM busybox\nCOPY {source} /x\n", {"a/f": "f"})
    message = failed_build(moor, context)
    assert "forbidden path outside the build context" in message
    assert "(Dockerfile line 2)" in message
    assert set(engine.store.image_ids()) == host_untouched


@pytest.mark.parametrize("source", ["/etc/shadow", "/etc/passwd"])
def test_absolute_sources_are_taken_inside_the_context(engine, moor, tmp_path, source,
                                                       host_untouched):
    context = make_context(tmp_path, f"FROM busybox\nCOPY {source} /x\n")
    message = failed_build(moor, context)
    assert "file not found in build context" in message


def test_symlinks_in_the_context_never_lead_out_of_it(engine, moor, tmp_path, host_untouched):
    context = make_context(tmp_path, "FROM busybox\nCOPY hostetc/shadow /x\n",
                           {"marker": uuid.uuid4().hex})
    os.symlink("/etc", os.path.join(context, "hostetc"))
    os.symlink("../../../../../../..", os.path.join(context, "up"))
    assert "file not found in build context" in failed_build(moor, context)
    for text in ("FROM busybox\nCOPY hostetc /x\n", "FROM busybox\nCOPY up/etc/shadow /x\n",
                 "FROM busybox\nADD up/etc/passwd /x\n"):
        with open(os.path.join(context, "Dockerfile"), "w") as f:
            f.write(text)
        assert "file not found in build context" in failed_build(moor, context)

    # Copying the whole context copies the links as links, not what they point to.
    with open(os.path.join(context, "Dockerfile"), "w") as f:
        f.write("FROM busybox\nCOPY . /ctx/\n")
    result = moor("build", "-t", "symlinks:1", context)
    assert result.returncode == 0, result.stderr
    code, output = run_image(engine, "symlinks:1", [
        "sh", "-c", "readlink /ctx/hostetc; readlink /ctx/up; find /ctx -type f | sort"])
    assert output == "/etc\n../../../../../../..\n/ctx/Dockerfile\n/ctx/marker\n"


def test_the_dockerfile_is_read_inside_the_context(engine, tmp_path, host_untouched):
    context = make_context(tmp_path, "FROM busybox\n")
    with pytest.raises(MoorError, match="Cannot locate specified Dockerfile"):
        engine.build(context, dockerfile="../../../../../../../etc/passwd")
    os.symlink("/etc/passwd", os.path.join(context, "Linked"))
    with pytest.raises(MoorError, match="Cannot locate specified Dockerfile"):
        engine.build(context, dockerfile="Linked")


def _hostile_tar(members) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, kind, target in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(target)
                archive.addfile(info, io.BytesIO(target))
            else:
                info.type, info.linkname = tarfile.SYMTYPE, target
                archive.addfile(info)
    return buffer.getvalue()


@pytest.mark.parametrize("members", [
    [("../../pwned-{token}", "file", b"x")],
    [("ok/../../../pwned-{token}", "file", b"x")],
    [("evil", "link", "/"), ("evil/tmp/pwned-{token}", "file", b"x")],
    [("evil", "link", "../../../../.."), ("evil/tmp/pwned-{token}", "file", b"x")],
])
def test_add_of_a_tar_that_climbs_out_is_refused(engine, moor, tmp_path, members,
                                                 host_untouched):
    token = uuid.uuid4().hex
    archive = _hostile_tar([(name.format(token=token), kind, target)
                            for name, kind, target in members])
    context = make_context(tmp_path, "FROM busybox\nADD bundle.tar /opt/\n",
                           {"bundle.tar": archive})
    message = failed_build(moor, context)
    assert "ADD failed: cannot extract bundle.tar" in message
    for directory in ("/", "/tmp", engine.paths.root, engine.paths.tmp, str(tmp_path)):
        assert not os.path.exists(os.path.join(directory, f"pwned-{token}"))
    assert set(engine.store.image_ids()) == host_untouched


@pytest.mark.parametrize("path", ["/proc/self/fd/7", "/proc", "/sys/kernel"])
def test_workdir_inside_kernel_file_systems_is_refused(engine, moor, tmp_path, path,
                                                       host_untouched):
    context = make_context(tmp_path, f"FROM busybox\nWORKDIR {path}\nRUN pwd\n")
    message = failed_build(moor, context)
    assert "a working directory cannot be inside /proc or /sys" in message


@pytest.mark.parametrize("dockerfile,message", [
    ("FROM busybox\nFROMM busybox\n",
     "Dockerfile parse error line 2: unknown instruction: FROMM"),
    ("RUN echo no base\n", "Dockerfile parse error line 1: RUN before FROM"),
    ("", "the Dockerfile has no instructions"),
    ("FROM ../../etc\n", "FROM ../../etc: invalid reference format"),
    ("FROM BusyBox\n", "must be lowercase"),
    ("FROM nosuchimage-" + "a" * 8 + "\n", "no such image on this host"),
    ("FROM " + "a" * 10_000 + "\n", "invalid reference format"),
    ("FROM busybox\n" + "A" * 10_000 + "\n", "unknown instruction: AAAA"),
    ("FROM busybox\nRUN " + "x" * 70_000 + "\n", "line is longer than 65536 characters"),
    ('FROM busybox\nCMD ["echo", oops]\n', "line 2: CMD: invalid JSON array"),
    ("FROM busybox\nADD http://169.254.169.254/latest/meta-data /x\n",
     "fetching URLs is not supported by this builder"),
    ("FROM busybox\nENV A=${B\n", "missing '}'"),
    ("FROM busybox\nCOPY --from=nosuch-stage /x /x\n", "COPY --from nosuch-stage: no such "
                                                       "image on this host"),
    ("FROM busybox\nEXPOSE http\n", "EXPOSE: invalid port"),
    ("FROM busybox\nSTOPSIGNAL SIGNOPE\n", "invalid signal"),
])
def test_malformed_dockerfiles_are_clean_errors(engine, moor, tmp_path, dockerfile, message,
                                                host_untouched):
    context = make_context(tmp_path, dockerfile)
    assert message in failed_build(moor, context)
    assert set(engine.store.image_ids()) == host_untouched


@pytest.mark.parametrize("context_argument", [
    "git@h:x/y#--upload-pack=touch /tmp/pwn-{token};:",
    "https://example.invalid/repo.git#--upload-pack=touch /tmp/pwn-{token}",
    "github.com/x/y#--upload-pack=touch /tmp/pwn-{token}",
])
def test_remote_contexts_are_refused_without_running_anything(moor, context_argument):
    token = uuid.uuid4().hex
    result = moor("build", context_argument.format(token=token))
    assert result.returncode == 1
    assert "build contexts from URLs and git repositories are not supported" in result.stderr
    assert not os.path.exists(f"/tmp/pwn-{token}")


def test_build_arguments_are_never_run_on_the_host(engine, moor, tmp_path, host_untouched):
    token = uuid.uuid4().hex
    marker = f"/tmp/pwned-{token}"
    context = make_context(tmp_path, "FROM busybox\nARG X\nENV V=$X\nRUN echo \"$V\" > /v\n"
                                     "CMD [\"cat\", \"/v\"]\n")
    payload = f"$(touch {marker})`touch {marker}`;touch {marker}"
    result = moor("build", "--build-arg", f"X={payload}", "-t", "argpayload:1", context)
    assert result.returncode == 0, result.stderr
    assert not os.path.exists(marker)
    assert run_image(engine, "argpayload:1") == (0, payload + "\n")


def test_a_missing_context_and_target_are_clean_errors(moor, tmp_path):
    result = moor("build", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert result.stderr.startswith("Error: unable to prepare context: path")


def test_a_context_nested_too_deep_is_refused(engine, moor, tmp_path, host_untouched):
    context = make_context(tmp_path, "FROM busybox\nCOPY . /ctx/\n")
    os.makedirs(os.path.join(context, *(["d"] * 300)))
    message = failed_build(moor, context)
    assert "directories nested deeper than 256 levels are not supported" in message
