"""Schedules: goals every period (``goals.periodic``), their journal, and each goal's schedule.

The goal table gains a column without a rewrite (NULL, no default); its foreign key is added ``NOT VALID``
and validated while writes go on, and its partial index (empty until a schedule gives a goal) is built
``CONCURRENTLY``: nothing holds the goal table for long, so the migration is not atomic.
"""

import django.db.models.deletion
from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('goals', '0017_due_not_released'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ScheduleEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('event', models.CharField(choices=[('created', 'Created'), ('changed', 'Changed'), ('paused', 'Paused'), ('resumed', 'Resumed'), ('triggered', 'Triggered'), ('skipped', 'Skipped'), ('caught_up', 'caught up')], max_length=16)),
                ('period', models.DateTimeField(blank=True, help_text='The period concerned (the first, for several).', null=True)),
                ('count', models.PositiveIntegerField(default=1, help_text='How many periods.')),
                ('actor', models.CharField(blank=True, default='', max_length=255)),
                ('details', models.JSONField(blank=True, default=dict)),
            ],
            options={
                'ordering': ['-id'],
            },
        ),
        migrations.CreateModel(
            name='Schedule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(help_text='How people and code refer to it.', max_length=100, unique=True)),
                ('kind', models.CharField(help_text="The executor each period's goal runs.", max_length=100)),
                ('params', models.JSONField(blank=True, default=dict, help_text="The goals' params.")),
                ('crontab', models.CharField(blank=True, default='', help_text="minute hour day-of-month month day-of-week, as Celery's crontab; read in the time zone.", max_length=100)),
                ('every', models.FloatField(blank=True, help_text='Or: seconds between two periods.', null=True)),
                ('timezone', models.CharField(default='UTC', help_text='An IANA time zone, e.g. Europe/Paris.', max_length=64)),
                ('catch_up', models.CharField(choices=[('none', 'none: skip them'), ('latest', 'the latest one'), ('all', 'all of them, up to the limit')], default='latest', help_text='What to do with the periods missed while nothing ran.', max_length=8)),
                ('catch_up_limit', models.PositiveIntegerField(default=10, help_text="With catch-up 'all': at most this many.")),
                ('paused', models.BooleanField(default=False, help_text='A paused schedule gives no goal; resumed, it skips the periods it was paused for.')),
                ('next_period', models.DateTimeField(blank=True, editable=False, help_text='Start of the next period, not yet given its goal.', null=True)),
                ('last_period', models.DateTimeField(blank=True, editable=False, help_text='Start of the last period given a goal.', null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('owner', models.ForeignKey(blank=True, help_text="The owner of each period's goal.", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='goal_schedules', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['name'],
            },
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddField(
                model_name='goal',
                name='schedule',
                field=models.ForeignKey(blank=True, db_index=False, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='goals', to='goals.schedule'),
            )],
            database_operations=[migrations.RunSQL(
                sql=[
                    "ALTER TABLE goals_goal ADD COLUMN schedule_id bigint NULL",
                    "ALTER TABLE goals_goal ADD CONSTRAINT goals_goal_schedule_id_fk FOREIGN KEY (schedule_id) "
                    "REFERENCES goals_schedule (id) DEFERRABLE INITIALLY DEFERRED NOT VALID",
                    "ALTER TABLE goals_goal VALIDATE CONSTRAINT goals_goal_schedule_id_fk",
                ],
                reverse_sql=["ALTER TABLE goals_goal DROP COLUMN schedule_id"],
            )],
        ),
        AddIndexConcurrently(
            model_name='goal',
            index=models.Index(condition=models.Q(('schedule__isnull', False)), fields=['schedule', 'id'], name='goals_goal_schedule'),
        ),
        migrations.AddField(
            model_name='scheduleevent',
            name='schedule',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='goals.schedule'),
        ),
        migrations.AddIndex(
            model_name='schedule',
            index=models.Index(condition=models.Q(('paused', False)), fields=['next_period'], name='goals_schedule_due'),
        ),
        migrations.AddConstraint(
            model_name='schedule',
            constraint=models.CheckConstraint(condition=models.Q(('crontab', ''), ('every__isnull', True), _connector='XOR'), name='goals_schedule_crontab_or_every'),
        ),
        migrations.AlterField(
            model_name='goalevent',
            name='cause',
            field=models.CharField(choices=[('api', 'API'), ('executor', 'executor'), ('admin', 'admin'), ('reconciler', 'reconciler'), ('publisher', 'publisher'), ('parent', 'parent'), ('schedule', 'schedule')], max_length=16),
        ),
    ]
