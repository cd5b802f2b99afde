# Trellis: a slim, non-root image. `trellis run` connects to Slack when SLACK_BOT_TOKEN and
# SLACK_APP_TOKEN are set (otherwise it serves the local sandbox).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    TRELLIS_HTTP_HOST=0.0.0.0 TRELLIS_HTTP_PORT=8787 \
    TRELLIS_DATABASE_URL=sqlite+aiosqlite:////data/trellis.db

RUN groupadd --system trellis && useradd --system --gid trellis --home /app trellis \
    && mkdir -p /app /data && chown trellis:trellis /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY app ./app
COPY handlers ./handlers
COPY workflows ./workflows
RUN pip install . && rm -rf /root/.cache

USER trellis
VOLUME ["/data"]
EXPOSE 8787

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8787/healthz', timeout=4).status == 200 else 1)"

ENTRYPOINT ["trellis"]
CMD ["run"]
