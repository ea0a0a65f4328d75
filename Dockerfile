# contactcenter: slim image running `contactcenter serve`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CONTACTCENTER_DATA_DIR=/data \
    CONTACTCENTER_HOST=0.0.0.0 \
    CONTACTCENTER_PORT=8080

WORKDIR /app
COPY pyproject.toml README.md ./
COPY contactcenter ./contactcenter
COPY channels ./channels
COPY knowledge_base ./knowledge_base
RUN pip install '.[postgres,redis]' \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin contactcenter \
    && mkdir -p /data && chown contactcenter /data

USER contactcenter
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os,urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('CONTACTCENTER_PORT','8080'), timeout=4); sys.exit(0)" || exit 1
CMD ["contactcenter", "serve"]
