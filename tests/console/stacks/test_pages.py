"""The stack pages: the list, the editor, the review (the file's diff and the host's plan,
nothing changed until Deploy), a stack's page (services, containers, health, ports, the
merged log's sources, the removal that names the volumes), the history with rollback, and
what each persona is shown."""
import json
import re

import pytest

from console.core.testing import make_container
from console.jobs.models import Job
from console.stacks.models import Stack
from console.volumes.models import Volume
from tests.console.stacks.helpers import ENV, FILE, make_stack, nothing_made

NEW = {"name": "shop", "host": "h1", "team": "alpha", "compose": FILE, "env": ENV,
       "message": "first"}


def test_the_editor_for_a_new_stack(world, client_for):
    html = client_for("developer").get("/stacks/new/").content.decode()
    assert 'id="id_compose"' in html and 'id="editor-problems"' in html
    assert "js/stack_editor.js" in html
    assert client_for("viewer").get("/stacks/new/").status_code == 403


def test_the_review_shows_the_diff_and_waits_for_the_plan(world, client_for, settings):
    settings.STACK_PLAN_WAIT_SECONDS = 0.01
    response = client_for("developer").post("/stacks/new/", NEW)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<span class="d-added">+    image: busybox</span>' in html
    assert 'id="plan-pending"' in html and 'id="deploy-button"' in html
    assert not Stack.objects.exists()
    assert Job.objects.get().kind == "stack.plan"
    # The review carries the file to deploy exactly as it was typed.
    assert "\n" + FILE.replace('"', "&quot;") + "</textarea>" in html


def test_the_review_shows_the_plan_in_words(world, client_for, monkeypatch):
    plan = {"services": [{"service": "db", "action": "keep", "reasons": []},
                         {"service": "web", "action": "recreate",
                          "reasons": ["configuration changed: environment"]}],
            "orphans": [{"service": "old", "name": "shop-old-1", "action": "remove"}],
            "networks": [], "volumes": ["shop_data"], "pull": [], "build": []}

    def planned(job, timeout):
        Job.objects.filter(pk=job.pk).update(state="succeeded", result={"plan": plan})
        job.refresh_from_db()
        return job
    monkeypatch.setattr("console.stacks.views.wait", planned)
    stack = make_stack(world)
    response = client_for("developer").post(f"/stacks/{stack.pk}/edit/", {
        "compose": FILE.replace("sleep 600", "sleep 700"), "env": ENV})
    html = response.content.decode()
    rows = re.findall(r'<tr data-service="(\w+)"><td>\w+</td><td><span class="badge plan-\w+ '
                      r'plan-action">([^<]+)</span></td><td>([^<]*)</td>', html)
    assert rows == [("db", "left alone", ""),
                    ("web", "recreated", "configuration changed: environment"),
                    ("old", "removed", "the file no longer has it")]
    assert "volume shop_data: created" in html
    assert '<span class="d-removed">-    command: sleep 600</span>' in html
    assert stack.versions.count() == 1


def test_deploy_from_the_review_makes_the_stack(world, client_for):
    response = client_for("developer").post("/stacks/new/", {
        **NEW, "compose": FILE.replace("\n", "\r\n"), "step": "deploy"})
    stack = Stack.objects.get()
    assert response.status_code == 302 and response.url == f"/stacks/{stack.pk}/"
    assert stack.versions.get().compose == FILE
    assert Job.objects.get().kind == "stack.deploy"


def test_back_to_the_editor_keeps_what_was_typed(world, client_for):
    response = client_for("developer").post("/stacks/new/", {**NEW, "step": "edit"})
    assert response.status_code == 200 and "sleep 600" in response.content.decode()
    assert nothing_made()


def test_refusals_on_the_editor(world, client_for):
    text = FILE.replace("command: sleep 600", "command: sleep 600\n    privileged: true")
    response = client_for("developer").post("/stacks/new/", {**NEW, "compose": text,
                                                             "step": "deploy"})
    assert response.status_code == 403
    assert "services.db.privileged: only a superuser may set this" in response.content.decode()
    assert nothing_made()
    response = client_for("operator").post("/stacks/new/", {**NEW, "step": "deploy"})
    assert response.status_code == 403 and nothing_made()


def test_a_form_too_large_is_said(world, client_for, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client_for("developer").post("/stacks/new/", {**NEW, "compose": "#" * 5000})
    assert response.status_code == 413
    assert "a stack&#x27;s file may be at most" in response.content.decode()
    assert nothing_made()


def test_a_stacks_page(world, client_for):
    stack = make_stack(world)
    web = make_container(world.hosts["h1"], world.teams["alpha"], "shop-web-1",
                         inspect_data={"State": {"Health": {"Status": "unhealthy"}},
                                       "NetworkSettings": {"Ports": {"80/tcp": [
                                           {"HostIp": "0.0.0.0", "HostPort": "8080"}]}}})
    stack.containers = [{"id": web.engine_id, "service": "web"}]
    stack.save()
    Volume.objects.create(host=world.hosts["h1"], name="shop_data", project="shop",
                          team=world.teams["alpha"])
    html = client_for("viewer").get(f"/stacks/{stack.pk}/").content.decode()
    assert f'<tr data-container="{web.engine_id}" data-service="web">' in html
    assert 'class="badge st-unhealthy health">unhealthy' in html
    assert 'href="http://testserver:8080/" class="port-link"' in html
    assert '<tr data-service="db"><td>db</td><td class="muted">no container</td>' in html
    sources = json.loads(re.search(r'<script id="log-sources" type="application/json">(.*?)'
                                   r'</script>', html).group(1))
    assert sources == [{"id": web.engine_id, "name": "shop-web-1", "service": "web"}]
    assert 'id="edit-button"' not in html and 'id="remove-form"' not in html
    html = client_for("developer").get(f"/stacks/{stack.pk}/").content.decode()
    assert 'id="edit-button"' in html and 'id="remove-with-volumes"' in html
    assert '<span class="mono volume-name">shop_data</span>' in html
    assert client_for("stranger").get(f"/stacks/{stack.pk}/").status_code == 404
    listing = client_for("viewer").get("/stacks/").content.decode()
    assert 'class="stack-name">shop</a>' in listing and "unhealthy" in listing


def test_the_history_escapes_and_offers_rollback(world, client_for):
    stack = make_stack(world, text=FILE + "# <script>alert(1)</script>\n")
    stack.versions.create(number=2, compose=FILE, env=ENV, author_name="team_admin",
                          message="<b>cleaner</b>")
    html = client_for("developer").get(f"/stacks/{stack.pk}/history/").content.decode()
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;cleaner&lt;/b&gt;" in html
    assert html.count("Redeploy this version") == 1      # not the current one
    response = client_for("developer").post(f"/stacks/{stack.pk}/versions/1/deploy/",
                                            {"message": "back"})
    assert response.status_code == 302
    assert stack.versions.get(number=3).redeploy_of == 1
    viewer = client_for("viewer").get(f"/stacks/{stack.pk}/history/").content.decode()
    assert "Redeploy this version" not in viewer


@pytest.mark.parametrize("verb", ["start", "stop", "restart", "down"])
def test_buttons_make_jobs(world, client_for, verb):
    stack = make_stack(world)
    response = client_for("developer").post(f"/stacks/{stack.pk}/{verb}/")
    assert response.status_code == 302
    assert Job.objects.get().kind == f"stack.{verb}"


def test_remove_with_volumes_from_the_page(world, client_for):
    stack = make_stack(world)
    response = client_for("developer").post(f"/stacks/{stack.pk}/remove/", {"volumes": "1"})
    assert response.status_code == 302 and response.url == "/stacks/"
    assert Job.objects.get().params["volumes"] is True
