"""The SDK's public surface is what `skiff.__all__` lists, and everything it lists is documented."""

from __future__ import annotations

import inspect

import skiff


def test_exported_members_are_the_curated_surface() -> None:
    exported = {name for name in dir(skiff) if not name.startswith("_") and not inspect.ismodule(getattr(skiff, name))}
    assert set(skiff.__all__) == exported
    assert skiff.__all__ == sorted(skiff.__all__)


def test_every_exported_member_says_what_it_is() -> None:
    for name in skiff.__all__:
        member = getattr(skiff, name)
        assert member.__doc__, f"skiff.{name} has no docstring"


def test_every_error_is_a_skiff_error() -> None:
    errors = [getattr(skiff, name) for name in skiff.__all__ if name.endswith(("Error", "NotFound", "Large",
              "Limited", "Unavailable", "Timeout", "Cancelled", "Request"))]  # fmt: skip
    assert errors
    assert all(issubclass(error, skiff.Error) for error in errors if error is not skiff.FieldError)
