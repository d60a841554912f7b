#!/usr/bin/env python3
"""Synthetic, seeded inputs for `make bench`: Security Hub findings (ASFF), AWS Config
snapshot files and IAM authorization details for an organisation of many accounts.

The shapes follow the public samples in tests/fixtures/: findings of several products
(GuardDuty, Inspector, Security Hub controls, Config, Macie, IAM Access Analyzer) with
nested Resources[].Details, ProductFields and Compliance blocks; Config items as AWS
Config delivers them in snapshot files (configuration and supplementaryConfiguration as
objects, some values as JSON text); GetAccountAuthorizationDetails documents with users,
groups, roles and policies, several policies per principal.

Findings point at resources that the Config snapshots also hold, so a finding-to-resource
join finds most of them. The same arguments (seed included) give byte-identical files.
Python 3 standard library only; every file is written as it is generated, so memory stays
flat however large the scale.

    python3 scripts/bench/generate.py --out DIR --findings 200000 [--seed 1]
"""

import argparse
import json
import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

REGIONS = ("us-east-1", "eu-west-1")
BASE_TIME = datetime(2026, 11, 1, tzinfo=timezone.utc)

# (Config resource type, ASFF resource type): every resource of the pool is one of these.
RESOURCE_TYPES = (
    ("AWS::S3::Bucket", "AwsS3Bucket"),
    ("AWS::EC2::Instance", "AwsEc2Instance"),
    ("AWS::IAM::Role", "AwsIamRole"),
    ("AWS::Lambda::Function", "AwsLambdaFunction"),
    ("AWS::RDS::DBInstance", "AwsRdsDbInstance"),
    ("AWS::EC2::SecurityGroup", "AwsEc2SecurityGroup"),
    ("AWS::KMS::Key", "AwsKmsKey"),
    ("AWS::ECR::Repository", "AwsEcrRepository"),
)

CONTROLS = (
    ("S3.1", "S3 general purpose buckets should have block public access settings enabled", "MEDIUM"),
    ("S3.5", "S3 general purpose buckets should require requests to use SSL", "MEDIUM"),
    ("EC2.8", "EC2 instances should use Instance Metadata Service Version 2", "HIGH"),
    ("IAM.1", "IAM policies should not allow full administrative privileges", "HIGH"),
    ("Lambda.1", "Lambda function policies should prohibit public access", "CRITICAL"),
    ("RDS.3", "RDS DB instances should have encryption at-rest enabled", "MEDIUM"),
    ("EC2.19", "Security groups should not allow unrestricted access to high risk ports", "CRITICAL"),
    ("KMS.4", "AWS KMS key rotation should be enabled", "MEDIUM"),
)

GUARDDUTY_TYPES = (
    "TTPs/Persistence/IAMUser-AnomalousBehavior",
    "Recon:EC2/PortProbeUnprotectedPort",
    "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
    "CryptoCurrency:EC2/BitcoinTool.B!DNS",
    "Policy:S3/BucketBlockPublicAccessDisabled",
)

PACKAGES = ("kernel", "openssl", "glibc", "curl", "python3", "log4j-core", "libxml2", "zlib")
SEVERITIES = (("INFORMATIONAL", 0), ("LOW", 1), ("MEDIUM", 40), ("HIGH", 70), ("CRITICAL", 90))
WORDS = ("payments", "ledger", "web", "batch", "reports", "auth", "search", "media", "ingest",
         "billing", "export", "analytics", "gateway", "orders", "catalog", "events")


def stamp(at):
    """ISO 8601 in UTC with milliseconds, as Security Hub and Config write it."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def dumps(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Organisation:
    """Accounts, regions and the pool of resources each account and region holds."""

    def __init__(self, seed, accounts, resources_per_partition):
        self.seed = seed
        self.accounts = [f"{100000000000 + 7919 * (i + 1):012d}" for i in range(accounts)]
        self.partitions = [(a, r) for a in self.accounts for r in REGIONS]
        self.per_partition = resources_per_partition

    def resource(self, account, region, index):
        """The index-th resource of an account and region: (config type, asff type, id, arn, name)."""
        config_type, asff_type = RESOURCE_TYPES[index % len(RESOURCE_TYPES)]
        name = f"{WORDS[index % len(WORDS)]}-{account[-4:]}-{index:06d}"
        if config_type == "AWS::S3::Bucket":
            name = f"{name}-{region}"
            return config_type, asff_type, name, f"arn:aws:s3:::{name}", name
        if config_type == "AWS::EC2::Instance":
            rid = f"i-{index:08x}{int(account[-6:]):09x}"
            return config_type, asff_type, rid, f"arn:aws:ec2:{region}:{account}:instance/{rid}", rid
        if config_type == "AWS::IAM::Role":
            rid = f"AROA{index:012d}{account[-4:]}"
            return config_type, asff_type, rid, f"arn:aws:iam::{account}:role/{name}", name
        if config_type == "AWS::Lambda::Function":
            return config_type, asff_type, name, f"arn:aws:lambda:{region}:{account}:function:{name}", name
        if config_type == "AWS::RDS::DBInstance":
            rid = f"db-{index:010d}{account[-6:]}"
            return config_type, asff_type, rid, f"arn:aws:rds:{region}:{account}:db:{name}", name
        if config_type == "AWS::EC2::SecurityGroup":
            rid = f"sg-{index:08x}{int(account[-4:]):05x}"
            return config_type, asff_type, rid, f"arn:aws:ec2:{region}:{account}:security-group/{rid}", name
        if config_type == "AWS::KMS::Key":
            rid = f"{index:08x}-{account[-4:]}-4{index % 1000:03d}-8000-{account}"
            return config_type, asff_type, rid, f"arn:aws:kms:{region}:{account}:key/{rid}", rid
        return config_type, asff_type, name, f"arn:aws:ecr:{region}:{account}:repository/{name}", name


def asff_details(rng, asff_type, account, region, name):
    if asff_type == "AwsS3Bucket":
        return {"AwsS3Bucket": {
            "OwnerId": f"{rng.getrandbits(128):032x}", "CreatedAt": stamp(BASE_TIME - timedelta(days=rng.randrange(900))),
            "ServerSideEncryptionConfiguration": {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": rng.choice(["AES256", "aws:kms"])}}]},
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": rng.random() < 0.8, "BlockPublicPolicy": rng.random() < 0.8,
                                               "IgnorePublicAcls": True, "RestrictPublicBuckets": rng.random() < 0.8}}}
    if asff_type == "AwsEc2Instance":
        return {"AwsEc2Instance": {
            "Type": rng.choice(["t3.micro", "m5.large", "c6i.large", "r6g.xlarge"]), "ImageId": f"ami-{rng.getrandbits(64):016x}",
            "IpV4Addresses": [f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"],
            "IamInstanceProfileArn": f"arn:aws:iam::{account}:instance-profile/{name}",
            "VpcId": f"vpc-{rng.getrandbits(64):016x}", "SubnetId": f"subnet-{rng.getrandbits(64):016x}",
            "LaunchedAt": stamp(BASE_TIME - timedelta(hours=rng.randrange(20000))),
            "MetadataOptions": {"HttpTokens": rng.choice(["optional", "required"]), "HttpEndpoint": "enabled"}}}
    if asff_type == "AwsIamRole":
        return {"AwsIamRole": {
            "RoleName": name, "CreateDate": stamp(BASE_TIME - timedelta(days=rng.randrange(900))),
            "AssumeRolePolicyDocument": "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22ec2.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D",
            "AttachedManagedPolicies": [{"PolicyName": "ReadOnlyAccess", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}],
            "MaxSessionDuration": 3600, "Path": "/"}}
    if asff_type == "AwsLambdaFunction":
        return {"AwsLambdaFunction": {
            "FunctionName": name, "Runtime": rng.choice(["python3.12", "nodejs20.x", "java21"]), "MemorySize": rng.choice([128, 256, 1024]),
            "Timeout": rng.choice([3, 30, 300]), "Role": f"arn:aws:iam::{account}:role/{name}-exec", "Handler": "index.handler",
            "LastModified": stamp(BASE_TIME - timedelta(hours=rng.randrange(5000)))}}
    if asff_type == "AwsRdsDbInstance":
        return {"AwsRdsDbInstance": {
            "DBInstanceIdentifier": name, "DBInstanceClass": "db.t3.medium", "Engine": rng.choice(["postgres", "mysql", "aurora-postgresql"]),
            "StorageEncrypted": rng.random() < 0.7, "PubliclyAccessible": rng.random() < 0.1, "MultiAz": rng.random() < 0.5}}
    if asff_type == "AwsEc2SecurityGroup":
        return {"AwsEc2SecurityGroup": {
            "GroupName": name, "VpcId": f"vpc-{rng.getrandbits(64):016x}",
            "IpPermissions": [{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
                              for port in rng.sample([22, 80, 443, 3389, 5432], 2)]}}
    if asff_type == "AwsKmsKey":
        return {"AwsKmsKey": {"KeyManager": "CUSTOMER", "KeyState": "Enabled", "Origin": "AWS_KMS",
                              "KeyRotationStatus": rng.random() < 0.5, "CreationDate": 1.6e9 + rng.randrange(10**8)}}
    return {"AwsEcrRepository": {"RepositoryName": name, "ImageTagMutability": rng.choice(["MUTABLE", "IMMUTABLE"]),
                                 "ImageScanningConfiguration": {"ScanOnPush": rng.random() < 0.5}}}


def finding(rng, org, n):
    account, region = org.partitions[rng.randrange(len(org.partitions))]
    index = rng.randrange(org.per_partition)
    _, asff_type, _, arn, name = org.resource(account, region, index)
    created = BASE_TIME + timedelta(seconds=rng.randrange(30 * 86400), milliseconds=rng.randrange(1000))
    updated = created + timedelta(seconds=rng.randrange(7 * 86400))
    label, normalized = SEVERITIES[rng.randrange(len(SEVERITIES))]
    product = rng.choice(("securityhub", "securityhub", "securityhub", "guardduty", "inspector", "config", "macie", "access-analyzer"))
    resource = {"Type": asff_type, "Id": arn, "Partition": "aws", "Region": region,
                "Tags": {"team": WORDS[index % len(WORDS)], "env": rng.choice(["prod", "staging", "dev"])},
                "Details": asff_details(rng, asff_type, account, region, name)}
    product_fields = {"aws/securityhub/ProductName": product, "aws/securityhub/CompanyName": "AWS"}
    doc = {"SchemaVersion": "2018-10-08"}
    if product == "securityhub":
        control, title, label = CONTROLS[index % len(CONTROLS)]
        normalized = dict(SEVERITIES)[label]
        status = rng.choice(("PASSED", "FAILED", "FAILED", "WARNING", "NOT_AVAILABLE"))
        fid = f"arn:aws:securityhub:{region}:{account}:security-control/{control}/finding/{rng.getrandbits(128):032x}"
        product_arn = f"arn:aws:securityhub:{region}::product/aws/securityhub"
        generator = f"security-control/{control}"
        types = ["Software and Configuration Checks/Industry and Regulatory Standards"]
        product_fields.update({"RelatedAWSResources:0/name": f"securityhub-{control.lower()}-{n % 97:02d}",
                               "RelatedAWSResources:0/type": "AWS::Config::ConfigRule",
                               "aws/securityhub/annotation": rng.choice(["", "The resource is not compliant."])})
        compliance = {"Status": status, "SecurityControlId": control,
                      "AssociatedStandards": [{"StandardsId": "standards/aws-foundational-security-best-practices/v/1.0.0"},
                                              {"StandardsId": "ruleset/cis-aws-foundations-benchmark/v/1.2.0"}][: rng.randrange(1, 3)]}
        description = f"This control checks whether {title.lower()}."
    elif product == "guardduty":
        gd_type = rng.choice(GUARDDUTY_TYPES)
        fid = f"arn:aws:guardduty:{region}:{account}:detector/{rng.getrandbits(128):032x}/finding/{rng.getrandbits(128):032x}"
        product_arn = f"arn:aws:securityhub:{region}::product/aws/guardduty"
        generator, types, title = f"arn:aws:guardduty:{region}:{account}:detector/d1", ["TTPs/" + gd_type.split("/")[-1]], f"{gd_type} on {name}"
        product_fields.update({"aws/guardduty/service/count": str(rng.randrange(1, 500)), "aws/guardduty/service/archived": "false",
                               "aws/guardduty/service/action/actionType": rng.choice(["AWS_API_CALL", "NETWORK_CONNECTION", "DNS_REQUEST"])})
        compliance = None
        description = f"GuardDuty observed {gd_type} activity involving {name}."
    elif product == "inspector":
        cve = f"CVE-20{rng.randrange(18, 26)}-{rng.randrange(1000, 50000)}"
        package = rng.choice(PACKAGES)
        fid = f"arn:aws:inspector2:{region}:{account}:finding/{rng.getrandbits(128):032x}"
        product_arn = f"arn:aws:securityhub:{region}::product/aws/inspector"
        generator, types, title = "AWSInspector", ["Software and Configuration Checks/Vulnerabilities/CVE"], f"{cve} - {package}"
        product_fields.update({"aws/inspector/FindingStatus": "ACTIVE", "aws/inspector/inspectorScore": f"{rng.uniform(1, 10):.1f}"})
        compliance = None
        description = f"{package} is affected by {cve}."
        doc["Vulnerabilities"] = [{"Id": cve, "VulnerablePackages": [{"Name": package, "Version": f"{rng.randrange(1, 6)}.{rng.randrange(30)}.{rng.randrange(300)}",
                                                                      "PackageManager": "OS", "FixedInVersion": "latest"}],
                                   "Cvss": [{"Version": "3.1", "BaseScore": round(rng.uniform(1, 10), 1), "BaseVector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "Source": "NVD"}],
                                   "Vendor": {"Name": "NVD", "Url": f"https://nvd.nist.gov/vuln/detail/{cve}"}, "FixAvailable": "YES"}]
    else:
        fid = f"arn:aws:{product}:{region}:{account}:finding/{rng.getrandbits(128):032x}"
        product_arn = f"arn:aws:securityhub:{region}::product/aws/{product}"
        generator, types = f"{product}-{index % 11}", ["Software and Configuration Checks/AWS Security Best Practices"]
        title = f"{product} finding for {name}"
        compliance = {"Status": rng.choice(("PASSED", "FAILED"))} if product == "config" else None
        product_fields.update({f"aws/{product}/rule": f"rule-{index % 23}"})
        description = f"{product} reported {name}."
    doc.update({"Id": fid, "ProductArn": product_arn, "ProductName": product, "CompanyName": "AWS",
                "Region": region, "GeneratorId": generator, "AwsAccountId": account, "Types": types,
                "FirstObservedAt": stamp(created), "LastObservedAt": stamp(updated),
                "CreatedAt": stamp(created), "UpdatedAt": stamp(updated),
                "Severity": {"Label": label, "Normalized": normalized, "Original": label},
                "Title": title, "Description": description,
                "Remediation": {"Recommendation": {"Text": f"Review {name}.", "Url": "https://docs.aws.amazon.com/securityhub/"}},
                "ProductFields": product_fields, "Resources": [resource]})
    if compliance is not None:
        doc["Compliance"] = compliance
    doc.update({"WorkflowState": "NEW", "Workflow": {"Status": rng.choice(("NEW", "NEW", "NOTIFIED", "SUPPRESSED"))},
                "RecordState": "ARCHIVED" if rng.random() < 0.02 else "ACTIVE"})
    return doc


def config_item(rng, org, account, region, index):
    config_type, _, rid, arn, name = org.resource(account, region, index)
    captured = BASE_TIME + timedelta(seconds=rng.randrange(30 * 86400), milliseconds=rng.randrange(1000))
    created = captured - timedelta(days=rng.randrange(1, 900))
    configuration = {"name": name, "arn": arn, "tags": [{"key": "team", "value": WORDS[index % len(WORDS)]}]}
    supplementary = {}
    relationships = []
    if config_type == "AWS::S3::Bucket":
        configuration = {"name": name, "owner": {"displayName": None, "id": f"{rng.getrandbits(256):064x}"}, "creationDate": stamp(created)}
        supplementary = {
            "AccessControlList": dumps({"grantSet": None, "grantList": [{"grantee": {"id": f"{rng.getrandbits(256):064x}", "displayName": None}, "permission": "FullControl"}], "isRequesterCharged": False}),
            "BucketVersioningConfiguration": {"status": rng.choice(["Enabled", "Off", "Suspended"]), "isMfaDeleteEnabled": None},
            "BucketPolicy": {"policyText": dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": arn, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}) if rng.random() < 0.6 else None},
            "IsRequesterPaysEnabled": False,
        }
    elif config_type == "AWS::EC2::Instance":
        configuration.update({"instanceId": rid, "instanceType": rng.choice(["t3.micro", "m5.large"]), "state": {"code": 16, "name": "running"},
                              "metadataOptions": {"httpTokens": rng.choice(["optional", "required"])},
                              "securityGroups": [{"groupId": f"sg-{rng.getrandbits(32):08x}"}], "launchTime": stamp(created)})
        relationships = [{"resourceId": f"vol-{rng.getrandbits(64):016x}", "resourceType": "AWS::EC2::Volume", "name": "Is attached to Volume"}]
    elif config_type == "AWS::IAM::Role":
        configuration.update({"roleName": name, "roleId": rid, "path": "/",
                              "assumeRolePolicyDocument": "%7B%22Version%22%3A%222012-10-17%22%7D",
                              "attachedManagedPolicies": [{"policyName": "ReadOnlyAccess", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}]})
    elif config_type == "AWS::RDS::DBInstance":
        configuration.update({"dBInstanceIdentifier": name, "storageEncrypted": rng.random() < 0.7, "publiclyAccessible": rng.random() < 0.1})
    elif config_type == "AWS::KMS::Key":
        supplementary = {"KeyRotationStatus": "true" if rng.random() < 0.5 else "false"}
    return {
        "relatedEvents": [],
        "relationships": relationships,
        "configuration": configuration,
        "supplementaryConfiguration": supplementary,
        "tags": {"team": WORDS[index % len(WORDS)], "env": rng.choice(["prod", "staging", "dev"])},
        "configurationItemVersion": "1.3",
        "configurationItemCaptureTime": stamp(captured),
        # Delivered snapshots carry the state id as a number.
        "configurationStateId": int(captured.timestamp() * 1000),
        "awsAccountId": account,
        "configurationItemStatus": rng.choice(("OK", "OK", "OK", "ResourceDiscovered")),
        "resourceType": config_type,
        "resourceId": rid,
        "resourceName": name,
        "ARN": arn,
        "awsRegion": region,
        "availabilityZone": "Regional" if config_type in ("AWS::S3::Bucket", "AWS::IAM::Role", "AWS::KMS::Key") else f"{region}a",
        "configurationStateMd5Hash": "",
        "resourceCreationTime": stamp(created),
    }


def policy_document(rng, account, admin):
    if admin:
        return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    services = rng.sample(["s3", "ec2", "dynamodb", "sqs", "kms", "logs", "lambda", "iam"], 3)
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": f"S{i}", "Effect": "Allow", "Action": [f"{s}:Get*", f"{s}:List*", f"{s}:Describe*"],
         "Resource": f"arn:aws:{s}:*:{account}:*"} for i, s in enumerate(services)]}


def authorization_details(rng, account, principals):
    """A GetAccountAuthorizationDetails response (as `aws iam get-account-authorization-details` prints it)."""
    created = stamp(BASE_TIME - timedelta(days=400))
    policies = []
    for i in range(max(4, principals // 10)):
        name = f"{WORDS[i % len(WORDS)]}-policy-{i}"
        doc = policy_document(rng, account, admin=(i == 0))
        policies.append({"PolicyName": name, "PolicyId": f"ANPA{i:012d}{account[-4:]}", "Arn": f"arn:aws:iam::{account}:policy/{name}",
                         "Path": "/", "DefaultVersionId": "v1", "AttachmentCount": 0, "PermissionsBoundaryUsageCount": 0,
                         "IsAttachable": True, "CreateDate": created, "UpdateDate": created,
                         "PolicyVersionList": [{"Document": doc, "VersionId": "v1", "IsDefaultVersion": True, "CreateDate": created}]})
    attached = lambda: [{"PolicyName": p["PolicyName"], "PolicyArn": p["Arn"]} for p in rng.sample(policies, 2)]
    inline = lambda kind, i: [{"PolicyName": f"{kind}-inline-{i}", "PolicyDocument": policy_document(rng, account, admin=rng.random() < 0.05)}]
    groups = [{"Path": "/", "GroupName": f"group-{g}", "GroupId": f"AGPA{g:012d}{account[-4:]}", "Arn": f"arn:aws:iam::{account}:group/group-{g}",
               "CreateDate": created, "GroupPolicyList": inline("group", g), "AttachedManagedPolicies": attached()} for g in range(5)]
    users, roles = [], []
    for i in range(principals):
        if i % 3 == 0:
            users.append({"Path": "/", "UserName": f"user-{i}", "UserId": f"AIDA{i:012d}{account[-4:]}", "Arn": f"arn:aws:iam::{account}:user/user-{i}",
                          "CreateDate": created, "UserPolicyList": inline("user", i), "GroupList": [f"group-{i % 5}"],
                          "AttachedManagedPolicies": attached(), "Tags": [{"Key": "team", "Value": WORDS[i % len(WORDS)]}]})
        else:
            roles.append({"Path": "/", "RoleName": f"role-{i}", "RoleId": f"AROA{i:012d}{account[-4:]}", "Arn": f"arn:aws:iam::{account}:role/role-{i}",
                          "CreateDate": created, "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
                          "InstanceProfileList": [], "RolePolicyList": inline("role", i), "AttachedManagedPolicies": attached(),
                          "Tags": [], "RoleLastUsed": {}})
    # AttachmentCount as IAM reports it: how many principals have the policy attached.
    counts = {}
    for principal in users + groups + roles:
        for policy in principal["AttachedManagedPolicies"]:
            counts[policy["PolicyArn"]] = counts.get(policy["PolicyArn"], 0) + 1
    for policy in policies:
        policy["AttachmentCount"] = counts.get(policy["Arn"], 0)
    return {"UserDetailList": users, "GroupDetailList": groups, "RoleDetailList": roles, "Policies": policies}


def generate(out, findings, seed, accounts, resources, principals):
    """Write every input under `out`; returns the paths written, in order."""
    out = Path(out)
    per_partition = max(1, resources // (accounts * len(REGIONS)))
    org = Organisation(seed, accounts, per_partition)
    written = []

    (out / "securityhub").mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{seed}/findings")
    lines_path, wrapped_path = out / "securityhub" / "findings.jsonl", out / "securityhub" / "findings.json"
    with open(lines_path, "w", encoding="utf-8", newline="\n") as lines, \
            open(wrapped_path, "w", encoding="utf-8", newline="\n") as wrapped:
        wrapped.write('{"Findings":[\n')
        for n in range(findings):
            text = dumps(finding(rng, org, n))
            lines.write(text + "\n")
            wrapped.write(("" if n == 0 else ",\n") + text)
        wrapped.write('\n],"NextToken":null}\n')
    written += [lines_path, wrapped_path]

    (out / "config").mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{seed}/config")
    for account, region in org.partitions:
        path = out / "config" / f"{account}_Config_{region}_ConfigSnapshot.json"
        with open(path, "w", encoding="utf-8", newline="\n") as snapshot:
            snapshot.write(f'{{"fileVersion":"1.0","configSnapshotId":"{account}-{region}-{seed}","configurationItems":[\n')
            for index in range(per_partition):
                snapshot.write(("" if index == 0 else ",\n") + dumps(config_item(rng, org, account, region, index)))
            snapshot.write("\n]}\n")
        written.append(path)

    (out / "iam").mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{seed}/iam")
    for account in org.accounts:
        path = out / "iam" / f"{account}.json"
        with open(path, "w", encoding="utf-8", newline="\n") as details:
            details.write(dumps(authorization_details(rng, account, principals)) + "\n")
        written.append(path)
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="folder to write into (created)")
    parser.add_argument("--findings", type=int, default=50000, help="Security Hub findings")
    parser.add_argument("--resources", type=int, help="Config items in all (default: findings / 2)")
    parser.add_argument("--accounts", type=int, default=20, help="accounts of the organisation")
    parser.add_argument("--principals", type=int, default=150, help="IAM users and roles per account")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    resources = args.resources if args.resources is not None else max(1, args.findings // 2)
    for path in generate(args.out, args.findings, args.seed, args.accounts, resources, args.principals):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
