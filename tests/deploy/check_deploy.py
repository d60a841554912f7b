"""Checks of the deployment files under deploy/: the Kubernetes manifests, the Terraform
modules and the Dockerfile.

    python tests/deploy/check_deploy.py            # assert every property, exit 1 if one fails
    python tests/deploy/check_deploy.py --commands # print, as JSON, the command lines the
                                                   # deployments give the binary and the
                                                   # config they mount

The end-to-end test `ops::deployment_files_hold_their_properties` runs both: the first
form, and the second to run the real binary with each command line and config.
"""

import json
import pathlib
import re
import sys
import tomllib

import hcl2
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

failures = []


def check(condition, what):
    if not condition:
        failures.append(what)


def unquote(value):
    """python-hcl2 8 keeps the quotes of string literals and of block labels."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def normalise(node):
    if isinstance(node, dict):
        return {
            unquote(k): normalise(v)
            for k, v in node.items()
            if k not in ("__is_block__", "__inline_comments__", "__comments__")
        }
    if isinstance(node, list):
        return [normalise(v) for v in node]
    return unquote(node)


def terraform(module):
    """Every resource, data source, variable and output of a module, by kind and name."""
    blocks = {"resource": {}, "data": {}, "variable": {}, "output": {}}
    for path in sorted((DEPLOY / "terraform" / module).glob("*.tf")):
        with path.open() as handle:
            parsed = normalise(hcl2.load(handle))
        for kind in ("resource", "data"):
            for entry in parsed.get(kind, []):
                for rtype, named in entry.items():
                    for name, body in named.items():
                        blocks[kind][f"{rtype}.{name}"] = body
        for kind in ("variable", "output"):
            for entry in parsed.get(kind, []):
                for name, body in entry.items():
                    blocks[kind][name] = body
    return blocks


def one(body, key):
    """A nested block: python-hcl2 gives a list of one body."""
    value = body.get(key)
    return value[0] if isinstance(value, list) and value else (value or {})


def manifests():
    docs = {}
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs[(doc["kind"], doc["metadata"]["name"] if "metadata" in doc else "")] = doc
    return docs


def dockerfile_command():
    text = (DEPLOY / "Dockerfile").read_text()
    entrypoint = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", text, re.M).group(1))
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", text, re.M).group(1))
    config = re.search(r"^ENV LAKEWARDEN_CONFIG=(\S+)$", text, re.M).group(1)
    return entrypoint, cmd, config, text


def ecs_command(lake):
    definitions = lake["resource"]["aws_ecs_task_definition.job"]["container_definitions"]
    match = re.search(r"command = \[([^\]]*)\]", definitions)
    return re.findall(r'\\?"([^"\\]*)\\?"', match.group(1)) if match else None


def check_cronjob(docs, name, image_config_path):
    cronjob = docs.get(("CronJob", name))
    check(cronjob is not None, f"kubernetes: a CronJob named {name}")
    if cronjob is None:
        return None
    spec = cronjob["spec"]
    check(cronjob["apiVersion"] == "batch/v1", f"{name}: apiVersion batch/v1")
    check(spec.get("concurrencyPolicy") == "Forbid", f"{name}: concurrencyPolicy Forbid")
    job = spec["jobTemplate"]["spec"]
    check(isinstance(job.get("backoffLimit"), int) and 0 <= job["backoffLimit"] <= 5,
          "Job backoffLimit set, 0 to 5")
    check(isinstance(job.get("activeDeadlineSeconds"), int) and job["activeDeadlineSeconds"] > 0,
          "Job activeDeadlineSeconds set")
    pod = job["template"]["spec"]
    check(pod.get("restartPolicy") == "Never", "pod restartPolicy Never")
    check(pod.get("securityContext", {}).get("runAsNonRoot") is True, "pod runAsNonRoot")
    containers = pod["containers"]
    check(len(containers) == 1, "one container")
    container = containers[0]
    security = container.get("securityContext", {})
    check(security.get("runAsNonRoot") is True, "container runAsNonRoot")
    check(security.get("readOnlyRootFilesystem") is True, "container readOnlyRootFilesystem")
    check(security.get("allowPrivilegeEscalation") is False, "no privilege escalation")
    check(security.get("capabilities", {}).get("drop") == ["ALL"], "all capabilities dropped")
    resources = container.get("resources", {})
    for kind in ("requests", "limits"):
        for what in ("cpu", "memory"):
            check(what in resources.get(kind, {}), f"container resources.{kind}.{what}")

    account = docs.get(("ServiceAccount", pod.get("serviceAccountName")))
    check(account is not None, "the pod's ServiceAccount is defined")
    if account:
        arn = account["metadata"].get("annotations", {}).get("eks.amazonaws.com/role-arn", "")
        check(re.fullmatch(r"arn:aws:iam::\d{12}:role/lakewarden-job", arn) is not None,
              "ServiceAccount annotated with the job role for IRSA")

    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    config_path = env.get("LAKEWARDEN_CONFIG")
    check(config_path == image_config_path, "LAKEWARDEN_CONFIG is the image's config path")
    mounts = {m["name"]: m for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    config_mount = next(
        (m for m in mounts.values() if config_path and config_path.startswith(m["mountPath"] + "/")),
        None,
    )
    check(config_mount is not None, "the config path is on a mounted volume")
    configmap = None
    if config_mount:
        source = volumes.get(config_mount["name"], {}).get("configMap", {}).get("name")
        configmap = docs.get(("ConfigMap", source))
        check(configmap is not None, "the config volume is the ConfigMap")
        check(config_mount.get("readOnly") is True, "the config is mounted read-only")
    check("/tmp" in {m["mountPath"] for m in mounts.values()},
          "a writable /tmp under the read-only root")

    config_text = None
    if configmap:
        key = config_path.rsplit("/", 1)[1]
        config_text = configmap["data"].get(key)
        check(config_text is not None, f"the ConfigMap holds {key}")
        if config_text:
            config = tomllib.loads(config_text)
            grace = config.get("run", {}).get("shutdown_grace_secs", 30)
            check(pod.get("terminationGracePeriodSeconds", 30) > grace,
                  "terminationGracePeriodSeconds exceeds [run] shutdown_grace_secs")
            check(str(config.get("lake", {}).get("url", "")).startswith("s3://"),
                  "the ConfigMap's lake is on S3")
    return container.get("args"), config_text


def check_terraform():
    lake = terraform("lake")
    member = terraform("member-role")
    res = lake["resource"]

    check("aws_s3_bucket.lake" in res, "terraform: the lake bucket")
    sse = res.get("aws_s3_bucket_server_side_encryption_configuration.lake", {})
    default = one(one(sse, "rule"), "apply_server_side_encryption_by_default")
    check(default.get("sse_algorithm") == "aws:kms", "bucket SSE-KMS")
    check(default.get("kms_master_key_id") == "${aws_kms_key.lake.arn}", "bucket key is the lake key")
    check(res.get("aws_kms_key.lake", {}).get("enable_key_rotation") is True, "KMS key rotation")
    block = res.get("aws_s3_bucket_public_access_block.lake", {})
    for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls",
                 "restrict_public_buckets"):
        check(block.get(flag) is True, f"public access block {flag}")
    rules = res.get("aws_s3_bucket_lifecycle_configuration.lake", {}).get("rule", [])
    aborts = [one(r, "abort_incomplete_multipart_upload").get("days_after_initiation")
              for r in rules if r.get("abort_incomplete_multipart_upload")]
    check(aborts == [1], "lifecycle aborts incomplete multipart uploads after 1 day")
    check(all(r.get("status") == "Enabled" for r in rules), "every lifecycle rule enabled")

    check("aws_glue_catalog_database.lake" in res, "a Glue database")
    workgroup = one(res.get("aws_athena_workgroup.lake", {}), "configuration")
    check(workgroup.get("enforce_workgroup_configuration") is True, "Athena workgroup enforced")
    encryption = one(one(workgroup, "result_configuration"), "encryption_configuration")
    check(encryption.get("encryption_option") == "SSE_KMS", "Athena results SSE-KMS")

    policy_file = '${file("${path.module}/../../iam/lakewarden-readonly.json")}'
    check((DEPLOY / "terraform/lake" / "../../iam/lakewarden-readonly.json").resolve()
          == (DEPLOY / "iam/lakewarden-readonly.json").resolve(), "policy path resolves")
    member_policy = member["resource"].get("aws_iam_role_policy.readonly", {})
    check(member_policy.get("policy") == policy_file, "member role policy is file() of deploy/iam")
    check(res.get("aws_iam_role_policy.job_readonly", {}).get("policy") == policy_file,
          "job role read-only policy is file() of deploy/iam")
    trust = one(member["data"].get("aws_iam_policy_document.trust", {}), "statement")
    principal = one(trust, "principals")
    check(trust.get("actions") == ["sts:AssumeRole"], "member role trust: sts:AssumeRole")
    check(principal.get("type") == "AWS" and principal.get("identifiers") == ["${var.job_role_arn}"],
          "member role trusts only the job role")

    job_trust = lake["data"].get("aws_iam_policy_document.job_trust", {})
    irsa = one(one(job_trust, "dynamic"), "statement")
    irsa_body = one(irsa, "content")
    check(irsa_body.get("actions") == ["sts:AssumeRoleWithWebIdentity"], "job role trusts IRSA")
    statements = {s.get("sid"): s for s in lake["data"]["aws_iam_policy_document.job"]["statement"]}
    check(statements.get("AssumeMemberRoles", {}).get("resources")
          == ["arn:${local.partition}:iam::*:role/${var.member_role_name}"],
          "job role may assume only the member read-only role")

    task = res.get("aws_ecs_task_definition.job", {})
    check(task.get("task_role_arn") == "${aws_iam_role.job.arn}", "ECS task runs as the job role")
    check("readonlyRootFilesystem = true" in task.get("container_definitions", ""),
          "ECS container read-only root")
    schedule = res.get("aws_scheduler_schedule.job", {})
    target = one(schedule, "target")
    check(one(target, "ecs_parameters").get("task_definition_arn")
          == "${aws_ecs_task_definition.job[0].arn_without_revision}",
          "the schedule starts the task definition")
    check(one(schedule, "flexible_time_window").get("mode") == "OFF", "schedule exact time")
    for kind in ("variable", "output"):
        for name, body in list(lake[kind].items()) + list(member[kind].items()):
            check(bool(body.get("description")), f"{kind} {name} has a description")
    return ecs_command(lake)


def main():
    entrypoint, cmd, config_path, text = dockerfile_command()
    check(entrypoint == ["/usr/local/bin/lakewarden"], "Dockerfile: the binary is the entrypoint")
    check(re.search(r"^USER 65532:65532$", text, re.M) is not None, "Dockerfile: non-root user")
    check(len(re.findall(r"^FROM ", text, re.M)) == 2, "Dockerfile: two stages")
    check("cargo build --release --locked" in text, "Dockerfile: release build")
    check("distroless/cc" in text, "Dockerfile: minimal runtime with CA certificates")
    docs = manifests()
    kube_args, config_text = check_cronjob(docs, "lakewarden", config_path) or (None, None)
    vacuum_args, _ = check_cronjob(docs, "lakewarden-vacuum", config_path) or (None, None)
    check(sorted(k for k, _ in docs) == ["ConfigMap", "CronJob", "CronJob", "Kustomization",
                                         "Namespace", "ServiceAccount"], "the expected manifests")
    kustomization = docs.get(("Kustomization", ""), {})
    listed = sorted(kustomization.get("resources", []))
    present = sorted(p.name for p in (DEPLOY / "kubernetes").glob("*.yaml")
                     if p.name != "kustomization.yaml")
    check(listed == present, "kustomization.yaml lists every manifest")
    ecs_args = check_terraform()

    if "--commands" in sys.argv:
        print(json.dumps({
            "dockerfile": cmd,
            "cronjob": kube_args,
            "vacuum_cronjob": vacuum_args,
            "ecs": ecs_args,
            "configmap_config": config_text,
        }))
    if failures:
        for failure in failures:
            print(f"check_deploy: FAILED: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
