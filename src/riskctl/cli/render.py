"""``riskctl render k8s``: the policy as Kubernetes manifests (SPEC §6)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from riskctl.cli._app import render_app
from riskctl.cli._options import AsOpt, ConfigOpt, EnvOpt, JsonOpt, KeyOpt
from riskctl.cli._runner import Output, run, run_plain

if TYPE_CHECKING:
    from riskctl.config import DeliveryConfig
    from riskctl.render import ReleaseInfo
    from riskctl.usecases.context import Context


@render_app.command("k8s")
def render_k8s_command(
    *,
    env: EnvOpt,
    image: Annotated[
        str,
        typer.Option(
            "--image",
            help="Image reference CI pushed, with a tag or @sha256 digest (riskctl builds "
            "wheels, not images, so it cannot derive one).",
        ),
    ],
    release: Annotated[
        str | None,
        typer.Option(
            "--release",
            help="Release (id or digest) the image was built from: sets the version, commit "
            "and digest /version reports.",
        ),
    ] = None,
    namespace: Annotated[
        str | None, typer.Option("--namespace", help="Namespace (default: risk-service-ENV).")
    ] = None,
    create_namespace: Annotated[
        bool, typer.Option("--create-namespace", help="Also render the Namespace.")
    ] = False,
    replicas: Annotated[
        int | None,
        typer.Option("--replicas", min=1, help="API pods (default by strategy: 1, 2, 4)."),
    ] = None,
    prometheus_url: Annotated[
        str | None,
        typer.Option(
            "--prometheus-url",
            help="In-cluster Prometheus address for canary analysis (required for canary).",
        ),
    ] = None,
    daily_run_image: Annotated[
        str | None,
        typer.Option(
            "--daily-run-image", help="Image of the daily-run CronJob (default: --image)."
        ),
    ] = None,
    fast_track: Annotated[
        bool, typer.Option("--fast-track", help="The fast track's canary steps.")
    ] = False,
    validate: Annotated[
        bool,
        typer.Option(
            "--validate",
            help="Check every manifest offline against the Kubernetes and Argo Rollouts "
            "schemas; exit 1 on a violation (needs kubernetes-validate).",
        ),
    ] = False,
    kubernetes_version: Annotated[
        str, typer.Option("--kubernetes-version", help="Kubernetes schemas to validate against.")
    ] = "1.30",
    out: Annotated[
        str | None,
        typer.Option(
            "--out", help="Write one file per kind into this new or empty directory, not stdout."
        ),
    ] = None,
    actor: AsOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Kubernetes manifests for ENV: Argo Rollouts Rollout and AnalysisTemplate, Services,
    daily-run CronJob (SPEC §6). Gates, approvals, windows, shadow comparison and the audit
    trail stay in riskctl."""

    def render(policy: DeliveryConfig, info: ReleaseInfo | None) -> Output:
        from riskctl.render import RenderOptions  # noqa: PLC0415 - keeps the CLI's start light
        from riskctl.usecases.manifests import render_manifests  # noqa: PLC0415

        options = RenderOptions(
            env=env, image=image, namespace=namespace, create_namespace=create_namespace,
            replicas=replicas, prometheus_url=prometheus_url, daily_run_image=daily_run_image,
            fast_track=fast_track, release=info,
        )  # fmt: skip
        made = render_manifests(
            policy, options, validate_for=kubernetes_version if validate else None, out=out
        )
        if made.files is None:  # as printed before the CLI had one runner
            return Output(made, made.yaml if info else made.yaml.rstrip("\n"))
        checked = f", valid for Kubernetes {kubernetes_version}" if validate else ""
        return Output(
            made,
            f"wrote {len(made.files)} files to {out}{checked}\n"
            + "\n".join(f"  {f}" for f in made.files),
        )

    if release is not None:

        def body(ctx: Context) -> Output:
            from riskctl.usecases.manifests import release_info  # noqa: PLC0415

            return render(ctx.config, release_info(ctx, release))

        run(body, as_json=as_json, config=config, actor=actor, key=key)
        return

    def plain_body() -> Output:
        from riskctl.usecases.context import load_policy  # noqa: PLC0415

        return render(load_policy(config), None)

    run_plain(plain_body, as_json=as_json)
