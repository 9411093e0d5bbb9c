"""The grants come to an app of their own with their table as it is: only Django's picture of
the models changes (the table keeps its name, `containers_containergrant`, and every row), and
the content type follows, so that the admin's history and permissions name the new app."""
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def move_content_type(apps, schema_editor, source="containers", destination="grants"):
    types = apps.get_model("contenttypes", "ContentType").objects.using(
        schema_editor.connection.alias)
    if not types.filter(app_label=destination, model="containergrant").exists():
        types.filter(app_label=source, model="containergrant").update(app_label=destination)


def move_content_type_back(apps, schema_editor):
    move_content_type(apps, schema_editor, source="grants", destination="containers")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("containers", "0004_containergrant_moved_to_grants"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ContainerGrant",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                                   serialize=False, verbose_name="ID")),
                        ("actions", models.JSONField(default=list)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("container", models.ForeignKey(
                            on_delete=django.db.models.deletion.CASCADE, related_name="grants",
                            to="containers.container")),
                        ("granted_by", models.ForeignKey(
                            blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                            related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("user", models.ForeignKey(
                            on_delete=django.db.models.deletion.CASCADE,
                            related_name="container_grants", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "containers_containergrant",
                        "ordering": ["-created_at", "-pk"],
                        "constraints": [models.UniqueConstraint(
                            fields=("user", "container"),
                            name="one_grant_per_user_and_container")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
