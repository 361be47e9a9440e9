"""The smallest Skiff app: a function that greets, and one that fails on purpose."""

from __future__ import annotations


def hello(name: str = "world") -> dict[str, str]:
    print(f"saying hello to {name}")  # lands in the call's logs
    return {"greeting": f"hello {name}"}


def fail(reason: str = "something went wrong") -> None:
    raise ValueError(reason)
