output "lake_url" {
  description = "The lake location for [lake] url or LAKEWARDEN_LAKE."
  value       = local.lake_url
}

output "job_role_arn" {
  description = "The role the job runs as: the IRSA annotation of the ServiceAccount, job_role_arn of ../member-role."
  value       = aws_iam_role.job.arn
}

output "glue_database" {
  description = "Glue database for the Athena DDL in sql/athena."
  value       = aws_glue_catalog_database.lake.name
}

output "athena_workgroup" {
  description = "Athena workgroup with encrypted results."
  value       = aws_athena_workgroup.lake.name
}
