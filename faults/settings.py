"""Settings of the processes a scenario starts: the deployment's own (``FAULTS_BASE_SETTINGS``, by default
``config.settings.base``) with the effects ledger installed and the reconciler's clocks shortened.

The scenario sets the ``FAULTS_*`` timings in the environment of every process it starts, so that the
worker, the submitting clients and the reconciler agree on them.
"""

import os
from importlib import import_module

from faults.processes import TIMINGS

globals().update({name: value for name, value in vars(import_module(
    os.environ.get("FAULTS_BASE_SETTINGS", "config.settings.base"))).items() if name.isupper()})

if "faults" not in INSTALLED_APPS:  # noqa: F821 (from the base settings)
    INSTALLED_APPS = [*INSTALLED_APPS, "faults"]  # noqa: F821

# A pending goal is sent again, and an attempt silent for its heartbeat timeout is presumed dead, after
# seconds instead of minutes: the scenarios measure recovery, and would otherwise wait for it.
GOALS_RECONCILE_PENDING_GRACE = float(os.environ.get("FAULTS_PENDING_GRACE", TIMINGS["FAULTS_PENDING_GRACE"]))
GOALS_RECONCILE_CALLBACK_GRACE = float(os.environ.get("FAULTS_CALLBACK_GRACE", TIMINGS["FAULTS_CALLBACK_GRACE"]))
GOALS_RECONCILE_QUEUED_TIMEOUT = float(os.environ.get("FAULTS_QUEUED_TIMEOUT", TIMINGS["FAULTS_QUEUED_TIMEOUT"]))
# A schedule's period is missed (its catch-up policy applies) 10 s after its start (twice the release
# interval: goals.W005), not a minute.
GOALS_SCHEDULE_GRACE = float(os.environ.get("FAULTS_SCHEDULE_GRACE", TIMINGS["FAULTS_SCHEDULE_GRACE"]))
GOALS_RECONCILE_INTERVAL = float(os.environ.get("FAULTS_RECONCILE_EVERY", TIMINGS["FAULTS_RECONCILE_EVERY"]))
# Tasks without a queue of their own (the beat-scheduled reconciler) go to a queue of the run's own too.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("FAULTS_QUEUE", "goals-faults") + "-default"
# The release of due goals too, whatever route the base settings give it (the test settings' goes to the
# test session's queue, which the scenario's workers do not consume).
CELERY_TASK_ROUTES = {**globals().get("CELERY_TASK_ROUTES", {}), "goals.release": {"queue": CELERY_TASK_DEFAULT_QUEUE}}
