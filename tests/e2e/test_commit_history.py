"""Commit history end to end, with the real runtime, Redis, worker and daphne: a developer,
logged in through the pages, runs a container that adds, changes and deletes files, commits it
from the container page, and finds the commit in the history and on its own page with the
right author, message, parent and files; "run from this commit" starts a container that sees
the changes; tagging moves a name; a second commit extends the lineage."""
import http.cookiejar
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from html import unescape

import pytest

from tests.stack import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.privileged]


class Session:
    """A browser's session, without the browser: cookies, the CSRF token, forms."""

    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def csrf(self):
        return next((c.value for c in self.jar if c.name == "csrftoken"), "")

    def open(self, path, data=None):
        body = None
        if data is not None:
            fields = dict(data, csrfmiddlewaretoken=self.csrf())
            body = urllib.parse.urlencode(fields, doseq=True).encode()
        try:
            with self.opener.open(self.base + path, body, timeout=60) as response:
                return response.status, response.read().decode(), response.url
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), error.url

    def get(self, path):
        return self.open(path)

    def post(self, path, data):
        return self.open(path, data)

    def login(self, username, password):
        self.get("/login/")
        status, _, url = self.post("/login/", {"username": username, "password": password})
        assert status == 200 and url.rstrip("/") == self.base, url


@pytest.fixture
def developer(stack):
    api = stack.admin
    name = "hist" + secrets.token_hex(3)
    password = secrets.token_urlsafe(16)
    api.ok("POST", "/api/users/", {"username": name, "password": password,
                                   "email": f"{name}@example.test"})
    team = next(t for t in api.ok("GET", "/api/teams/")["results"] if t["name"] == "default")
    api.ok("POST", f"/api/teams/{team['id']}/members/", {"user": name, "role": "developer"})
    session = Session(stack.base)
    session.login(name, password)
    return name, session


@pytest.fixture
def cleanup(stack):
    names = []
    yield names
    for name in names:
        stack.admin.call("DELETE", f"/api/containers/{name}/?force=1&wait=1")


def wait_state(stack, name, state, timeout=30):
    return wait_until(lambda: (lambda c: c if c.get("state") == state else None)(
        stack.admin.ok("GET", f"/api/containers/{name}/")), timeout=timeout,
        what=f"{name} {state}")


def wait_job(stack, kind, container=None):
    query = f"/api/jobs/?kind={kind}" + (f"&container={container}" if container else "")
    job = wait_until(lambda: (stack.admin.ok("GET", query)["results"] or [None])[0],
                     what=f"a {kind} job")
    return stack.wait_job(job["id"])


def test_commit_history_end_to_end(stack, developer, cleanup):
    username, session = developer
    api = stack.admin
    source = "hist-src-" + secrets.token_hex(2)
    cleanup.append(source)

    # Run, from the run page, a container that adds, changes and deletes files.
    status, _, url = session.post("/containers/run/", {
        "host": "e2e", "image": "busybox:latest", "name": source, "restart": "no",
        "command": "sh -c 'echo added > /added.txt && echo changed >> /etc/passwd && "
                   "rm /etc/group && sleep 300'"})
    assert status == 200 and "/containers/" in url
    wait_state(stack, source, "running")
    container_id = api.ok("GET", f"/api/containers/{source}/")["id"]
    wait_until(lambda: "/added.txt" in stack.moor("e2e", "diff", source).stdout, timeout=10,
               what="the container's changes")

    # Commit it from the container page's dialog.
    page = session.get(f"/containers/{container_id}/")[1]
    assert 'id="commit-dialog"' in page
    status, text, url = session.post(f"/containers/{container_id}/commit/", {
        "repository": "e2e/hist", "tag": "v1", "message": "add a file\n\nand change passwd",
        "cmd": '["cat", "/added.txt"]', "env": "MODE=e2e", "pause": "on"})
    assert status == 200 and url.endswith(f"/containers/{container_id}/"), (status, url)
    assert "Commit of" in unescape(text)
    job = wait_job(stack, "commit", container_id)
    assert job["state"] == "succeeded", job
    commit_id = job["result"]["commit"]

    # The history reads like git log.
    history = unescape(session.get("/commits/?team=default")[1])
    item = history.split(f'data-commit="{commit_id}"')[1].split("</li>")[0]
    commit = api.ok("GET", f"/api/commits/{commit_id}/")
    assert commit["short_id"] in item and "e2e/hist:v1" in item and "add a file" in item
    assert f"{username} <{username}@example.test>" in item
    assert commit["author_username"] == username

    # One commit: author, message, parent, files.
    base = next(i for i in api.ok("GET", "/api/images/?host=e2e")["results"]
                if "busybox:latest" in i["tags"])
    assert commit["parent"] == base["id"]
    detail = unescape(session.get(f"/commits/{commit_id}/")[1])
    assert "and change passwd" in detail
    parent_cell = detail.split('id="parent"')[1].split("</td>")[0]
    assert base["id"][7:19] in parent_cell and "base image" in parent_cell
    files = dict((path, kind) for kind, path in re.findall(
        r'<tr class="f-([ACD])"><td[^>]*>[ACD]</td><td class="mono">([^<]+)</td>', detail))
    assert files["/added.txt"] == "A" and files["/etc/group"] == "D"
    assert files["/etc/passwd"] == "C"
    added = next(f for f in commit["file_changes"] if f["path"] == "/added.txt")
    assert added["size"] == len("added\n")
    assert "ENV MODE=[redacted]" in detail and 'CMD ["cat", "/added.txt"]' in detail

    # Run a container from this commit: it sees the changes.
    run_url = unescape(re.search(r'id="run-from-commit" href="([^"]+)"', detail).group(1))
    form = session.get(run_url)[1]
    assert 'value="e2e/hist:v1" data-host="e2e" selected' in form
    child = "hist-run-" + secrets.token_hex(2)
    cleanup.append(child)
    status, _, url = session.post("/containers/run/", {
        "host": "e2e", "image": "e2e/hist:v1", "name": child, "restart": "no",
        "command": "sh -c 'grep -q added /added.txt && grep -q changed /etc/passwd && "
                   "test ! -e /etc/group && test \"$MODE\" = e2e'"})
    assert status == 200 and "/containers/" in url
    assert wait_state(stack, child, "exited")["exit_code"] == 0

    # Tag the commit's image from its page.
    status, _, _ = session.post(f"/commits/{commit_id}/tag/", {"repository": "e2e/hist",
                                                                "tag": "stable"})
    assert status == 200
    tag_job = wait_job(stack, "tag")
    assert tag_job["state"] == "succeeded", tag_job
    image = api.ok("GET", f"/api/images/{commit['image'][7:19]}/")
    assert sorted(image["tags"]) == ["e2e/hist:stable", "e2e/hist:v1"]
    assert re.search(r"e2e/hist\s+stable\s+" + commit["image"][7:19],
                     stack.moor("e2e", "images").stdout)

    # A second commit, of the container run from the first: the lineage grows.
    job = api.ok("POST", f"/api/containers/{child}/commit/?wait=1",
                 {"repository": "e2e/hist", "tag": "v2", "message": "second"})
    assert job["state"] == "succeeded", job
    second = api.ok("GET", f"/api/commits/{job['result']['commit']}/")
    assert second["parent"] == commit["image"]
    lineage = unescape(session.get("/commits/?image=e2e/hist:v2&host=e2e")[1])
    assert re.findall(r'data-commit="(\d+)"', lineage) == [str(second["id"]), str(commit_id)]
    svg = lineage.split('<svg class="lineage"')[1].split("</svg>")[0]
    assert {base["id"], commit["image"], second["image"]} <= set(
        re.findall(r'data-image="([^"]+)"', svg))
    audit = api.ok("GET", "/api/audit/?action=image.tag")["results"][0]
    assert (audit["actor"], audit["job_state"]) == (username, "succeeded")
