"""Secrets: named sets of environment variables, encrypted at rest, delivered to containers."""
