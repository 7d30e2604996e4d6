# Kubernetes staging of risk-service (issue 10). Applied by the platform team with
# `terraform init/plan/apply` (see README.md); never applied from this repository's CI.
terraform {
  required_version = ">= 1.6.0"

  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.35"
    }
  }
}

provider "kubernetes" {
  # The operator's own kubeconfig: no credential lives in this code or its variables.
  config_path    = var.kubeconfig_path
  config_context = var.kube_context
}
