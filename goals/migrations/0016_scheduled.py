"""Goals that start later: the ``scheduled`` state, ``run_after`` and the index of due goals.

Holds nothing for long on a large table: the column is added without a rewrite (no default), the two
check constraints that list the states are added ``NOT VALID`` and validated while writes go on, and the
partial index (empty until goals are scheduled) is built ``CONCURRENTLY``, so the migration is not atomic
and every step can be run again.
"""

from django.contrib.postgres.operations import AddConstraintNotValid, AddIndexConcurrently, ValidateConstraint
from django.db import migrations, models

STATES = ["scheduled", "pending", "queued", "running", "retrying", "waiting", "succeeded", "failed", "cancelled",
          "expired"]
FINAL = ("cancelled", "expired", "failed", "succeeded")
ACTIVE = ("pending", "queued", "retrying", "running", "scheduled", "waiting")
CHECKS = [
    models.CheckConstraint(condition=models.Q(state__in=STATES), name="goals_goal_state_valid"),
    models.CheckConstraint(
        condition=models.Q(models.Q(("state__in", FINAL), ("finished_at__isnull", False)),
                           models.Q(("state__in", ACTIVE), ("finished_at__isnull", True)), _connector="OR"),
        name="goals_goal_finished_iff_final"),
]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("goals", "0015_finding_action_label"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="goal", name="goals_goal_state_valid"),
        migrations.RemoveConstraint(model_name="goal", name="goals_goal_finished_iff_final"),
        migrations.AddField(
            model_name="goal",
            name="run_after",
            field=models.DateTimeField(blank=True, editable=False, null=True,
                                       help_text="When the goal was to start, if submitted to start later (kept "
                                                 "until it ends)."),
        ),
        migrations.AlterField(
            model_name="goal",
            name="state",
            field=models.CharField(choices=[(state, state) for state in STATES], default="pending", editable=False,
                                   help_text="Changed only by the transition service.", max_length=16),
        ),
        *[AddConstraintNotValid(model_name="goal", constraint=check) for check in CHECKS],
        *[ValidateConstraint(model_name="goal", name=check.name) for check in CHECKS],
        AddIndexConcurrently(
            model_name="goal",
            index=models.Index(condition=models.Q(run_after__isnull=False), fields=["run_after"],
                               name="goals_goal_scheduled_due"),
        ),
    ]
