"""The pull dialog and the build form in the browser: a developer pulls an image from a real
registry on loopback and watches the job's progress arrive; builds a Dockerfile with an
uploaded context and sees its output come while it runs (no reload), then runs the image; a
bad Dockerfile is shown beside its field with its line. Screenshots in test-artifacts/."""
import io
import os
import re
import secrets
import shutil
import tarfile
import tempfile

import pytest
from playwright.sync_api import expect

from runtime.api import Engine
from tests.runtime.registry_fixture import Registry
from tests.stack import TEST_REGISTRY_HOST

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.privileged]


@pytest.fixture
def developer(stack):
    name, password = "bld" + secrets.token_hex(3), secrets.token_urlsafe(16)
    stack.admin.ok("POST", "/api/users/", {"username": name, "password": password})
    team = next(t for t in stack.admin.ok("GET", "/api/teams/")["results"]
                if t["name"] == "default")
    stack.admin.ok("POST", f"/api/teams/{team['id']}/members/", {"user": name,
                                                                 "role": "developer"})
    return name, password


@pytest.fixture
def pushed(tmp_path):
    """An image pushed to a registry on loopback from an engine root of the test's own."""
    registry = Registry(host=TEST_REGISTRY_HOST).start()
    engine = Engine(tempfile.mkdtemp(prefix="moorage-browser-elsewhere-"))
    try:
        engine.bootstrap_busybox()
        (tmp_path / "note.txt").write_text("from the registry\n")
        (tmp_path / "Dockerfile").write_text("FROM busybox\nCOPY note.txt /note.txt\n")
        reference = f"{registry.address}/browser/note:1"
        engine.build(str(tmp_path), tags=[reference])
        engine.push(reference)
        yield reference
    finally:
        engine.reset()
        shutil.rmtree(engine.paths.root, ignore_errors=True)
        registry.stop()


def log_in(page, stack, username, password):
    page.goto(stack.base + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(stack.base + "/")


def test_pull_an_image_from_the_images_page(stack, page, developer, pushed, shot):
    log_in(page, stack, *developer)
    page.click("nav >> text=Images")
    page.click("#pull-button")
    dialog = page.locator("#pull-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("#id_reference").fill(pushed)
    dialog.locator("#id_host").select_option("e2e")
    shot(page, "pull-01-dialog")
    dialog.locator("button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/jobs/\d+/$"))
    expect(page.locator(".kv .job-state")).to_have_text("succeeded", timeout=60_000)
    output = page.locator("#job-output")
    expect(output).to_contain_text("Pulling from browser/note")
    expect(output).to_contain_text(f"Status: Downloaded newer image for {pushed}")
    expect(page.locator("#run-from-job")).to_be_visible()
    shot(page, "pull-02-job")

    page.click("nav >> text=Images")
    row = page.locator("tr", has_text=pushed)
    expect(row).to_contain_text("default")
    shot(page, "pull-03-images")


def context_file(directory) -> str:
    path = os.path.join(directory, "context.tar.gz")
    with tarfile.open(path, "w:gz") as tar:
        data = b"built in the browser\n"
        info = tarfile.TarInfo("message.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


DOCKERFILE = """FROM busybox
COPY message.txt /message.txt
ARG GREETING
RUN echo "first: $GREETING" && sleep 4 && echo second
CMD ["cat", "/message.txt"]
"""


def test_build_an_image_and_watch_its_output(stack, page, developer, tmp_path, shot):
    log_in(page, stack, *developer)
    page.click("nav >> text=Images")
    page.click("#build-button")
    expect(page.locator("h1")).to_have_text("Build an image")
    page.select_option("#id_host", "e2e")
    page.fill("#id_tags", "browser/built:1")
    page.fill("#id_dockerfile", DOCKERFILE)
    page.fill("#id_build_args", "GREETING=hello from the form")
    page.set_input_files("#id_context", context_file(str(tmp_path)))
    shot(page, "build-01-form")
    page.click("button:has-text('Build')")

    expect(page).to_have_url(re.compile(r"/jobs/\d+/$"))
    page.evaluate("window.__marker = 'same page'")
    output = page.locator("#job-output")
    # The RUN step's first line arrives while the job still runs (it sleeps before the next).
    expect(output).to_contain_text("first: hello from the form", timeout=60_000)
    assert page.locator(".kv .job-state").inner_text() in ("queued", "running")
    shot(page, "build-02-running")
    expect(page.locator(".kv .job-state")).to_have_text("succeeded", timeout=60_000)
    expect(output).to_contain_text("second")
    expect(output).to_contain_text("Successfully tagged browser/built:1")
    expect(page.locator("#run-from-job")).to_be_visible()
    expect(page.locator("#job-finished")).not_to_have_text("—")
    assert page.evaluate("window.__marker") == "same page"          # never reloaded
    page.locator("details.dockerfile summary").click()
    expect(page.locator("details.dockerfile pre")).to_contain_text("COPY message.txt")
    shot(page, "build-03-done")

    page.click("#run-from-job")
    expect(page.locator("#id_image")).to_have_value("browser/built:1")
    page.select_option("#id_host", "e2e")
    page.fill("#id_name", "browser-built")
    page.click("button:has-text('Run')")
    expect(page.locator("#state")).to_have_text("exited", timeout=30_000)
    assert stack.moor("e2e", "logs", "browser-built").stdout == "built in the browser\n"
    stack.admin.ok("DELETE", "/api/containers/browser-built/?force=1&wait=1")


def test_a_bad_dockerfile_is_shown_beside_its_field(stack, page, developer, shot):
    log_in(page, stack, *developer)
    page.goto(stack.base + "/images/build/")
    page.select_option("#id_host", "e2e")
    page.fill("#id_dockerfile", "FROM busybox\nRUN echo fine\nCOPPY a b\n")
    page.click("button:has-text('Build')")
    error = page.locator(".field:has(#id_dockerfile) .field-error")
    expect(error).to_have_text("Dockerfile line 3: unknown instruction: COPPY")
    expect(page.locator("#id_dockerfile")).to_have_value(re.compile("COPPY a b"))
    shot(page, "build-04-bad-dockerfile")
