"""Goals that wait for an outside event: the events, and what a waiting goal waits for.

The goal table gains two columns without a rewrite (a constant database default, and NULL), and the index of
key-addressed waits (empty until a goal waits) is built ``CONCURRENTLY``: the migration is not atomic.
"""

import django.db.models.deletion
from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('goals', '0018_schedules'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ExternalEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(help_text='What happened, e.g. payment.captured.', max_length=100)),
                ('correlation_key', models.CharField(blank=True, help_text='The business key a wait declared, e.g. order:42.', max_length=255, null=True)),
                ('payload', models.JSONField(blank=True, default=dict)),
                ('event_key', models.CharField(blank=True, help_text="The sender's id of the event: the same again is the same event.", max_length=255, null=True)),
                ('received_at', models.DateTimeField()),
                ('consumed_attempt', models.PositiveIntegerField(blank=True, editable=False, help_text='The attempt of the goal it resumed.', null=True)),
                ('consumed_at', models.DateTimeField(blank=True, editable=False, null=True)),
            ],
        ),
        migrations.AddField(
            model_name='goal',
            name='wait_event',
            field=models.CharField(blank=True, db_default='', default='', editable=False, max_length=100),
        ),
        migrations.AddField(
            model_name='goal',
            name='wait_key',
            field=models.CharField(blank=True, editable=False, max_length=255, null=True),
        ),
        AddIndexConcurrently(
            model_name='goal',
            index=models.Index(condition=models.Q(('wait_key__isnull', False)), fields=['wait_event', 'wait_key'], name='goals_goal_event_wait'),
        ),
        migrations.AddField(
            model_name='externalevent',
            name='consumed_by',
            field=models.ForeignKey(blank=True, db_index=False, editable=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='goals.goal'),
        ),
        migrations.AddField(
            model_name='externalevent',
            name='goal',
            field=models.ForeignKey(blank=True, db_index=False, help_text='Or: the goal it is for.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='goals.goal'),
        ),
        migrations.AddField(
            model_name='externalevent',
            name='owner',
            field=models.ForeignKey(blank=True, db_index=False, help_text='Who sent it: only their goals may take it (none: the system or staff).', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddIndex(
            model_name='externalevent',
            index=models.Index(condition=models.Q(('consumed_at__isnull', True)), fields=['name', 'correlation_key'], name='goals_externalevent_open_key'),
        ),
        migrations.AddIndex(
            model_name='externalevent',
            index=models.Index(condition=models.Q(('consumed_at__isnull', True), ('goal__isnull', False)), fields=['goal'], name='goals_externalevent_open_goal'),
        ),
        migrations.AddIndex(
            model_name='externalevent',
            index=models.Index(condition=models.Q(('consumed_at__isnull', True)), fields=['received_at'], name='goals_externalevent_open_age'),
        ),
        migrations.AddIndex(
            model_name='externalevent',
            index=models.Index(condition=models.Q(('consumed_by__isnull', False)), fields=['consumed_by', 'consumed_attempt'], name='goals_externalevent_consumed'),
        ),
        migrations.AddConstraint(
            model_name='externalevent',
            constraint=models.UniqueConstraint(condition=models.Q(('event_key__isnull', False)), fields=('name', 'event_key'), name='goals_externalevent_key'),
        ),
        migrations.AlterField(
            model_name='goalevent',
            name='cause',
            field=models.CharField(choices=[('api', 'API'), ('executor', 'executor'), ('admin', 'admin'), ('reconciler', 'reconciler'), ('publisher', 'publisher'), ('parent', 'parent'), ('schedule', 'schedule'), ('event', 'event')], max_length=16),
        ),
        migrations.AlterField(
            model_name='reconciliationfinding',
            name='action',
            field=models.CharField(choices=[('applied_success', 'applied the stored success'), ('applied_failure', 'applied the stored failure'), ('sent', 'sent to the broker'), ('send_failed', 'send failed (broker unreachable)'), ('redispatched', 'sent again as a new attempt'), ('failed', 'failed, flagged for review'), ('expired', 'expired'), ('flagged', 'flagged for review'), ('reported', 'reported only'), ('skipped', 'skipped: the goal moved on meanwhile'), ('fanned_in', 'fanned in: its continuation sent, or ended as its children decided'), ('released', 'released: its start time had come'), ('timed_out', 'timed out: its continuation sent without the event'), ('cancelled', "cancelled, as its parent's end does")], max_length=32),
        ),
        migrations.AlterField(
            model_name='reconciliationfinding',
            name='kind',
            field=models.CharField(choices=[('lost_callback', 'lost callback'), ('result_missing', 'result missing'), ('stalled', 'stalled'), ('never_sent', 'never sent'), ('lost_in_queue', 'lost in queue'), ('overdue', 'overdue'), ('mismatch', 'mismatch'), ('orphan_result', 'orphan result'), ('missed_fan_in', 'missed fan-in'), ('orphaned_child', 'orphaned child'), ('waiting_overdue', 'waiting past its deadline'), ('due_not_released', 'due, not released'), ('wait_expired', 'wait past its deadline')], max_length=32),
        ),
    ]
