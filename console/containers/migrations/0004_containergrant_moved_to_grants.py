"""The grants' model goes to the grants app (grants 0001 takes it, with the same table): the
containers app lets go of it in Django's picture of the models only."""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("containers", "0003_container_missed_syncs"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ContainerGrant")],
            database_operations=[],
        ),
    ]
