"""The commit dialog, the history pages (per team, host, author and image lineage), one commit
with its files, tagging from it, and the lineage picture."""
import re
from html import unescape

import pytest

from console.core.testing import make_commit
from console.images.models import Image
from console.jobs.models import Job
from tests.console.pages import field_errors


def log(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-commit="(\d+)"', html)]


# -- the dialog --------------------------------------------------------------------------------

def test_the_container_page_offers_the_dialog_to_those_who_may_commit(world, client_for):
    web = world.containers["web"]
    for persona, offered in (("operator", False), ("developer", True), ("team_admin", True)):
        html = client_for(persona).get(f"/containers/{web.engine_id}/").content.decode()
        assert ('id="commit-dialog"' in html) == offered
        assert ('id="commit-button"' in html) == offered
    assert client_for("developer").get(f"/containers/{web.engine_id}/commit/").status_code == 200


def test_committing_from_the_dialog_makes_a_job_with_the_changes(world, client_for, sent,
                                                                 django_capture_on_commit_callbacks):
    web = world.containers["web"]
    world.user("developer").first_name = "Dee"
    world.user("developer").save()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for("developer").post(f"/containers/{web.engine_id}/commit/", {
            "repository": "alpha/app", "tag": "v2", "message": "serve it\n\nwith nginx",
            "cmd": '["nginx", "-g", "daemon off;"]', "entrypoint": "/docker-entrypoint.sh",
            "workdir": "/srv", "user": "app", "env": "MODE=prod\nGREETING=hello world",
            "expose": "80 53/udp", "label": "team=alpha\nowner=dee", "author": "forged",
            "pause": "on"})
    assert response.status_code == 302 and response.url == f"/containers/{web.engine_id}/"
    job = Job.objects.get(kind="commit")
    assert job.requested_by == world.user("developer")
    assert job.params["author"] == "Dee <developer@example.test>"
    assert job.params["changes"] == [
        "ENTRYPOINT /docker-entrypoint.sh", 'CMD ["nginx", "-g", "daemon off;"]',
        "WORKDIR /srv", "USER app", "ENV MODE=prod GREETING='hello world'", "EXPOSE 80 53/udp",
        "LABEL team=alpha owner=dee"]
    assert (job.params["repository"], job.params["tag"], job.params["pause"]) == (
        "alpha/app", "v2", True)
    assert sent == [("console.jobs.execute", [job.pk], "host.h1")]


@pytest.mark.parametrize("field,value,error", [
    ("repository", "Alpha/App", "Invalid repository"),
    ("tag", "v 1", "Invalid tag"),
    ("cmd", '["unclosed"', "A JSON list of strings"),
    ("workdir", "srv", "An absolute path"),
    ("user", "root;id", "A user inside the container"),
    ("env", "MODE", "'MODE' is not NAME=value."),
    ("env", "1X=y", "'1X=y' is not NAME=value."),
    ("expose", "80 http", "'http' is not a port"),
    ("expose", "70000", "'70000' is not a port"),
    ("label", "=x", "'=x' is not key=value."),
])
def test_dialog_errors_are_beside_their_field(world, client_for, sent, field, value, error):
    web = world.containers["web"]
    data = {"repository": "alpha/app", field: value}
    response = client_for("developer").post(f"/containers/{web.engine_id}/commit/", data)
    assert response.status_code == 400
    html = unescape(response.content.decode())
    beside = re.split(r'<div class="field[ "]', html.split(f'name="{field}"')[1])[0]
    assert error in beside, field_errors(html)
    assert not Job.objects.exists() and sent == []


def test_a_tag_needs_a_repository_and_a_name_of_another_team_is_refused(world, client_for):
    web = world.containers["web"]
    client = client_for("developer")
    response = client.post(f"/containers/{web.engine_id}/commit/", {"tag": "v1"})
    assert "A tag needs a repository." in field_errors(response.content.decode())
    response = client.post(f"/containers/{web.engine_id}/commit/", {"repository": "busybox"})
    assert response.status_code == 400
    assert "busybox:latest names an image of the host on h1: choose another name." in \
        field_errors(response.content.decode())
    assert not Job.objects.exists()


def test_an_offline_host_is_said_plainly(world, client_for):
    host = world.hosts["h1"]
    host.state = "offline"
    host.save()
    web = world.containers["web"]
    response = client_for("developer").post(f"/containers/{web.engine_id}/commit/",
                                            {"repository": "alpha/app"}, follow=True)
    assert "Host h1 is offline" in response.content.decode()
    assert not Job.objects.exists()


# -- history -----------------------------------------------------------------------------------

def test_the_history_reads_like_git_log(world, client_for, chain):
    html = client_for("viewer").get("/commits/").content.decode()
    newest_first = [chain[k][1].pk for k in ("side", "three", "two", "one")]
    assert log(html) == newest_first
    three = chain["three"][1]
    item = html.split(f'data-commit="{three.pk}"')[1].split("</li>")[0]
    for part in (three.short_id, "alpha/tool:v3", "three",
                 "developer &lt;developer@example.test&gt;",
                 "from <span class=\"mono\">web</span> on h1", "1 file changed"):
        assert part in item, part
    assert "the long story" not in item


@pytest.mark.parametrize("query,expected", [
    ("team=alpha", ["side", "three", "two", "one"]), ("team=beta", []),
    ("author=team_admin", ["two"]), ("host=h2", []),
    ("image=alpha/tool:v3", ["three", "two", "one"]),
    ("image=alpha/side", ["side", "two", "one"]),
    ("image=alpha/tool:v1", ["one"]),
])
def test_history_filters(world, client_for, chain, query, expected):
    html = client_for("viewer").get(f"/commits/?{query}").content.decode()
    assert log(html) == [chain[k][1].pk for k in expected]


def test_a_superuser_sees_every_team(world, client_for, chain):
    html = client_for("superuser").get("/commits/").content.decode()
    assert chain["theirs"][1].pk in log(html)


def test_an_image_name_that_names_nothing_or_several_says_so(world, client_for, chain):
    html = client_for("viewer").get("/commits/?image=nothing:here").content.decode()
    assert "No image nothing:here that you may see." in html and log(html) == []
    # The same image ID on two hosts: the user must choose one.
    Image.objects.create(host=world.hosts["h2"], image_id=chain["one"][0].image_id,
                         tags=["alpha/tool:v1"], team=world.teams["alpha"])
    from console.hosts.models import HostGrant

    HostGrant.objects.create(team=world.teams["alpha"], host=world.hosts["h2"])
    html = client_for("viewer").get("/commits/?image=alpha/tool:v1").content.decode()
    assert "is on several hosts: choose one." in html
    html = client_for("viewer").get("/commits/?image=alpha/tool:v1&host=h1").content.decode()
    assert log(html) == [chain["one"][1].pk]


def test_the_lineage_picture(world, client_for, chain):
    html = client_for("viewer").get("/commits/").content.decode()
    svg = html.split('<svg class="lineage"')[1].split("</svg>")[0]
    drawn = re.findall(r'data-image="([^"]+)"', svg)
    expected = {world.images["h1"].image_id} | {chain[k][0].image_id
                                                for k in ("one", "two", "three", "side")}
    assert set(drawn) == expected and len(drawn) == 5
    assert svg.count('class="lg-edge"') == 4
    assert chain["theirs"][0].image_id not in svg        # beta's, on a host alpha lacks
    assert "lg-base" in svg and f'href="/commits/{chain["three"][1].pk}/"' in svg
    # Two lanes: "side" branches off "two".
    lanes = {re.search(r'cx="(\d+)"', part).group(1)
             for part in svg.split("<a ")[1:]}
    assert len(lanes) == 2


def test_labels_in_the_picture_are_escaped(world, client_for):
    base = world.images["h1"]
    make_commit(world, base, 7, message="<script>alert(1)</script>", tags=["alpha/x:latest"])
    html = client_for("viewer").get("/commits/").content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html


# -- one commit -----------------------------------------------------------------------------

def test_the_commit_page(world, client_for, chain):
    three = chain["three"][1]
    three.file_changes = [{"kind": "D", "path": "/etc/group", "size": None},
                          {"kind": "A", "path": "/srv/app", "size": 2048},
                          {"kind": "C", "path": "/etc/passwd", "size": 900}]
    three.changes = ["ENV DB_PASSWORD=hunter2", 'CMD ["app"]']
    three.save()
    html = client_for("viewer").get(f"/commits/{three.pk}/").content.decode()
    files = re.findall(r'<tr class="f-([ACD])"><td[^>]*>[ACD]</td><td class="mono">([^<]+)</td>'
                       r'<td class="right">([^<]+)</td>', html)
    assert files == [("D", "/etc/group", "—"), ("C", "/etc/passwd", "900\xa0bytes"),
                     ("A", "/srv/app", "2.0\xa0KB")]
    assert "1 added · 1 changed · 1 deleted" in html
    assert "the long story" in html and "developer &lt;developer@example.test&gt;" in html
    assert "ENV DB_PASSWORD=[redacted]" in html and "hunter2" not in html
    parent = html.split('id="parent"')[1].split("</td>")[0]
    assert chain["two"][1].short_id in parent
    assert 'id="run-from-commit"' not in html          # a viewer may not run
    assert 'id="tag-form"' not in html
    developer = client_for("developer").get(f"/commits/{three.pk}/").content.decode()
    assert 'id="tag-form"' in developer
    run = re.search(r'id="run-from-commit" href="([^"]+)"', developer).group(1)
    assert run == "/containers/run/?host=h1&amp;image=alpha%2Ftool%3Av3"


def test_a_commit_is_found_by_number_image_id_prefix_and_name(world, client_for, chain):
    three = chain["three"][1]
    client = client_for("viewer")
    for ref in (str(three.pk), three.new_image_id, three.new_image_id[7:], three.short_id[:6]):
        assert client.get(f"/commits/{ref}/").status_code == 200, ref
    assert client.get("/commits/alpha%2Ftool:v3/").status_code == 404    # names have slashes:
    assert client.get(f"/api/commits/{three.short_id}/").json()["id"] == three.pk


def test_a_commit_whose_image_is_gone_cannot_be_run(world, client_for, chain):
    two_image, two = chain["two"]
    Image.objects.filter(pk=two_image.pk).delete()
    html = client_for("developer").get(f"/commits/{two.pk}/").content.decode()
    assert 'id="run-from-commit"' not in html and "no longer listed on h1" in html


def test_tagging_from_a_commit(world, client_for, sent, chain):
    two = chain["two"][1]
    client = client_for("developer")
    response = client.post(f"/commits/{two.pk}/tag/", {"repository": "alpha/tool", "tag": "v2"})
    assert response.status_code == 302
    job = Job.objects.get(kind="tag")
    assert job.params == {"image": two.new_image_id, "reference": "alpha/tool:v2"}
    bad = client.post(f"/commits/{two.pk}/tag/", {"repository": "", "tag": "x"})
    assert bad.status_code == 400
    assert "A repository is needed, e.g. team/tool." in field_errors(bad.content.decode())
    taken = client.post(f"/commits/{two.pk}/tag/", {"repository": "busybox"})
    assert taken.status_code == 403
    assert any("names an image of the host" in e for e in field_errors(taken.content.decode()))
    assert Job.objects.filter(kind="tag").count() == 1
