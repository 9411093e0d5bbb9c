"""Each state-changing action leaves exactly one audit entry, written with the action, with the
right fields: time, actor and a copy of the name, team, action, target, host, parameters
(secrets redacted), result, the job it made, source address and user agent. Refusals leave one
entry too. Secrets never reach the log or its exports."""
from dataclasses import dataclass

import pytest
from django.test import Client

from console.audit.models import AuditEntry
from console.core.testing import PASSWORD
from tests.console.matrix_world import add_objects

AGENT = "audit-test/1.0"
SECRETS = ("hunter2-env-value", "a long enough password 7", "db-pass-in-change")

pytestmark = pytest.mark.usefixtures("recordings")


@dataclass
class Expect:
    action: str
    actor: str | None
    result: str = "succeeded"
    team: str = ""
    target_type: str = ""
    target_name: str = ""
    host: str = ""
    job: bool = False
    params: dict | None = None       # a subset the entry's parameters must contain


def page(persona, url, data=None):
    return ("page", persona, url, data)


def api(persona, method, url, data=None):
    return ("api", persona, method, url, data)


def perform(client_for, how):
    if how[0] == "page":
        _, persona, url, data = how
        client = client_for(persona) if persona else Client()
        return client.post(url, data or {}, HTTP_USER_AGENT=AGENT)
    _, persona, method, url, data = how
    client = client_for(persona) if persona else Client()
    return getattr(client, method)(url, data or {}, content_type="application/json",
                                   HTTP_USER_AGENT=AGENT)


def cases():
    web = "<web>"
    return {
        "login": (page(None, "/login/", {"username": "viewer", "password": PASSWORD}),
                  Expect("auth.login", "viewer", target_type="user", target_name="viewer")),
        "failed login": (page(None, "/login/", {"username": "viewer", "password": "nope"}),
                         Expect("auth.login", None, "failed", target_type="user",
                                target_name="viewer")),
        "logout": (page("viewer", "/logout/"),
                   Expect("auth.logout", "viewer", target_type="user", target_name="viewer")),
        "token by password": (api(None, "post", "/api/auth/token/",
                                  {"username": "operator", "password": PASSWORD}),
                              Expect("token.create", "operator", target_type="token")),
        "token on the page": (page("operator", "/account/tokens/", {"name": "ci"}),
                              Expect("token.create", "operator", target_type="token")),
        "run": (api("developer", "post", "/api/containers/",
                    {"image": "busybox", "host": "h1", "name": "n1", "cmd": ["sleep", "1"],
                     "env": ["SECRET=hunter2-env-value"]}),
                Expect("container.run", "developer", "requested", "alpha", "container", "n1",
                       "h1", job=True, params={"env": ["SECRET=[redacted]"]})),
        "run refused": (api("viewer", "post", "/api/containers/",
                            {"image": "busybox", "host": "h1", "name": "n1"}),
                        None),   # refused by validation before any action: see below
        "stop": (page("operator", f"/containers/{web}/stop/"),
                 Expect("container.stop", "operator", "requested", "alpha", "container", "web",
                        "h1", job=True)),
        "stop refused": (page("viewer", f"/containers/{web}/stop/"),
                         Expect("container.stop", "viewer", "denied", "alpha", "container",
                                "web", "h1")),
        "kill": (api("operator", "post", f"/api/containers/{web}/kill/", {"signal": "TERM"}),
                 Expect("container.kill", "operator", "requested", "alpha", "container", "web",
                        "h1", job=True, params={"signal": "TERM"})),
        "restart": (api("operator", "post", f"/api/containers/{web}/restart/"),
                    Expect("container.restart", "operator", "requested", "alpha", "container",
                           "web", "h1", job=True)),
        "remove": (api("developer", "delete", f"/api/containers/{web}/?force=1"),
                   Expect("container.remove", "developer", "requested", "alpha", "container",
                          "web", "h1", job=True)),
        "commit": (page("developer", f"/containers/{web}/commit/",
                        {"repository": "alpha/app", "tag": "v2", "message": "two",
                         "env": "DB_PASS=db-pass-in-change", "pause": "on"}),
                   Expect("container.commit", "developer", "requested", "alpha", "container",
                          "web", "h1", job=True,
                          params={"repository": "alpha/app", "tag": "v2",
                                  "changes": ["ENV DB_PASS=[redacted]"]})),
        "tag": (page("developer", "/commits/<commit>/tag/", {"repository": "alphatool",
                                                             "tag": "stable"}),
                Expect("image.tag", "developer", "requested", "alpha", "image",
                       "alphatool:stable", "h1", job=True, params={"tag": "stable"})),
        "tag refused": (api("viewer", "post", "/api/commits/<commit>/tag/",
                            {"repository": "alphatool"}),
                        Expect("image.tag", "viewer", "denied", "alpha", "image", host="h1")),
        "member added": (page("team_admin", "/teams/<team>/members/",
                              {"user": "stranger", "role": "viewer"}),
                         Expect("team.member.add", "team_admin", team="alpha",
                                target_type="user", target_name="stranger",
                                params={"role": "viewer"})),
        "role changed": (page("team_admin", "/teams/<team>/members/viewer/role/",
                              {"role": "operator"}),
                         Expect("team.member.role", "team_admin", team="alpha",
                                target_type="user", target_name="viewer",
                                params={"role": "operator", "previous_role": "viewer"})),
        "member removed": (api("team_admin", "delete", "/api/teams/<team>/members/viewer/"),
                           Expect("team.member.remove", "team_admin", team="alpha",
                                  target_type="user", target_name="viewer")),
        "member refused": (page("operator", "/teams/<team>/members/",
                                {"user": "stranger", "role": "admin"}),
                           Expect("team.member.set", "operator", "denied", "alpha", "user",
                                  "stranger")),
        "user invited": (page("superuser", "/teams/<team>/members/new/",
                              {"username": "newbie", "password": SECRETS[1],
                               "role": "viewer"}),
                         None),   # two actions, two entries: see test_an_invitation_is_two
        "host granted": (page("superuser", "/teams/<team>/hosts/", {"host": "<h2>"}),
                         Expect("team.host.grant", "root", team="alpha", target_type="host",
                                target_name="h2", host="h2")),
        "host revoked": (api("superuser", "delete", "/api/teams/<team>/hosts/h1/"),
                         Expect("team.host.revoke", "root", team="alpha", target_type="host",
                                target_name="h1", host="h1")),
        "settings": (page("team_admin", "/teams/<team>/settings/",
                          {"description": "ours", "terminal_user": "app"}),
                     Expect("team.settings", "team_admin", team="alpha", target_type="team",
                            target_name="alpha",
                            params={"changed": {"description": "ours",
                                                "terminal_user": "app"}})),
        "grant": (page("team_admin", f"/containers/{web}/grants/",
                       {"user": "stranger", "actions": ["start", "terminal"]}),
                  Expect("container.grant", "team_admin", team="alpha", target_type="container",
                         target_name="web", host="h1",
                         params={"user": "stranger", "actions": ["start", "terminal"]})),
        "grant revoked": (page("team_admin", f"/containers/{web}/grants/<grant>/revoke/"),
                          Expect("container.revoke", "team_admin", team="alpha",
                                 target_type="container", target_name="web", host="h1",
                                 params={"user": "grantee"})),
        "join token on the page": (page("superuser", "/join-tokens/",
                                        {"name": "node9", "teams": ["alpha"], "lifetime": "60"}),
                                   Expect("host.join_token", "root", target_type="host",
                                          target_name="node9", params={"teams": ["alpha"]})),
        "join token refused": (page("team_admin", "/join-tokens/", {"name": "node9"}),
                               Expect("host.join_token", "team_admin", "denied",
                                      target_type="host", target_name="node9")),
        "join token revoked": (page("superuser", "/join-tokens/<join_token>/revoke/"),
                               Expect("host.join_token.revoke", "root", target_type="host",
                                      target_name="joining",
                                      params={"prefix": "mjt_matrix", "teams": ["alpha"]})),
        "team created": (api("superuser", "post", "/api/teams/", {"name": "gamma"}),
                         Expect("team.create", "root", team="gamma", target_type="team",
                                target_name="gamma")),
        "user created": (api("superuser", "post", "/api/users/",
                             {"username": "newbie", "password": SECRETS[1]}),
                         Expect("user.create", "root", target_type="user",
                                target_name="newbie", params={"password": "[redacted]"})),
    }


CASES = {name: case for name, case in cases().items() if case[1] is not None}


def resolve(value, objects):
    marks = {"<web>": objects.web.engine_id, "<commit>": str(objects.commit.pk),
             "<team>": str(objects.team.pk), "<grant>": str(objects.grant.pk),
             "<h2>": str(objects.other_host.pk), "<join_token>": str(objects.join_token.pk)}
    if isinstance(value, str):
        for mark, real in marks.items():
            value = value.replace(mark, real)
        return value
    if isinstance(value, dict):
        return {k: resolve(v, objects) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(resolve(v, objects) for v in value)
    return value


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_action_leaves_exactly_one_entry(world, client_for, name):
    objects = add_objects(world)
    how, expect = resolve(CASES[name], objects)
    before = set(AuditEntry.objects.values_list("pk", flat=True))
    response = perform(client_for, how)
    assert response.status_code < 500, response.content[:500]
    new = list(AuditEntry.objects.exclude(pk__in=before))
    assert len(new) == 1, [(e.action, e.result) for e in new]
    entry = new[0]
    assert (entry.action, entry.result) == (expect.action, expect.result)
    assert entry.actor_name == (expect.actor or "")
    assert (entry.actor.username if entry.actor else None) == expect.actor
    assert entry.team_name == expect.team
    assert entry.team_id == (world.teams[expect.team].pk if expect.team in world.teams else
                             entry.team_id)
    assert entry.target_type == expect.target_type
    if expect.target_name:
        assert entry.target_name == expect.target_name
    assert entry.host_name == expect.host
    assert (entry.job_id is not None) == expect.job
    for key, value in (expect.params or {}).items():
        assert entry.params.get(key) == value, (key, entry.params)
    assert entry.source_ip == "127.0.0.1" and entry.user_agent == AGENT
    assert entry.time is not None


def test_an_invitation_is_two_entries_a_user_and_a_membership(world, client_for):
    objects = add_objects(world)
    how, _ = resolve(cases()["user invited"], objects)
    response = perform(client_for, how)
    assert response.status_code == 302
    entries = list(AuditEntry.objects.filter(actor_name="root").order_by("pk")
                   .values_list("action", "target_name", "team_name"))
    assert entries == [("user.create", "newbie", ""), ("team.member.add", "newbie", "alpha")]


def test_a_run_the_user_may_not_ask_for_is_refused_and_audited(world, client_for, sent):
    response = client_for("viewer").post("/api/containers/", {
        "image": "busybox", "host": "h1", "name": "n1", "env": ["K=hunter2-env-value"]},
        content_type="application/json", HTTP_USER_AGENT=AGENT)
    assert response.status_code == 403 and sent == []
    page = client_for("operator").post("/containers/run/", {
        "host": "h1", "image": "busybox:latest", "name": "n2", "restart": "no"},
        HTTP_USER_AGENT=AGENT)
    assert page.status_code == 403
    client_for("developer").post("/api/containers/", {
        "image": "busybox", "host": "h1", "name": "n3", "binds": ["/:/host"]},
        content_type="application/json")
    entries = list(AuditEntry.objects.filter(action="container.run").order_by("pk"))
    assert [(e.actor_name, e.result, e.target_name) for e in entries] == [
        ("viewer", "denied", "n1"), ("operator", "denied", "n2"), ("developer", "denied", "n3")]
    assert entries[0].params["env"] == ["K=[redacted]"] and entries[0].user_agent == AGENT
    assert "binds" in entries[2].error


def test_the_job_outcome_is_linked_to_the_entry(world, client_for, engine, agent):
    from console.agent import tasks

    objects = add_objects(world)
    engine.containers_by_id[objects.web.engine_id] = {
        "Id": objects.web.engine_id, "Name": "web", "Status": "running", "ExitCode": 0,
        "StartedAt": "", "FinishedAt": "", "Created": "2026-11-29T06:00:00Z",
        "Image": objects.web.image.image_id, "Cmd": []}
    job_id = client_for("operator").post(f"/api/containers/{objects.web.engine_id}/stop/",
                                         content_type="application/json").json()["id"]
    tasks.execute_job(job_id)
    row = client_for("viewer").get("/api/audit/?action=container.stop").json()["results"][0]
    assert (row["job"], row["job_state"], row["job_error"]) == (job_id, "succeeded", "")
    html = client_for("viewer").get("/audit/?action=container.stop").content.decode()
    assert f'href="/jobs/{job_id}/"' in html and "exit code 143" in html


def test_secrets_never_appear_in_the_log_or_its_exports(world, client_for):
    objects = add_objects(world)
    for name in ("run", "commit", "user created", "login", "failed login"):
        how, _ = resolve(cases()[name], objects)
        perform(client_for, how)
    client_for("superuser").post("/api/auth/token/", {"username": "viewer",
                                                      "password": PASSWORD},
                                 content_type="application/json")
    keys = [client_for("operator").post("/api/tokens/", {"name": "x"},
                                        content_type="application/json").json()["token"]]
    dump = repr(list(AuditEntry.objects.values_list()))
    exports = "".join(b"".join(client_for("superuser").get(f"/audit/export/{kind}/")
                               .streaming_content).decode() for kind in ("csv", "json"))
    for secret in SECRETS + (PASSWORD, objects.token_key, *keys):
        assert secret not in dump and secret not in exports, secret
