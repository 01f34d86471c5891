"""Concurrency limits (``goals.executors.limits``): the ``held`` state, a goal's limit key and slot, the index of
held goals, the slots of each limited key (``goals_concurrency``) and an operator's limits (``goals_kindcontrol``).

Holds nothing for long on a large table: the columns are added with constant database defaults (no rewrite),
the two check constraints that list the states are added ``NOT VALID`` and validated while writes go on, and the
index, empty until a goal is held, is built ``CONCURRENTLY``; so the migration is not atomic.
"""

from django.contrib.postgres.operations import AddConstraintNotValid, AddIndexConcurrently, ValidateConstraint
from django.db import migrations, models

STATES = ["scheduled", "pending", "queued", "running", "retrying", "held", "waiting", "succeeded", "failed",
          "cancelled", "expired"]
FINAL = ("cancelled", "expired", "failed", "succeeded")
ACTIVE = ("held", "pending", "queued", "retrying", "running", "scheduled", "waiting")
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
        ("goals", "0021_reconciler_skips_timed_goals"),
    ]

    operations = [
        migrations.CreateModel(
            name="ConcurrencySlots",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(max_length=100)),
                ("key", models.CharField(blank=True, default="", max_length=255)),
                ("running", models.IntegerField(default=0)),
                ("held", models.IntegerField(default=0)),
                ("capacity", models.IntegerField()),
            ],
            options={
                "db_table": "goals_concurrency",
                "verbose_name_plural": "concurrency slots",
                "constraints": [models.UniqueConstraint(fields=("kind", "key"), name="goals_concurrency_kind_key")],
            },
        ),
        migrations.CreateModel(
            name="KindControl",
            fields=[
                ("kind", models.CharField(max_length=100, primary_key=True, serialize=False)),
                ("concurrency", models.PositiveIntegerField(
                    blank=True, null=True,
                    help_text="At most this many running at once (per key, if the executor gives a key); empty: "
                              "the executor's own concurrency.")),
                ("changed_at", models.DateTimeField(auto_now=True)),
                ("changed_by", models.CharField(blank=True, default="", max_length=255)),
            ],
            options={"db_table": "goals_kindcontrol"},
        ),
        migrations.RemoveConstraint(model_name="goal", name="goals_goal_state_valid"),
        migrations.RemoveConstraint(model_name="goal", name="goals_goal_finished_iff_final"),
        migrations.AddField(
            model_name="goal", name="limit_key",
            field=models.CharField(blank=True, db_default="", default="", editable=False, max_length=255),
        ),
        migrations.AddField(
            model_name="goal", name="holds_slot",
            field=models.BooleanField(db_default=False, default=False, editable=False),
        ),
        migrations.AddField(
            model_name="goal", name="held_for",
            field=models.CharField(blank=True, db_default="", default="", editable=False, max_length=16),
        ),
        migrations.AlterField(
            model_name="goal", name="state",
            field=models.CharField(choices=[(state, state) for state in STATES], default="pending", editable=False,
                                   help_text="Changed only by the transition service.", max_length=16),
        ),
        *[AddConstraintNotValid(model_name="goal", constraint=check) for check in CHECKS],
        *[ValidateConstraint(model_name="goal", name=check.name) for check in CHECKS],
        AddIndexConcurrently(
            model_name="goal",
            index=models.Index(condition=~models.Q(held_for=""), fields=["kind", "limit_key", "id"],
                               name="goals_goal_held"),
        ),
    ]
