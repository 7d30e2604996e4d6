# The manifests `riskctl render k8s --env staging --image IMAGE --validate --out manifests`
# produces (Argo Rollout + AnalysisTemplate, Services, ConfigMap, PodDisruptionBudget and the
# morning CronJob with timeZone America/New_York), applied as they are rendered: riskctl stays the
# one source of them. Terraform owns the Namespace and the ServiceAccount above, so those two kinds
# are taken from here, not from the rendered set (render without --create-namespace).

locals {
  rendered_files = fileset("${path.module}/${var.manifests_dir}", "*.yaml")
  rendered_docs = flatten([
    for f in sort(tolist(local.rendered_files)) : [
      for doc in split("\n---\n", file("${path.module}/${var.manifests_dir}/${f}")) :
      yamldecode(doc) if trimspace(doc) != "" && trimspace(doc) != "---"
    ]
  ])
  owned_by_terraform = ["Namespace", "ServiceAccount"]
  rendered = {
    for m in local.rendered_docs : "${m.kind}/${m.metadata.name}" => m
    if !contains(local.owned_by_terraform, m.kind)
  }
}

resource "kubernetes_manifest" "rendered" {
  for_each = local.rendered
  manifest = each.value

  depends_on = [
    kubernetes_namespace_v1.staging,
    kubernetes_service_account_v1.risk_service,
    kubernetes_resource_quota_v1.staging,
  ]
}

# The daily run computes on the Dask cluster above: one key added to riskctl's ConfigMap.
resource "kubernetes_config_map_v1_data" "daily_run_scheduler" {
  metadata {
    name      = "risk-service-config"
    namespace = kubernetes_namespace_v1.staging.metadata[0].name
  }
  data = {
    RISK_SERVICE_DASK_SCHEDULER = local.dask_scheduler_address
  }
  force      = true
  depends_on = [kubernetes_manifest.rendered]
}
