# The read-only role Lakewarden assumes in a member account. Apply once per member
# account; it trusts only the job's role in the security account.

terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60"
    }
  }
}

variable "job_role_arn" {
  description = "ARN of the role the Lakewarden job runs as (output job_role_arn of ../lake)."
  type        = string
}

variable "role_name" {
  description = "Name of the read-only role in this account."
  type        = string
  default     = "lakewarden-readonly"
}

variable "external_id" {
  description = "External id the job must present when assuming the role; empty for none."
  type        = string
  default     = ""
}

data "aws_iam_policy_document" "trust" {
  statement {
    sid     = "LakewardenJob"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = [var.job_role_arn]
    }
    dynamic "condition" {
      for_each = var.external_id == "" ? [] : [var.external_id]
      content {
        test     = "StringEquals"
        variable = "sts:ExternalId"
        values   = [condition.value]
      }
    }
  }
}

resource "aws_iam_role" "readonly" {
  name                 = var.role_name
  description          = "Lakewarden: read-only access to inventory, findings and identity data"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "readonly" {
  name   = "lakewarden-readonly"
  role   = aws_iam_role.readonly.id
  policy = file("${path.module}/../../iam/lakewarden-readonly.json")
}

output "role_arn" {
  description = "ARN of the read-only role, for the job's account list."
  value       = aws_iam_role.readonly.arn
}
