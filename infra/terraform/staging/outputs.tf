output "namespace" {
  description = "Namespace of risk-service in staging."
  value       = kubernetes_namespace_v1.staging.metadata[0].name
}

output "dask_scheduler" {
  description = "Address the daily run uses (RISK_SERVICE_DASK_SCHEDULER)."
  value       = local.dask_scheduler_address
}

output "database_secret" {
  description = "Secret the operator must create (key database-url) before the first apply: the rendered pods reference it by name; Terraform never reads or writes it."
  value       = "risk-service-secrets"
}
