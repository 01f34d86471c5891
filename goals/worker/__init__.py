"""The worker side: the Celery task's lifecycle hooks, the executor's context, the request."""
