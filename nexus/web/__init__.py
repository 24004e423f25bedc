"""HTTP glue: error handling, health, webhooks. The REST API lives in :mod:`nexus.api`."""
