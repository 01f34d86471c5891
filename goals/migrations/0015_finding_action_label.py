"""The reconciler's ``fanned_in`` action says what it now does: a goal fanned in with nothing to continue
ends at once. Choices only: no SQL runs, nothing is locked."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('goals', '0014_rule_functions'),
    ]

    operations = [
        migrations.AlterField(
            model_name='reconciliationfinding',
            name='action',
            field=models.CharField(choices=[('applied_success', 'applied the stored success'), ('applied_failure', 'applied the stored failure'), ('sent', 'sent to the broker'), ('send_failed', 'send failed (broker unreachable)'), ('redispatched', 'sent again as a new attempt'), ('failed', 'failed, flagged for review'), ('expired', 'expired'), ('flagged', 'flagged for review'), ('reported', 'reported only'), ('skipped', 'skipped: the goal moved on meanwhile'), ('fanned_in', 'fanned in: its continuation sent, or ended as its children decided'), ('cancelled', "cancelled, as its parent's end does")], max_length=32),
        ),
    ]
