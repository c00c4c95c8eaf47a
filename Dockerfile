# NFL real-time sync. Build: docker build -t nfl-sync .
# Run:  docker run -d --name nfl-sync --restart unless-stopped --env-file .env \
#         -p 127.0.0.1:9108:9108 -v nfl-data:/app/data nfl-sync
# Without DATABASE_URL/DB_HOST the embedded PostgreSQL keeps its data in the /app/data volume.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    METRICS_PORT=9108 METRICS_HOST=0.0.0.0 MPLBACKEND=Agg MPLCONFIGDIR=/tmp/matplotlib

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt && useradd --system --uid 10001 --home /app nfl
COPY src/ src/
COPY sql/ sql/
RUN mkdir -p logs data && chown -R nfl:nfl logs data && chmod 750 logs && chmod 700 data

USER nfl
EXPOSE 9108
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"METRICS_PORT\"]}/healthz', timeout=4)"
STOPSIGNAL SIGTERM
CMD ["python", "src/nfl_realtime_sync.py"]
