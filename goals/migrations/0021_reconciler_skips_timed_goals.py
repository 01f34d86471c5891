"""The reconciler's scan of active goals leaves out those whose start or wait deadline (``run_after``) is to
come: its id index covers the active goals without one (``goals_goal_active_untimed``), in place of every
active goal (``goals_goal_active_id``). Built before the old one is dropped, both ``CONCURRENTLY``: writes
go on meanwhile, so the migration is not atomic."""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('goals', '0020_event_unconsumed'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='goal',
            index=models.Index(condition=models.Q(('finished_at__isnull', True), ('run_after__isnull', True)),
                               fields=['id'], name='goals_goal_active_untimed'),
        ),
        RemoveIndexConcurrently(
            model_name='goal',
            name='goals_goal_active_id',
        ),
    ]
