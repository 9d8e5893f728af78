"""Webhooks: subscriptions (router, service), the outbox written by a unit-of-work handler (outbox), and the
deliverer that POSTs each outbox row, signed per Standard Webhooks, with retries (deliverer)."""
