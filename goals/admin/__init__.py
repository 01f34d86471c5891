"""The admin: goal review (``goal``), reconciliation reports (``reports``) and API tokens (``tokens``)."""

from goals.admin.goal import GoalAdmin
from goals.admin.reports import ReconciliationReportAdmin
from goals.admin.tokens import ApiTokenAdmin

__all__ = ["ApiTokenAdmin", "GoalAdmin", "ReconciliationReportAdmin"]
