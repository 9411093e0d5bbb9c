"""The permission matrix: every URL pattern of the URLconf and every websocket route of the
Channels router, as anonymous, a user of another team, viewer, operator, developer, team admin
and superuser. Each answer is the expected 302/404/403/2xx, and a request that is refused (or
that is a GET) changes nothing but the audit log.

Routes are found, not listed: a route without an entry in ROUTES (or WEBSOCKETS) fails
`test_every_route_has_an_entry`, so a new page, endpoint or socket cannot go untested.

Also here: CSRF (state-changing requests from a browser session without the token fail and
change nothing; there is no state-changing GET).
"""
import re
from dataclasses import dataclass, field

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from console.core.testing import PASSWORD, build_world
from tests.console.matrix_world import add_objects, changed_tables, fingerprint

pytestmark = pytest.mark.usefixtures("recordings")

PERSONAS = ("anonymous", "stranger", "viewer", "operator", "developer", "team_admin",
            "superuser")
ROLES = ("viewer", "operator", "developer", "team_admin")
SIGNED_IN = PERSONAS[1:]
AT_LEAST = {role: set(ROLES[ROLES.index(role):]) | {"superuser"} for role in ROLES}
SUPERUSER = {"superuser"}
METHODS = ("get", "post", "put", "patch", "delete")


# -- what to expect ---------------------------------------------------------------------------

@dataclass
class Case:
    """One method on one route: the status for each persona, and who may change state."""

    statuses: dict
    changes: set = field(default_factory=set)
    body: dict | None = None
    query: str = ""
    audit_frozen: bool = False       # not even an audit entry may change
    patches: dict = field(default_factory=dict)     # "module.NAME": value, for this case


def gated(ok, allowed, *, anon=302, stranger=404, refused=403, changes=True, **extra):
    """`allowed` personas get `ok`; members of alpha who are not allowed get `refused`;
    `stranger` gets `stranger` (alpha's objects are invisible to beta); anonymous `anon`."""
    statuses = {"anonymous": anon, "stranger": ok if "stranger" in allowed else stranger}
    for persona in ROLES + ("superuser",):
        statuses[persona] = ok if persona in allowed else refused
    return Case(statuses, set(allowed) if changes else set(), **extra)


def everyone(ok, *, anon=302, changes=False, **extra):
    """Any signed-in user gets `ok` (their own view of it)."""
    statuses = {persona: ok for persona in SIGNED_IN}
    statuses["anonymous"] = anon
    return Case(statuses, set(SIGNED_IN) if changes else set(), **extra)


def exactly(changes=(), body=None, query="", **statuses):
    return Case(statuses, set(changes), body=body, query=query)


def refused(status, **extra):
    """The method is not allowed (405) for signed-in users; `status` for anonymous."""
    return everyone(405, anon=status, **extra)


MEMBERS = AT_LEAST["viewer"]
OPERATORS = AT_LEAST["operator"]
DEVELOPERS = AT_LEAST["developer"]
ADMINS = AT_LEAST["team_admin"]
API_ANON = 401

RUN_PAGE = {"host": "h1", "image": "busybox:latest", "name": "matrix", "command": "sleep 1",
            "restart": "no", "team": "alpha"}
RUN_API = {"image": "busybox", "host": "h1", "name": "matrix", "cmd": ["sleep", "1"],
           "team": "alpha"}
NEW_USER = {"username": "newbie", "password": "a long enough password 7", "role": "viewer"}
MAPPING = {"source": "oidc", "group": "platform", "team": "alpha", "role": "operator"}
PULL = {"reference": "127.0.0.1:5000/alpha/matrix:1", "host": "h1", "team": "alpha"}
BUILD = {"host": "h1", "team": "alpha", "tags": "alpha/matrix:1",
         "dockerfile": "FROM busybox\nRUN echo built > /built\n"}
# The pull and build forms: for those who may pull or build in some team (the stranger may, in
# beta, so sees the form; alpha and h1 are not choices of theirs).
PULL_OR_BUILD_PAGE = exactly(anonymous=302, stranger=200, viewer=403, operator=403, developer=200,
                             team_admin=200, superuser=200)

STACK_FILE = "services:\n  web:\n    image: busybox\n    command: sleep 600\n"
STACK_PAGE = {"name": "matrix", "host": "h1", "team": "alpha", "compose": STACK_FILE,
              "step": "deploy"}
STACK_API = {"name": "matrix", "host": "h1", "team": "alpha", "compose": STACK_FILE}
VOLUME = {"name": "matrix-data", "host": "h1", "team": "alpha"}
# New stacks and volumes: for those who may create in some team (the stranger may, in beta:
# alpha and h1 are not choices of theirs).
CREATORS = dict(anonymous=302, stranger=400, viewer=403, operator=403, developer=302,
                team_admin=302, superuser=302)
API_CREATORS = dict(CREATORS, anonymous=401, developer=202, team_admin=202, superuser=202)

# Parameters of the routes, by name: what each placeholder is filled with.
PARAMETERS = {
    "ref": lambda o: o.web.engine_id,
    "grant_pk": lambda o: o.grant.pk,
    "verb": lambda o: "stop",
    "username": lambda o: "viewer",
    "host_pk": lambda o: o.host.pk,
    "host": lambda o: o.host.name,
    "kind": lambda o: "csv",
    "format": lambda o: "json",
    "app_label": lambda o: "teams",
    "url": lambda o: "nothing/here/",
    "session_id": lambda o: o.session.pk,
    "object_id": lambda o: o.team.pk,
    "content_type_id": lambda o: 1,
    "id": lambda o: o.entry.actor_id,
    "job_id": lambda o: o.job.pk,
    "number": lambda o: 1,
}
# Per route, where the generic placeholder means something else.
ROUTE_PARAMETERS = {
    "commit-detail": {"ref": lambda o: o.commit.pk},
    "commit-tag": {"ref": lambda o: o.commit.pk},
    "job-detail": {"pk": lambda o: o.job.pk},
    "audit-detail": {"pk": lambda o: o.entry.pk},
    "team-detail": {"pk": lambda o: o.team.pk},
    "token-revoke": {"pk": lambda o: o.token.pk},
    "api:container-detail": {"pk": lambda o: o.web.engine_id},
    "stack-grant": {"pk": lambda o: o.stack.pk},
    "stack-grant-revoke": {"pk": lambda o: o.stack.pk, "grant_pk": lambda o: o.stack_grant.pk},
    "api:stack-grant-list": {"stack_pk": lambda o: o.stack.pk},
    "api:stack-grant-detail": {"stack_pk": lambda o: o.stack.pk,
                               "pk": lambda o: o.stack_grant.pk},
    "api:image-detail": {"pk": lambda o: o.image.pk},
    "api:host-detail": {"pk": lambda o: o.host.pk},
    "api:job-detail": {"pk": lambda o: o.job.pk},
    "api:user-detail": {"pk": lambda o: o.entry.actor_id},
    "api:grant-detail": {"pk": lambda o: o.grant.pk},
    "api:token-detail": {"pk": lambda o: o.token.pk},
    "api:audit-detail": {"pk": lambda o: o.entry.pk},
    "api:commit-detail": {"pk": lambda o: o.commit.pk},
    "api:commit-tag": {"pk": lambda o: o.commit.pk},
    "api:quota-detail": {"pk": lambda o: o.quota.pk},
    "request-decide": {"pk": lambda o: o.access_request.pk, "decision": lambda o: "approve"},
    "schedule-change": {"pk": lambda o: o.schedule.pk, "verb": lambda o: "pause"},
    "api:schedule-detail": {"pk": lambda o: o.schedule.pk},
    "api:schedule-pause": {"pk": lambda o: o.schedule.pk},
    "api:schedule-resume": {"pk": lambda o: o.paused_schedule.pk},
    "api:access-request-detail": {"pk": lambda o: o.access_request.pk},
    "api:access-request-approve": {"pk": lambda o: o.access_request.pk},
    "api:access-request-refuse": {"pk": lambda o: o.access_request.pk},
    "api:image-tag": {"pk": lambda o: o.image.pk},
    "api:host-sync": {"pk": lambda o: o.host.pk},
    "api:host-accept-root": {"pk": lambda o: o.host.pk},
    "api:host-revoke-key": {"pk": lambda o: o.host.pk},
    "api:host-cordon": {"pk": lambda o: o.host.pk},
    "api:host-uncordon": {"pk": lambda o: o.host.pk},
    "api:host-drain": {"pk": lambda o: o.host.pk},
    "team-two-factor": {"pk": lambda o: o.team.pk},
    "sso-mapping-delete": {"pk": lambda o: o.mapping.pk},
    "join-token-revoke": {"pk": lambda o: o.join_token.pk},
    "api:host-join-token-detail": {"pk": lambda o: o.join_token.pk},
    "api:sso-mapping-detail": {"pk": lambda o: o.mapping.pk},
}
for name in ("stack-detail", "stack-edit", "stack-history", "stack-version-deploy",
             "stack-remove", "stack-assign", "stack-action", "api:stack-detail",
             "api:stack-down", "api:stack-restart", "api:stack-start", "api:stack-stop",
             "api:stack-team", "api:stack-version-deploy", "api:stack-versions",
             "stack-schedule"):
    ROUTE_PARAMETERS[name] = {"pk": lambda o: o.stack.pk}
for name in ("volume-remove", "volume-assign", "api:volume-detail", "api:volume-team"):
    ROUTE_PARAMETERS[name] = {"pk": lambda o: o.volume.pk}
for name in ("container", "container-commit", "container-inspect", "container-kill",
             "container-restart", "container-start", "container-stop", "container-team"):
    ROUTE_PARAMETERS.setdefault(f"api:{name}", {"pk": lambda o: o.web.engine_id})
for name in ("team-detail", "team-hosts", "team-members", "team-remove-member",
             "team-revoke-host"):
    ROUTE_PARAMETERS[f"api:{name}"] = {"pk": lambda o: o.team.pk}
for name in ("team-member-add", "team-member-invite", "team-member-role", "team-member-remove",
             "team-host-grant", "team-host-revoke", "team-settings", "team-usage",
             "team-quota-set", "team-quota-remove"):
    ROUTE_PARAMETERS[name] = {"pk": lambda o: o.team.pk}

ROUTES = {
    # -- pages --
    "dashboard": {"get": everyone(200)},
    "host-detail": {"get": gated(200, MEMBERS)},
    # What superusers do to a host; its members are told so on its page (the drain page is
    # the superusers' alone: it lists every team's containers).
    "host-cordon": {"get": refused(302), "post": gated(302, SUPERUSER, refused=302)},
    "host-uncordon": {"get": refused(302), "post": gated(302, SUPERUSER, refused=302)},
    "host-drain": {"get": gated(200, SUPERUSER, changes=False), "post": gated(302, SUPERUSER)},
    # Join tokens, the superusers' alone: for anyone else no such page (tests/console/hosts/).
    "join-tokens": {"get": gated(200, SUPERUSER, refused=404, changes=False),
                    "post": gated(201, SUPERUSER, refused=404,
                                  body={"name": "newhost", "teams": ["alpha"],
                                        "lifetime": "60"})},
    "join-token-revoke": {"get": refused(302), "post": gated(302, SUPERUSER, refused=404)},
    # h1 is online: its removal is refused, said on its page (tests/console/hosts/).
    "host-remove": {"get": refused(302),
                    "post": gated(302, SUPERUSER, refused=302, changes=False,
                                  body={"confirm": "h1"})},
    "login": {"get": exactly(anonymous=200, **{p: 302 for p in SIGNED_IN}),
              "post": exactly(anonymous=200, **{p: 302 for p in SIGNED_IN},
                              body={"username": "nobody", "password": "wrong"})},
    "logout": {"get": refused(405), "post": everyone(302, anon=302)},
    "container-list": {"get": everyone(200)},
    "container-run": {"get": everyone(200),
                      "post": exactly(["developer", "team_admin", "superuser"], body=RUN_PAGE,
                                      anonymous=302, stranger=200, viewer=403, operator=403,
                                      developer=302, team_admin=302, superuser=302)},
    "container-bulk": {"get": refused(302),
                       "post": gated(302, OPERATORS, stranger=302, refused=302,
                                     body={"action": "stop", "containers": ["<web>"]})},
    "container-detail": {"get": gated(200, MEMBERS)},
    "container-commit": {"get": gated(200, DEVELOPERS, changes=False),
                         "post": gated(302, DEVELOPERS, body={"repository": "alpha/matrix",
                                                              "message": "m"})},
    "container-grant": {"get": refused(302),
                        "post": gated(302, ADMINS, body={"user": "stranger",
                                                         "actions": ["start"]})},
    "container-grant-revoke": {"get": refused(302), "post": gated(302, ADMINS)},
    "container-action": {"get": refused(302), "post": gated(302, OPERATORS)},
    # Requests for access: members who see a container ask; its team's admins decide.
    "container-request": {"get": refused(302),
                          "post": gated(302, MEMBERS, body={"actions": ["terminal"],
                                                            "duration": 3600, "reason": "r"})},
    "request-list": {"get": everyone(200)},
    # Schedules: members see them; the team's developers make and change them.
    "schedule-list": {"get": everyone(200)},
    "schedule-change": {"get": refused(302), "post": gated(302, DEVELOPERS)},
    "container-schedule": {"get": refused(302),
                           "post": gated(302, DEVELOPERS, body={"action": "restart",
                                                                "cron": "0 3 * * *"})},
    "request-decide": {"get": refused(302), "post": gated(302, ADMINS, refused=404)},
    # Giving a container to a team is for superusers; others are told so on the page.
    "container-assign": {"get": refused(302),
                         "post": gated(302, SUPERUSER, refused=302, body={"team": "alpha"})},
    "stack-list": {"get": everyone(200)},
    "stack-new": {"get": exactly(anonymous=302, stranger=200, viewer=403, operator=403,
                                 developer=200, team_admin=200, superuser=200),
                  "post": exactly(["developer", "team_admin", "superuser"], body=STACK_PAGE,
                                  **CREATORS)},
    "stack-detail": {"get": gated(200, MEMBERS)},
    "stack-edit": {"get": gated(200, DEVELOPERS, changes=False),
                   "post": gated(302, DEVELOPERS, body={"compose": STACK_FILE + "\n",
                                                        "step": "deploy"})},
    "stack-history": {"get": gated(200, MEMBERS)},
    "stack-version-deploy": {"get": refused(302), "post": gated(302, DEVELOPERS)},
    "stack-remove": {"get": refused(302), "post": gated(302, DEVELOPERS)},
    "stack-assign": {"get": refused(302),
                     "post": gated(302, SUPERUSER, refused=302, body={"team": "alpha"})},
    "stack-action": {"get": refused(302), "post": gated(302, OPERATORS)},
    "stack-grant": {"get": refused(302),
                    "post": gated(302, ADMINS, body={"user": "stranger", "actions": ["start"]})},
    "stack-grant-revoke": {"get": refused(302), "post": gated(302, ADMINS)},
    "stack-schedule": {"get": refused(302),
                       "post": gated(302, DEVELOPERS, body={"cron": "0 3 * * *"})},
    "volume-list": {"get": everyone(200),
                    "post": exactly(["developer", "team_admin", "superuser"], body=VOLUME,
                                    **CREATORS)},
    "volume-remove": {"get": refused(302), "post": gated(302, DEVELOPERS)},
    "volume-assign": {"get": refused(302),
                      "post": gated(302, SUPERUSER, refused=302, body={"team": "alpha"})},
    "image-list": {"get": everyone(200)},
    "image-pull": {"get": PULL_OR_BUILD_PAGE,
                   "post": exactly(["developer", "team_admin", "superuser"], body=PULL,
                                   anonymous=302, stranger=400, viewer=403, operator=403,
                                   developer=302, team_admin=302, superuser=302)},
    "image-build": {"get": PULL_OR_BUILD_PAGE,
                    "post": exactly(["developer", "team_admin", "superuser"], body=BUILD,
                                    anonymous=302, stranger=400, viewer=403, operator=403,
                                    developer=302, team_admin=302, superuser=302)},
    "job-list": {"get": everyone(200)},
    "job-detail": {"get": gated(200, MEMBERS)},
    "commit-history": {"get": everyone(200)},
    "commit-detail": {"get": gated(200, MEMBERS)},
    "commit-tag": {"get": refused(302),
                   "post": gated(302, DEVELOPERS, body={"repository": "alphatool",
                                                        "tag": "stable"})},
    "team-list": {"get": everyone(200)},
    "team-create": {"get": refused(302),
                    "post": gated(302, SUPERUSER, stranger=403, body={"name": "gamma"})},
    "team-detail": {"get": gated(200, MEMBERS)},
    "team-member-add": {"get": refused(302),
                        "post": gated(302, ADMINS, body={"user": "stranger", "role": "viewer"})},
    "team-member-invite": {"get": refused(302), "post": gated(302, SUPERUSER, body=NEW_USER)},
    "team-member-role": {"get": refused(302),
                         "post": gated(302, ADMINS, body={"role": "operator"})},
    "team-member-remove": {"get": refused(302), "post": gated(302, ADMINS)},
    "team-host-grant": {"get": refused(302), "post": gated(302, SUPERUSER, body={"host": "<h2>"})},
    "team-host-revoke": {"get": refused(302), "post": gated(302, SUPERUSER)},
    "team-settings": {"get": refused(302),
                      "post": gated(302, ADMINS, body={"description": "d",
                                                       "terminal_user": "app"})},
    # Quotas: team admins see them and the usage; superusers set them.
    "team-usage": {"get": gated(200, ADMINS)},
    "team-quota-set": {"get": refused(302),
                       "post": gated(302, SUPERUSER, body={"host": "<h1>", "pids": "50"})},
    "team-quota-remove": {"get": refused(302), "post": gated(302, SUPERUSER)},
    "audit-list": {"get": everyone(200)},
    "audit-detail": {"get": gated(200, MEMBERS)},
    "audit-export": {"get": everyone(200)},
    "token-list": {"get": everyone(200), "post": everyone(200, changes=True, body={"name": "t"})},
    "token-revoke": {"get": refused(302),
                     "post": exactly(["operator"], anonymous=302, stranger=404, viewer=404,
                                     operator=302, developer=404, team_admin=404,
                                     superuser=403)},
    "api-docs": {"get": everyone(200)},
    # Second factors: one's own (nobody here has one: nothing to verify, remove or renew).
    "two-factor": {"get": everyone(200)},
    "two-factor-enrol": {"get": everyone(200),
                         "post": everyone(400, body={"code": "abcdef"})},
    "two-factor-qr": {"get": everyone(200)},
    "two-factor-verify": {"get": everyone(302), "post": everyone(302, body={"code": "123456"})},
    "two-factor-recovery-codes": {"get": refused(302), "post": everyone(302)},
    "two-factor-remove": {"get": refused(302), "post": everyone(302)},
    # Who logs in how: superusers; a team's requirement: its admins.
    "login-settings": {"get": gated(200, SUPERUSER, stranger=403, changes=False),
                       "post": gated(302, SUPERUSER, stranger=403,
                                     body={"local_accounts": ""})},
    "login-settings-reset-two-factor": {"get": refused(302),
                                        "post": gated(302, SUPERUSER, stranger=403,
                                                      body={"user": "operator"})},
    "team-two-factor": {"get": refused(302), "post": gated(302, ADMINS,
                                                           body={"required": "on"})},
    # Single sign-on: not configured here, so not there; the mapping table: superusers edit
    # it, a team's admins see their team's rows.
    "oidc_authentication_init": {"get": exactly(**{p: 404 for p in PERSONAS})},
    "oidc_authentication_callback": {"get": exactly(**{p: 404 for p in PERSONAS},
                                                    query="code=c&state=s")},
    "sso-mappings": {"get": everyone(200),
                     "post": gated(302, SUPERUSER, stranger=403, body=MAPPING)},
    "sso-mapping-delete": {"get": refused(302),
                           "post": exactly(["superuser"], anonymous=302, stranger=404,
                                           viewer=404, operator=404, developer=404,
                                           team_admin=403, superuser=302)},
    # A recording holds what was typed and shown: its own user and the team's admins see it.
    "terminal-replay": {"get": exactly(anonymous=302, stranger=404, viewer=404, operator=200,
                                       developer=404, team_admin=200, superuser=200)},
    "terminal-recording": {"get": exactly(anonymous=302, stranger=404, viewer=404,
                                          operator=200, developer=404, team_admin=200,
                                          superuser=200)},
    # -- API --
    "api:token": {"get": exactly(**{p: 405 for p in PERSONAS}),
                  "post": exactly(PERSONAS, body={"username": "viewer", "password": PASSWORD},
                                  **{p: 201 for p in PERSONAS})},
    "api:schema": {"get": exactly(**{p: 200 for p in PERSONAS})},
    "api:api-root": {"get": everyone(200, anon=API_ANON)},
    "api:container-list": {
        "get": everyone(200, anon=API_ANON),
        "post": exactly(["developer", "team_admin", "superuser"], body=RUN_API, anonymous=401,
                        stranger=400, viewer=403, operator=403, developer=202, team_admin=202,
                        superuser=202)},
    "api:container-detail": {"get": gated(200, MEMBERS, anon=API_ANON),
                             "delete": gated(202, DEVELOPERS, anon=API_ANON)},
    "api:container-commit": {"post": gated(202, DEVELOPERS, anon=API_ANON, body={})},
    "api:container-inspect": {"get": gated(200, MEMBERS, anon=API_ANON)},
    "api:container-team": {"post": gated(200, SUPERUSER, anon=API_ANON, body={"team": "alpha"})},
    # Allowed, the log is asked of the host's stream bridge; none runs here, so 504.
    "api:container-logs": {"get": gated(504, MEMBERS, anon=API_ANON, patches={
        "console.streams.views.FIRST_ANSWER_TIMEOUT": 0.05})},
    "api:container-kill": {"post": gated(202, OPERATORS, anon=API_ANON, body={})},
    "api:container-restart": {"post": gated(202, OPERATORS, anon=API_ANON, body={})},
    "api:container-start": {"post": gated(409, OPERATORS, anon=API_ANON, body={},
                                          changes=False)},
    "api:container-stop": {"post": gated(202, OPERATORS, anon=API_ANON, body={})},
    "api:image-list": {"get": everyone(200, anon=API_ANON)},
    "api:image-detail": {"get": gated(200, MEMBERS, anon=API_ANON)},
    "api:image-tag": {"post": gated(202, DEVELOPERS, anon=API_ANON,
                                    body={"repository": "alphatool", "tag": "stable"})},
    "api:image-pull": {"post": exactly(["developer", "team_admin", "superuser"], body=PULL,
                                       anonymous=401, stranger=400, viewer=403, operator=403,
                                       developer=202, team_admin=202, superuser=202)},
    "api:image-build": {"post": exactly(["developer", "team_admin", "superuser"],
                                        body=dict(BUILD, tags=["alpha/matrix:1"]),
                                        anonymous=401, stranger=400, viewer=403, operator=403,
                                        developer=202, team_admin=202, superuser=202)},
    "api:host-list": {"get": everyone(200, anon=API_ANON)},
    "api:host-detail": {"get": gated(200, MEMBERS, anon=API_ANON),
                        # h1 is online: removing it is refused (tests/console/hosts/).
                        "delete": gated(409, SUPERUSER, anon=API_ANON, changes=False,
                                        query="confirm=h1")},
    "api:host-cordon": {"post": gated(200, SUPERUSER, anon=API_ANON, body={})},
    "api:host-uncordon": {"post": gated(200, SUPERUSER, anon=API_ANON, body={})},
    "api:host-drain": {"post": gated(200, SUPERUSER, anon=API_ANON, body={})},
    "api:host-sync": {"post": gated(202, SUPERUSER, anon=API_ANON)},
    "api:host-accept-root": {"post": gated(200, SUPERUSER, anon=API_ANON)},
    "api:job-list": {"get": everyone(200, anon=API_ANON)},
    "api:job-detail": {"get": gated(200, MEMBERS, anon=API_ANON)},
    "api:team-list": {"get": everyone(200, anon=API_ANON),
                      "post": gated(201, SUPERUSER, anon=API_ANON, stranger=403,
                                    body={"name": "gamma"})},
    "api:team-detail": {"get": gated(200, MEMBERS, anon=API_ANON),
                        "patch": gated(200, ADMINS, anon=API_ANON,
                                       body={"terminal_user": "app"}),
                        "put": refused(API_ANON)},
    "api:team-hosts": {"post": gated(201, SUPERUSER, anon=API_ANON, body={"host": "h2"})},
    "api:team-members": {"get": gated(200, MEMBERS, anon=API_ANON),
                         "post": gated(201, ADMINS, anon=API_ANON,
                                       body={"user": "stranger", "role": "viewer"})},
    "api:team-remove-member": {"delete": gated(204, ADMINS, anon=API_ANON)},
    "api:team-revoke-host": {"delete": gated(204, SUPERUSER, anon=API_ANON)},
    "api:user-list": {"get": everyone(200, anon=API_ANON),
                      "post": gated(201, SUPERUSER, anon=API_ANON, stranger=403,
                                    body={"username": "newbie",
                                          "password": "a long enough password 7"})},
    "api:user-detail": {"get": gated(200, MEMBERS, anon=API_ANON)},
    "api:grant-list": {"get": everyone(200, anon=API_ANON),
                       "post": gated(201, ADMINS, anon=API_ANON,
                                     body={"user": "stranger", "container": "<web>",
                                           "actions": ["start"]})},
    "api:grant-detail": {"get": gated(200, ADMINS, anon=API_ANON, refused=404),
                         "delete": gated(204, ADMINS, anon=API_ANON, refused=404)},
    "api:token-list": {"get": everyone(200, anon=API_ANON),
                       "post": everyone(201, anon=API_ANON, changes=True, body={"name": "t"})},
    "api:token-detail": {"get": refused(API_ANON),
                         "delete": exactly(["operator", "superuser"], anonymous=401,
                                           stranger=404, viewer=404, operator=204,
                                           developer=404, team_admin=404, superuser=204)},
    "api:audit-list": {"get": everyone(200, anon=API_ANON)},
    "api:audit-export": {"get": everyone(200, anon=API_ANON)},
    "api:audit-detail": {"get": gated(200, MEMBERS, anon=API_ANON),
                         "put": refused(API_ANON), "patch": refused(API_ANON),
                         "delete": refused(API_ANON)},
    "api:stack-list": {"get": everyone(200, anon=API_ANON),
                       "post": exactly(["developer", "team_admin", "superuser"], body=STACK_API,
                                       **API_CREATORS)},
    "api:stack-check": {"post": exactly(body=STACK_API, anonymous=401, stranger=200,
                                        viewer=403, operator=403, developer=200,
                                        team_admin=200, superuser=200)},
    "api:stack-detail": {"get": gated(200, MEMBERS, anon=API_ANON),
                         "patch": gated(202, DEVELOPERS, anon=API_ANON,
                                        body={"compose": STACK_FILE + "\n"}),
                         "delete": gated(202, DEVELOPERS, anon=API_ANON)},
    "api:stack-start": {"post": gated(202, OPERATORS, anon=API_ANON)},
    "api:stack-stop": {"post": gated(202, OPERATORS, anon=API_ANON)},
    "api:stack-restart": {"post": gated(202, OPERATORS, anon=API_ANON)},
    "api:stack-down": {"post": gated(202, DEVELOPERS, anon=API_ANON)},
    "api:stack-versions": {"get": gated(200, MEMBERS, anon=API_ANON)},
    "api:stack-version-deploy": {"post": gated(202, DEVELOPERS, anon=API_ANON, body={})},
    # Grants on a stack: its team's members list what they may see (the admins all, others
    # their own); its admins grant and revoke; a grant others may not see is a 404.
    "api:stack-grant-list": {"get": gated(200, MEMBERS, anon=API_ANON),
                             "post": gated(201, ADMINS, anon=API_ANON,
                                           body={"user": "stranger", "actions": ["start"]})},
    "api:stack-grant-detail": {"get": gated(200, ADMINS, anon=API_ANON, refused=404),
                               "delete": gated(204, ADMINS, anon=API_ANON, refused=404)},
    "api:stack-team": {"post": gated(200, SUPERUSER, anon=API_ANON, body={"team": "alpha"})},
    "api:volume-list": {"get": everyone(200, anon=API_ANON),
                        "post": exactly(["developer", "team_admin", "superuser"], body=VOLUME,
                                        **dict(API_CREATORS, developer=202))},
    "api:volume-detail": {"get": gated(200, MEMBERS, anon=API_ANON),
                          "delete": gated(202, DEVELOPERS, anon=API_ANON)},
    "api:volume-team": {"post": gated(200, SUPERUSER, anon=API_ANON, body={"team": "alpha"})},
    "api:schedule-list": {
        "get": everyone(200, anon=API_ANON),
        "post": gated(201, DEVELOPERS, anon=API_ANON, body={
            "container": "<web>", "action": "restart", "cron": "0 3 * * *"})},
    "api:schedule-detail": {"get": gated(200, MEMBERS, anon=API_ANON),
                            "delete": gated(204, DEVELOPERS, anon=API_ANON)},
    "api:schedule-pause": {"post": gated(200, DEVELOPERS, anon=API_ANON)},
    "api:schedule-resume": {"post": gated(200, DEVELOPERS, anon=API_ANON)},
    "api:access-request-list": {
        "get": everyone(200, anon=API_ANON),
        "post": gated(201, MEMBERS, anon=API_ANON, body={
            "container": "<web>", "actions": ["terminal"], "duration": 3600, "reason": "r"})},
    "api:access-request-detail": {"get": gated(200, ADMINS, anon=API_ANON, refused=404)},
    "api:access-request-approve": {"post": gated(200, ADMINS, anon=API_ANON, refused=404,
                                                 body={})},
    "api:access-request-refuse": {"post": gated(200, ADMINS, anon=API_ANON, refused=404,
                                                body={"note": "no"})},
    "api:quota-list": {"get": everyone(200, anon=API_ANON),
                       "post": gated(201, SUPERUSER, anon=API_ANON, stranger=403,
                                     body={"team": "alpha", "host": "h1", "pids": 50})},
    "api:quota-detail": {
        "get": gated(200, ADMINS, anon=API_ANON, refused=404),
        "patch": exactly(["superuser"], body={"pids": 50}, anonymous=401, stranger=404,
                         viewer=404, operator=404, developer=404, team_admin=403, superuser=200),
        "delete": exactly(["superuser"], anonymous=401, stranger=404, viewer=404, operator=404,
                          developer=404, team_admin=403, superuser=204),
        "put": refused(API_ANON)},
    "api:sso-mapping-list": {"get": everyone(200, anon=API_ANON),
                             "post": gated(201, SUPERUSER, anon=API_ANON, stranger=403,
                                           body=MAPPING)},
    "api:sso-mapping-detail": {"get": gated(200, ADMINS, anon=API_ANON, refused=404),
                               "delete": exactly(["superuser"], anonymous=401, stranger=404,
                                                 viewer=404, operator=404, developer=404,
                                                 team_admin=403, superuser=204)},
    "api:commit-list": {"get": everyone(200, anon=API_ANON)},
    "api:commit-detail": {"get": gated(200, MEMBERS, anon=API_ANON)},
    "api:commit-tag": {"post": gated(202, DEVELOPERS, anon=API_ANON,
                                     body={"repository": "alphatool", "tag": "stable"})},
    "api:host-revoke-key": {"post": gated(200, SUPERUSER, anon=API_ANON)},
    "api:host-join-token": {"get": gated(200, SUPERUSER, anon=API_ANON, stranger=403,
                                         changes=False),
                            "post": gated(201, SUPERUSER, anon=API_ANON, stranger=403,
                                          body={"name": "newhost", "teams": ["alpha"]})},
    "api:host-join-token-detail": {"delete": gated(204, SUPERUSER, anon=API_ANON,
                                                   stranger=403)},
    # -- the host API: a host's key opens it, no user's session or token (its own tests are
    # tests/console/hostapi/); a join token is checked before anything else.
    "api:agent-join": {"get": exactly(**{p: 405 for p in PERSONAS}),
                       "post": exactly(**{p: 403 for p in PERSONAS},
                                       body={"token": "mjt_no-such-token"})},
    **{f"api:agent-{name}": {method: exactly(**{p: 401 for p in PERSONAS}, body={})
                             for method in methods}
       for name, methods in (("hello", ["post"]), ("heartbeat", ["post"]), ("key", ["get"]),
                             ("leave", ["post"]), ("job-claim", ["post"]),
                             ("job-output", ["post"]), ("job-finish", ["post"]),
                             ("job-context", ["get"]), ("job-images", ["post"]),
                             ("sync", ["post"]), ("sync-inspected", ["post"]),
                             ("group-readings", ["post"]),
                             ("no-such-route", METHODS))},
}

# The admin site is for superusers: everyone else is sent to its login page. What a superuser
# may do there (each change audited) is tested in teams/test_admin.py; here, only that the
# audit log in it stays read-only even for them.
NOT_SUPERUSERS = ROLES + ("stranger",)
SUPERUSER_ANSWERS = (200, 302, 403, 404, 405)


def admin_cases(key: str) -> dict:
    if key == "admin:login":
        # Logging in is the console's login page's (limited, audited, second factor).
        return {"get": exactly(anonymous=302, **{p: 200 for p in NOT_SUPERUSERS},
                               superuser=302),
                "post": exactly(anonymous=302, **{p: 200 for p in NOT_SUPERUSERS},
                                superuser=(200, 302))}
    if key == "admin:logout":
        return {"get": exactly(anonymous=302, **{p: 302 for p in NOT_SUPERUSERS},
                               superuser=405),
                "post": everyone(302, anon=302)}
    if "auditentry" in key:
        read_only = exactly(anonymous=302, **{p: 302 for p in NOT_SUPERUSERS},
                            superuser=SUPERUSER_ANSWERS)
        read_only.audit_frozen = True
        return {"get": read_only, "post": read_only}
    return {"get": exactly(anonymous=302, **{p: 302 for p in NOT_SUPERUSERS},
                           superuser=SUPERUSER_ANSWERS),
            "post": exactly(["superuser"], anonymous=302, **{p: 302 for p in NOT_SUPERUSERS},
                            superuser=SUPERUSER_ANSWERS)}


WEBSOCKETS = {
    "ws-events": {"anonymous": False, **{p: True for p in SIGNED_IN}},
    "ws-terminal": {p: p in OPERATORS for p in PERSONAS},
    "ws-logs": {p: p in MEMBERS for p in PERSONAS},
    # A host's key only (tests/console/streams/test_agent_socket.py).
    "ws-agent": {p: False for p in PERSONAS},
}


# -- finding the routes -----------------------------------------------------------------------

@dataclass
class Route:
    key: str            # the route's name, or its pattern when it has none
    name: str
    pattern: str
    parameters: list


def walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else (entry.name or "")
            pattern = prefix + str(entry.pattern)
            parameters = re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", pattern)
            yield Route(name or pattern, name, pattern, [a or b for a, b in parameters])


ALL_ROUTES = list(walk(get_resolver().url_patterns))


def cases_of(route: Route) -> dict:
    if route.key in ROUTES:
        return ROUTES[route.key]
    if route.pattern.startswith("admin/"):
        return admin_cases(route.key if route.name else route.pattern)
    return {}


def websocket_router():
    from console.asgi import application

    app = application.application_mapping["websocket"]
    while not isinstance(app, URLRouter):
        app = app.inner
    return app


def websocket_routes():
    return [(route.name, str(route.pattern)) for route in websocket_router().routes]


def test_every_route_has_an_entry():
    missing = [route.pattern for route in ALL_ROUTES if not cases_of(route)]
    assert not missing, f"routes with no entry in the permission matrix: {missing}"
    unknown = sorted(set(ROUTES) - {route.key for route in ALL_ROUTES})
    assert not unknown, f"matrix entries for routes that do not exist: {unknown}"
    sockets = [name or pattern for name, pattern in websocket_routes()
               if (name or pattern) not in WEBSOCKETS]
    assert not sockets, f"websocket routes with no entry in the matrix: {sockets}"


# -- running the matrix ------------------------------------------------------------------------

def url_of(route: Route, objects) -> str:
    values = {}
    for parameter in route.parameters:
        getter = ROUTE_PARAMETERS.get(route.name, {}).get(parameter) or PARAMETERS.get(parameter)
        if getter is None:
            raise LookupError(f"no value for <{parameter}> in {route.pattern}")
        values[parameter] = str(getter(objects))
    if route.name:
        return reverse(route.name, kwargs=values)
    # Unnamed routes (the admin's redirects): fill the pattern by hand.
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values[m.group(1)], route.pattern)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], path)
    return "/" + path.replace("^", "").replace("$", "")


def fill(body, objects):
    if body is None:
        return {}
    marks = {"<web>": objects.web.engine_id, "<h1>": str(objects.host.pk),
             "<h2>": str(objects.other_host.pk)}

    def swap(value):
        if isinstance(value, list):
            return [swap(item) for item in value]
        return marks.get(value, value) if isinstance(value, str) else value
    return {key: swap(value) for key, value in body.items()}


def client_for_persona(world, persona, *, csrf=False):
    client = Client(enforce_csrf_checks=csrf)
    user = world.user(persona)
    if user is not None:
        assert client.login(username=user.username, password=PASSWORD)
    return client


def send(client, method, url, body, *, api):
    if method == "get":
        return client.get(url)
    if api:
        return getattr(client, method)(url, body, content_type="application/json")
    if method == "post":
        return client.post(url, body)
    return getattr(client, method)(url)


def matches(expected, status) -> bool:
    return status in expected if isinstance(expected, tuple) else status == expected


MATRIX = [(route, method) for route in ALL_ROUTES for method in cases_of(route)]


@pytest.mark.parametrize("route,method", MATRIX,
                         ids=[f"{method.upper()} {route.pattern}" for route, method in MATRIX])
def test_route_by_persona(db, route, method, sent, monkeypatch):
    case = cases_of(route)[method]
    for name, value in case.patches.items():
        monkeypatch.setattr(name, value)
    world = build_world()
    objects = add_objects(world)
    url = url_of(route, objects) + (f"?{case.query}" if case.query else "")
    api = route.pattern.startswith("api/")
    problems = []
    for persona in PERSONAS:
        with transaction.atomic():
            client = client_for_persona(world, persona)
            before, sent_before = fingerprint(), len(sent)
            entries = audit_rows()
            response = send(client, method, url, fill(case.body, objects), api=api)
            if getattr(response, "streaming", False):
                b"".join(response.streaming_content)
            after = fingerprint()
            expected = case.statuses[persona]
            if not matches(expected, response.status_code):
                problems.append(f"{persona}: {response.status_code}, expected {expected}")
            if persona not in case.changes:
                if changed_tables(before, after):
                    problems.append(f"{persona}: changed {changed_tables(before, after)}")
                if len(sent) != sent_before:
                    problems.append(f"{persona}: a job was sent")
            if case.audit_frozen and audit_rows() != entries:
                problems.append(f"{persona}: changed the audit log")
            transaction.set_rollback(True)
    assert not problems, f"{method.upper()} {url}:\n  " + "\n  ".join(problems)


UNLISTED = [(route, method) for route in ALL_ROUTES if not route.pattern.startswith("admin/")
            for method in METHODS if method not in cases_of(route)]


@pytest.mark.parametrize("route,method", UNLISTED,
                         ids=[f"{method.upper()} {route.pattern}" for route, method in UNLISTED])
def test_methods_outside_the_matrix_change_nothing(db, route, method, sent):
    """A method the matrix does not try is refused (405) or changes nothing, even for a
    superuser: no route takes a state-changing request the matrix does not know about."""
    world = build_world()
    objects = add_objects(world)
    client = client_for_persona(world, "superuser")
    url = url_of(route, objects)
    before = fingerprint()
    response = send(client, method, url, {}, api=route.pattern.startswith("api/"))
    assert response.status_code < 500, (method, url, response.status_code)
    assert changed_tables(before, fingerprint()) == [] and sent == [], (method, url)


def audit_rows():
    from console.audit.models import AuditEntry

    return list(AuditEntry.objects.order_by("pk").values_list())


# -- CSRF ---------------------------------------------------------------------------------------

# Routes a browser session may call without a CSRF token: none that use the session. The token
# endpoint reads no cookie (a password is its authority), nor does the host API (a host's key),
# and the read-only methods are safe.
CSRF_EXEMPT = {"api:token"} | {key for key in ROUTES if key.startswith("api:agent-")}


@pytest.mark.parametrize("route,method", [(r, m) for r, m in MATRIX if m != "get"],
                         ids=[f"{m.upper()} {r.pattern}" for r, m in MATRIX if m != "get"])
def test_state_changes_need_the_csrf_token(db, route, method, sent):
    if route.key in CSRF_EXEMPT:
        return
    case = cases_of(route)[method]
    world = build_world()
    objects = add_objects(world)
    url = url_of(route, objects)
    for persona in ("superuser", "team_admin"):
        client = client_for_persona(world, persona, csrf=True)
        before = fingerprint()
        response = send(client, method, url, fill(case.body, objects),
                        api=route.pattern.startswith("api/"))
        assert response.status_code in (403, 405), (persona, method, url, response.status_code)
        assert changed_tables(before, fingerprint()) == [] and sent == []


# -- websockets ---------------------------------------------------------------------------------

def websocket_path(pattern: str, objects) -> str:
    values = {"ref": objects.web.engine_id, "id": objects.web.engine_id,
              "container_id": objects.web.engine_id}
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], pattern)
    return "/" + path.lstrip("^").rstrip("$")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name,pattern", websocket_routes())
async def test_websocket_route_by_persona(name, pattern):
    from console.asgi import application
    from tests.console.streams_fixtures import session_cookie

    @database_sync_to_async
    def setup():
        world = build_world()
        return world, add_objects(world)

    world, objects = await setup()
    expected = WEBSOCKETS[name or pattern]
    problems = []
    for persona in PERSONAS:
        headers = [(b"origin", b"http://localhost")]
        user = world.user(persona)
        if user is not None:
            headers.append((b"cookie", f"sessionid={await session_cookie(user)}".encode()))
        before = await database_sync_to_async(fingerprint)()
        communicator = WebsocketCommunicator(application, websocket_path(pattern, objects),
                                             headers=headers)
        connected, _ = await communicator.connect(timeout=3)
        if connected != expected[persona]:
            problems.append(f"{persona}: connected={connected}, expected {expected[persona]}")
        await communicator.disconnect()
        if not expected[persona] and changed_tables(
                before, await database_sync_to_async(fingerprint)()):
            problems.append(f"{persona}: refused, but changed state")
    assert not problems, f"{pattern}:\n  " + "\n  ".join(problems)
