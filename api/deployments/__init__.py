"""Deployments: the manifest (`skiff.toml`), the uploaded code bundle and the environments they name."""
