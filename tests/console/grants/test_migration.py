"""Container grants moved from the containers app to an app of their own without touching their
table: a database that has grants keeps every one, each still lets its holder act, and the
admin's content type follows the model."""
import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from console.containers.models import Container
from console.core.testing import build_world
from console.grants.models import ContainerGrant

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("containers", "0003_container_missed_syncs")


def migrate_to_before_the_move():
    """The schema as it was before the move, and the models of then."""
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE, ("grants", None)])
    # The state of what is applied now: going back also unapplied the migrations of other
    # apps that came after the move (those with a foreign key to a container, say).
    executor.loader.build_graph()
    return executor.loader.project_state(sorted(executor.loader.applied_migrations)).apps


def migrate_to_the_latest():
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()


def test_grants_made_before_the_move_are_kept():
    world = build_world()
    old = migrate_to_before_the_move()
    OldGrant = old.get_model("containers", "ContainerGrant")
    OldGrant.objects.create(user_id=world.user("stranger").pk,
                            container_id=world.containers["web"].pk, actions=["start", "logs"])
    OldContentType = old.get_model("contenttypes", "ContentType")
    OldContentType.objects.filter(app_label="grants", model="containergrant").delete()
    OldContentType.objects.get_or_create(app_label="containers", model="containergrant")

    migrate_to_the_latest()

    grant = ContainerGrant.objects.get()
    assert (grant.user.username, grant.container.name, grant.actions) == (
        "stranger", "web", ["start", "logs"])
    assert Container.objects.allows(world.user("stranger"), "start", world.containers["web"])
    assert ContentType.objects.get_for_model(ContainerGrant).app_label == "grants"
    assert not ContentType.objects.filter(app_label="containers",
                                          model="containergrant").exists()


def test_the_move_can_be_undone_with_the_rows():
    world = build_world()
    ContainerGrant.objects.create(user=world.user("stranger"), container=world.containers["web"],
                                  actions=["kill"])
    old = migrate_to_before_the_move()
    assert list(old.get_model("containers", "ContainerGrant").objects.values_list(
        "actions", flat=True)) == [["kill"]]
    migrate_to_the_latest()
    assert ContainerGrant.objects.get().actions == ["kill"]
