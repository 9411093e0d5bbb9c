"""A build limited to some of the host's images (`allowed_images`, what the console passes for
a team): FROM, COPY --from and the cache see only those, and the images the build makes; any
other image is named as missing in the words of one that is not there, also when a build
argument computes its name."""

import uuid

import pytest

from runtime.errors import MoorError
from runtime.image.build.parser import shorten
from tests.runtime.image.test_build import make_context, run_image

pytestmark = pytest.mark.privileged

RANDOM_STEP = "RUN head -c 16 /dev/urandom | od -An -tx1 > /random"


@pytest.fixture
def secret(engine, tmp_path):
    """An image the limited builds may not use, with a file only it has: (tag, ID)."""
    token = uuid.uuid4().hex[:12]
    context = make_context(tmp_path, f"FROM busybox\nRUN echo s3cret-{token} > /secret\n",
                           name="secret")
    tag = f"secret-{token}:1"
    return tag, engine.build(context, tags=[tag])


def build(engine, tmp_path, dockerfile, allowed, **kwargs):
    context = make_context(tmp_path, dockerfile, name=f"c-{uuid.uuid4().hex[:8]}")
    lines = []
    image_id = engine.build(context, allowed_images=allowed, output=lines.append, **kwargs)
    return image_id, "".join(lines)


def refusal(engine, tmp_path, dockerfile, allowed, **kwargs) -> str:
    with pytest.raises(MoorError) as failure:
        build(engine, tmp_path, dockerfile, allowed, **kwargs)
    return failure.value.message


def test_from_an_image_not_allowed_reads_as_a_missing_one(engine, tmp_path, secret):
    tag, image_id = secret
    allowed = {engine.image_id("busybox")}
    missing = refusal(engine, tmp_path, "FROM nosuch-image:1\n", allowed)
    assert missing == ("FROM nosuch-image:1: no such image on this host; pull or build it "
                       "first (Dockerfile line 1)")
    for name in (tag, image_id, image_id[7:19]):
        assert refusal(engine, tmp_path, f"FROM {name}\n", allowed) == missing.replace(
            "nosuch-image:1", shorten(name))


def test_a_build_argument_cannot_compute_its_way_to_it(engine, tmp_path, secret):
    tag, _ = secret
    allowed = {engine.image_id("busybox")}
    message = refusal(engine, tmp_path, "ARG BASE=busybox\nFROM $BASE\nRUN cat /secret\n",
                      allowed, build_args={"BASE": tag})
    assert message == (f"FROM {tag}: no such image on this host; pull or build it first "
                       "(Dockerfile line 2)")
    message = refusal(engine, tmp_path, "FROM busybox\nARG SOURCE\n"
                                        "COPY --from=$SOURCE /secret /secret\n",
                      allowed, build_args={"SOURCE": tag})
    assert message == (f"COPY --from {tag}: no such image on this host; pull or build it "
                       "first (Dockerfile line 3)")


def test_allowed_images_and_its_own_stages_are_usable(engine, tmp_path, secret):
    tag, image_id = secret
    allowed = {engine.image_id("busybox"), image_id}
    built, _ = build(engine, tmp_path, f"FROM busybox AS first\nCOPY --from={tag} /secret /s\n"
                                       "FROM first\nRUN cat /s > /t\n", allowed)
    assert run_image(engine, built, ["cat", "/t"])[1].startswith("s3cret-")


def test_the_cache_of_images_not_allowed_is_not_used(engine, tmp_path):
    dockerfile = f"FROM busybox\n{RANDOM_STEP}\nLABEL run={uuid.uuid4().hex}\n"
    theirs, _ = build(engine, tmp_path, dockerfile, None)
    busybox = engine.image_id("busybox")

    ours, output = build(engine, tmp_path, dockerfile, {busybox})
    assert "Using cache" not in output
    assert ours != theirs
    assert run_image(engine, ours, ["cat", "/random"]) != \
        run_image(engine, theirs, ["cat", "/random"])

    # The steps it made itself are the team's: the next build takes them from the cache.
    chain = set()
    image = ours
    while image:
        chain.add(image)
        image = engine.store.parent(image)
    again, output = build(engine, tmp_path, dockerfile, chain)
    assert again == ours and output.count("Using cache") == 2
