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
# Data folders are private (0700): named volumes mounted on them start with this owner and mode.
# /srv/mosquitto-auth and /srv/anxin-sim belong to Mosquitto's uid (1883): broker-sync writes there.
RUN useradd --system --home /var/lib/anxin anxin \
 && install -d -m 0700 -o anxin -g anxin /var/lib/anxin /var/lib/anxin/edge \
 && install -d -m 0700 -o 1883 -g 1883 /srv/mosquitto-auth /srv/anxin-sim
USER anxin
WORKDIR /var/lib/anxin
ENTRYPOINT ["anxin"]
