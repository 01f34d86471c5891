from django.db import models
from django.utils import timezone


class Effect(models.Model):
    """One execution of a faults executor that reached its effect.

    Append-only and without a unique key, so that an attempt that ran twice shows as two rows. ``made``
    is False when the execution found the effect already made by an earlier attempt of its goal (an
    idempotent executor absorbs it by its key, the goal id): two ``made`` rows of one goal are a double
    effect.
    """

    # No foreign key: the ledger outlives the goals it counts.
    goal_id = models.UUIDField(help_text="The goal whose executor ran.")
    effect = models.CharField(max_length=100, help_text="What the executor did, e.g. 'write'.")
    attempt = models.PositiveIntegerField(help_text="The attempt number that ran.")
    pid = models.PositiveIntegerField(help_text="The pool process that ran it.")
    made = models.BooleanField(help_text="False: the effect was already made, this run absorbed it.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["goal_id", "effect"], name="faults_effect_goal")]

    def __str__(self) -> str:
        return f"{self.effect} of {self.goal_id} attempt {self.attempt} ({'made' if self.made else 'absorbed'})"
