"""``riskctl build``: one immutable, reproducible, signed release from a commit."""

from riskctl.build.release import BuildOutput, build_release, content_digest

__all__ = ["BuildOutput", "build_release", "content_digest"]
