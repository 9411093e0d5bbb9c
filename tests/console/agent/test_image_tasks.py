"""The host's side of pulls and builds (`console/agent/image_tasks.py`), against a fake engine at
the runtime boundary, the real host API (in process) and the real unpacker for build contexts:
the output kept on the job, the images made owned by the job's team (and those already there
keeping their owner), the engine's one-line error, `Dockerfile line N: ...` for a build, the
private build directory and the stored context removed whatever happens, hostile context
archives refused."""
import contextlib
import io
import os
import tarfile

import pytest

from console.agent import tasks
from console.core.errors import Invalid
from console.images import actions
from console.images.models import BuildContext, Image
from console.images.requests import validate_build, validate_pull
from console.jobs.models import Job
from runtime.errors import MoorError
from tests.console.fake_engine import FakeEngine

# The flusher thread sends the output through the host API with a connection of its own:
# commit for real.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("agent")]


class Paths:
    def __init__(self, root):
        self.root = str(root)
        self.tmp = os.path.join(root, "tmp")

    def ensure(self):
        os.makedirs(self.tmp, exist_ok=True)
        return self


class Store:
    def __init__(self, engine):
        self.engine = engine

    @contextlib.contextmanager
    def lock(self):
        yield

    def untag(self, reference):
        for row in self.engine.image_rows.values():
            if reference in row["RepoTags"]:
                row["RepoTags"].remove(reference)
                return
        raise MoorError(f"No such image: {reference}")


class ImageEngine(FakeEngine):
    """The fake engine, with `pull` and `build` as the real ones answer: progress lines or
    build output through the callback, an image ID back, the tags applied."""

    def __init__(self, root):
        super().__init__()
        self.paths = Paths(root)
        self.store = Store(self)
        self.pulls = {}             # reference -> (image ID, tags)
        self.seen = {}              # what the last build was given

    def images(self, all=False):
        """As the engine's: tagged images and dangling ones; with `all`, intermediate too."""
        self._check("images", all)
        parents = {row["ParentId"] for row in self.image_rows.values()}
        return [row for row in self.image_rows.values()
                if all or row["RepoTags"] or row["Id"] not in parents]

    def pull(self, reference, progress=None, insecure=False, policy=None):
        self._check("pull", reference)
        self.seen = {"policy": policy}
        image_id, tag, *labels = self.pulls[reference]
        progress(f"{reference}: Pulling from {reference.rsplit(':', 1)[0]}")
        progress("0123456789ab: Download complete")
        if image_id not in self.image_rows:
            self.image_rows[image_id] = {"Id": image_id, "RepoTags": [], "ParentId": "",
                                         "Created": 1_700_000_000, "Size": 42,
                                         "Labels": labels[0] if labels else {}}
        if tag:
            for row in self.image_rows.values():
                if tag in row["RepoTags"]:
                    row["RepoTags"].remove(tag)
            self.image_rows[image_id]["RepoTags"].append(tag)
        progress(f"Status: Downloaded newer image for {tag}")
        return image_id

    def build(self, context_dir, dockerfile=None, tags=(), build_args=None, no_cache=False,
              target=None, output=None, allowed_images=None):
        with open(dockerfile) as handle:
            text = handle.read()
        hello = os.path.join(context_dir, "hello.txt")
        self.seen = {"context_dir": context_dir, "dockerfile": text, "tags": list(tags),
                     "build_args": build_args, "no_cache": no_cache,
                     "allowed_images": allowed_images,
                     "files": sorted(os.listdir(context_dir)),
                     # The real engine reads the context confined to it (RESOLVE_IN_ROOT).
                     "hello": os.readlink(hello) if os.path.islink(hello) else
                     open(hello).read() if os.path.exists(hello) else None}
        lines = [line for line in text.splitlines() if line.strip()]
        step_image = None
        for number, line in enumerate(lines, 1):
            output(f"Step {number}/{len(lines)} : {line}\n")
            if line == "RUN false":
                self._check("build-fails")
                raise MoorError("The command '/bin/sh -c false' returned a non-zero code: 1")
            if line.startswith("RUN"):
                output(" ---> Running in 0123456789ab\n" + "x" * 10 + "\n")
            step_image = self.add_image([], parent=step_image or "")
            self.image_rows[step_image]["RepoTags"] = []
            output(f" ---> {step_image[7:19]}\n")
        for tag in tags:
            self.image_rows[step_image]["RepoTags"].append(tag)
        output(f"Successfully built {step_image[7:19]}\n")
        return step_image


@pytest.fixture
def engine(monkeypatch, tmp_path):
    fake = ImageEngine(str(tmp_path / "root"))
    monkeypatch.setattr("console.agent.tasks.get_engine", lambda: fake)
    return fake


def run(job) -> Job:
    tasks.execute_job(job.pk)
    return Job.objects.get(pk=job.pk)


def pull_job(world, persona="developer", reference="127.0.0.1:5000/alpha/tool:1"):
    user = world.user(persona)
    return actions.pull(user, validate_pull(user, {"reference": reference, "host": "h1"}))


def build_job(world, dockerfile, context=None, persona="developer", **fields):
    user = world.user(persona)
    req = validate_build(user, {"host": "h1", "dockerfile": dockerfile, **fields}, context)
    return actions.build(user, req)


def context_tar(members) -> bytes:
    """`members`: (name, kind, data or link target)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, kind, value in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(value)
                tar.addfile(info, io.BytesIO(value))
            else:
                info.type, info.linkname = tarfile.SYMTYPE, value
                tar.addfile(info)
    return buffer.getvalue()


# -- pull -------------------------------------------------------------------------------------

def test_a_pull_keeps_its_progress_and_gives_the_image_to_the_team(world, engine):
    engine.pulls["127.0.0.1:5000/alpha/tool:1"] = ("sha256:" + "1" * 64,
                                                   "127.0.0.1:5000/alpha/tool:1")
    job = run(pull_job(world))
    assert job.state == "succeeded", job.error
    assert job.result == {"image_id": "sha256:" + "1" * 64,
                          "reference": "127.0.0.1:5000/alpha/tool:1"}
    assert job.output.splitlines() == [
        "127.0.0.1:5000/alpha/tool:1: Pulling from 127.0.0.1:5000/alpha/tool",
        "0123456789ab: Download complete",
        "Status: Downloaded newer image for 127.0.0.1:5000/alpha/tool:1"]
    image = Image.objects.get(image_id="sha256:" + "1" * 64)
    assert image.team.name == "alpha" and image.tags == ["127.0.0.1:5000/alpha/tool:1"]


def test_a_pulled_image_is_the_pulling_teams_whatever_its_label_says(world, engine):
    """An image from a registry may carry any `moorage.team` label, even one naming another
    team granted the host: the pull gives it to the team that pulled it."""
    from console.hosts.models import HostGrant

    HostGrant.objects.create(team=world.teams["beta"], host=world.hosts["h1"])
    engine.pulls["127.0.0.1:5000/alpha/tool:1"] = ("sha256:" + "5" * 64,
                                                   "127.0.0.1:5000/alpha/tool:1",
                                                   {"moorage.team": "beta"})
    job = run(pull_job(world))
    assert job.state == "succeeded", job.error
    assert Image.objects.get(image_id="sha256:" + "5" * 64).team.name == "alpha"


def test_a_users_pull_goes_only_where_the_address_policy_lets_it(world, engine, settings):
    """The engine gets the policy with the job (it knows nothing of users): the host's own,
    loopback and link-local addresses and MOORAGE_PULL_DENY refused, MOORAGE_PULL_ALLOW let
    through; a superuser's pull goes anywhere, as `moor pull` on the host."""
    import ipaddress

    settings.PULL_DENY = ["10.0.0.0/8"]
    settings.PULL_ALLOW = ["127.0.0.1:5000"]
    engine.pulls["127.0.0.1:5000/alpha/tool:1"] = ("sha256:" + "1" * 64,
                                                   "127.0.0.1:5000/alpha/tool:1")
    assert run(pull_job(world)).state == "succeeded"
    policy = engine.seen["policy"]
    assert [policy.permits(ipaddress.ip_address(text), port) for text, port in (
        ("127.0.0.1", 5000), ("127.0.0.1", 6379), ("169.254.169.254", 80),
        ("10.1.2.3", 443), ("203.0.113.7", 443))] == [True, False, False, False, True]

    assert run(pull_job(world, persona="superuser")).state == "succeeded"
    assert engine.seen["policy"] is None


def test_a_bad_pull_setting_fails_the_job_saying_which(world, engine, settings):
    settings.PULL_DENY = ["not a host!"]
    engine.pulls["127.0.0.1:5000/alpha/tool:1"] = ("sha256:" + "1" * 64, "x")
    job = run(pull_job(world))
    assert job.state == "failed"
    assert job.error.startswith("MOORAGE_PULL_DENY: 'not a host!' is not an address")


def test_a_failed_pull_says_what_the_engine_said(world, engine):
    engine.pulls["127.0.0.1:5000/alpha/tool:1"] = ("sha256:" + "1" * 64, "x")
    engine.fail("pull", "manifest for 127.0.0.1:5000/alpha/tool:1 not found: manifest unknown")
    job = run(pull_job(world))
    assert job.state == "failed"
    assert job.error == "manifest for 127.0.0.1:5000/alpha/tool:1 not found: manifest unknown"
    assert not Image.objects.filter(team__name="alpha").exists()


def test_an_image_another_team_has_is_not_handed_over(world, engine):
    image_id = "sha256:" + "2" * 64
    engine.image_rows[image_id] = {"Id": image_id, "RepoTags": ["beta/tool:1"], "ParentId": "",
                                   "Created": 1, "Size": 1}
    Image.objects.create(host=world.hosts["h1"], image_id=image_id, tags=["beta/tool:1"],
                         team=world.teams["beta"])
    engine.pulls["127.0.0.1:5000/alpha/tool:1"] = (image_id, "127.0.0.1:5000/alpha/tool:1")
    job = run(pull_job(world))
    assert job.state == "failed"
    assert job.error == ("127.0.0.1:5000/alpha/tool:1 is an image already on h1, an image of "
                         "another team: it was not added to team alpha")
    assert engine.image_rows[image_id]["RepoTags"] == ["beta/tool:1"]     # the tag went again
    image = Image.objects.get(image_id=image_id)
    assert image.team.name == "beta" and image.tags == ["beta/tool:1"]


def test_a_refused_pull_puts_the_teams_name_back_where_it_was(world, engine):
    own, foreign = "sha256:" + "3" * 64, "sha256:" + "4" * 64
    tag = "127.0.0.1:5000/alpha/tool:1"
    for image_id, tags in ((own, [tag]), (foreign, ["beta/tool:1"])):
        engine.image_rows[image_id] = {"Id": image_id, "RepoTags": list(tags), "ParentId": "",
                                       "Created": 1, "Size": 1}
    Image.objects.create(host=world.hosts["h1"], image_id=own, tags=[tag],
                         team=world.teams["alpha"])
    Image.objects.create(host=world.hosts["h1"], image_id=foreign, tags=["beta/tool:1"],
                         team=world.teams["beta"])
    engine.pulls[tag] = (foreign, tag)
    assert run(pull_job(world, reference=tag)).state == "failed"
    assert engine.image_rows[own]["RepoTags"] == [tag]
    assert engine.image_rows[foreign]["RepoTags"] == ["beta/tool:1"]
    assert Image.objects.get(image_id=own).tags == [tag]


def test_the_hosts_own_image_stays_the_hosts(world, engine):
    base = world.images["h1"]
    engine.image_rows[base.image_id] = {"Id": base.image_id, "RepoTags": ["busybox:latest"],
                                        "ParentId": "", "Created": 1, "Size": 1}
    engine.pulls["127.0.0.1:5000/alpha/box:1"] = (base.image_id, "127.0.0.1:5000/alpha/box:1")
    job = run(pull_job(world, reference="127.0.0.1:5000/alpha/box:1"))
    assert job.state == "failed" and "a host image (busybox:latest)" in job.error
    base.refresh_from_db()
    assert base.team is None and base.tags == ["busybox:latest"]


# -- build ------------------------------------------------------------------------------------

@pytest.mark.privileged          # the unpacker sets owners
def test_a_build_unpacks_its_context_privately_and_streams_its_output(world, engine):
    archive = context_tar([("hello.txt", "file", b"hello\n"), ("sub/a", "file", b"a")])
    job = build_job(world, "FROM busybox\nCOPY hello.txt /\nRUN cat /hello.txt\n", archive,
                    tags="alpha/app:1", build_args={"A": "1"}, no_cache=True)
    job = run(job)
    assert job.state == "succeeded", (job.error, job.output)
    seen = engine.seen
    assert seen["files"] == ["hello.txt", "sub"] and seen["hello"] == "hello\n"
    assert seen["dockerfile"].endswith("RUN cat /hello.txt\nLABEL moorage.team=alpha\n")
    assert seen["tags"] == ["alpha/app:1"] and seen["build_args"] == {"A": "1"}
    assert seen["no_cache"] is True
    assert f"Unpacking the build context ({len(archive)} bytes)" in job.output
    assert "Step 4/4 : LABEL moorage.team=alpha" in job.output
    assert "Successfully built" in job.output
    # Removed: the private directory, the stored context.
    assert not os.path.exists(seen["context_dir"])
    assert os.listdir(engine.paths.tmp) == []
    assert not BuildContext.objects.exists()
    image = Image.objects.get(image_id=job.result["image_id"])
    assert image.team.name == "alpha" and image.tags == ["alpha/app:1"]


def test_a_failed_run_step_names_its_dockerfile_line(world, engine):
    job = run(build_job(world, "FROM busybox\n\n# a comment\nRUN echo hi\nRUN false\n"))
    assert job.state == "failed"
    assert job.error == ("Dockerfile line 5: The command '/bin/sh -c false' returned a "
                         "non-zero code: 1")
    assert job.output.rstrip().endswith("Error: The command '/bin/sh -c false' returned a "
                                        "non-zero code: 1")
    # The steps that completed are the team's (the next build's cache), not the host's.
    base_images = [image.pk for image in world.images.values()]
    assert not Image.objects.filter(team=None).exclude(pk__in=base_images).exists()
    assert os.listdir(engine.paths.tmp) == []


@pytest.mark.parametrize("message,shown", [
    ("FROM nosuch: no such image on this host; pull or build it first (Dockerfile line 1)",
     "Dockerfile line 1: FROM nosuch: no such image on this host; pull or build it first"),
    ("Dockerfile parse error line 3: unknown instruction: FORM",
     "Dockerfile line 3: unknown instruction: FORM"),
])
def test_the_engines_own_line_is_put_first(world, engine, monkeypatch, message, shown):
    def failing(*args, **kwargs):
        raise MoorError(message)
    monkeypatch.setattr(engine, "build", failing)
    job = run(build_job(world, "FROM busybox\n"))
    assert job.state == "failed" and job.error == shown


@pytest.mark.privileged
@pytest.mark.parametrize("members,words", [
    ([("../escape", "file", b"x")], "breakout"),
    ([("link", "symlink", "/etc"), ("link/passwd", "file", b"x")], "symlink"),
])
def test_a_hostile_context_is_refused_and_nothing_leaves_the_directory(world, engine, tmp_path,
                                                                         members, words):
    job = run(build_job(world, "FROM busybox\n", context_tar(members)))
    assert job.state == "failed"
    assert job.error.startswith("build context: ") and words in job.error, job.error
    assert "build" not in [call[0] for call in engine.calls]
    assert not os.path.exists(tmp_path / "escape") and os.listdir(engine.paths.tmp) == []
    assert not BuildContext.objects.exists()


@pytest.mark.privileged
def test_absolute_names_and_links_stay_inside_the_context(world, engine):
    job = run(build_job(world, "FROM busybox\n", context_tar([
        ("/etc/moorage-evil", "file", b"x"), ("hello.txt", "symlink", "/etc/hostname")])))
    assert job.state == "succeeded", job.error
    assert not os.path.exists("/etc/moorage-evil")
    assert engine.seen["files"] == ["etc", "hello.txt"]
    assert engine.seen["hello"] == "/etc/hostname"     # a link, kept as it is (not followed)


@pytest.mark.privileged
def test_a_context_that_expands_too_far_is_refused(world, engine, monkeypatch):
    monkeypatch.setattr("console.agent.image_tasks.CONTEXT_MAX_UNPACKED_BYTES", 64 << 10)
    job = run(build_job(world, "FROM busybox\n", context_tar([("big", "file", b"0" * 200_000)])))
    assert job.state == "failed" and job.error.startswith("build context: ")


def nested_context(depth: int) -> bytes:
    """A context whose one file sits `depth` directories deep (d/d/.../d/f)."""
    return context_tar([("/".join(["d"] * depth + ["f"]), "file", b"deep\n")])


@pytest.mark.privileged
def test_a_context_nested_too_deep_is_refused_and_nothing_is_left(world, engine, settings):
    assert settings.BUILD_CONTEXT_MAX_DEPTH == 256
    job = run(build_job(world, "FROM busybox\n", nested_context(2000)))
    assert job.state == "failed"
    assert job.error.startswith("build context: layer entry 'd/d/d/")
    assert job.error.endswith("is nested more than 256 directories deep"), job.error
    assert len(job.error) < 200
    assert "build" not in [call[0] for call in engine.calls]
    assert os.listdir(engine.paths.tmp) == [] and not BuildContext.objects.exists()


@pytest.mark.privileged
def test_a_deep_context_that_is_allowed_is_removed_without_recursion(world, engine, settings):
    """Python's shutil.rmtree recurses once per level: 2,000 levels end in RecursionError."""
    settings.BUILD_CONTEXT_MAX_DEPTH = 2100
    job = run(build_job(world, "FROM busybox\n", nested_context(2000)))
    assert job.state == "succeeded", job.error
    assert engine.seen["files"] == ["d"]
    assert os.listdir(engine.paths.tmp) == [] and not BuildContext.objects.exists()


@pytest.mark.privileged
def test_a_context_with_too_many_entries_is_refused(world, engine, settings):
    settings.BUILD_CONTEXT_MAX_ENTRIES = 3
    job = run(build_job(world, "FROM busybox\n", context_tar(
        [(f"f{number}", "file", b"x") for number in range(5)])))
    assert job.state == "failed"
    assert job.error == "build context: layer archive has more than 3 entries"
    assert os.listdir(engine.paths.tmp) == []


def test_a_build_may_use_only_the_teams_and_the_hosts_images(world, engine):
    """As a run gets the image the console checked, a build gets the images it may use; the
    engine treats any other as absent (FROM, COPY --from, the cache). With the team's images
    go their parents (the steps of its builds, the cache of its next one), down to an image
    of another team."""
    def add(name, parent="", tags=None, host="h1", team=None, row=True):
        image_id = "sha256:" + name[0] * 64
        if host == "h1":
            engine.image_rows[image_id] = {"Id": image_id, "ParentId": parent, "Created": 1,
                                           "Size": 1, "RepoTags": [f"{name}:1"]
                                           if tags is None else tags}
        if row:
            Image.objects.create(host=world.hosts[host], image_id=image_id,
                                 tags=[f"{name}:1"] if tags is None else tags,
                                 team=world.teams[team] if team else None)
        return image_id

    base = world.images["h1"].image_id
    engine.image_rows[base] = {"Id": base, "RepoTags": ["busybox:latest"], "ParentId": "",
                               "Created": 1, "Size": 1}
    step = add("1-step", parent=base, tags=[], row=False)       # a step of alpha's build
    own = add("own", parent=step, team="alpha")
    their_step = add("2-their-step", parent=base, tags=[], row=False)
    theirs = add("theirs", parent=their_step, team="beta")
    add("host-made", parent=theirs, row=False)   # made on the host with moor: no row yet
    add("elsewhere", host="h2", team="alpha")
    job = run(build_job(world, "FROM busybox\n"))
    assert job.state == "succeeded", job.error
    host_made = "sha256:" + "h" * 64
    assert engine.seen["allowed_images"] == {base, step, own, host_made}

    job = run(build_job(world, "FROM busybox\n", persona="superuser"))
    assert job.state == "succeeded", job.error
    assert engine.seen["allowed_images"] is None


def test_a_team_name_that_is_not_a_plain_word_is_labelled_by_number(world, engine):
    world.teams["alpha"].__class__.objects.filter(pk=world.teams["alpha"].pk).update(
        name="alpha team $HOME")
    job = run(build_job(world, "FROM busybox\n", team="alpha team $HOME"))
    assert job.state == "succeeded", job.error
    assert engine.seen["dockerfile"].endswith(
        f"\nLABEL moorage.team=team-{world.teams['alpha'].pk}\n")


def test_a_superusers_build_without_a_team_has_no_label(world, engine):
    job = run(build_job(world, "FROM busybox\n", persona="superuser"))
    assert job.state == "succeeded"
    assert engine.seen["dockerfile"] == "FROM busybox\n"


def test_requests_carry_only_what_validate_allows(world):
    with pytest.raises(Invalid):
        validate_build(world.user("developer"), {"host": "h1", "dockerfile": "FROM busybox",
                                                 "target": "x"})
