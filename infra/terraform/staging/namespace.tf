locals {
  labels = {
    "app.kubernetes.io/name"       = "risk-service"
    "app.kubernetes.io/instance"   = "risk-service-staging"
    "app.kubernetes.io/part-of"    = "risk-service"
    "app.kubernetes.io/managed-by" = "terraform"
  }
  # Pod selectors: the same labels `riskctl render k8s` puts on its pods.
  api_pods = {
    "app.kubernetes.io/name"      = "risk-service"
    "app.kubernetes.io/component" = "api"
  }
  daily_run_pods = {
    "app.kubernetes.io/name"      = "risk-service"
    "app.kubernetes.io/component" = "daily-run"
  }
  dask_scheduler_pods = {
    "app.kubernetes.io/name"      = "risk-service"
    "app.kubernetes.io/component" = "dask-scheduler"
  }
  dask_worker_pods = {
    "app.kubernetes.io/name"      = "risk-service"
    "app.kubernetes.io/component" = "dask-worker"
  }
}

resource "kubernetes_namespace_v1" "staging" {
  metadata {
    name = var.namespace
    labels = merge(local.labels, {
      "pod-security.kubernetes.io/enforce" = "restricted"
      "pod-security.kubernetes.io/audit"   = "restricted"
      "pod-security.kubernetes.io/warn"    = "restricted"
    })
  }
}

resource "kubernetes_resource_quota_v1" "staging" {
  metadata {
    name      = "risk-service-quota"
    namespace = kubernetes_namespace_v1.staging.metadata[0].name
    labels    = local.labels
  }
  spec {
    hard = {
      "requests.cpu"           = "24"
      "requests.memory"        = "64Gi"
      "limits.cpu"             = "48"
      "limits.memory"          = "128Gi"
      "pods"                   = "80"
      "services"               = "10"
      "services.loadbalancers" = "0"
      "services.nodeports"     = "0"
      "persistentvolumeclaims" = "0"
    }
  }
}

resource "kubernetes_limit_range_v1" "staging" {
  metadata {
    name      = "risk-service-limits"
    namespace = kubernetes_namespace_v1.staging.metadata[0].name
    labels    = local.labels
  }
  spec {
    limit {
      type = "Container"
      default = {
        cpu    = "1"
        memory = "1Gi"
      }
      default_request = {
        cpu    = "250m"
        memory = "256Mi"
      }
    }
  }
}

# The API pods and the daily run use this account; it gets no API token and no RBAC binding.
resource "kubernetes_service_account_v1" "risk_service" {
  metadata {
    name      = "risk-service"
    namespace = kubernetes_namespace_v1.staging.metadata[0].name
    labels    = local.labels
  }
  automount_service_account_token = false
}

resource "kubernetes_service_account_v1" "dask" {
  metadata {
    name      = "risk-service-dask"
    namespace = kubernetes_namespace_v1.staging.metadata[0].name
    labels    = local.labels
  }
  automount_service_account_token = false
}
