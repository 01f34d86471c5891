"""The reconciler's ``due_not_released`` finding and ``released`` action (a scheduled goal past its start
time that no release took). Choices only: no SQL runs, nothing is locked."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('goals', '0016_scheduled'),
    ]

    operations = [
        migrations.AlterField(
            model_name='reconciliationfinding',
            name='action',
            field=models.CharField(choices=[('applied_success', 'applied the stored success'), ('applied_failure', 'applied the stored failure'), ('sent', 'sent to the broker'), ('send_failed', 'send failed (broker unreachable)'), ('redispatched', 'sent again as a new attempt'), ('failed', 'failed, flagged for review'), ('expired', 'expired'), ('flagged', 'flagged for review'), ('reported', 'reported only'), ('skipped', 'skipped: the goal moved on meanwhile'), ('fanned_in', 'fanned in: its continuation sent, or ended as its children decided'), ('released', 'released: its start time had come'), ('cancelled', "cancelled, as its parent's end does")], max_length=32),
        ),
        migrations.AlterField(
            model_name='reconciliationfinding',
            name='kind',
            field=models.CharField(choices=[('lost_callback', 'lost callback'), ('result_missing', 'result missing'), ('stalled', 'stalled'), ('never_sent', 'never sent'), ('lost_in_queue', 'lost in queue'), ('overdue', 'overdue'), ('mismatch', 'mismatch'), ('orphan_result', 'orphan result'), ('missed_fan_in', 'missed fan-in'), ('orphaned_child', 'orphaned child'), ('waiting_overdue', 'waiting past its deadline'), ('due_not_released', 'due, not released')], max_length=32),
        ),
    ]
