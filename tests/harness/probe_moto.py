#!/usr/bin/env python3
"""Check what moto does for the IAM and STS calls Lakewarden makes.

Starts its own moto_launcher.py (any free port, the cloudsplaining fixture in
one account, a second account with only the reader), calls the APIs with boto3
and raw HTTP, prints what it saw, and stops the launcher. The facts in
tests/harness/README.md come from this script; rerun it after upgrading moto:

    .venv/bin/python tests/harness/probe_moto.py

It changes the state of its own launcher (generates a credential report, uses
keys), which is why it does not reuse a launcher the tests are using.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from typing import Any, Dict, List

for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "MOTO_ACCOUNT_ID", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)
os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
                   "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})

import boto3  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "iam", "cloudsplaining-authz-details.json")
SEEDED = "012345678901"
PLAIN = "000000000042"  # reader only: the launcher seeds the fixture into --seed-iam accounts
UNSEEDED = "999999999999"  # never set up; moto creates the backend on first use


def client(endpoint: str, service: str, key: str = "testing", secret: str = "testing",
           account: str | None = None) -> Any:
    c = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret,
                              region_name="us-east-1").client(service, endpoint_url=endpoint)
    if account:
        c.meta.events.register("before-sign.*.*",
                               lambda request, **_: request.headers.__setitem__(
                                   "x-moto-account-id", account))
    return c


def raw_iam(endpoint: str, account: str, params: Dict[str, str]) -> str:
    """An unsigned Query-protocol POST; the Authorization header only tells
    moto the service and region, the header picks the account."""
    body = urllib.parse.urlencode({**params, "Version": "2010-05-08"}).encode()
    req = urllib.request.Request(endpoint + "/", data=body, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/"
                         "aws4_request, SignedHeaders=host, Signature=0",
        "x-moto-account-id": account})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.read().decode()


def section(title: str) -> None:
    print(f"\n== {title}")


def show(label: str, value: Any) -> None:
    if not isinstance(value, str):
        value = json.dumps(value, default=str)
    print(f"{label}: {value}")


def main() -> int:
    tmp = tempfile.mkdtemp(prefix="lw-probe-")
    ready_path = os.path.join(tmp, "ready.json")
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "moto_launcher.py"),
                             "--ready-file", ready_path, "--seed-iam", FIXTURE,
                             "--account", SEEDED, "--bucket", "lake",
                             "--quiet"], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not os.path.exists(ready_path):
            if proc.poll() is not None:
                print(proc.stderr.read(), file=sys.stderr)
                return 1
            if time.monotonic() > deadline:
                return 1
            time.sleep(0.2)
        ready = json.load(open(ready_path))
        probe(ready)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(f"\nlauncher exit code after SIGTERM: {proc.returncode}")
    return 0


def probe(ready: Dict[str, Any]) -> None:
    ep = ready["endpoint"]
    acct = ready["accounts"][SEEDED]
    key, secret = acct["access_key_id"], acct["secret_access_key"]
    show("ready file", {a: v["expected"] for a, v in ready["accounts"].items()})

    section("STS / account selection")
    show("reader key, no header", strip(client(ep, "sts", key, secret).get_caller_identity()))
    show("dummy key, no header", strip(client(ep, "sts").get_caller_identity()))
    show("dummy key, header 012345678901",
         strip(client(ep, "sts", account=SEEDED).get_caller_identity()))
    show("reader key of 012345678901 + header 999999999999",
         client(ep, "sts", key, secret, account=UNSEEDED).get_caller_identity()["Account"])
    iam = client(ep, "iam", key, secret)
    show("reader key, no header: list_users count", len(iam.list_users()["Users"]))
    show("dummy key, no header: list_users count", len(client(ep, "iam").list_users()["Users"]))
    s3r = client(ep, "s3", key, secret)
    try:
        s3r.put_object(Bucket="lake", Key="probe.txt", Body=b"x")
        show("S3 bucket 'lake' (default account) via reader key of 012345678901",
             [o["Key"] for o in s3r.list_objects_v2(Bucket="lake").get("Contents", [])])
    except ClientError as exc:
        show("S3 bucket 'lake' via reader key", exc.response["Error"])

    section("GetAccountAuthorizationDetails")
    full = iam.get_account_authorization_details()
    aws = [p for p in full["Policies"] if p["Arn"].startswith("arn:aws:iam::aws:")]
    show("no filter: users/groups/roles/policies", [len(full["UserDetailList"]),
         len(full["GroupDetailList"]), len(full["RoleDetailList"]), len(full["Policies"])])
    show("no filter: AWS managed returned / with AttachmentCount>0",
         [len(aws), sum(1 for p in aws if p["AttachmentCount"] > 0)])
    show("IsTruncated / Marker", [full.get("IsTruncated"), full.get("Marker")])
    for flt in (["User"], ["Group"], ["Role"], ["LocalManagedPolicy"], ["AWSManagedPolicy"],
                ["User", "Group", "Role", "LocalManagedPolicy", "AWSManagedPolicy"]):
        r = iam.get_account_authorization_details(Filter=flt)
        show(f"Filter={flt}", [len(r["UserDetailList"]), len(r["GroupDetailList"]),
                               len(r["RoleDetailList"]), len(r["Policies"])])
    r = iam.get_account_authorization_details(MaxItems=10)
    show("MaxItems=10: users/roles/policies, IsTruncated, Marker",
         [len(r["UserDetailList"]), len(r["RoleDetailList"]), len(r["Policies"]),
          r.get("IsTruncated"), r.get("Marker")])
    pol = iam.list_policies(Scope="All", MaxItems=5)
    show("list_policies Scope=All MaxItems=5: count, IsTruncated, Marker",
         [len(pol["Policies"]), pol.get("IsTruncated"), pol.get("Marker")])
    show("list_policies Scope=AWS OnlyAttached=True",
         len([p for page in iam.get_paginator("list_policies").paginate(
             Scope="AWS", OnlyAttached=True) for p in page["Policies"]]))
    show("list_policies Scope=Local", len([p for page in iam.get_paginator(
        "list_policies").paginate(Scope="Local") for p in page["Policies"]]))
    lu = iam.list_users(MaxItems=10)
    show("list_users MaxItems=10: count, IsTruncated", [len(lu["Users"]), lu.get("IsTruncated")])
    show("boto3 decodes documents (type of AssumeRolePolicyDocument)",
         type(full["RoleDetailList"][0]["AssumeRolePolicyDocument"]).__name__)
    r = iam.get_account_authorization_details(Marker="bogus")
    show("Marker=bogus: users", len(r["UserDetailList"]))
    xml = raw_iam(ep, SEEDED, {"Action": "GetAccountAuthorizationDetails"})
    show("raw XML bytes", len(xml))
    for tag in ("AssumeRolePolicyDocument", "PolicyDocument", "Document"):
        show(f"raw GAAD <{tag}>: first characters seen", first_chars(xml, tag))
    show("raw GAAD <Policies> member has <PolicyName> / <PolicyId>",
         [policies_have(xml, "PolicyName"), policies_have(xml, "PolicyId")])
    pol_arn = next(p["Arn"] for p in full["Policies"]
                   if not p["Arn"].startswith("arn:aws:iam::aws:"))
    user_inline = next(u for u in full["UserDetailList"] if u["UserPolicyList"])
    role_inline = next(r for r in full["RoleDetailList"] if r["RolePolicyList"])
    group_inline = next(g for g in full["GroupDetailList"] if g["GroupPolicyList"])
    for action, params, tag in (
            ("ListRoles", {}, "AssumeRolePolicyDocument"),
            ("GetRole", {"RoleName": role_inline["RoleName"]}, "AssumeRolePolicyDocument"),
            ("GetPolicyVersion", {"PolicyArn": pol_arn, "VersionId": "v1"}, "Document"),
            ("GetRolePolicy", {"RoleName": role_inline["RoleName"],
                               "PolicyName": role_inline["RolePolicyList"][0]["PolicyName"]},
             "PolicyDocument"),
            ("GetUserPolicy", {"UserName": user_inline["UserName"],
                               "PolicyName": user_inline["UserPolicyList"][0]["PolicyName"]},
             "PolicyDocument"),
            ("GetGroupPolicy", {"GroupName": group_inline["GroupName"],
                                "PolicyName": group_inline["GroupPolicyList"][0]["PolicyName"]},
             "PolicyDocument")):
        show(f"raw {action} <{tag}>: first characters seen",
             first_chars(raw_iam(ep, SEEDED, {"Action": action, **params}), tag))
    show("raw ListPolicies member has <PolicyName>", "<PolicyName>" in raw_iam(
        ep, SEEDED, {"Action": "ListPolicies", "Scope": "Local", "MaxItems": "1"}))
    u = next(x for x in full["UserDetailList"] if x["UserName"] == "biden")
    show("GAAD user keys (biden)", sorted(u))
    role = next(x for x in full["RoleDetailList"] if x.get("RoleLastUsed", {}).get("LastUsedDate"))
    show("GAAD role RoleLastUsed sample", role["RoleLastUsed"])
    show("GAAD role keys", sorted(role))
    cust = next(p for p in full["Policies"] if not p["Arn"].startswith("arn:aws:iam::aws:"))
    show("GAAD policy keys", sorted(cust))
    show("GAAD policy version keys", sorted(cust["PolicyVersionList"][0]))

    section("Credential report")
    show("get before generate", _try(lambda: iam.get_credential_report()))
    show("generate #1", {k: v for k, v in iam.generate_credential_report().items()
                         if k != "ResponseMetadata"})
    show("generate #2", {k: v for k, v in iam.generate_credential_report().items()
                         if k != "ResponseMetadata"})
    rep = iam.get_credential_report()
    show("ReportFormat / GeneratedTime", [rep["ReportFormat"], rep["GeneratedTime"]])
    raw = raw_iam(ep, SEEDED, {"Action": "GetCredentialReport"})
    show("raw GetCredentialReport <GeneratedTime>, <Content> starts",
         [raw.split("<GeneratedTime>")[1].split("<")[0],
          raw.split("<Content>")[1][:24]])
    text = rep["Content"].decode()
    lines = text.splitlines()
    print("header: " + lines[0])
    rows = {r["user"]: r for r in csv.DictReader(io.StringIO(text))}
    for name in ("<root_account>", "biden", "fp3-deny-iam-user", "privesc-ec2InstanceConnect-user",
                 "privesc-AssumeRole-start-user", "fn1-privesc3-partial-user",
                 "lakewarden-reader"):
        line = next((line for line in lines if line.split(",")[0] == name), None)
        print(f"row {name}: {line}")
    show("rows (without header)", len(rows))
    show("trailing newline", text.endswith("\n"))

    section("MFA, keys, summary, password policy")
    show("list_mfa_devices biden", iam.list_mfa_devices(UserName="biden")["MFADevices"])
    show("list_mfa_devices (no UserName)", _try(lambda: iam.list_mfa_devices()["MFADevices"]))
    v = iam.list_virtual_mfa_devices()
    show("list_virtual_mfa_devices", [{k: d.get(k) for k in ("SerialNumber", "EnableDate")}
                                      | {"User": d.get("User", {}).get("UserName")}
                                      for d in v["VirtualMFADevices"]])
    show("list_virtual_mfa_devices device keys", sorted(v["VirtualMFADevices"][0]))
    keys = iam.list_access_keys(UserName="biden")["AccessKeyMetadata"]
    show("list_access_keys biden", keys)
    show("list_access_keys (no UserName, reader key)",
         _try(lambda: iam.list_access_keys()["AccessKeyMetadata"]))
    for k in keys:
        show(f"get_access_key_last_used {k['AccessKeyId']}",
             {x: y for x, y in iam.get_access_key_last_used(AccessKeyId=k["AccessKeyId"]).items()
              if x != "ResponseMetadata"})
    show("get_access_key_last_used reader (after the calls above)",
         iam.get_access_key_last_used(AccessKeyId=key)["AccessKeyLastUsed"])
    show("get_account_summary", iam.get_account_summary()["SummaryMap"])
    show("get_account_password_policy (seeded)", iam.get_account_password_policy()["PasswordPolicy"])
    plain = client(ep, "iam", account=UNSEEDED)
    show("get_account_password_policy (none set)",
         _try(lambda: plain.get_account_password_policy()))
    show("get_login_profile privesc-AssumeRole-start-user",
         iam.get_login_profile(UserName="privesc-AssumeRole-start-user")["LoginProfile"])
    show("get_user biden PasswordLastUsed", iam.get_user(UserName="biden")["User"].get(
        "PasswordLastUsed"))


def strip(response: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def first_chars(xml: str, tag: str) -> List[str]:
    """The distinct first characters of every <tag> value: '{' is plain JSON,
    '%' is percent-encoded."""
    import re
    return sorted({m[:3] for m in re.findall(rf"<{tag}>(.{{3}})", xml)})


def policies_have(xml: str, tag: str) -> bool:
    start = xml.find("<Policies>")
    first = xml[start:xml.find("</member>", start)]
    return f"<{tag}>" in first


def _try(fn: Any) -> Any:
    try:
        return fn()
    except ClientError as exc:
        return {"error": exc.response["Error"],
                "http": exc.response["ResponseMetadata"]["HTTPStatusCode"]}


if __name__ == "__main__":
    sys.exit(main())
