"""Checks of the benchmark generator: same seed, same bytes; the shapes the importers read."""

import hashlib
import json
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # noqa: E402


def digest(paths):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


class GenerateTest(unittest.TestCase):
    def run_generator(self, folder, seed):
        return generate.generate(folder, findings=300, seed=seed, accounts=3, resources=60, principals=12)

    def test_same_seed_gives_byte_identical_files(self):
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b, \
                tempfile.TemporaryDirectory() as c:
            first = digest(self.run_generator(a, seed=7))
            self.assertEqual(first, digest(self.run_generator(b, seed=7)))
            other = digest(self.run_generator(c, seed=8))
            self.assertEqual(first.keys(), other.keys())
            self.assertNotEqual(first["findings.jsonl"], other["findings.jsonl"])

    def test_shapes_and_counts(self):
        with tempfile.TemporaryDirectory() as folder:
            paths = self.run_generator(folder, seed=1)
            out = Path(folder)
            # 2 finding files, 3 accounts x 2 regions snapshots, 3 IAM documents.
            self.assertEqual(len(paths), 2 + 6 + 3)

            lines = [json.loads(line) for line in (out / "securityhub/findings.jsonl").open()]
            wrapped = json.loads((out / "securityhub/findings.json").read_text())
            self.assertEqual(len(lines), 300)
            self.assertEqual(wrapped["Findings"], lines)
            for f in lines:
                self.assertRegex(f["AwsAccountId"], r"^\d{12}$")
                self.assertIn(f["Region"], generate.REGIONS)
                (resource,) = f["Resources"]
                self.assertEqual(list(resource["Details"]), [resource["Type"]])
            products = {f["ProductName"] for f in lines}
            self.assertGreaterEqual(len(products), 5, products)
            self.assertTrue(any("Compliance" in f and "SecurityControlId" in f["Compliance"] for f in lines))

            items = []
            for snapshot in sorted((out / "config").iterdir()):
                document = json.loads(snapshot.read_text())
                self.assertEqual(len(document["configurationItems"]), 10)
                items += document["configurationItems"]
            self.assertEqual(len({i["resourceType"] for i in items}), len(generate.RESOURCE_TYPES))
            self.assertTrue(all(isinstance(i["configuration"], dict) for i in items))

            # Every finding points at a resource some snapshot holds.
            arns = {i["ARN"] for i in items}
            self.assertTrue(all(f["Resources"][0]["Id"] in arns for f in lines))

            details = json.loads(next((out / "iam").iterdir()).read_text())
            self.assertEqual(len(details["UserDetailList"]) + len(details["RoleDetailList"]), 12)
            self.assertTrue(all(len(u["AttachedManagedPolicies"]) == 2 for u in details["UserDetailList"]))
            # 4 users, 8 roles and 5 groups attach 2 policies each: 34 attachments in all,
            # and each policy's AttachmentCount counts its own.
            principals = details["UserDetailList"] + details["RoleDetailList"] + details["GroupDetailList"]
            self.assertEqual(sum(p["AttachmentCount"] for p in details["Policies"]), 34)
            for policy in details["Policies"]:
                held = sum(a["PolicyArn"] == policy["Arn"] for p in principals for a in p["AttachedManagedPolicies"])
                self.assertEqual(policy["AttachmentCount"], held, policy["Arn"])


if __name__ == "__main__":
    unittest.main()
