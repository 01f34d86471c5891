"""The reconciler's ``event_unconsumed`` finding (an outside event for a goal that ended without it).
Choices only: no SQL runs, nothing is locked."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('goals', '0019_event_waits'),
    ]

    operations = [
        migrations.AlterField(
            model_name='reconciliationfinding',
            name='kind',
            field=models.CharField(choices=[('lost_callback', 'lost callback'), ('result_missing', 'result missing'), ('stalled', 'stalled'), ('never_sent', 'never sent'), ('lost_in_queue', 'lost in queue'), ('overdue', 'overdue'), ('mismatch', 'mismatch'), ('orphan_result', 'orphan result'), ('missed_fan_in', 'missed fan-in'), ('orphaned_child', 'orphaned child'), ('waiting_overdue', 'waiting past its deadline'), ('due_not_released', 'due, not released'), ('wait_expired', 'wait past its deadline'), ('event_unconsumed', 'event for a goal that no longer waits')], max_length=32),
        ),
    ]
