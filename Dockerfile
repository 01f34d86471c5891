FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY goals ./goals
COPY config ./config
COPY demo ./demo
COPY manage.py ./
RUN pip install .
RUN useradd --create-home app
USER app
