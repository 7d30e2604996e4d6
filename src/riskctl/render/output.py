"""Manifests as YAML text: one multi-document stream, or one document group per kind."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml  # type: ignore[import-untyped]

__all__ = ["file_names", "split_by_kind", "to_yaml"]


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]
    """Safe dumper that writes multi-line strings (the CronJob's script) as literal blocks and
    repeats shared values instead of emitting ``&id001`` anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> Any:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(docs: Sequence[Mapping[str, Any]]) -> str:
    """A multi-document YAML stream, keys in the order rendered (``kubectl apply -f -``)."""
    return str(
        yaml.dump_all(
            [dict(doc) for doc in docs],
            Dumper=_Dumper,
            explicit_start=True,
            sort_keys=False,
            width=4096,  # long PromQL queries stay on one line
        )
    )


def file_names(docs: Sequence[Mapping[str, Any]]) -> list[str]:
    """One file name per kind, numbered in first-appearance (apply) order:
    ``00-namespace.yaml``, ``01-serviceaccount.yaml``…"""
    return [name for name, _ in split_by_kind(docs)]


def split_by_kind(docs: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(file name, YAML text) per kind; ``kubectl apply -f DIR`` reads files in name order."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for doc in docs:
        groups.setdefault(str(doc["kind"]).lower(), []).append(doc)
    return [
        (f"{index:02d}-{kind}.yaml", to_yaml(group))
        for index, (kind, group) in enumerate(groups.items())
    ]
