variable "kubeconfig_path" {
  description = "Kubeconfig of the staging cluster (the operator's, never committed)."
  type        = string
  default     = "~/.kube/config"
}

variable "kube_context" {
  description = "Context of the staging cluster in that kubeconfig."
  type        = string
}

variable "namespace" {
  description = "Namespace of risk-service in staging (riskctl's default: risk-service-ENV)."
  type        = string
  default     = "risk-service-staging"
}

variable "manifests_dir" {
  description = "Directory written by `riskctl render k8s --env staging --out DIR` (relative to this module)."
  type        = string
  default     = "manifests"
}

variable "image" {
  description = "The release image, by digest (repo@sha256:...): the same code on the API, the daily run and the Dask workers."
  type        = string

  validation {
    condition     = can(regex("@sha256:[0-9a-f]{64}$", var.image))
    error_message = "image must be pinned by digest (repo@sha256:<64 hex>)."
  }
}

variable "front_door_namespace" {
  description = "Namespace of the front door (ingress controller): the only one allowed to reach the API."
  type        = string
  default     = "ingress-nginx"
}

variable "postgres_cidr" {
  description = "Address range of the staging PostgreSQL (the only database the service may reach)."
  type        = string
}

variable "dask_workers" {
  description = "Dask worker pods of the daily run (see docs/scale.md for sizing)."
  type        = number
  default     = 2

  validation {
    condition     = var.dask_workers >= 1 && var.dask_workers <= 64
    error_message = "dask_workers must be between 1 and 64."
  }
}

variable "dask_worker_memory" {
  description = "Memory of one Dask worker pod; its Dask memory_limit is the same figure."
  type        = string
  default     = "4Gi"
}
