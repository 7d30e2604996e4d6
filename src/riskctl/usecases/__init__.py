"""The use cases behind each ``riskctl`` command, over one small :class:`Context`.

============================  =====================================================
module                        commands
============================  =====================================================
:mod:`.release`               ``build``, ``gates``
:mod:`.approvals`             ``review``, ``approve`` (break-glass, model change)
:mod:`.deploys`               ``deploy`` (``--check``, ``--via``)
:mod:`.rollouts`              ``promote``, ``abort``, ``rollback``
:mod:`.queries`               ``status``, ``history``, ``audit verify``, ``dora``
:mod:`.incidents`             ``incident open|resolve|list``
:mod:`.evidence`              ``audit report``
:mod:`.envops`                ``exec``, ``risk-run``
:mod:`.manifests`             ``render k8s``
============================  =====================================================

Each use case takes the context first, decides through :mod:`riskctl.policy`, records through
:meth:`Context.record`, and returns a frozen result (``as_dict()`` is the ``--json`` shape) or
raises a :mod:`riskctl.errors` exception. None prints; the CLI renders.

Importing this package imports nothing else (the CLI's start stays light); the names below load
on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskctl.usecases.context import Context, open_context

__all__ = ["Context", "open_context"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from riskctl.usecases import context  # noqa: PLC0415

        return getattr(context, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
