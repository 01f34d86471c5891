"""Rate limits (``goals.executors.limits``): a goal's rate key and the turn it was given, an operator's rate
for a kind, and each key's window of recent starts (``goals_rate``). Columns added without a rewrite (a
constant database default, or none)."""

import goals.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('goals', '0023_kind_pause'),
    ]

    operations = [
        migrations.AddField(
            model_name='goal',
            name='rate_key',
            field=models.CharField(blank=True, db_default='', default='', editable=False, max_length=255),
        ),
        migrations.AddField(
            model_name='goal',
            name='rate_turn',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='kindcontrol',
            name='rate',
            field=models.PositiveIntegerField(blank=True, help_text='At most this many starts per rate_period (per key, if the executor gives a key).', null=True),
        ),
        migrations.AddField(
            model_name='kindcontrol',
            name='rate_period',
            field=models.FloatField(blank=True, help_text="The rate's period in seconds.", null=True),
        ),
        migrations.AlterField(
            model_name='kindevent',
            name='event',
            field=models.CharField(choices=[('paused', 'paused'), ('resumed', 'resumed'), ('concurrency', 'concurrency limit set'), ('rate', 'rate limit set')], max_length=16),
        ),
        migrations.CreateModel(
            name='RateWindow',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(max_length=100)),
                ('key', models.CharField(blank=True, default='', max_length=255)),
                ('starts', goals.models.TimestampArrayField(blank=True, default=list)),
                ('next_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'db_table': 'goals_rate',
                'constraints': [models.UniqueConstraint(fields=('kind', 'key'), name='goals_rate_kind_key')],
            },
        ),
    ]
