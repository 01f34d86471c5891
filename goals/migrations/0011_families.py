"""Families: a goal's parent, its key among its siblings, its children's counts and its fan-in policy,
and the ``waiting`` state.

Written so that a busy table is not held: the columns are added without a rewrite (constant defaults),
the new constraints are added NOT VALID and then validated (a scan that lets writes go on), and the two
indexes are built CONCURRENTLY. The migration is therefore not atomic; every step can be run again.
"""

import django.db.models.deletion
from django.contrib.postgres.operations import AddConstraintNotValid, AddIndexConcurrently, ValidateConstraint
from django.db import migrations, models

ACTIVE = ("pending", "queued", "retrying", "running", "waiting")
FINAL = ("cancelled", "expired", "failed", "succeeded")
STATES = ["pending", "queued", "running", "retrying", "waiting", "succeeded", "failed", "cancelled", "expired"]

CHECKS = [
    models.CheckConstraint(condition=models.Q(state__in=STATES), name="goals_goal_state_valid"),
    models.CheckConstraint(
        condition=(models.Q(state__in=FINAL) & models.Q(finished_at__isnull=False))
        | (models.Q(state__in=ACTIVE) & models.Q(finished_at__isnull=True)),
        name="goals_goal_finished_iff_final"),
    models.CheckConstraint(
        condition=models.Q(children_failed__lte=models.F("children_final"))
        & models.Q(children_final__lte=models.F("children_total")),
        name="goals_goal_children_counted"),
    models.CheckConstraint(condition=models.Q(parent__isnull=True) | models.Q(child_key__isnull=False),
                           name="goals_goal_child_has_key"),
]


def counter(**kwargs):
    return models.PositiveIntegerField(db_default=0, default=0, editable=False, **kwargs)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("goals", "0010_time_ordered_ids"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="goal", name="goals_goal_state_valid"),
        migrations.RemoveConstraint(model_name="goal", name="goals_goal_finished_iff_final"),
        migrations.AddField("goal", "child_failures_allowed",
                            models.PositiveIntegerField(blank=True, editable=False, null=True)),
        migrations.AddField("goal", "child_key",
                            models.CharField(blank=True, editable=False, max_length=255, null=True)),
        migrations.AddField("goal", "children_failed", counter(help_text="Children that ended other than succeeded.")),
        migrations.AddField("goal", "children_final", counter()),
        migrations.AddField("goal", "children_total", counter()),
        migrations.AddField("goal", "continuation",
                            models.CharField(blank=True, db_default="", default="", editable=False, max_length=100)),
        migrations.AddField("goal", "fan_ins", counter()),
        # The column, then its foreign key NOT VALID and validated (Django would check every row while
        # holding writes off).
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(
                sql=["ALTER TABLE goals_goal ADD COLUMN IF NOT EXISTS parent_id uuid NULL",
                     "ALTER TABLE goals_goal DROP CONSTRAINT IF EXISTS goals_goal_parent_id_fk",
                     "ALTER TABLE goals_goal ADD CONSTRAINT goals_goal_parent_id_fk FOREIGN KEY (parent_id)"
                     " REFERENCES goals_goal (id) DEFERRABLE INITIALLY DEFERRED NOT VALID",
                     "ALTER TABLE goals_goal VALIDATE CONSTRAINT goals_goal_parent_id_fk"],
                reverse_sql=["ALTER TABLE goals_goal DROP COLUMN IF EXISTS parent_id"],
            )],
            state_operations=[migrations.AddField(
                "goal", "parent",
                models.ForeignKey(blank=True, db_index=False, editable=False, null=True,
                                  on_delete=django.db.models.deletion.CASCADE, related_name="children",
                                  to="goals.goal"))],
        ),
        migrations.AlterField(
            model_name="attempt",
            name="outcome",
            field=models.CharField(blank=True, choices=[("succeeded", "succeeded"), ("failed", "failed"), ("worker_lost", "worker lost"), ("abandoned", "abandoned"), ("cancelled", "cancelled"), ("expired", "expired"), ("waiting", "handed back")], default="", max_length=16),  # noqa: E501
        ),
        migrations.AlterField(
            model_name="goal",
            name="state",
            field=models.CharField(choices=[(s, s) for s in STATES], default="pending", editable=False, help_text="Changed only by the transition service.", max_length=16),  # noqa: E501
        ),
        migrations.AlterField(
            model_name="goalevent",
            name="cause",
            field=models.CharField(choices=[("api", "API"), ("executor", "executor"), ("admin", "admin"), ("reconciler", "reconciler"), ("publisher", "publisher"), ("parent", "parent")], max_length=16),  # noqa: E501
        ),
        *[AddConstraintNotValid(model_name="goal", constraint=check) for check in CHECKS],
        *[ValidateConstraint(model_name="goal", name=check.name) for check in CHECKS],
        AddIndexConcurrently(
            model_name="goal",
            index=models.Index(condition=models.Q(finished_at__isnull=True, parent__isnull=False), fields=["parent"],
                               name="goals_goal_active_children"),
        ),
        # A partial unique constraint is a unique index in PostgreSQL: built concurrently, then recorded.
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(
                sql=["DROP INDEX CONCURRENTLY IF EXISTS goals_goal_child_key",
                     "CREATE UNIQUE INDEX CONCURRENTLY goals_goal_child_key ON goals_goal (parent_id, child_key)"
                     " WHERE parent_id IS NOT NULL"],
                reverse_sql=["DROP INDEX CONCURRENTLY IF EXISTS goals_goal_child_key"],
            )],
            state_operations=[migrations.AddConstraint(
                model_name="goal",
                constraint=models.UniqueConstraint(condition=models.Q(parent__isnull=False),
                                                   fields=("parent", "child_key"), name="goals_goal_child_key"))],
        ),
    ]
