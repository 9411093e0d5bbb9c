"""`GET /api/commits/` (newest first, without the file lists), `/api/commits/{id}/` (with the
file changes), filters, and tagging through `/api/commits/{id}/tag/` and `/api/images/{id}/tag/`."""
from console.jobs.models import Job


def test_the_list_is_newest_first_and_leaves_the_files_out(world, client_for, chain):
    answer = client_for("viewer").get("/api/commits/").json()
    assert answer["count"] == 4
    assert [row["id"] for row in answer["results"]] == [
        chain[k][1].pk for k in ("side", "three", "two", "one")]
    row = answer["results"][1]
    three = chain["three"][1]
    assert row == {
        "id": three.pk, "short_id": three.short_id, "image": three.new_image_id,
        "parent": chain["two"][1].new_image_id, "host": "h1", "team": "alpha",
        "author": "developer <developer@example.test>", "author_username": "developer",
        "container": world.containers["web"].engine_id, "container_name": "web",
        "repository": "alpha/tool", "tag": "v3", "reference": "alpha/tool:v3",
        "message": "three\n\nthe long story", "changes": [], "layer_size": 0,
        "files_changed": 1, "job": None, "created_at": row["created_at"]}


def test_one_commit_has_its_file_changes(world, client_for, chain):
    three = chain["three"][1]
    three.file_changes = [{"kind": "A", "path": "/srv/app", "size": 2048},
                          {"kind": "D", "path": "/etc/group", "size": None}]
    three.changes = ["ENV TOKEN=hunter2", "WORKDIR /srv"]
    three.save()
    for ref in (three.pk, three.short_id, three.new_image_id):
        answer = client_for("viewer").get(f"/api/commits/{ref}/").json()
        assert answer["file_changes"] == three.file_changes
        assert answer["changes"] == ["ENV TOKEN=[redacted]", "WORKDIR /srv"]


def test_filters(world, client_for, chain):
    client = client_for("superuser")

    def ids(query):
        return [row["id"] for row in client.get(f"/api/commits/?{query}").json()["results"]]
    assert ids("team=beta") == [chain["theirs"][1].pk]
    assert ids("author=team_admin") == [chain["two"][1].pk]
    assert ids("host=h2") == [chain["theirs"][1].pk]
    assert ids(f"image={chain['one'][1].short_id[:8]}") == [chain["one"][1].pk]


def test_tagging_through_the_api(world, client_for, chain, sent):
    two_image, two = chain["two"]
    answer = client_for("developer").post(f"/api/commits/{two.pk}/tag/",
                                          {"repository": "alpha/tool", "tag": "v2"},
                                          content_type="application/json")
    assert answer.status_code == 202 and answer.json()["kind"] == "tag"
    answer = client_for("developer").post(f"/api/images/{two_image.image_id[7:19]}/tag/",
                                          {"repository": "alpha/tool", "tag": "two"},
                                          content_type="application/json")
    assert answer.status_code == 202
    assert [job.target_name for job in Job.objects.order_by("pk")] == ["alpha/tool:v2",
                                                                      "alpha/tool:two"]
    assert client_for("operator").post(f"/api/commits/{two.pk}/tag/", {"repository": "a/b"},
                                       content_type="application/json").status_code == 403
    bad = client_for("developer").post(f"/api/commits/{two.pk}/tag/", {"tag": "x y"},
                                       content_type="application/json")
    assert bad.status_code == 400 and set(bad.json()) == {"repository", "tag"}
    taken = client_for("developer").post(f"/api/commits/{two.pk}/tag/",
                                         {"repository": "busybox"},
                                         content_type="application/json")
    assert taken.status_code == 403 and "names an image of the host" in str(taken.json())
    host = world.hosts["h1"]
    host.state = "offline"
    host.save()
    offline = client_for("developer").post(f"/api/commits/{two.pk}/tag/",
                                           {"repository": "alpha/tool"},
                                           content_type="application/json")
    assert offline.status_code == 409 and "offline" in offline.json()["detail"]
    assert Job.objects.count() == 2


def test_an_image_is_found_by_row_id_prefix_and_name(world, client_for, chain):
    image = chain["three"][0]
    client = client_for("viewer")
    for ref in (image.pk, image.image_id, image.image_id[7:15], "alpha%2Ftool:v3"):
        answer = client.get(f"/api/images/{ref}/")
        if ref == "alpha%2Ftool:v3":      # a name with a slash cannot be a path segment
            assert answer.status_code == 404
            continue
        assert answer.json()["id"] == image.image_id, ref
    assert client.get("/api/images/busybox/").json()["tags"] == ["busybox:latest"]
