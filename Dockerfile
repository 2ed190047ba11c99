# Plumbline in a container: python slim, a non-root user, the database on a volume.
#   docker build -t plumbline .
#   docker run -d --name plumbline --env-file .env -v plumbline-data:/data plumbline
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_PATH=/data/plumbline.db \
    MPLCONFIGDIR=/tmp/matplotlib \
    WEB_HOST=0.0.0.0

RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin plumbline \
    && mkdir -p /data /app \
    && chown plumbline:plumbline /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
RUN pip install .

USER plumbline
VOLUME ["/data"]
# The read-only dashboard; publish it to the host only: docker run -p 127.0.0.1:8080:8080 ...
EXPOSE 8080
# Migrations run at startup; a second container on the same volume refuses to start.
CMD ["plumbline", "run"]
