"""Pausing a kind (``KindControl.paused`` and who, when and why), the journal of what operators change about a
kind (``goals_kindevent``), and the reconciler's findings about concurrency slots. Small tables only."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('goals', '0022_concurrency_limits'),
    ]

    operations = [
        migrations.AddField(
            model_name='kindcontrol',
            name='pause_reason',
            field=models.TextField(blank=True, db_default='', default=''),
        ),
        migrations.AddField(
            model_name='kindcontrol',
            name='paused',
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.AddField(
            model_name='kindcontrol',
            name='paused_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='kindcontrol',
            name='paused_by',
            field=models.CharField(blank=True, db_default='', default='', max_length=255),
        ),
        migrations.AlterField(
            model_name='reconciliationfinding',
            name='action',
            field=models.CharField(choices=[('applied_success', 'applied the stored success'), ('applied_failure', 'applied the stored failure'), ('sent', 'sent to the broker'), ('send_failed', 'send failed (broker unreachable)'), ('redispatched', 'sent again as a new attempt'), ('failed', 'failed, flagged for review'), ('expired', 'expired'), ('flagged', 'flagged for review'), ('reported', 'reported only'), ('skipped', 'skipped: the goal moved on meanwhile'), ('fanned_in', 'fanned in: its continuation sent, or ended as its children decided'), ('released', 'released: its start time had come'), ('timed_out', 'timed out: its continuation sent without the event'), ('cancelled', "cancelled, as its parent's end does"), ('recounted', 'counted again from its goals'), ('admitted', 'admitted to the free slot and sent')], max_length=32),
        ),
        migrations.AlterField(
            model_name='reconciliationfinding',
            name='kind',
            field=models.CharField(choices=[('lost_callback', 'lost callback'), ('result_missing', 'result missing'), ('stalled', 'stalled'), ('never_sent', 'never sent'), ('lost_in_queue', 'lost in queue'), ('overdue', 'overdue'), ('mismatch', 'mismatch'), ('orphan_result', 'orphan result'), ('missed_fan_in', 'missed fan-in'), ('orphaned_child', 'orphaned child'), ('waiting_overdue', 'waiting past its deadline'), ('due_not_released', 'due, not released'), ('wait_expired', 'wait past its deadline'), ('event_unconsumed', 'event for a goal that no longer waits'), ('slots_miscounted', 'slots miscounted'), ('held_slot_free', 'held, though a slot is free')], max_length=32),
        ),
        migrations.CreateModel(
            name='KindEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(max_length=100)),
                ('created_at', models.DateTimeField()),
                ('event', models.CharField(choices=[('paused', 'paused'), ('resumed', 'resumed'), ('concurrency', 'concurrency limit set')], max_length=16)),
                ('actor', models.CharField(blank=True, default='', max_length=255)),
                ('reason', models.TextField(blank=True, default='')),
                ('details', models.JSONField(blank=True, default=dict)),
            ],
            options={
                'db_table': 'goals_kindevent',
                'ordering': ['-id'],
                'indexes': [models.Index(fields=['kind', 'id'], name='goals_kindevent_kind')],
            },
        ),
    ]
