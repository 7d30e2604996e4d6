# The daily run's Dask cluster: one scheduler, `dask_workers` workers, all on the release image
# (the workers import risk_service; a worker on another release is refused by the run).
# The daily-run CronJob rendered by riskctl reaches it through RISK_SERVICE_DASK_SCHEDULER.

locals {
  dask_scheduler_address = "tcp://risk-service-dask-scheduler.${var.namespace}.svc:8786"
}

resource "kubernetes_deployment_v1" "dask_scheduler" {
  # checkov cannot see through var.image; its validation refuses all but repo@sha256:<digest>.
  #checkov:skip=CKV_K8S_14:var.image must be pinned by digest (see its validation block)
  #checkov:skip=CKV_K8S_43:var.image must be pinned by digest (see its validation block)
  metadata {
    name      = "risk-service-dask-scheduler"
    namespace = kubernetes_namespace_v1.staging.metadata[0].name
    labels    = merge(local.labels, local.dask_scheduler_pods)
  }
  spec {
    replicas = 1
    selector {
      match_labels = local.dask_scheduler_pods
    }
    template {
      metadata {
        labels = merge(local.labels, local.dask_scheduler_pods)
      }
      spec {
        service_account_name            = kubernetes_service_account_v1.dask.metadata[0].name
        automount_service_account_token = false
        security_context {
          run_as_non_root = true
          run_as_user     = 10001
          run_as_group    = 10001
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }
        container {
          name              = "scheduler"
          image             = var.image
          image_pull_policy = "Always"
          command           = ["dask", "scheduler", "--port", "8786", "--no-dashboard"]
          port {
            container_port = 8786
            name           = "dask"
          }
          resources {
            requests = {
              cpu    = "500m"
              memory = "1Gi"
            }
            limits = {
              cpu    = "1"
              memory = "2Gi"
            }
          }
          liveness_probe {
            tcp_socket {
              port = 8786
            }
            period_seconds = 10
          }
          readiness_probe {
            tcp_socket {
              port = 8786
            }
            period_seconds = 5
          }
          security_context {
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            run_as_non_root            = true
            run_as_user                = 10001
            capabilities {
              drop = ["ALL"]
            }
          }
          volume_mount {
            name       = "tmp"
            mount_path = "/tmp"
          }
        }
        volume {
          name = "tmp"
          empty_dir {
            size_limit = "256Mi"
          }
        }
      }
    }
  }
}

resource "kubernetes_service_v1" "dask_scheduler" {
  metadata {
    name      = "risk-service-dask-scheduler"
    namespace = kubernetes_namespace_v1.staging.metadata[0].name
    labels    = merge(local.labels, local.dask_scheduler_pods)
  }
  spec {
    type     = "ClusterIP"
    selector = local.dask_scheduler_pods
    port {
      name        = "dask"
      port        = 8786
      target_port = "dask"
      protocol    = "TCP"
    }
  }
}

resource "kubernetes_deployment_v1" "dask_workers" {
  # checkov cannot see through var.image; its validation refuses all but repo@sha256:<digest>.
  #checkov:skip=CKV_K8S_14:var.image must be pinned by digest (see its validation block)
  #checkov:skip=CKV_K8S_43:var.image must be pinned by digest (see its validation block)
  metadata {
    name      = "risk-service-dask-worker"
    namespace = kubernetes_namespace_v1.staging.metadata[0].name
    labels    = merge(local.labels, local.dask_worker_pods)
  }
  spec {
    replicas = var.dask_workers
    selector {
      match_labels = local.dask_worker_pods
    }
    template {
      metadata {
        labels = merge(local.labels, local.dask_worker_pods)
      }
      spec {
        service_account_name            = kubernetes_service_account_v1.dask.metadata[0].name
        automount_service_account_token = false
        security_context {
          run_as_non_root = true
          run_as_user     = 10001
          run_as_group    = 10001
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }
        container {
          name              = "worker"
          image             = var.image
          image_pull_policy = "Always"
          # One process, one thread: parallelism is more pods (the run pins BLAS to one thread
          # per block, see docs/scale.md); fixed ports so the network policy can name them.
          command = [
            "dask", "worker", local.dask_scheduler_address,
            "--nworkers", "1", "--nthreads", "1",
            "--memory-limit", var.dask_worker_memory,
            "--worker-port", "9000", "--nanny-port", "9001",
            "--local-directory", "/tmp/dask", "--no-dashboard",
          ]
          port {
            container_port = 9000
            name           = "worker"
          }
          port {
            container_port = 9001
            name           = "nanny"
          }
          resources {
            requests = {
              cpu    = "1"
              memory = var.dask_worker_memory
            }
            limits = {
              cpu    = "1"
              memory = var.dask_worker_memory
            }
          }
          liveness_probe {
            tcp_socket {
              port = 9000
            }
            period_seconds = 10
          }
          readiness_probe {
            tcp_socket {
              port = 9000
            }
            period_seconds = 5
          }
          security_context {
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            run_as_non_root            = true
            run_as_user                = 10001
            capabilities {
              drop = ["ALL"]
            }
          }
          volume_mount {
            name       = "tmp"
            mount_path = "/tmp"
          }
        }
        volume {
          name = "tmp"
          empty_dir {
            size_limit = "2Gi"
          }
        }
      }
    }
  }
}
