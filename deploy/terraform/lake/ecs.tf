# The ECS alternative to the Kubernetes CronJob: a Fargate task started by EventBridge
# Scheduler. Created when var.enable_ecs is true.

resource "aws_ecs_cluster" "job" {
  count = var.enable_ecs ? 1 : 0
  name  = var.name
}

resource "aws_cloudwatch_log_group" "job" {
  count             = var.enable_ecs ? 1 : 0
  name              = "/ecs/${var.name}"
  retention_in_days = 90
}

data "aws_iam_policy_document" "ecs_tasks_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "execution" {
  count              = var.enable_ecs ? 1 : 0
  name               = "${var.name}-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
}

resource "aws_iam_role_policy_attachment" "execution" {
  count      = var.enable_ecs ? 1 : 0
  role       = aws_iam_role.execution[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

resource "aws_ecs_task_definition" "job" {
  count                    = var.enable_ecs ? 1 : 0
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = "1024"
  memory                   = "2048"
  execution_role_arn       = aws_iam_role.execution[0].arn
  task_role_arn            = aws_iam_role.job.arn
  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }
  container_definitions = jsonencode([
    {
      name                   = "lakewarden"
      image                  = var.image
      essential              = true
      command                = ["run", "--no-progress"]
      readonlyRootFilesystem = true
      user                   = "65532:65532"
      # ECS sends SIGTERM, then SIGKILL after stopTimeout: more than the default
      # [run] shutdown_grace_secs (30).
      stopTimeout = 60
      environment = [
        { name = "LAKEWARDEN_LAKE", value = local.lake_url },
        { name = "LAKEWARDEN_LOG", value = "info" },
      ]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.job[0].name
          awslogs-region        = data.aws_region.current.name
          awslogs-stream-prefix = "lakewarden"
        }
      }
    }
  ])
}

data "aws_iam_policy_document" "scheduler_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  count              = var.enable_ecs ? 1 : 0
  name               = "${var.name}-scheduler"
  assume_role_policy = data.aws_iam_policy_document.scheduler_trust.json
}

data "aws_iam_policy_document" "scheduler" {
  count = var.enable_ecs ? 1 : 0
  statement {
    actions   = ["ecs:RunTask"]
    resources = [aws_ecs_task_definition.job[0].arn_without_revision]
  }
  statement {
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.job.arn, aws_iam_role.execution[0].arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  count  = var.enable_ecs ? 1 : 0
  name   = "run-lakewarden-task"
  role   = aws_iam_role.scheduler[0].id
  policy = data.aws_iam_policy_document.scheduler[0].json
}

resource "aws_scheduler_schedule" "job" {
  count                        = var.enable_ecs ? 1 : 0
  name                         = var.name
  schedule_expression          = var.schedule_expression
  schedule_expression_timezone = "UTC"
  flexible_time_window {
    mode = "OFF"
  }
  target {
    arn      = aws_ecs_cluster.job[0].arn
    role_arn = aws_iam_role.scheduler[0].arn
    ecs_parameters {
      task_definition_arn = aws_ecs_task_definition.job[0].arn_without_revision
      launch_type         = "FARGATE"
      task_count          = 1
      network_configuration {
        subnets          = var.subnet_ids
        security_groups  = var.security_group_ids
        assign_public_ip = false
      }
    }
    # A run that fails is retried by the next schedule, not by the scheduler: a retry
    # while the first task still holds the lease would only exit 3.
    retry_policy {
      maximum_retry_attempts = 0
    }
  }
}
