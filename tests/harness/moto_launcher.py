#!/usr/bin/env python3
"""Run moto's server in-process on 127.0.0.1, seed it, and say when it is ready.

The Lakewarden end-to-end tests and the demo point the real AWS SDK for Rust at
this server. Running moto in the same process as the seeding code lets the
harness both create state through the API (boto3 against its own endpoint) and
correct the state that no AWS API can create, such as an access key created two
years ago, by editing moto's backend objects directly.

Usage:

    python tests/harness/moto_launcher.py --ready-file PATH [--port 0]
        [--seed-iam FIXTURE.json] [--account 012345678901 ...] [--bucket NAME ...]

Once the server is up and every account is seeded, the launcher writes PATH
atomically (temporary file + rename) as JSON:

    {"endpoint": "http://127.0.0.1:PORT",
     "accounts": {"012345678901": {"access_key_id": "...",
                                   "secret_access_key": "...",
                                   "expected": {"iam_users": N, ...}}}}

then serves until SIGTERM or SIGINT and exits 0. Any failure before the ready
file is written exits non-zero with a message on stderr and no ready file.
See tests/harness/README.md for the seeded data and for what moto does.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import signal
import socket
import sys
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional

# ---------------------------------------------------------------------------
# Environment, before boto3 or moto are imported.
#
# Only dummy static credentials, no instance metadata, no shared config files:
# nothing in this process can reach or authenticate to real AWS.
# ---------------------------------------------------------------------------
for _name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN",
              "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
              "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
              "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL",
              # MOTO_ACCOUNT_ID would override both the x-moto-account-id header
              # and the access-key lookup for every request (moto/core/responses.py).
              "MOTO_ACCOUNT_ID"):
    os.environ.pop(_name, None)
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ["AWS_REGION"] = "us-east-1"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
# moto 5 knows ~1600 AWS managed policies but only loads them into an account's
# IAM backend when asked to; without this, attaching e.g. ReadOnlyAccess fails.
os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import BotoCoreError, ClientError  # noqa: E402

from moto.iam import models as iam_models  # noqa: E402
from moto.iam.models import AccessKeyLastUsed, iam_backends  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

PROG = "moto_launcher"
REGION = "us-east-1"
PARTITION = "aws"
DUMMY_KEY = "testing"
DEFAULT_ACCOUNT = "123456789012"  # moto's DEFAULT_ACCOUNT_ID
ACCOUNT_HEADER = "x-moto-account-id"
ACCOUNT_RE = re.compile(r"^[0-9]{12}$")
AWS_MANAGED_PREFIX = "arn:aws:iam::aws:policy/"

READER_USER = "lakewarden-reader"
# The read-only identity the Rust binary uses. SecurityAudit is what a real
# deployment would grant (with ReadOnlyAccess); one AWS managed policy is enough
# to make the reader look like a real principal.
READER_POLICY = "arn:aws:iam::aws:policy/SecurityAudit"
READER_TAGS = [{"Key": "Purpose", "Value": "lakewarden-extraction"},
               {"Key": "ManagedBy", "Value": "lakewarden-tests"}]


def utc(text: str) -> datetime:
    """Fixed timestamp -> naive UTC datetime, the form moto keeps internally."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


# ---------------------------------------------------------------------------
# Fixed dates. Everything backdated uses these, so the seeded account is the
# same on every run. "Old" means older than 90 days for any date from 2026 on.
# ---------------------------------------------------------------------------
ROOT_CREATED = utc("2015-01-05T08:00:00Z")        # before any fixture entity
ROOT_PASSWORD_LAST_USED = utc("2025-10-07T16:20:00Z")
# The root user's one access key, so that CIS 1.4 (no root access keys) fails. Its last
# use is older than the password's, so the root user's last use (CIS 1.7) stays that.
ROOT_KEY_CREATED = utc("2016-03-01T09:00:00Z")
ROOT_KEY_LAST_USED = utc("2025-09-15T11:30:00Z")
READER_CREATED = utc("2024-01-02T09:00:00Z")
MFA_ENABLED = utc("2024-02-01T10:00:00Z")
PASSWORD_POLICY = {  # CIS 1.8 passes (length 14), CIS 1.9 fails (reuse 5 < 24)
    "MinimumPasswordLength": 14,
    "RequireSymbols": True,
    "RequireNumbers": True,
    "RequireUppercaseCharacters": True,
    "RequireLowercaseCharacters": True,
    "AllowUsersToChangePassword": True,
    "MaxPasswordAge": 90,
    "PasswordReusePrevention": 5,
    "HardExpiry": False,
}

# ---------------------------------------------------------------------------
# Credentials added on top of the fixture (which has none), chosen by position
# in the fixture's user names sorted by Python's str ordering (the reader is
# not part of that list). With the cloudsplaining fixture (44 users):
#   0 biden, 7 fp3-deny-iam-user, 10 obama, 11 privesc-AssumeRole-start-user,
#   14 privesc-ec2InstanceConnect-user, 21 privesc-ssmStartSession-user,
#   28 privesc15-PassExistingRoleToNewLambdaThenInvoke-user,
#   35 privesc21-PassExistingRoleToNewDataPipeline-user,
#   43 userwithlotsofpermissions
# (the launcher prints the resolved names on stderr).
#
# Access keys: 7 keys for 6 users (positions 0, 7, 14, 21, 28, 35). 3 are
# backdated (older than 90 days), 1 of those is Inactive; the others keep the
# time the launcher created them. User 0 has two keys, an old one still Active
# next to a fresh one (rotation never finished), so access_key_2_* is filled.
# created=None means "now" (not backdated); last_used=None means never used.
# ---------------------------------------------------------------------------
KEY_PLAN: List[tuple] = [
    # (position, status, created, last_used (date, service, region))
    (0, "Active", "2024-01-15T09:30:00Z", ("2025-06-30T18:20:00Z", "s3", "us-east-1")),
    (0, "Active", None, None),
    (7, "Inactive", "2024-06-03T14:00:00Z", ("2024-07-01T11:05:00Z", "ec2", "eu-west-1")),
    (14, "Active", "2025-02-20T08:15:00Z", None),
    (21, "Active", None, None),
    (28, "Active", None, None),
    (35, "Active", None, None),
]
# Console passwords for 5 users; the first two (0 and 10) also get an enabled
# virtual MFA device, the other three have none. password_last_used None means
# the password was never used (the credential report says no_information).
LOGIN_PLAN: List[tuple] = [
    # (position, mfa, password_last_used)
    (0, True, "2025-12-01T08:00:00Z"),
    (10, True, "2024-03-10T12:00:00Z"),
    (11, False, None),
    (21, False, "2025-09-14T07:30:00Z"),
    (43, False, "2025-12-20T19:45:00Z"),
]
LOGIN_PASSWORD = "Lakewarden-Fixture-Passw0rd!"  # dummy; moto only stores it


def log(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


class SeedError(Exception):
    """A seeding step failed; the launcher exits non-zero with this message."""


# ---------------------------------------------------------------------------
# boto3 clients against the launcher's own endpoint
# ---------------------------------------------------------------------------
def make_client(endpoint: str, service: str, account: Optional[str] = None,
                key: str = DUMMY_KEY, secret: str = DUMMY_KEY) -> Any:
    """A boto3 client for moto. With `account`, every request carries the
    x-moto-account-id header, which moto uses to select the account (unless
    MOTO_ACCOUNT_ID is set, which this process never does)."""
    session = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret,
                                    region_name=REGION)
    client = session.client(service, endpoint_url=endpoint, config=Config(
        retries={"max_attempts": 2, "mode": "standard"},
        connect_timeout=5, read_timeout=60))
    if account is not None:
        def add_header(request: Any, **_: Any) -> None:
            request.headers[ACCOUNT_HEADER] = account
        client.meta.events.register("before-sign.*.*", add_header)
    return client


def paginate(client: Any, operation: str, key: str, **kwargs: Any) -> List[Any]:
    items: List[Any] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(key, []))
    return items


# ---------------------------------------------------------------------------
# Credential report: moto has no row for the account root user
# ---------------------------------------------------------------------------
def root_report_row(backend: Any) -> str:
    """The `<root_account>` row AWS puts first in every credential report.
    Root has one active access key, no certificates and no MFA. moto's
    GetAccountSummary agrees on MFA (AccountMFAEnabled=0) but still reports
    AccountAccessKeysPresent=0: the API cannot give the root user a key either."""
    fmt = "%Y-%m-%dT%H:%M:%S+00:00"
    return ",".join([
        "<root_account>", f"arn:aws:iam::{backend.account_id}:root",
        ROOT_CREATED.strftime(fmt), "not_supported",
        ROOT_PASSWORD_LAST_USED.strftime(fmt), "not_supported", "not_supported",
        "false",
        "true", ROOT_KEY_CREATED.strftime(fmt), ROOT_KEY_LAST_USED.strftime(fmt),
        "us-east-1", "iam",
        "false", "N/A", "N/A", "N/A", "N/A",
        "false", "N/A", "false", "N/A",
    ]) + "\n"


def install_root_row() -> None:
    """Wrap moto's IAMBackend.get_credential_report so the CSV has the root row
    right after the header, as AWS's does. User rows are left as moto writes
    them. State only: the API cannot create a root user either."""
    backend_cls = iam_models.IAMBackend
    if getattr(backend_cls.get_credential_report, "_lakewarden_root_row", False):
        return
    original: Callable[[Any], str] = backend_cls.get_credential_report

    def get_credential_report(self: Any) -> str:
        report = original(self)
        header, newline, rows = report.partition("\n")
        return header + newline + root_report_row(self) + rows

    get_credential_report._lakewarden_root_row = True  # type: ignore[attr-defined]
    get_credential_report._moto_original = original  # type: ignore[attr-defined]
    backend_cls.get_credential_report = get_credential_report  # type: ignore[method-assign]


# ---------------------------------------------------------------------------
# AWS Config: times as epoch seconds, a recorder and resources to discover
# ---------------------------------------------------------------------------
# moto 5.2.5 serves these as text (`2026-12-04 13:50:49.590121+00:00`); AWS, and
# so the Rust SDK's deserialiser, use epoch seconds.
CONFIG_TIME_FIELDS = ("configurationItemCaptureTime", "resourceCreationTime",
                      "configurationItemDeliveryTime")
# Per account and seeded region: S3 buckets and SNS topics, named by both.
CONFIG_SEED_REGIONS = ("us-east-1", "eu-west-1")
CONFIG_BUCKETS = ("audit-logs", "web-assets", "backups")
CONFIG_TOPICS = ("alerts", "billing")
# The types moto's Config discovers (moto/config/models.py RESOURCE_MAP).
CONFIG_TYPES = ("AWS::S3::Bucket", "AWS::S3::AccountPublicAccessBlock", "AWS::IAM::Role",
                "AWS::IAM::Policy", "AWS::SNS::Topic")


def epoch_times(item: Dict[str, Any]) -> None:
    for key in CONFIG_TIME_FIELDS:
        value = item.get(key)
        if isinstance(value, str):
            item[key] = datetime.fromisoformat(value).timestamp()
        elif isinstance(value, datetime):
            item[key] = value.timestamp()


def install_config_epoch_times() -> None:
    """Wrap moto's Config responses that carry configuration items so their times
    are epoch seconds, as AWS sends them. The response is re-serialised; nothing
    else in it changes."""
    from moto.config.responses import ConfigResponse

    def wrap(name: str, key: str) -> None:
        original = getattr(ConfigResponse, name)
        if getattr(original, "_lakewarden_epoch", False):
            return

        def handler(self: Any) -> str:
            body = json.loads(original(self))
            for item in body.get(key) or []:
                epoch_times(item)
            return json.dumps(body)

        handler._lakewarden_epoch = True  # type: ignore[attr-defined]
        setattr(ConfigResponse, name, handler)

    wrap("batch_get_resource_config", "baseConfigurationItems")
    wrap("batch_get_aggregate_resource_config", "BaseConfigurationItems")
    wrap("get_resource_config_history", "configurationItems")


def seed_config(endpoint: str, account: str) -> Dict[str, Any]:
    """A configuration recorder and delivery channel in every seeded region, and
    buckets and topics there. Returns what was created."""
    created: Dict[str, Any] = {}
    for region in CONFIG_SEED_REGIONS:
        session = boto3.session.Session(aws_access_key_id=DUMMY_KEY,
                                        aws_secret_access_key=DUMMY_KEY, region_name=region)

        def client(service: str) -> Any:
            c = session.client(service, endpoint_url=endpoint)
            c.meta.events.register("before-sign.*.*",
                                   lambda request, **_: request.headers.__setitem__(
                                       ACCOUNT_HEADER, account))
            return c

        config, s3, sns = client("config"), client("s3"), client("sns")
        delivery_bucket = f"config-delivery-{account}-{region}"
        try:
            config.put_configuration_recorder(ConfigurationRecorder={
                "name": "default",
                "roleARN": f"arn:aws:iam::{account}:role/config-recorder",
                "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True}})
            s3.create_bucket(**bucket_args(delivery_bucket, region))
            config.put_delivery_channel(DeliveryChannel={"name": "default",
                                                         "s3BucketName": delivery_bucket})
            config.start_configuration_recorder(ConfigurationRecorderName="default")
            buckets = [f"{name}-{account}-{region}" for name in CONFIG_BUCKETS]
            for bucket in buckets:
                s3.create_bucket(**bucket_args(bucket, region))
            s3.put_bucket_tagging(Bucket=buckets[0], Tagging={"TagSet": [
                {"Key": "Team", "Value": "security"}]})
            topics = [sns.create_topic(Name=f"{name}-{region}")["TopicArn"]
                      for name in CONFIG_TOPICS]
        except (ClientError, BotoCoreError) as exc:
            raise SeedError(f"account {account}, region {region}: Config seed: {exc}") from exc
        created[region] = {"buckets": [delivery_bucket] + buckets, "topics": topics}
    return created


def bucket_args(bucket: str, region: str) -> Dict[str, Any]:
    if region == "us-east-1":
        return {"Bucket": bucket}
    return {"Bucket": bucket, "CreateBucketConfiguration": {"LocationConstraint": region}}


def config_expected(endpoint: str, account: str, creds: Dict[str, str],
                    created: Dict[str, Any]) -> Dict[str, Dict[str, int]]:
    """Resources per region and type that ListDiscoveredResources gives the reader
    key, checked to include everything seeded in that region."""
    expected: Dict[str, Dict[str, int]] = {}
    for region in CONFIG_SEED_REGIONS:
        session = boto3.session.Session(aws_access_key_id=creds["access_key_id"],
                                        aws_secret_access_key=creds["secret_access_key"],
                                        region_name=region)
        config = session.client("config", endpoint_url=endpoint)
        counts: Dict[str, int] = {}
        for resource_type in CONFIG_TYPES:
            ids = [r["resourceId"] for r in paginate(config, "list_discovered_resources",
                                                     "resourceIdentifiers",
                                                     resourceType=resource_type)]
            names = set(ids)
            if resource_type == "AWS::S3::Bucket":
                missing = [b for b in created[region]["buckets"] if b not in names]
            elif resource_type == "AWS::SNS::Topic":
                missing = [t for t in created[region]["topics"] if t not in names]
            else:
                missing = []
            if missing:
                raise SeedError(f"account {account}, region {region}: Config does not "
                                f"discover {', '.join(missing)}")
            counts[resource_type] = len(ids)
        expected[region] = counts
    return expected


# ---------------------------------------------------------------------------
# Seeding from a GetAccountAuthorizationDetails document
# ---------------------------------------------------------------------------
def load_fixture(path: str, account: str) -> Dict[str, Any]:
    """Read the fixture and rewrite the account ids it was captured in (the
    accounts in the ARNs of its own users, groups, roles and customer
    policies) to `account`, in ARNs and documents alike, so references within
    the account stay within the account. Other ids (in trust policies) are
    foreign accounts and are kept."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    raw = json.loads(text)
    for key in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"):
        if not isinstance(raw.get(key), list):
            raise SeedError(f"{path}: not a GetAccountAuthorizationDetails document "
                            f"(no list {key!r})")
    own = set()
    for key in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"):
        for item in raw[key]:
            parts = item.get("Arn", "").split(":")
            if len(parts) > 4 and ACCOUNT_RE.match(parts[4]):
                own.add(parts[4])
    for old in sorted(own):
        text = re.sub(rf"(?<![0-9]){old}(?![0-9])", account, text)
    return json.loads(text)


def doc_text(document: Any) -> str:
    """A policy document as the JSON text to send. The fixture holds decoded
    documents (objects); a string is JSON text, or percent-encoded JSON text."""
    if isinstance(document, str):
        if document.lstrip().startswith("{"):
            return document  # JSON text already
        from urllib.parse import unquote
        return unquote(document)  # as the raw API returns it
    return json.dumps(document)


def fixture_date(item: Dict[str, Any], key: str = "CreateDate") -> Optional[datetime]:
    value = item.get(key)
    return utc(value) if value else None


class Seeder:
    def __init__(self, endpoint: str, account: str) -> None:
        self.endpoint = endpoint
        self.account = account
        self.iam = make_client(endpoint, "iam", account)
        self.backend = iam_backends[account][PARTITION]
        self.policy_arns: Dict[str, str] = {}        # fixture ARN -> ARN in moto
        self.skipped_aws: Dict[str, List[str]] = {}  # AWS managed ARN -> principals
        self.aws_known: Dict[str, bool] = {}

    # -- helpers --------------------------------------------------------------
    def call(self, what: str, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.iam, method)(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise SeedError(f"account {self.account}: {what}: {method} failed: {exc}") from exc

    def managed_arn(self, fixture_arn: str, principal: str) -> Optional[str]:
        """The ARN to attach, or None when moto does not know that AWS managed
        policy (recorded in skipped_aws)."""
        if fixture_arn.startswith(AWS_MANAGED_PREFIX):
            if fixture_arn not in self.aws_known:
                self.aws_known[fixture_arn] = fixture_arn in self.backend.managed_policies
            if not self.aws_known[fixture_arn]:
                self.skipped_aws.setdefault(fixture_arn, []).append(principal)
                return None
            return fixture_arn
        if fixture_arn not in self.policy_arns:
            raise SeedError(f"account {self.account}: {principal} attaches {fixture_arn}, "
                            "which is not among the fixture's customer managed policies")
        return self.policy_arns[fixture_arn]

    # -- the fixture ----------------------------------------------------------
    def seed_fixture(self, fixture: Dict[str, Any]) -> None:
        for pol in fixture["Policies"]:
            if pol["Arn"].startswith(AWS_MANAGED_PREFIX):
                continue  # AWS managed: exists in moto already, attached by ARN
            self.create_policy(pol)
        for group in fixture["GroupDetailList"]:
            self.create_group(group)
        for user in fixture["UserDetailList"]:
            self.create_user(user)
        for role in fixture["RoleDetailList"]:
            self.create_role(role)
        self.create_instance_profiles(fixture["RoleDetailList"])

    def create_policy(self, pol: Dict[str, Any]) -> None:
        name = pol["PolicyName"]
        versions = pol.get("PolicyVersionList") or []
        default = next((v for v in versions if v.get("IsDefaultVersion")), None)
        if default is None:
            raise SeedError(f"account {self.account}: policy {name} has no default version")
        kwargs: Dict[str, Any] = {"PolicyName": name, "Path": pol.get("Path", "/"),
                                  "PolicyDocument": doc_text(default["Document"])}
        if pol.get("Description"):
            kwargs["Description"] = pol["Description"]
        if pol.get("Tags"):
            kwargs["Tags"] = pol["Tags"]
        created = self.call(f"policy {name}", "create_policy", **kwargs)["Policy"]
        self.policy_arns[pol["Arn"]] = created["Arn"]
        # dates from the fixture (the API always says "now")
        obj = self.backend.managed_policies[created["Arn"]]
        if fixture_date(pol):
            obj.create_date = fixture_date(pol)
        if fixture_date(pol, "UpdateDate"):
            obj.update_date = fixture_date(pol, "UpdateDate")
        if fixture_date(default):
            obj.versions[0].create_date = fixture_date(default)

    def attach(self, kind: str, name: str, attached: List[Dict[str, str]]) -> None:
        for att in attached:
            arn = self.managed_arn(att["PolicyArn"], f"{kind}/{name}")
            if arn is None:
                continue
            method = f"attach_{kind}_policy"
            self.call(f"{kind} {name}", method, PolicyArn=arn,
                      **{f"{kind.capitalize()}Name": name})

    def put_inline(self, kind: str, name: str, policies: List[Dict[str, Any]]) -> None:
        for inline in policies:
            self.call(f"{kind} {name}", f"put_{kind}_policy",
                      PolicyName=inline["PolicyName"],
                      PolicyDocument=doc_text(inline["PolicyDocument"]),
                      **{f"{kind.capitalize()}Name": name})

    def create_group(self, group: Dict[str, Any]) -> None:
        name = group["GroupName"]
        self.call(f"group {name}", "create_group", GroupName=name, Path=group.get("Path", "/"))
        self.attach("group", name, group.get("AttachedManagedPolicies", []))
        self.put_inline("group", name, group.get("GroupPolicyList", []))
        if fixture_date(group):
            self.backend.groups[name].create_date = fixture_date(group)

    def create_user(self, user: Dict[str, Any]) -> None:
        name = user["UserName"]
        kwargs: Dict[str, Any] = {"UserName": name, "Path": user.get("Path", "/")}
        if user.get("Tags"):
            kwargs["Tags"] = user["Tags"]
        if user.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn"):
            kwargs["PermissionsBoundary"] = user["PermissionsBoundary"]["PermissionsBoundaryArn"]
        self.call(f"user {name}", "create_user", **kwargs)
        for group in user.get("GroupList", []):
            self.call(f"user {name}", "add_user_to_group", GroupName=group, UserName=name)
        self.attach("user", name, user.get("AttachedManagedPolicies", []))
        self.put_inline("user", name, user.get("UserPolicyList", []))
        if fixture_date(user):
            self.backend.users[name].create_date = fixture_date(user)

    def create_role(self, role: Dict[str, Any]) -> None:
        name = role["RoleName"]
        kwargs: Dict[str, Any] = {
            "RoleName": name, "Path": role.get("Path", "/"),
            "AssumeRolePolicyDocument": doc_text(role["AssumeRolePolicyDocument"]),
        }
        for src, dst in (("Description", "Description"), ("Tags", "Tags"),
                         ("MaxSessionDuration", "MaxSessionDuration")):
            if role.get(src):
                kwargs[dst] = role[src]
        if role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn"):
            kwargs["PermissionsBoundary"] = role["PermissionsBoundary"]["PermissionsBoundaryArn"]
        self.call(f"role {name}", "create_role", **kwargs)
        self.attach("role", name, role.get("AttachedManagedPolicies", []))
        self.put_inline("role", name, role.get("RolePolicyList", []))
        obj = self.backend.get_role(name)
        if fixture_date(role):
            obj.create_date = fixture_date(role)
        last = role.get("RoleLastUsed") or {}
        if last.get("LastUsedDate"):
            # moto sets this only when the role's own temporary keys are used
            obj.last_used = utc(last["LastUsedDate"])
            obj.last_used_region = last.get("Region")

    def create_instance_profiles(self, roles: List[Dict[str, Any]]) -> None:
        made: Dict[str, Any] = {}
        for role in roles:
            for prof in role.get("InstanceProfileList", []):
                pname = prof["InstanceProfileName"]
                if pname not in made:
                    self.call(f"instance profile {pname}", "create_instance_profile",
                              InstanceProfileName=pname, Path=prof.get("Path", "/"))
                    made[pname] = prof
                self.call(f"instance profile {pname}", "add_role_to_instance_profile",
                          InstanceProfileName=pname, RoleName=role["RoleName"])
        for pname, prof in made.items():
            if fixture_date(prof):
                self.backend.get_instance_profile(pname).create_date = fixture_date(prof)

    # -- credentials the fixture does not have --------------------------------
    def seed_credentials(self, fixture_users: List[str]) -> Dict[str, Any]:
        names = sorted(fixture_users)
        needed = max(p for p, *_ in KEY_PLAN + LOGIN_PLAN)
        if len(names) <= needed:
            raise SeedError(f"account {self.account}: the credential plan needs more than "
                            f"{needed} fixture users, the fixture has {len(names)}")
        chosen: Dict[str, Any] = {"access_keys": [], "login_profiles": [], "mfa_users": []}
        for position, status, created, last_used in KEY_PLAN:
            user = names[position]
            key = self.call(f"user {user}", "create_access_key", UserName=user)["AccessKey"]
            if status != "Active":
                self.call(f"user {user}", "update_access_key", UserName=user,
                          AccessKeyId=key["AccessKeyId"], Status=status)
            obj = self.backend.access_keys[key["AccessKeyId"]]
            if created:
                obj.create_date = utc(created)
            if last_used:
                when, service, region = last_used
                obj.last_used = AccessKeyLastUsed(timestamp=utc(when), service=service,
                                                  region=region)
            chosen["access_keys"].append({
                "user": user, "access_key_id": key["AccessKeyId"], "status": status,
                "create_date": created,  # null: created by the launcher, not backdated
                "last_used_date": last_used[0] if last_used else None})
        for position, mfa, last_used in LOGIN_PLAN:
            user = names[position]
            self.call(f"user {user}", "create_login_profile", UserName=user,
                      Password=LOGIN_PASSWORD, PasswordResetRequired=False)
            if last_used:
                self.backend.users[user].password_last_used = utc(last_used)
            chosen["login_profiles"].append({"user": user, "mfa": mfa,
                                             "password_last_used": last_used})
            if mfa:
                device = self.call(f"user {user}", "create_virtual_mfa_device",
                                   VirtualMFADeviceName=user)["VirtualMFADevice"]
                serial = device["SerialNumber"]
                self.call(f"user {user}", "enable_mfa_device", UserName=user,
                          SerialNumber=serial, AuthenticationCode1="123456",
                          AuthenticationCode2="654321")
                self.backend.users[user].mfa_devices[serial].enable_date = MFA_ENABLED
                self.backend.virtual_mfa_devices[serial].enable_date = MFA_ENABLED
                chosen["mfa_users"].append(user)
        self.call("password policy", "update_account_password_policy", **PASSWORD_POLICY)
        # a key can not be older than its user
        for user in names:
            u = self.backend.users[user]
            for k in u.access_keys:
                if k.create_date < u.create_date:
                    raise SeedError(f"account {self.account}: key of {user} predates the user")
        return chosen

    def create_reader(self) -> Dict[str, str]:
        self.call("reader", "create_user", UserName=READER_USER, Tags=READER_TAGS)
        if READER_POLICY in self.backend.managed_policies:
            self.call("reader", "attach_user_policy", UserName=READER_USER,
                      PolicyArn=READER_POLICY)
        key = self.call("reader", "create_access_key", UserName=READER_USER)["AccessKey"]
        self.backend.users[READER_USER].create_date = READER_CREATED
        # the key keeps its real creation time: it is the one in use
        return {"access_key_id": key["AccessKeyId"],
                "secret_access_key": key["SecretAccessKey"]}


# ---------------------------------------------------------------------------
# Expected row counts, from what moto holds
# ---------------------------------------------------------------------------
def count_statements(text: str, where: str) -> int:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise SeedError(f"{where}: document moto holds is not JSON: {exc}") from exc
    statement = document.get("Statement") if isinstance(document, dict) else None
    if isinstance(statement, list):
        return len(statement)
    if isinstance(statement, dict):
        return 1
    raise SeedError(f"{where}: document has no Statement")


def expected_counts(account: str) -> Dict[str, int]:
    backend = iam_backends[account][PARTITION]
    users = list(backend.users.values())
    groups = list(backend.groups.values())
    roles = list(backend.roles.values())
    principals = users + groups + roles

    attached = {arn for p in principals for arn in p.managed_policies}
    policies = [pol for arn, pol in backend.managed_policies.items()
                if not arn.startswith(AWS_MANAGED_PREFIX) or arn in attached]

    statements = 0
    for pol in policies:
        default = [v for v in pol.versions if v.is_default]
        if len(default) != 1:
            raise SeedError(f"{pol.arn}: {len(default)} default versions")
        statements += count_statements(default[0].document, pol.arn)
    for p in principals:
        for name, text in p.policies.items():
            statements += count_statements(text, f"{p.arn} inline {name}")
    for role in roles:
        statements += count_statements(role.assume_role_policy_document, f"{role.arn} trust")

    # rows of the report moto would return now, without starting one: the
    # first GenerateCredentialReport the binary sends must still say STARTED
    generated = backend.credential_report
    backend.credential_report = True
    try:
        report = backend.get_credential_report()
    finally:
        backend.credential_report = generated
    report_rows = list(csv.reader(io.StringIO(report)))[1:]

    return {
        "iam_users": len(users),
        "iam_groups": len(groups),
        "iam_roles": len(roles),
        "iam_policies": len(policies),
        "iam_inline_policies": sum(len(p.policies) for p in principals),
        "iam_policy_statements": statements,
        "iam_access_keys": sum(len(u.access_keys) for u in users),
        "iam_mfa_devices": sum(len(u.mfa_devices) for u in users),
        # one row per account: the policy, or policy_present = false
        "iam_password_policy": 1,
        "iam_account_summary": 1,
        "iam_credential_report": len(report_rows),
    }


# ---------------------------------------------------------------------------
# Checks through the API
# ---------------------------------------------------------------------------
def check_account_header(endpoint: str, account: str) -> None:
    ident = make_client(endpoint, "sts", account).get_caller_identity()
    if ident["Account"] != account:
        raise SeedError(f"x-moto-account-id {account} selected account {ident['Account']}")


def check_reader(endpoint: str, account: str, creds: Dict[str, str],
                 expected: Dict[str, int]) -> None:
    """Only the reader's key, no header: moto must map it to its account."""
    key, secret = creds["access_key_id"], creds["secret_access_key"]
    ident = make_client(endpoint, "sts", key=key, secret=secret).get_caller_identity()
    if ident["Account"] != account:
        raise SeedError(f"reader key of {account} resolves to account {ident['Account']}")
    want_arn = f"arn:aws:iam::{account}:user/{READER_USER}"
    if ident["Arn"] != want_arn:
        raise SeedError(f"reader identity is {ident['Arn']}, expected {want_arn}")
    iam = make_client(endpoint, "iam", key=key, secret=secret)
    users = paginate(iam, "list_users", "Users")
    if len(users) != expected["iam_users"]:
        raise SeedError(f"account {account}: reader lists {len(users)} users, "
                        f"moto holds {expected['iam_users']}")
    for op, key_name, table in (("list_groups", "Groups", "iam_groups"),
                                ("list_roles", "Roles", "iam_roles")):
        seen = len(paginate(iam, op, key_name))
        if seen != expected[table]:
            raise SeedError(f"account {account}: reader sees {seen} via {op}, "
                            f"moto holds {expected[table]}")
    # These calls marked the reader's key as used; clear that so the binary's
    # own first call is the first use moto records.
    iam_backends[account][PARTITION].access_keys[key].last_used = None


# ---------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------
def start_server(port: int, quiet: bool) -> tuple:
    if quiet:
        import logging
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if port:
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise SeedError(f"cannot listen on 127.0.0.1:{port}: {exc}") from exc
        finally:
            probe.close()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    starter = threading.Thread(target=server.start, daemon=True)
    starter.start()
    starter.join(timeout=30)
    if starter.is_alive():
        raise SeedError(f"moto server did not start on 127.0.0.1:{port} within 30 s")
    host, real_port = server.get_host_and_port()
    endpoint = f"http://127.0.0.1:{real_port}"
    # wait until it answers HTTP
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", real_port), timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline:
                raise SeedError(f"moto server on {endpoint} does not accept connections")
            time.sleep(0.05)
    return server, endpoint


def write_ready_file(path: str, data: Dict[str, Any]) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def die_with_parent() -> None:
    """Linux: get SIGTERM when the parent process exits (prctl PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, signal.SIGTERM, 0, 0, 0) != 0:
            log("--exit-with-parent: prctl failed; ignoring")
    except (OSError, AttributeError):
        log("--exit-with-parent is only supported on Linux; ignoring")


# ---------------------------------------------------------------------------
# Security Hub: exported ASFF findings imported per account and region
# ---------------------------------------------------------------------------
def load_asff(path: str) -> List[Dict[str, Any]]:
    """The findings of one export: {"Findings": [...]}, {"findings": [...]}, a bare
    array, or one finding per line."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if isinstance(document, list):
        return document
    for key in ("Findings", "findings"):
        if isinstance(document.get(key), list):
            return document[key]
    raise SeedError(f"{path}: not an ASFF export")


def asff_files(paths: List[str]) -> List[str]:
    files: List[str] = []
    for path in paths:
        if os.path.isdir(path):
            files.extend(os.path.join(path, name) for name in sorted(os.listdir(path))
                         if name.endswith(".json"))
        else:
            files.append(path)
    return files


def seed_securityhub(endpoint: str, account: str, region: str,
                     paths: List[str]) -> int:
    """BatchImportFindings of every finding in `paths` into one account and region,
    rewritten to belong there: AwsAccountId, Region, and the account's own ProductArn,
    which is what BatchImportFindings accepts from an account. Returns the number of
    active findings Security Hub then holds."""
    session = boto3.session.Session(aws_access_key_id=DUMMY_KEY,
                                    aws_secret_access_key=DUMMY_KEY, region_name=region)
    client = session.client("securityhub", endpoint_url=endpoint,
                            config=Config(retries={"max_attempts": 2, "mode": "standard"}))

    def add_header(request: Any, **_: Any) -> None:
        request.headers[ACCOUNT_HEADER] = account
    client.meta.events.register("before-sign.*.*", add_header)
    client.enable_security_hub(EnableDefaultStandards=False)

    states: Dict[str, str] = {}
    findings: List[Dict[str, Any]] = []
    for path in asff_files(paths):
        for finding in load_asff(path):
            finding = dict(finding)
            finding["AwsAccountId"] = account
            finding["Region"] = region
            finding["ProductArn"] = (f"arn:aws:securityhub:{region}:{account}:"
                                     f"product/{account}/default")
            findings.append(finding)
            states[finding["Id"]] = finding.get("RecordState", "ACTIVE")
    for start in range(0, len(findings), 100):
        answer = client.batch_import_findings(Findings=findings[start:start + 100])
        if answer["FailedCount"]:
            raise SeedError(f"securityhub {account} {region}: "
                            f"{answer['FailedFindings']}")
    held = paginate(client, "get_findings", "Findings")
    if len(held) != len(states):
        raise SeedError(f"securityhub {account} {region}: moto holds {len(held)} "
                        f"findings, {len(states)} were imported")
    return sum(1 for state in states.values() if state == "ACTIVE")


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    def account_id(value: str) -> str:
        if not ACCOUNT_RE.match(value):
            raise argparse.ArgumentTypeError(f"{value!r} is not a 12-digit account id "
                                             "(keep leading zeros)")
        return value

    parser = argparse.ArgumentParser(prog="moto_launcher.py", description=__doc__.split("\n")[0])
    parser.add_argument("--ready-file", required=True,
                        help="JSON file written (atomically) once the server is seeded")
    parser.add_argument("--port", type=int, default=0,
                        help="port on 127.0.0.1 (default 0: any free port)")
    parser.add_argument("--seed-iam", metavar="FIXTURE.json",
                        help="GetAccountAuthorizationDetails JSON seeded into every --account")
    parser.add_argument("--seed-securityhub", action="append", default=[],
                        metavar="FILE_OR_DIR",
                        help="ASFF export imported into every --account in every "
                             "--securityhub-region (repeatable)")
    parser.add_argument("--securityhub-region", action="append", default=[],
                        help="region to seed Security Hub findings into (repeatable; "
                             f"default {REGION})")
    parser.add_argument("--account", action="append", type=account_id, default=[],
                        help="12-digit account id to set up (repeatable)")
    parser.add_argument("--bucket", action="append", default=[],
                        help=f"S3 bucket to create in moto's default account {DEFAULT_ACCOUNT} "
                             "(repeatable)")
    parser.add_argument("--organization", type=int, metavar="MEMBERS", default=0,
                        help="make the first --account an organization's management account "
                             "with this many member accounts (see organization.py)")
    parser.add_argument("--enforce-iam", action="store_true",
                        help="after seeding, authorize every request against IAM policies")
    parser.add_argument("--seed-config", action="store_true",
                        help="in every --account: an AWS Config recorder, delivery channel, "
                             "S3 buckets and SNS topics in us-east-1 and eu-west-1")
    parser.add_argument("--quiet", action="store_true", help="do not log every request")
    parser.add_argument("--exit-on-stdin-close", action="store_true",
                        help="exit when standard input reaches end of file, as it does when "
                             "the process holding its other end exits, however it exits")
    parser.add_argument("--exit-with-parent", action="store_true",
                        help="exit when the parent process dies (Linux)")
    args = parser.parse_args(argv)
    if args.seed_iam and not args.account:
        parser.error("--seed-iam needs at least one --account")
    if len(set(args.account)) != len(args.account):
        parser.error("an --account is given twice")
    if not 0 <= args.port <= 65535:
        parser.error("--port must be 0..65535")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.exit_with_parent:
        die_with_parent()

    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    if args.exit_on_stdin_close:
        def watch_stdin() -> None:
            # An empty read means end of file: the process holding the pipe is gone. The raw
            # descriptor is read, not sys.stdin, whose lock would stall interpreter shutdown.
            while os.read(0, 65536):
                pass
            stop.set()

        threading.Thread(target=watch_stdin, daemon=True).start()

    # a stale ready file from an earlier run must not look like this one
    try:
        os.remove(args.ready_file)
    except FileNotFoundError:
        pass

    install_root_row()
    install_config_epoch_times()
    server = None
    try:
        server, endpoint = start_server(args.port, args.quiet)
        log(f"moto {getattr(sys.modules.get('moto'), '__version__', '?')} on {endpoint}")
        fixture_path = args.seed_iam
        ready: Dict[str, Any] = {"endpoint": endpoint, "accounts": {}}
        for account in args.account:
            if stop.is_set():
                raise SeedError("interrupted")
            check_account_header(endpoint, account)
            seeder = Seeder(endpoint, account)
            entry: Dict[str, Any] = {}
            if fixture_path:
                fixture = load_fixture(fixture_path, account)
                seeder.seed_fixture(fixture)
                chosen = seeder.seed_credentials([u["UserName"] for u in fixture["UserDetailList"]])
                entry["seeded_credentials"] = chosen
                if account == args.account[0]:
                    log("access keys: " + ", ".join(
                        f"{k['user']} ({k['status']}, created {k['create_date'] or 'now'})"
                        for k in chosen["access_keys"]))
                    log("login profiles: " + ", ".join(x["user"] for x in chosen["login_profiles"])
                        + "; MFA: " + ", ".join(chosen["mfa_users"]))
            created = seed_config(endpoint, account) if args.seed_config else None
            creds = seeder.create_reader()
            expected = expected_counts(account)
            check_reader(endpoint, account, creds, expected)
            entry = {**creds, "expected": expected, **entry}
            entry["skipped_aws_managed_policies"] = sorted(seeder.skipped_aws)
            if created is not None:
                entry["config"] = {"created": created,
                                   "expected": config_expected(endpoint, account, creds,
                                                               created)}
                log(f"account {account}: Config resources {entry['config']['expected']}")
            if args.seed_securityhub:
                by_region = entry.setdefault("expected_by_region", {})
                for region in args.securityhub_region or [REGION]:
                    active = seed_securityhub(endpoint, account, region, args.seed_securityhub)
                    by_region.setdefault(region, {})["securityhub_findings"] = active
                    log(f"account {account} {region}: securityhub_findings={active}")
            if seeder.skipped_aws:
                log(f"account {account}: moto lacks {len(seeder.skipped_aws)} AWS managed "
                    f"policies, not attached: " + "; ".join(
                        f"{arn} (to {', '.join(who)})"
                        for arn, who in sorted(seeder.skipped_aws.items())))
            log(f"account {account}: " + ", ".join(f"{k}={v}" for k, v in expected.items()))
            ready["accounts"][account] = entry
        if args.bucket:
            s3 = make_client(endpoint, "s3")  # dummy key, no header: default account
            for bucket in args.bucket:
                try:
                    s3.create_bucket(Bucket=bucket)
                except (ClientError, BotoCoreError) as exc:
                    raise SeedError(f"bucket {bucket}: {exc}") from exc
            log(f"buckets in {DEFAULT_ACCOUNT}: {', '.join(args.bucket)}")
        if args.organization:
            if not args.account:
                raise SeedError("--organization needs an --account for the management account")
            import organization
            root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
            with open(os.path.join(root, "deploy", "iam", "lakewarden-readonly.json")) as f:
                readonly_policy = f.read()
            ready["organization"] = organization.seed_organization(
                make_client, endpoint, args.account[0], args.organization, readonly_policy,
                READER_USER, expected_counts)
            log("organization: " + ", ".join(ready["organization"]["accounts"]))
        if args.enforce_iam:
            import organization
            organization.enforce_iam()
            log("IAM enforcement on")
        if stop.is_set():
            raise SeedError("interrupted")
        write_ready_file(args.ready_file, ready)
        log(f"ready: {args.ready_file}")
    except SeedError as exc:
        log(f"error: {exc}")
        return 2
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        import traceback
        traceback.print_exc()
        log(f"error: {type(exc).__name__}: {exc}")
        return 2

    while not stop.wait(0.5):
        pass
    log("stopping")
    try:
        server.stop()
    except Exception as exc:  # noqa: BLE001 - shutting down anyway
        log(f"while stopping: {exc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
