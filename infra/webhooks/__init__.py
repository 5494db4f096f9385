"""Webhook delivery: target checks, a minimal HTTP client and the relay."""
