# One image for every Anxin service; the command picks the part (`anxin cloud`, `anxin edge`, `anxin sim`).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY contracts contracts
COPY edge edge
COPY cloud cloud
COPY firmware_sim firmware_sim
COPY anxin anxin
COPY broker broker
RUN pip install --no-cache-dir .
RUN useradd --system --home /var/lib/anxin anxin && mkdir -p /var/lib/anxin && chown anxin /var/lib/anxin
USER anxin
WORKDIR /var/lib/anxin
ENTRYPOINT ["anxin"]
