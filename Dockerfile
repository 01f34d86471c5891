FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY goals ./goals
COPY config ./config
COPY demo ./demo
COPY manage.py ./
# The app from its wheel, plus what the example project and this deployment need (the `example` dependency
# group: a broker client, psycopg's binary build, gunicorn, WhiteNoise). pip reads groups from 25.1 on.
RUN pip install --upgrade "pip>=25.1" && pip install . --group example
# config/ and demo/ are not in the wheel: they run from /app, the working directory.
# The admin's CSS and JS, served by WhiteNoise; the URLs only satisfy the production settings' checks.
RUN SECRET_KEY=collectstatic DATABASE_URL=postgres://unused/unused CELERY_BROKER_URL=redis://unused:6379/0 \
    DJANGO_SETTINGS_MODULE=config.settings.production python manage.py collectstatic --noinput
RUN useradd --create-home app
USER app
