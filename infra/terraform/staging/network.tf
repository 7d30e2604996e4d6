# Default deny, then only: front door -> API; API and daily run -> PostgreSQL (and cluster DNS,
# to resolve its name); daily run -> Dask scheduler; scheduler <-> workers.

resource "kubernetes_network_policy_v1" "default_deny" {
  metadata {
    name      = "default-deny"
    namespace = kubernetes_namespace_v1.staging.metadata[0].name
    labels    = local.labels
  }
  spec {
    pod_selector {}
    policy_types = ["Ingress", "Egress"]
  }
}

resource "kubernetes_network_policy_v1" "api_from_front_door" {
  metadata {
    name      = "api-from-front-door"
    namespace = kubernetes_namespace_v1.staging.metadata[0].name
    labels    = local.labels
  }
  spec {
    pod_selector {
      match_labels = local.api_pods
    }
    policy_types = ["Ingress"]
    ingress {
      from {
        namespace_selector {
          match_labels = { "kubernetes.io/metadata.name" = var.front_door_namespace }
        }
      }
      ports {
        port     = "8000"
        protocol = "TCP"
      }
    }
  }
}

resource "kubernetes_network_policy_v1" "service_to_postgres" {
  for_each = {
    api       = local.api_pods
    daily-run = local.daily_run_pods
  }
  metadata {
    name      = "${each.key}-to-postgres"
    namespace = kubernetes_namespace_v1.staging.metadata[0].name
    labels    = local.labels
  }
  spec {
    pod_selector {
      match_labels = each.value
    }
    policy_types = ["Egress"]
    egress {
      to {
        ip_block {
          cidr = var.postgres_cidr
        }
      }
      ports {
        port     = "5432"
        protocol = "TCP"
      }
    }
    egress {
      to {
        namespace_selector {
          match_labels = { "kubernetes.io/metadata.name" = "kube-system" }
        }
        pod_selector {
          match_labels = { "k8s-app" = "kube-dns" }
        }
      }
      ports {
        port     = "53"
        protocol = "UDP"
      }
      ports {
        port     = "53"
        protocol = "TCP"
      }
    }
  }
}

resource "kubernetes_network_policy_v1" "daily_run_to_dask" {
  metadata {
    name      = "daily-run-to-dask"
    namespace = kubernetes_namespace_v1.staging.metadata[0].name
    labels    = local.labels
  }
  spec {
    pod_selector {
      match_labels = local.daily_run_pods
    }
    policy_types = ["Egress"]
    egress {
      to {
        pod_selector {
          match_labels = local.dask_scheduler_pods
        }
      }
      ports {
        port     = "8786"
        protocol = "TCP"
      }
    }
  }
}

resource "kubernetes_network_policy_v1" "dask_scheduler" {
  metadata {
    name      = "dask-scheduler"
    namespace = kubernetes_namespace_v1.staging.metadata[0].name
    labels    = local.labels
  }
  spec {
    pod_selector {
      match_labels = local.dask_scheduler_pods
    }
    policy_types = ["Ingress", "Egress"]
    ingress {
      from {
        pod_selector {
          match_labels = local.daily_run_pods
        }
      }
      from {
        pod_selector {
          match_labels = local.dask_worker_pods
        }
      }
      ports {
        port     = "8786"
        protocol = "TCP"
      }
    }
    egress {
      to {
        pod_selector {
          match_labels = local.dask_worker_pods
        }
      }
      ports {
        port     = "9000"
        protocol = "TCP"
      }
      ports {
        port     = "9001"
        protocol = "TCP"
      }
    }
  }
}

resource "kubernetes_network_policy_v1" "dask_workers" {
  metadata {
    name      = "dask-workers"
    namespace = kubernetes_namespace_v1.staging.metadata[0].name
    labels    = local.labels
  }
  spec {
    pod_selector {
      match_labels = local.dask_worker_pods
    }
    policy_types = ["Ingress", "Egress"]
    # The scheduler and the other workers (data transfers) reach a worker's fixed ports.
    ingress {
      from {
        pod_selector {
          match_labels = local.dask_scheduler_pods
        }
      }
      from {
        pod_selector {
          match_labels = local.dask_worker_pods
        }
      }
      ports {
        port     = "9000"
        protocol = "TCP"
      }
      ports {
        port     = "9001"
        protocol = "TCP"
      }
    }
    egress {
      to {
        pod_selector {
          match_labels = local.dask_scheduler_pods
        }
      }
      ports {
        port     = "8786"
        protocol = "TCP"
      }
    }
    egress {
      to {
        pod_selector {
          match_labels = local.dask_worker_pods
        }
      }
      ports {
        port     = "9000"
        protocol = "TCP"
      }
    }
  }
}
