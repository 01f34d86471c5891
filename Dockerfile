FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY goals ./goals
COPY config ./config
COPY demo ./demo
COPY manage.py ./
RUN pip install .
# The admin's CSS and JS, served by WhiteNoise; the URLs only satisfy the production settings' checks.
RUN SECRET_KEY=collectstatic DATABASE_URL=postgres://unused/unused CELERY_BROKER_URL=redis://unused:6379/0 \
    DJANGO_SETTINGS_MODULE=config.settings.production python manage.py collectstatic --noinput
RUN useradd --create-home app
USER app
