"""The admin: goal review (``goal``), reconciliation reports (``reports``), schedules (``schedules``) and API
tokens (``tokens``)."""

from goals.required_apps import missing_required_apps

# The goal admin links django-celery-results' rows; without that app, start-up must reach the system
# check that says so (goals.E020) instead of failing on the import.
if not missing_required_apps():
    from goals.admin.goal import GoalAdmin
    from goals.admin.reports import ReconciliationReportAdmin
    from goals.admin.schedules import ScheduleAdmin, ScheduleEventAdmin
    from goals.admin.tokens import ApiTokenAdmin

    __all__ = ["ApiTokenAdmin", "GoalAdmin", "ReconciliationReportAdmin", "ScheduleAdmin", "ScheduleEventAdmin"]
