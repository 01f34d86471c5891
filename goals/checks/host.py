"""System checks of the host project: what goaltrack's promises need from the settings around it.

Each problem names the setting and the fix. An Error means a promise breaks (a goal could be lost, run
twice, or answered with a 500); a Warning means the app works with less than it documents (no result rows
to cross-check, no scheduled reconciler). A project configured as the tutorial's "Add goaltrack to your
project" says passes ``manage.py check --deploy`` with no goals message (the install test proves it).

The Celery settings are read from the host's Celery app (``app.conf``), not from ``CELERY_*`` names, so a
project that configures Celery its own way is checked as its worker will see it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.shortcuts import resolve_url
from django.urls import NoReverseMatch, Resolver404, resolve

from goals.conf import goal_settings
from goals.executors.registry import get_executor, hard_time_limit, registered_kinds
from goals.required_apps import REQUIRED_APPS, missing_required_apps
from goals.task_names import EXECUTE_TASK
from goals.web.serialize import ensure_links_resolve

DATABASE_SCHEDULERS = {"django_celery_beat.schedulers:DatabaseScheduler",
                       "django_celery_beat.schedulers.DatabaseScheduler", "django"}
# Brokers that hand an unacknowledged message to another worker after a visibility timeout (Redis, SQS).
VISIBILITY_BROKERS = {"redis", "rediss", "sqs"}
REDIS_DEFAULT_VISIBILITY = 3600.0
# RabbitMQ closes the channel of a consumer that holds a message unacknowledged longer than this (default).
RABBITMQ_CONSUMER_TIMEOUT = 1800.0
JSON = {"json", "application/json"}

Problem = Error | Warning


@register()
def check_required_apps(app_configs: Any, **kwargs: Any) -> list[Problem]:
    return [Error(f"'{name}' is not in INSTALLED_APPS: goaltrack keeps {REQUIRED_APPS[name]} in its tables",
                  hint=f"Add '{name}' to INSTALLED_APPS (see the tutorial, Add goaltrack to your project).",
                  id="goals.E020")
            for name in missing_required_apps()]


@register()
def check_database(app_configs: Any, **kwargs: Any) -> list[Problem]:
    problems: list[Problem] = []
    engine = settings.DATABASES.get("default", {}).get("ENGINE", "")
    if engine != "django.db.backends.postgresql":
        problems.append(Error(f"DATABASES['default'] uses {engine or 'no engine'}: goal transitions are PostgreSQL "
                              "statements (compare-and-set, SKIP LOCKED, partial indexes)",
                              hint="Use ENGINE 'django.db.backends.postgresql' with psycopg 3.", id="goals.E021"))
    if not settings.USE_TZ:
        problems.append(Error("USE_TZ is False: goal timestamps (deadlines, heartbeats) must be aware",
                              hint="Set USE_TZ = True (Django's default).", id="goals.E022"))
    return problems


@register(Tags.urls)
def check_routes(app_configs: Any, **kwargs: Any) -> list[Problem]:
    if missing_required_apps() or not getattr(settings, "ROOT_URLCONF", None):
        # goals.urls serves nothing until goals.E020 is fixed; a process without URLs (a bare worker's
        # settings) serves no page to check.
        return []
    problems: list[Problem] = []
    try:
        # The same question the submit endpoint asks before it writes.
        ensure_links_resolve()
    except NoReverseMatch:
        problems.append(Error("goaltrack's routes are not in ROOT_URLCONF: the API, the progress page and /metrics "
                              "answer 404", hint='Add path("<prefix>/", include("goals.urls")) to your urlpatterns.',
                              id="goals.E023"))
        return problems
    if not _is_route(settings.LOGIN_URL):
        problems.append(Warning(f"LOGIN_URL ({settings.LOGIN_URL!r}) is not a route of this project: signed-out "
                                "visitors of the live pages get a 404 or a 500 instead of a login page",
                                hint='Set LOGIN_URL to your login view (such as "login", of django.contrib.auth.urls); '
                                     '"admin:login" signs in staff only, not the owners of goals.', id="goals.W024"))
    return problems


def _is_route(url: str) -> bool:
    """Whether ``url`` (a path, a URL name, or an absolute URL) leads to a page: another site's is trusted."""
    try:
        # A bare name that reverses to nothing ("login" without its include) raises rather than passing through.
        parts = urlsplit(resolve_url(url))
        if not parts.netloc:
            resolve(parts.path)
    except (NoReverseMatch, Resolver404):
        return False
    return True


def _celery_app() -> Any:
    """The host's Celery app, or None where the process created none (only Celery's own fallback exists)."""
    from celery import _state

    if _state.default_app is None:
        return None
    app = _state.get_current_app()
    # Celery's fallback, made when something asked for the current app before any was created, is named
    # "default" and has no fix-ups (an app a project creates has Django's).
    return None if app.main == "default" and not app.fixups else app


@register()
def check_celery(app_configs: Any, **kwargs: Any) -> list[Problem]:
    app = _celery_app()
    if app is None:
        return [Error("no Celery app is loaded: goal tasks have nothing to be sent with",
                      hint="Define the app in <project>/celery.py (app.config_from_object('django.conf:settings', "
                           "namespace='CELERY'); app.autodiscover_tasks()) and import it in <project>/__init__.py.",
                      id="goals.E030")]
    if missing_required_apps():
        return []  # goals.E020 comes first: the goal task cannot even be imported without those apps
    conf = app.conf
    return [*_content_problems(conf), *_scheduling_problems(conf), *_delivery_problems(app),
            *_time_limit_problems(conf)]


def _content_problems(conf: Any) -> list[Problem]:
    problems: list[Problem] = []
    for name in ("accept_content", "result_accept_content"):
        accepted = set(conf.get(name) or ["json"])
        if accepted - JSON:
            problems.append(Error(f"Celery's {name} is {sorted(accepted)}: a message from the broker could run code "
                                  "in the worker", hint=f'Set CELERY_{name.upper()} = ["json"].', id="goals.E031"))
    if conf.task_serializer != "json":
        problems.append(Error(f"Celery's task_serializer is {conf.task_serializer!r}: goal tasks are JSON messages",
                              hint='Set CELERY_TASK_SERIALIZER = "json".', id="goals.E032"))
    return problems


def _scheduling_problems(conf: Any) -> list[Problem]:
    problems: list[Problem] = []
    if conf.task_always_eager:
        problems.append(Error("Celery's task_always_eager is on: goals would run inside the request, outside the "
                              "worker lifecycle that records them", hint="Turn CELERY_TASK_ALWAYS_EAGER off; test "
                              "with a real worker.", id="goals.E033"))
    if conf.result_backend != "django-db":
        problems.append(Warning(f"Celery's result_backend is {conf.result_backend!r}: goals work, but no task result "
                                "rows reach PostgreSQL for the reconciler to cross-check (lost callbacks, mismatches)",
                                hint='Set CELERY_RESULT_BACKEND = "django-db".', id="goals.W034"))
    if str(conf.beat_scheduler) not in DATABASE_SCHEDULERS:
        problems.append(Warning(f"Celery's beat_scheduler is {conf.beat_scheduler!r}: the reconcile and prune entries "
                                "live in django-celery-beat's tables, so beat would never run a reconcile pass",
                                hint='Set CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler" '
                                     "(or run beat with -S django).", id="goals.W035"))
    return problems


def _delivery_problems(app: Any) -> list[Problem]:
    # The goal task declares late acks and requeue-on-lost itself; only an annotation can take them away.
    import goals.tasks  # noqa: F401  (registers the goal task with the app, as the worker does)

    task = app.tasks[EXECUTE_TASK]
    problems: list[Problem] = []
    if not task.acks_late or not task.reject_on_worker_lost:
        problems.append(Error(f"{EXECUTE_TASK} runs with acks_late={task.acks_late}, reject_on_worker_lost="
                              f"{task.reject_on_worker_lost}: a worker that dies mid-task loses its goal's message",
                              hint=f"Remove the task_annotations that override them for {EXECUTE_TASK!r}.",
                              id="goals.E036"))
    if app.conf.worker_prefetch_multiplier != 1:
        problems.append(Warning(f"Celery's worker_prefetch_multiplier is {app.conf.worker_prefetch_multiplier}: with "
                                "late acks a prefetched goal waits unacknowledged behind a running one (and counts "
                                "against the broker's visibility timeout)",
                                hint="Set CELERY_WORKER_PREFETCH_MULTIPLIER = 1.", id="goals.W037"))
    return problems


def _time_limit_problems(conf: Any) -> list[Problem]:
    transport = urlsplit(str(conf.broker_url or "amqp://")).scheme.split("+")[0]
    limits = {f"executor {kind!r}": get_executor(kind).hard_time_limit for kind in registered_kinds()}
    limits["GOALS_DEFAULT_TIMEOUT"] = hard_time_limit(goal_settings().default_timeout)
    if transport in VISIBILITY_BROKERS:
        options = conf.broker_transport_options or {}
        visibility = float(options.get("visibility_timeout", REDIS_DEFAULT_VISIBILITY))
        return [Error(f"{what}: its hard time limit ({limit:.0f} s) is not below the broker's visibility_timeout "
                      f"({visibility:.0f} s): its message would be delivered again while it runs",
                      hint="Raise CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'] above every executor's "
                           "timeout, or lower the timeout.", id="goals.E038")
                for what, limit in limits.items() if limit >= visibility]
    if transport in {"amqp", "amqps", "pyamqp"}:
        return [Warning(f"{what}: its hard time limit ({limit:.0f} s) exceeds RabbitMQ's default consumer_timeout "
                        f"({RABBITMQ_CONSUMER_TIMEOUT:.0f} s), which closes the channel of a task held that long",
                        hint="Raise consumer_timeout in rabbitmq.conf above every executor's timeout.",
                        id="goals.W039")
                for what, limit in limits.items() if limit >= RABBITMQ_CONSUMER_TIMEOUT]
    return []

