#!/bin/sh
# Declare the bus's queues, migrate (and seed the catalogue) when asked, then exec the service so
# SIGTERM reaches it.
set -eu
python -m motcua.topology /app/deploy/rabbitmq/definitions.json
if [ "${MIGRATE_ON_START:-0}" = "1" ]; then
  python -m motcua.migrations "$SERVICE"
fi
if [ -n "${SEED_CATALOGUE:-}" ] && [ "$SERVICE" = "catalog" ]; then
  python -m catalog.cli import "$SEED_CATALOGUE"
fi
exec python -m motcua.serve "$SERVICE"
