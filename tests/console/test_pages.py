"""The pages, per persona: anonymous users are sent to log in, strangers get 404, members
lacking the action 403, and state changes need POST with a CSRF token."""
import pytest

from console.jobs.models import Job

PAGES = ["/", "/containers/", "/containers/run/", "/images/", "/jobs/", "/account/tokens/",
         "/api/docs/"]


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_users_are_sent_to_log_in(world, client, url):
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith("/login/")


@pytest.mark.parametrize("url", PAGES)
def test_every_page_renders_for_every_persona(world, client_for, persona, url):
    if persona == "anonymous":
        return
    response = client_for(persona).get(url)
    assert response.status_code == 200, (persona, url)


def test_the_container_list_shows_only_visible_rows(world, client_for):
    html = client_for("viewer").get("/containers/").content.decode()
    assert world.containers["web"].engine_id in html
    assert world.containers["other"].engine_id not in html


def test_the_container_list_filters(world, client_for):
    client = client_for("superuser")
    html = client.get("/containers/?host=h2").content.decode()
    assert world.containers["other"].engine_id in html
    assert world.containers["web"].engine_id not in html
    html = client.get("/containers/?state=exited").content.decode()
    assert world.containers["web"].engine_id not in html
    html = client.get("/containers/?name=we").content.decode()
    assert world.containers["web"].engine_id in html


def test_container_detail_by_persona(world, client_for, persona):
    web = world.containers["web"]
    response = client_for(persona).get(f"/containers/{web.engine_id}/")
    expected = {"anonymous": 302, "stranger": 404}.get(persona, 200)
    assert response.status_code == expected
    if expected == 200:
        html = response.content.decode()
        assert ('data-verb="stop"' in html) == (persona != "viewer")
        assert ('data-verb="remove"' in html) == (persona in ("developer", "team_admin",
                                                             "superuser"))


def test_container_detail_hides_environment_values(world, client_for):
    web = world.containers["web"]
    web.env = ["DB_PASSWORD=hunter2"]
    web.inspect_data = {"Config": {"Env": ["DB_PASSWORD=hunter2"]}}
    web.save()
    html = client_for("viewer").get(f"/containers/{web.engine_id}/").content.decode()
    assert "DB_PASSWORD=[redacted]" in html and "hunter2" not in html


def test_page_actions_need_post_and_csrf(world, client_for, sent):
    web = world.containers["web"]
    url = f"/containers/{web.engine_id}/stop/"
    client = client_for("operator", csrf=True)
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 403           # no CSRF token
    api = client.post(f"/api/containers/{web.engine_id}/stop/")
    assert api.status_code == 403 and "CSRF" in api.json()["detail"]
    assert not Job.objects.exists()


def test_page_action_by_persona(world, client_for, persona):
    web = world.containers["web"]
    response = client_for(persona).post(f"/containers/{web.engine_id}/stop/")
    expected = {"anonymous": 302, "stranger": 404, "viewer": 403}.get(persona, 302)
    assert response.status_code == expected
    assert Job.objects.filter(kind="stop").exists() == (persona not in (
        "anonymous", "stranger", "viewer"))


def test_bulk_stop_and_remove(world, client_for):
    from console.core.testing import make_container

    stopped = make_container(world.hosts["h1"], world.teams["alpha"], "idle", state="exited")
    client = client_for("developer")
    response = client.post("/containers/bulk/", {
        "action": "stop",
        "containers": [world.containers["web"].engine_id, stopped.engine_id,
                       world.containers["other"].engine_id]})
    assert response.status_code == 302
    assert list(Job.objects.values_list("kind", "target_name")) == [("stop", "web")]
    client.post("/containers/bulk/", {"action": "remove", "containers": [stopped.engine_id]})
    assert Job.objects.filter(kind="remove", target_name="idle").exists()


def test_the_login_page_and_logout(world, client):
    assert client.get("/login/").status_code == 200
    from console.core.testing import PASSWORD

    response = client.post("/login/", {"username": "viewer", "password": PASSWORD,
                                       "next": "https://evil.example/"})
    assert response.status_code == 302 and response.url == "/"
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_tokens_page_shows_a_new_key_once(world, client_for):
    client = client_for("viewer")
    html = client.post("/account/tokens/", {"name": "ci"}).content.decode()
    assert "mrg_" in html and "will not be shown again" in html
    html = client.get("/account/tokens/").content.decode()
    assert "will not be shown again" not in html and "ci" in html


def test_openapi_schema(world, client_for):
    response = client_for("viewer").get("/api/schema/")
    assert response.status_code == 200
    text = response.content.decode()
    for path in ("/api/containers/{id}/stop/", "/api/auth/token/", "/api/audit/",
                 "/api/teams/{id}/members/", "/api/grants/", "/api/jobs/{id}/",
                 "/api/containers/{id}/team/",
                 "/api/containers/{id}/logs/"):     # a plain view, added by a hook
        assert path in text
    assert "operationId: containers_logs" in text and "text/plain" in text


def test_bulk_actions_do_not_redirect_elsewhere(world, client_for):
    response = client_for("operator").post("/containers/bulk/", {
        "action": "stop", "containers": [], "next": "https://evil.example/"})
    assert response.status_code == 302 and response.url == "/containers/"


def test_container_detail_shows_network_and_ports(world, client_for):
    web = world.containers["web"]
    web.inspect_data = {
        "HostConfig": {"NetworkMode": "bridge"},
        "NetworkSettings": {
            "Networks": {"bridge": {"IPAddress": "172.22.0.5", "Gateway": "172.22.0.1"}},
            "Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "443/tcp": None}}}
    web.save()
    html = client_for("viewer").get(f"/containers/{web.engine_id}/").content.decode()
    assert "172.22.0.5" in html and "gateway 172.22.0.1" in html
    assert "0.0.0.0:8080 → 80/tcp" in html
    assert "443/tcp (not published)" in html


def test_the_page_says_why_a_container_holding_the_host_has_no_terminal(world, client_for):
    web = world.containers["web"]
    web.inspect_data = {"HostConfig": {"Privileged": True, "Binds": ["/srv:/srv"]}}
    web.save()
    html = client_for("operator").get(f"/containers/{web.engine_id}/").content.decode()
    assert 'id="terminal-refused"' in html and 'id="terminal-form"' not in html
    assert "holds privileged, bind mounts of the host" in html
    html = client_for("superuser").get(f"/containers/{web.engine_id}/").content.decode()
    assert 'id="terminal-form"' in html
