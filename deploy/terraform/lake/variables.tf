variable "name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "lakewarden"
}

variable "bucket_name" {
  description = "Name of the lake bucket (globally unique)."
  type        = string
}

variable "lake_prefix" {
  description = "Prefix of the lake inside the bucket."
  type        = string
  default     = "lake"
}

variable "member_role_name" {
  description = "Name of the read-only role in member accounts (../member-role)."
  type        = string
  default     = "lakewarden-readonly"
}

variable "eks_oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider, for IRSA; empty when not on EKS."
  type        = string
  default     = ""
}

variable "eks_oidc_provider_url" {
  description = "Issuer URL of that provider without https:// (oidc.eks.<region>.amazonaws.com/id/<id>)."
  type        = string
  default     = ""
}

variable "kubernetes_namespace" {
  description = "Namespace of the ServiceAccount in deploy/kubernetes."
  type        = string
  default     = "lakewarden"
}

variable "kubernetes_service_account" {
  description = "Name of the ServiceAccount in deploy/kubernetes."
  type        = string
  default     = "lakewarden"
}

variable "enable_ecs" {
  description = "Create the ECS alternative: cluster, task definition and a schedule."
  type        = bool
  default     = false
}

variable "image" {
  description = "Container image built from deploy/Dockerfile."
  type        = string
  default     = "ghcr.io/lakewarden/lakewarden:0.1.0"
}

variable "schedule_expression" {
  description = "EventBridge Scheduler expression for the ECS task."
  type        = string
  default     = "cron(30 2 * * ? *)"
}

variable "subnet_ids" {
  description = "Subnets of the ECS task (with a route to the AWS APIs)."
  type        = list(string)
  default     = []
}

variable "security_group_ids" {
  description = "Security groups of the ECS task (egress to HTTPS only is enough)."
  type        = list(string)
  default     = []
}

variable "athena_results_retention_days" {
  description = "Days Athena query results are kept."
  type        = number
  default     = 30
}
