"""Every HTML response carries the strict Content-Security-Policy, and no page holds what the
policy would block: an inline script or `<style>`, an event handler attribute or a `style`
attribute.

The pages are found by following the links of the pages themselves, as a superuser, from the
dashboard, the admin and the API's root; the anonymous pages and the error pages are added."""
import base64
import hashlib
import re
import secrets
from urllib.parse import urldefrag, urlsplit

import pytest

from console.audit import record
from console.jobs.models import Job

WEBSOCKET = "ws://testserver"
TERMINAL_PAGES = (re.compile(r"^/containers/[0-9a-f]{64}/$"),
                  re.compile(r"^/terminal-sessions/[0-9a-f]{32}/$"))
INLINE_STYLE = re.compile(r"<style[\s>]", re.I)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>",
                           re.I)
HANDLER_ATTRIBUTE = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[a-z][^>]*\sstyle\s*=\s*\"([^\"]*)\"", re.I)
BROWSABLE_API = re.compile(r"^/api/(?!docs/)")
BROWSABLE_API_STYLES = ("float: right; margin-right: 10px",)
# Not pages: downloads, the API in other formats, and the log reader (it asks the host's
# bridge).
NOT_PAGES = re.compile(r"^/(static/|admin/logout|logout)|/export/|[?&](download|format)=|"
                       r"/logs/|/recording/")
HREF = re.compile(r'href="([^"]+)"')
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def policy_of(response) -> dict:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{response.request['PATH_INFO']}: no Content-Security-Policy"
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def check_page(path: str, response) -> None:
    policy = policy_of(response)
    assert policy["default-src"] == ["'self'"], path
    assert policy["script-src"] == ["'self'"], path
    assert policy["object-src"] == ["'none'"], path
    assert policy["base-uri"] == ["'self'"], path
    assert policy["form-action"] == ["'self'"], path
    assert policy["frame-ancestors"] == ["'none'"], path
    assert policy["connect-src"] == ["'self'", WEBSOCKET], path
    html = response.content.decode()
    allowed_styles = set()
    if any(pattern.match(path) for pattern in TERMINAL_PAGES):
        assert policy["style-src"] == ["'self'", "'unsafe-inline'"], path
    elif BROWSABLE_API.match(path):
        # Only the hashes of the attribute values the REST framework's template has.
        assert policy["style-src"][:2] == ["'self'", "'unsafe-hashes'"], path
        allowed_styles = {value for value in BROWSABLE_API_STYLES
                          if f"'sha256-{sha256_base64(value)}'" in policy["style-src"]}
        assert len(policy["style-src"]) == 2 + len(BROWSABLE_API_STYLES) == 2 + len(
            allowed_styles), policy["style-src"]
    else:
        assert policy["style-src"] == ["'self'"], path
    for pattern in (INLINE_SCRIPT, INLINE_STYLE, HANDLER_ATTRIBUTE):
        found = pattern.search(html)
        assert found is None, f"{path}: {found.group(0)[:200]}"
    for found in STYLE_ATTRIBUTE.finditer(html):
        assert found.group(1) in allowed_styles, f"{path}: {found.group(0)[:200]}"


def sha256_base64(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def links(html: str) -> list[str]:
    found = []
    for href in HREF.findall(html):
        href = urldefrag(href.replace("&amp;", "&"))[0].removeprefix("http://testserver")
        if href.startswith("/") and not href.startswith("//") and not NOT_PAGES.search(href):
            found.append(href)
    return found


@pytest.fixture
def more_of_the_world(world):
    """A job, its audit entry, a commit and a recorded terminal session, so that their pages
    are linked from the others."""
    from console.images.models import Commit
    from console.streams.models import TerminalSession

    web, admin = world.containers["web"], world.users["superuser"]
    job = Job.objects.create(kind="stop", host=web.host, team=web.team, container=web,
                             target_id=web.engine_id, target_name=web.name,
                             requested_by=admin, state="succeeded")
    record("container.stop", actor=admin, team=web.team, target=web, host=web.host, job=job)
    Commit.objects.create(new_image_id="sha256:" + secrets.token_hex(32),
                          parent_image_id=world.images["h1"].image_id, host=web.host,
                          team=web.team, author=admin, author_name="root",
                          container_engine_id=web.engine_id, container_name=web.name,
                          repository="alpha/web", tag="1", message="a commit")
    TerminalSession.objects.create(id=secrets.token_hex(16), user=admin, username="root",
                                   container=web, container_engine_id=web.engine_id,
                                   container_name=web.name, host=web.host, host_name="h1",
                                   team=web.team, mode="exec", command=["/bin/sh"],
                                   recording="session.cast")
    return world


def test_every_page_carries_the_policy_and_nothing_it_would_block(more_of_the_world,
                                                                  client_for, client):
    superuser = client_for("superuser")
    seen, queue, checked = set(), ["/", "/admin/", "/api/", "/api/docs/"], []
    while queue and len(checked) < 400:
        path = queue.pop(0)
        key = urlsplit(path)._replace(query="").geturl() if "page=" in path else path
        if key in seen:
            continue
        seen.add(key)
        response = superuser.get(path, HTTP_ACCEPT=BROWSER_ACCEPT)
        if response.status_code in (301, 302):
            queue.append(response.url)
            continue
        # Some links of the API's pages name actions that take POST only (405): still pages.
        assert response.status_code in (200, 405), (path, response.status_code)
        if not response.headers.get("Content-Type", "").startswith("text/html"):
            continue
        check_page(path, response)
        checked.append(path)
        queue.extend(links(response.content.decode()))
    # The crawl reached every kind of page.
    for expected in (r"^/$", r"^/containers/$", r"^/containers/[0-9a-f]{64}/$",
                     r"^/containers/run/", r"^/images/$", r"^/images/pull/", r"^/images/build/",
                     r"^/jobs/$", r"^/jobs/\d+/$", r"^/commits/$", r"^/commits/\d+/$",
                     r"^/teams/$", r"^/teams/\d+/$", r"^/audit/$", r"^/audit/\d+/$",
                     r"^/account/tokens/$", r"^/terminal-sessions/[0-9a-f]{32}/$",
                     r"^/api/docs/$", r"^/api/$", r"^/api/containers/$", r"^/admin/$",
                     r"^/admin/auth/user/\d+/change/$", r"^/admin/teams/team/add/$"):
        assert any(re.match(expected, path) for path in checked), (expected, checked)

    # What anonymous users and everyone else may see besides.
    for path in ("/login/", "/containers/" + "0" * 64 + "/", "/no-such-page/"):
        response = client.get(path) if path == "/login/" else superuser.get(path)
        assert response.status_code in (200, 404)
        check_page(path, response)
    forbidden = client_for("viewer").get("/admin/", follow=True)
    check_page("/admin/login/", forbidden)


def test_the_websocket_origin_is_the_pages_own(world, client_for):
    client = client_for("viewer")
    assert policy_of(client.get("/", HTTP_HOST="localhost:8443", secure=True))[
        "connect-src"] == ["'self'", "wss://localhost:8443"]
    assert policy_of(client.get("/", HTTP_HOST="127.0.0.1:8000"))["connect-src"] == [
        "'self'", "ws://127.0.0.1:8000"]


def test_a_request_for_another_host_is_refused_with_the_policy(world, client):
    response = client.get("/login/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert policy_of(response)["connect-src"] == ["'self'"]
