"""The host's side of pulling and building images (job kinds `pull` and `build`).

Both write what the engine prints to the job as it happens (`JobOutput`), then sync the host's
images and give the images the job made to the job's team. A user's pull connects only where
its address policy lets it (`address_policy`), so it cannot reach the host's own services.
Images that were on the host before keep their owner: a pull that turns out to be the very
image another team (or the host) already has fails, saying so, and puts the tag back where it
was (or takes it off), so a team never ends up with a name on an image it cannot see.

A build runs in a private directory under the engine's tmp/ (mode 0700, under the engine root
only root reads), held against `system gc` while the job works there: the uploaded context, if
any, is unpacked there by the engine's layer unpacker, which never follows a path out of the
directory and refuses more entries or deeper nesting than `BUILD_CONTEXT_MAX_ENTRIES` and
`BUILD_CONTEXT_MAX_DEPTH` allow; the Dockerfile is written beside it, outside the context. The
engine gets the images the build may use (`usable_images`: those the team may run, and their
steps) and treats every other image as absent, in FROM, COPY --from and the cache, whatever a
build argument computes. The console adds `LABEL moorage.team=<team>` as the last step, so a
team's build is always an image of its own even when every other step comes from the cache
(of its own builds, or of the host's images). The directory (without recursion, however deep)
and the stored context are removed whatever happens.
"""
import io
import os
import re

from django.conf import settings
from django.db.models import Q

from console.agent import reconcile
from console.agent.engine import (
    error_message,
    pull_policy,
    unpack_context,
    untag,
    working_directory,
)
from console.agent.output import JobOutput
from console.core.engine_grammar import dockerfile_message, instruction_lines
from console.images.models import BuildContext, Image
from console.images.requests import images_usable_by
from runtime.errors import MoorError

TEAM_NAME_IN_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
STEP_LINE = re.compile(r"^Step \d+/\d+ : (.*)$")


class JobRefused(MoorError):
    """The host would not finish the job; the message is the job's error. An engine error
    like the engine's own, so that the task fails the job alike for both."""


# -- pull ---------------------------------------------------------------------------------------

def pull(job, engine):
    reference, tag = job.params["reference"], job.params.get("tag") or ""
    before = images_on(engine)
    with JobOutput(job) as output:
        image_id = engine.pull(reference, progress=output.line, policy=address_policy(job))
    if image_id in before and not may_take(job, image_id):
        if tag and tag not in before[image_id]:
            give_tag_back(engine, tag, before)
        reconcile.sync_images(job.host, engine)
        raise JobRefused(f"{reference} is an image already on {job.host.name}, "
                         f"{owner_of(job, image_id)}: it was not added to "
                         f"{team_words(job)}")
    give_new_images(job, engine, before, image_id)
    return {"image_id": image_id, "reference": tag or None}


def address_policy(job):
    """Where the pull may connect: anywhere for a superuser; for anyone else not to the
    host's own, loopback or link-local addresses, its containers' networks, nor what
    `PULL_DENY` lists (`PULL_ALLOW` excepted). The engine checks every connection the pull
    makes, and tells a refused address, a closed port and a service that is no registry
    apart in no way."""
    if job.requested_by_id and job.requested_by.is_superuser:
        return None
    return pull_policy(deny=settings.PULL_DENY, allow=settings.PULL_ALLOW)


def give_tag_back(engine, tag: str, before: dict) -> None:
    """Put `tag` back where it was before the pull moved it (or take it off, if it was new)."""
    previous = next((image for image, tags in before.items() if tag in tags), None)
    if previous is None:
        untag(engine, tag)
    else:
        engine.tag(previous, tag)


def may_take(job, image_id: str) -> bool:
    """Whether the image, already on the host before the pull, may carry the job's tag: it is
    the team's own (or the requester is a superuser, or the console has no row for it)."""
    if job.requested_by_id and job.requested_by.is_superuser:
        return True
    row = Image.objects.filter(host=job.host, image_id=image_id).first()
    return row is None or (row.team_id is not None and row.team_id == job.team_id)


def owner_of(job, image_id: str) -> str:
    row = Image.objects.filter(host=job.host, image_id=image_id).first()
    if row is not None and row.team_id is None:
        names = ", ".join(row.tags) or row.short_id
        return f"a host image ({names}) every team granted the host may run"
    return "an image of another team"


def team_words(job) -> str:
    return f"team {job.team.name}" if job.team_id else "the host's images"


# -- build --------------------------------------------------------------------------------------

CONTEXT_MAX_UNPACKED_BYTES = 4 << 30


def build(job, engine):
    params = job.params
    before = images_on(engine)
    try:
        with working_directory(engine, "console-build-") as workdir:
            image_id = build_in(workdir, job, engine, before)
    finally:
        BuildContext.objects.filter(job=job).delete()
    return {"image_id": image_id, "tags": list(params.get("tags") or [])}


def build_in(workdir: str, job, engine, before: dict) -> str:
    params = job.params
    context_dir = os.path.join(workdir, "context")
    os.mkdir(context_dir, 0o700)
    dockerfile = os.path.join(workdir, "Dockerfile")
    with open(dockerfile, "w", encoding="utf-8") as handle:
        handle.write(with_team_label(params["dockerfile"], job.team))
    steps = StepTracker(params["dockerfile"])
    image_id = None
    with JobOutput(job) as output:
        unpack_stored_context(job, context_dir, output)

        def write(text):
            output.write(text)
            steps.feed(text)
        try:
            image_id = engine.build(context_dir, dockerfile=dockerfile,
                                    tags=params.get("tags") or (),
                                    build_args=params.get("build_args") or {},
                                    no_cache=bool(params.get("no_cache")), output=write,
                                    allowed_images=usable_images(job, engine))
        except MoorError as error:
            output.line(f"Error: {error_message(error)}")
            raise JobRefused(dockerfile_message(error_message(error), steps.line)) from None
        finally:
            # A failed build's completed steps are images too (the next build's cache).
            give_new_images(job, engine, before, image_id)
    return image_id


def usable_images(job, engine) -> set[str] | None:
    """The image IDs the build may use (FROM, COPY --from, the cache), as the run job passes
    the image it checked; None (any image) for a superuser's build.

    Those are the images the team may run (its own and the host's, read after a sync so that
    what the host has just made counts), with their parents: the intermediate images of the
    team's builds have no rows, and are the steps its next build finds in the cache. The
    walk down to the parents stops at an image of another team, so that a host image built
    on one never opens that team's image, nor its steps, to everybody."""
    requester = job.requested_by
    if requester is not None and requester.is_superuser:
        return None
    reconcile.sync_images(job.host, engine)
    rows = Image.objects.filter(host=job.host)
    foreign = set(rows.exclude(team=None).exclude(team=job.team)
                  .values_list("image_id", flat=True))
    runnable = images_usable_by(requester, job.host, job.team) if requester is not None else \
        rows.filter(Q(team__isnull=True) | Q(team=job.team))
    parents = {row.get("Id"): row.get("ParentId") or None for row in engine.images(all=True)}
    usable = set()
    for image_id in runnable.values_list("image_id", flat=True):
        while image_id and image_id not in usable and image_id not in foreign:
            usable.add(image_id)
            image_id = parents.get(image_id)
    return usable


def with_team_label(dockerfile: str, team) -> str:
    if team is None:
        return dockerfile
    value = team.name if TEAM_NAME_IN_LABEL.match(team.name) else f"team-{team.pk}"
    return f"{dockerfile.rstrip()}\nLABEL moorage.team={value}\n"


def unpack_stored_context(job, context_dir: str, output) -> None:
    stored = BuildContext.objects.filter(job=job).first()
    if stored is None:
        return
    output.line(f"Unpacking the build context ({stored.size} bytes)")
    try:
        unpack_context(io.BytesIO(bytes(stored.archive)), context_dir,
                       max_bytes=CONTEXT_MAX_UNPACKED_BYTES,
                       max_entries=settings.BUILD_CONTEXT_MAX_ENTRIES,
                       max_depth=settings.BUILD_CONTEXT_MAX_DEPTH)
    except MoorError as error:
        output.line(f"Error: {error_message(error)}")
        raise JobRefused(f"build context: {error_message(error)}") from None


class StepTracker:
    """Which Dockerfile line the build is at, from the `Step k/N : <instruction>` lines of its
    output: the engine names the line of most errors, but not of a RUN that fails."""

    def __init__(self, dockerfile: str):
        self.instructions = instruction_lines(dockerfile)
        self.next = 0
        self.line = None
        self.partial = ""

    def feed(self, text: str) -> None:
        lines = (self.partial + text).split("\n")
        self.partial = lines.pop()[-4096:]
        for line in lines:
            found = STEP_LINE.match(line)
            if found:
                self.step(found.group(1))

    def step(self, original: str) -> None:
        for index in range(self.next, len(self.instructions)):
            if self.instructions[index][1] == original:
                self.line, self.next = self.instructions[index][0], index + 1
                return


# -- the images a job made ----------------------------------------------------------------------

def images_on(engine) -> dict[str, list[str]]:
    """{image ID: tags} of every image of the host, intermediate ones included."""
    return {row.get("Id") or row.get("ID"): list(row.get("RepoTags") or [])
            for row in engine.images(all=True)}


def give_new_images(job, engine, before: dict, result: str | None = None) -> None:
    """Sync the host's images; those the job made (and its result, if the console had no row
    for it) belong to the job's team (to the host's, for a superuser's job without one),
    whatever team a `moorage.team` label they came with names."""
    had_row = result is not None and Image.objects.filter(host=job.host,
                                                          image_id=result).exists()
    reconcile.sync_images(job.host, engine)
    made = set(images_on(engine)) - set(before)
    if result is not None and not had_row:
        made.add(result)
    Image.objects.filter(host=job.host, image_id__in=made).update(team=job.team)

