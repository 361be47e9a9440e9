"""Errors of deploying: every problem of a manifest or bundle, named by field or member."""

from __future__ import annotations

import msgspec

from api.errors import PayloadTooLarge, Unprocessable

MAX_DETAIL_ISSUES = 5  # the detail line stays readable; `errors` carries every issue


class FieldIssue(msgspec.Struct, frozen=True):
    """One problem: where it is (`functions.thumbnail.memory`, `bundle`) and what is wrong."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidFields(Unprocessable):
    """A 422 that names every invalid field at once; the problem mapper lists `errors`."""

    summary = "invalid"

    def __init__(self, errors: list[FieldIssue]) -> None:
        if not errors:
            raise ValueError("an InvalidFields error needs at least one issue")
        shown = "; ".join(str(issue) for issue in errors[:MAX_DETAIL_ISSUES])
        more = len(errors) - MAX_DETAIL_ISSUES
        suffix = f"; and {more} more" if more > 0 else ""
        count = f"{len(errors)} problem" + ("s" if len(errors) > 1 else "")
        super().__init__(f"{self.summary} ({count}): {shown}{suffix}")
        self.errors = list(errors)


class InvalidManifest(InvalidFields):
    """`skiff.toml` does not parse or breaks a rule; fields are paths inside it."""

    summary = "skiff.toml is invalid"


class InvalidBundle(InvalidFields):
    """The bundle's shape is wrong: an unsafe member, no manifest, a missing or broken handler."""

    summary = "bundle rejected"

    @classmethod
    def member(cls, path: str, reason: str) -> InvalidBundle:
        return cls([FieldIssue("bundle", f"member {path!r}: {reason}")])

    @classmethod
    def single(cls, message: str) -> InvalidBundle:
        return cls([FieldIssue("bundle", message)])


class BundleTooLarge(PayloadTooLarge):
    """A size cap of the bundle was exceeded; `limit` is the name of the `BundleLimits` field."""

    def __init__(self, detail: str, *, limit: str) -> None:
        super().__init__(f"{detail} (limit: {limit})")
        self.limit = limit
