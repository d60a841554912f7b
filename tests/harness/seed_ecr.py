#!/usr/bin/env python3
"""Seed Amazon ECR in a running moto server for the registry end-to-end test.

    seed_ecr.py --endpoint URL --access-key-id ID --secret-access-key KEY --account ID

Prints a JSON object with the digests of what it pushed. Repositories (us-east-1):
  team/api     immutable tags, scan on push, KMS; a public policy (Principal "*"); a
               lifecycle policy; image `v2` (basic findings, one critical, set through moto's
               API) and
               an image pushed without a tag
  team/worker  a policy for one account (not public); image `1.0` whose enhanced scan
               is ACTIVE with no severity counts
  team/empty   no policy, no lifecycle policy, no images
  team/multi   an OCI index `3.0` over untagged linux/amd64 and linux/arm64/v8 images
"""

import argparse
import json
import os
import sys
import urllib.request

os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["AWS_CONFIG_FILE"] = "/dev/null"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"

import boto3  # noqa: E402

REGION = "us-east-1"


def manifest(n):
    config = {"mediaType": "application/vnd.docker.container.image.v1+json",
              "size": 1000 + n, "digest": "sha256:" + f"{n:02x}" * 32}
    layer = {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
             "size": 20000 + n, "digest": "sha256:" + f"{n + 100:02x}" * 32}
    return json.dumps({"schemaVersion": 2,
                       "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                       "config": config, "layers": [layer]})


def policy(principal):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Pull", "Effect": "Allow", "Principal": principal,
         "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}]})


LIFECYCLE = json.dumps({"rules": [{"rulePriority": 1, "description": "expire untagged",
                                   "selection": {"tagStatus": "untagged",
                                                 "countType": "sinceImagePushed",
                                                 "countUnit": "days", "countNumber": 14},
                                   "action": {"type": "expire"}}]})


def post_results(endpoint, account, results):
    body = json.dumps({"results": results, "region": REGION, "account_id": account}).encode()
    request = urllib.request.Request(
        endpoint + "/moto-api/static/ecr/scan-finding-results", data=body,
        headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(request).read()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--access-key-id", required=True)
    parser.add_argument("--secret-access-key", required=True)
    parser.add_argument("--account", required=True)
    args = parser.parse_args()
    ecr = boto3.client("ecr", region_name=REGION, endpoint_url=args.endpoint,
                       aws_access_key_id=args.access_key_id,
                       aws_secret_access_key=args.secret_access_key)

    kms_key = f"arn:aws:kms:{REGION}:{args.account}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    ecr.create_repository(repositoryName="team/api", imageTagMutability="IMMUTABLE",
                          imageScanningConfiguration={"scanOnPush": True},
                          encryptionConfiguration={"encryptionType": "KMS", "kmsKey": kms_key})
    ecr.create_repository(repositoryName="team/worker")
    ecr.create_repository(repositoryName="team/empty")
    ecr.set_repository_policy(repositoryName="team/api", policyText=policy("*"))
    ecr.put_lifecycle_policy(repositoryName="team/api", lifecyclePolicyText=LIFECYCLE)
    ecr.set_repository_policy(repositoryName="team/worker",
                              policyText=policy({"AWS": "arn:aws:iam::111122223333:root"}))

    # Pushed by digest only: an image with no tag.
    old = ecr.put_image(repositoryName="team/api",
                        imageManifest=manifest(1))["image"]["imageId"]["imageDigest"]
    api = ecr.put_image(repositoryName="team/api", imageManifest=manifest(2),
                        imageTag="v2")["image"]["imageId"]["imageDigest"]
    worker = ecr.put_image(repositoryName="team/worker", imageManifest=manifest(3),
                           imageTag="1.0")["image"]["imageId"]["imageDigest"]

    # A multi-platform index over two untagged platform images, as `docker buildx`
    # pushes one: ECR lists the index and each platform image.
    ecr.create_repository(repositoryName="team/multi")
    amd64 = ecr.put_image(repositoryName="team/multi",
                          imageManifest=manifest(4))["image"]["imageId"]["imageDigest"]
    arm64 = ecr.put_image(repositoryName="team/multi",
                          imageManifest=manifest(5))["image"]["imageId"]["imageDigest"]
    index = json.dumps({"schemaVersion": 2,
                        "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [
                            {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                             "digest": amd64, "size": 400,
                             "platform": {"os": "linux", "architecture": "amd64"}},
                            {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                             "digest": arm64, "size": 400,
                             "platform": {"os": "linux", "architecture": "arm64",
                                          "variant": "v8"}}]})
    multi = ecr.put_image(repositoryName="team/multi", imageManifest=index,
                          imageTag="3.0")["image"]["imageId"]["imageDigest"]

    for repo, digest in [("team/api", api), ("team/worker", worker)]:
        ecr.start_image_scan(repositoryName=repo, imageId={"imageDigest": digest})
    post_results(args.endpoint, args.account, [
        {"registryId": args.account, "repositoryName": "team/api",
         "imageId": {"imageDigest": api},
         "imageScanStatus": {"status": "COMPLETE",
                             "description": "The scan was completed successfully."},
         "imageScanFindings": {
             "findingSeverityCounts": {"CRITICAL": 1, "HIGH": 1, "LOW": 1},
             "findings": [
                 {"name": "CVE-2023-38545", "severity": "CRITICAL",
                  "uri": "https://security-tracker.debian.org/tracker/CVE-2023-38545",
                  "description": "A heap overflow in curl's SOCKS5 proxy handshake.",
                  "attributes": [{"key": "package_version", "value": "7.88.1-10+deb12u1"},
                                 {"key": "package_name", "value": "curl"},
                                 {"key": "CVSS3_VECTOR",
                                  "value": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
                                 {"key": "CVSS3_SCORE", "value": "9.8"}]},
                 {"name": "CVE-2024-6387", "severity": "HIGH",
                  "uri": "https://security-tracker.debian.org/tracker/CVE-2024-6387",
                  "description": "A signal handler race condition in sshd.",
                  "attributes": [{"key": "package_version", "value": "1:9.2p1-2+deb12u2"},
                                 {"key": "package_name", "value": "openssh"},
                                 {"key": "CVSS2_VECTOR", "value": "AV:N/AC:H/Au:N/C:C/I:C/A:C"},
                                 {"key": "CVSS2_SCORE", "value": "7.6"},
                                 {"key": "CVSS3_VECTOR",
                                  "value": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H"},
                                 {"key": "CVSS3_SCORE", "value": "8.1"}]},
                 {"name": "CVE-2011-3374", "severity": "LOW",
                  "uri": "https://security-tracker.debian.org/tracker/CVE-2011-3374",
                  "attributes": [{"key": "package_version", "value": "2.6.1"},
                                 {"key": "package_name", "value": "apt"},
                                 {"key": "CVSS2_SCORE", "value": "4.3"}]}]}},
        {"registryId": args.account, "repositoryName": "team/worker",
         "imageId": {"imageDigest": worker},
         "imageScanStatus": {"status": "ACTIVE",
                             "description": "Continuous scan is selected for image."},
         "imageScanFindings": {"enhancedFindings": [
             {"awsAccountId": args.account, "description": "Prototype pollution in lodash.",
              "severity": "HIGH", "status": "ACTIVE", "score": 7.4, "title": "CVE-2020-8203 - lodash",
              "type": "PACKAGE_VULNERABILITY",
              "packageVulnerabilityDetails": {
                  "vulnerabilityId": "CVE-2020-8203", "source": "NVD",
                  "sourceUrl": "https://nvd.nist.gov/vuln/detail/CVE-2020-8203",
                  "cvss": [{"baseScore": 5.8, "scoringVector": "AV:N/AC:M/Au:N/C:N/I:P/A:P",
                            "source": "NVD", "version": "2.0"},
                           {"baseScore": 7.4, "scoringVector":
                            "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H",
                            "source": "NVD", "version": "3.1"}],
                  "vulnerablePackages": [{"name": "lodash", "version": "4.17.15",
                                          "fixedInVersion": "4.17.19",
                                          "packageManager": "NODE"}]}}]}},
    ])
    print(json.dumps({"api": api, "api_untagged": old, "worker": worker,
                      "multi": multi, "multi_amd64": amd64, "multi_arm64": arm64,
                      "kms_key": kms_key, "lifecycle": LIFECYCLE}))


if __name__ == "__main__":
    sys.exit(main())
