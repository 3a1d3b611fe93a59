#!/bin/bash
# Runs once, right after InfluxDB's first setup (docker-entrypoint-initdb.d, influx CLI already set up
# with the admin token): least-privilege tokens for the telemetry bucket, written to the shared
# `influx-tokens` volume — the site gateways get write-only, Grafana read-only. The admin token stays
# in .env only.
set -euo pipefail

out=/run/anxin-influx
bucket_id=$(influx bucket list --org "${DOCKER_INFLUXDB_INIT_ORG}" --name "${DOCKER_INFLUXDB_INIT_BUCKET}" \
  --hide-headers | cut -f1)

new_token() {  # new_token <description> <--read-bucket|--write-bucket>
  influx auth create --org "${DOCKER_INFLUXDB_INIT_ORG}" --description "$1" "$2" "${bucket_id}" \
    --hide-headers | cut -f3
}

umask 022  # the gateways and Grafana run as other users in their own containers
new_token "anxin site gateways: write telemetry" --write-bucket > "${out}/edge-write.token"
new_token "grafana: read telemetry" --read-bucket > "${out}/grafana-read.token"
echo "anxin: telemetry tokens written to ${out}"
