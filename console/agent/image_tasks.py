"""The host's side of pulling and building images (job kinds `pull` and `build`).

Both write what the engine prints to the job as it happens (`JobOutput`), then report the
host's images and those the job made, which the console gives to the job's team. A user's pull
connects only where its address policy lets it (the job's `policy`, the console's
MOORAGE_PULL_DENY and MOORAGE_PULL_ALLOW; a superuser's job has none), so it cannot reach the
host's own services. Images that were on the host before keep their owner: a pull that turns
out to be the very image another team (or the host) already has (the job's `taken`) fails,
saying so, and puts the tag back where it was (or takes it off), so a team never ends up with
a name on an image it cannot see.

A build runs in a private directory under the engine's tmp/ (mode 0700, under the engine root
only root reads), held against `system gc` while the job works there: the uploaded context, if
any (fetched from the console), is unpacked there by the engine's layer unpacker, which never
follows a path out of the directory and refuses more entries or deeper nesting than the job
allows; the Dockerfile is written beside it, outside the context. The engine gets the images
the build may use (those the team may run, and their steps, as the console says after the
host's images are synced) and treats every other image as absent, in FROM, COPY --from and the
cache, whatever a build argument computes. The build ends with the job's `label` (`LABEL
moorage.team=<team>`), so a team's build is always an image of its own even when every other
step comes from the cache. The directory is removed (without recursion, however deep) whatever
happens; the console drops the stored context when the job is over.
"""
import io
import os
import re

from console.agent import config, console_api
from console.agent.engine import (
    engine_root,
    error_message,
    pull_policy,
    unpack_context,
    untag,
    working_directory,
)
from console.agent.output import JobOutput
from console.agent.worker import worker_identity
from console.core.engine_grammar import dockerfile_message, instruction_lines
from runtime.errors import MoorError

STEP_LINE = re.compile(r"^Step \d+/\d+ : (.*)$")
CONTEXT_MAX_UNPACKED_BYTES = 4 << 30


class JobRefused(MoorError):
    """The host would not finish the job; the message is the job's error. An engine error
    like the engine's own, so that the task fails the job alike for both."""


# -- pull ---------------------------------------------------------------------------------------

def pull(job, engine, report):
    reference, tag = job["reference"], job.get("tag") or ""
    before = images_on(engine)
    policy = job.get("policy")
    policy = pull_policy(deny=policy["deny"], allow=policy["allow"]) if policy else None
    with JobOutput(job["id"]) as output:
        image_id = engine.pull(reference, progress=output.line, policy=policy)
    taken = (job.get("taken") or {}).get(image_id)
    if image_id in before and taken:
        if tag and tag not in before[image_id]:
            give_tag_back(engine, tag, before)
        report_images(engine, report)
        raise JobRefused(f"{reference} is an image already on {config.current().host}, "
                         f"{taken}: it was not added to {job.get('team') or 'the team'}")
    report_images(engine, report, before=before, result=image_id)
    return {"image_id": image_id, "reference": tag or None}


def give_tag_back(engine, tag: str, before: dict) -> None:
    """Put `tag` back where it was before the pull moved it (or take it off, if it was new)."""
    previous = next((image for image, tags in before.items() if tag in tags), None)
    if previous is None:
        untag(engine, tag)
    else:
        engine.tag(previous, tag)


# -- build --------------------------------------------------------------------------------------

def build(job, engine, report):
    before = images_on(engine)
    image_id = None
    try:
        with working_directory(engine, "console-build-") as workdir:
            image_id = build_in(workdir, job, engine)
    finally:
        # A failed build's completed steps are images too (the next build's cache).
        report_images(engine, report, before=before, result=image_id)
    return {"image_id": image_id, "tags": list(job.get("tags") or [])}


def build_in(workdir: str, job, engine) -> str:
    context_dir = os.path.join(workdir, "context")
    os.mkdir(context_dir, 0o700)
    dockerfile = os.path.join(workdir, "Dockerfile")
    with open(dockerfile, "w", encoding="utf-8") as handle:
        handle.write(with_label(job["dockerfile"], job.get("label") or ""))
    steps = StepTracker(job["dockerfile"])
    with JobOutput(job["id"]) as output:
        if job.get("context"):
            unpack_job_context(job, context_dir, output)

        def write(text):
            output.write(text)
            steps.feed(text)
        try:
            return engine.build(context_dir, dockerfile=dockerfile, tags=job.get("tags") or (),
                                build_args=job.get("build_args") or {},
                                no_cache=bool(job.get("no_cache")), output=write,
                                allowed_images=usable_images(job, engine))
        except MoorError as error:
            output.line(f"Error: {error_message(error)}")
            raise JobRefused(dockerfile_message(error_message(error), steps.line)) from None


def with_label(dockerfile: str, label: str) -> str:
    return f"{dockerfile.rstrip()}\n{label}\n" if label else dockerfile


def usable_images(job, engine) -> set[str] | None:
    """The image IDs the build may use (FROM, COPY --from, the cache); None (any image) for
    a superuser's build.

    The console says which images the team may run (its own and the host's) and which are
    other teams', after a sync of the host's images (what it has just made counts). Their
    parents are usable too: the intermediate images of the team's builds have no rows, and
    are the steps its next build finds in the cache. The walk down stops at an image of
    another team, so that a host image built on one never opens that team's image, nor its
    steps, to everybody."""
    if job.get("any_image"):
        return None
    answer = console_api.get_api().usable_images(job["id"], worker_identity(),
                                                 engine_root(engine), engine.images())
    if answer.get("any"):
        return None
    foreign = set(answer.get("foreign") or ())
    parents = {row.get("Id"): row.get("ParentId") or None for row in engine.images(all=True)}
    usable = set()
    for image_id in answer.get("runnable") or ():
        while image_id and image_id not in usable and image_id not in foreign:
            usable.add(image_id)
            image_id = parents.get(image_id)
    return usable


def unpack_job_context(job, context_dir: str, output) -> None:
    archive = console_api.get_api().context(job["id"], worker_identity())
    output.line(f"Unpacking the build context ({len(archive)} bytes)")
    try:
        unpack_context(io.BytesIO(archive), context_dir, max_bytes=CONTEXT_MAX_UNPACKED_BYTES,
                       max_entries=job["max_entries"], max_depth=job["max_depth"])
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


def report_images(engine, report: dict, *, before: dict | None = None,
                  result: str | None = None) -> None:
    """The host's images for the console, and (given `before`) those the job made: new
    since `before`, and its `result`, which the console gives the job's team if it had no
    row for it."""
    report.update(images=engine.images(), root=engine_root(engine))
    if before is not None:
        report["made"] = sorted(set(images_on(engine)) - set(before))
        report["image_id"] = result
