"""Outgoing webhooks: endpoints, the outbox, signed delivery with retries, and their API.

Below messaging: it records events about a message id with a body the caller built, and never imports
messaging (docs/architecture.md).
"""
