"""Checks of the extraction benchmark's pure helpers in run.py: pages, per-page figures,
log timing, the run's configuration, the seeded findings and the report's table."""

import json
import sys
import tempfile
import tomllib
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402


def event(timestamp, message):
    return json.dumps({"timestamp": timestamp, "level": "INFO", "fields": {"message": message}})


class PagesTest(unittest.TestCase):
    def test_pages_of_a_full_pull(self):
        self.assertEqual([run.pages_for(n) for n in (0, 1, 100, 101, 19_999, 20_000, 20_001)],
                         [1, 1, 1, 2, 200, 200, 201])


class FiguresTest(unittest.TestCase):
    def test_extraction_cpu_is_the_run_less_the_jobs(self):
        figures = run.extract_figures(200, run_cpu=9.0, jobs_cpu=1.5)
        self.assertAlmostEqual(figures["extract_cpu"], 7.5)
        self.assertAlmostEqual(figures["cpu_ms_per_page"], 37.5)
        self.assertAlmostEqual(figures["interval_ms"], 1000 / 3)
        self.assertAlmostEqual(figures["share_of_interval"], 37.5 * 3 / 1000)

    def test_jobs_costlier_than_the_run_count_as_no_extraction_cpu(self):
        figures = run.extract_figures(10, run_cpu=1.0, jobs_cpu=1.2)
        self.assertEqual(figures["extract_cpu"], 0.0)
        self.assertEqual(figures["cpu_ms_per_page"], 0.0)


class LogTest(unittest.TestCase):
    def test_seconds_between_two_messages(self):
        lines = [
            "not json",
            event("2026-12-04T21:16:59.346000Z", "Lease taken"),
            event("2026-12-04T21:16:59.347000Z", "Run started"),
            event("2026-12-04T21:17:11.161000Z", "Findings pulled"),
            event("2026-12-04T21:17:12.187500Z", "Run committed"),
            event("2026-12-04T21:17:14.198000Z", "Run committed"),
        ]
        self.assertAlmostEqual(run.log_seconds(lines, "Run started", "Run committed"), 12.8405)

    def test_a_missing_message_gives_none(self):
        lines = [event("2026-12-04T21:16:59.347000Z", "Run started")]
        self.assertIsNone(run.log_seconds(lines, "Run started", "Run committed"))
        self.assertIsNone(run.log_seconds(lines, "Lease taken", "Run started"))

    def test_printed_run_id(self):
        text = "run 20261204T211659Z-d43f27ef complete\nsource   accounts\ncommitted x\n"
        self.assertEqual(run.printed_run_id(text), "20261204T211659Z-d43f27ef")
        with self.assertRaises(ValueError):
            run.printed_run_id("runs 3\n")


class ConfigTest(unittest.TestCase):
    def test_security_hub_findings_only_without_the_rate_limit(self):
        config = tomllib.loads(run.extract_config("eu-west-1"))
        self.assertEqual(config["scope"], {"accounts": "caller", "regions": ["eu-west-1"]})
        self.assertEqual(config["sources"], {"iam": {"enabled": False},
                                             "securityhub": {"enabled": True, "standards": False}})
        self.assertEqual(config["limits"]["apis"],
                         {"securityhub:GetFindings": {"per_second": 0.0, "burst": 0.0}})


class FindingsTest(unittest.TestCase):
    def test_count_unique_ids_and_same_seed_same_bytes(self):
        with tempfile.TemporaryDirectory() as folder:
            a, b, c = (Path(folder) / name for name in ("a.jsonl", "b.jsonl", "c.jsonl"))
            run.write_extract_findings(a, 250, seed=3)
            run.write_extract_findings(b, 250, seed=3)
            run.write_extract_findings(c, 250, seed=4)
            findings = [json.loads(line) for line in a.read_text().splitlines()]
            self.assertEqual(len(findings), 250)
            self.assertEqual(len({f["Id"] for f in findings}), 250)
            self.assertTrue(all(f["Resources"] for f in findings))
            self.assertEqual(a.read_bytes(), b.read_bytes())
            self.assertNotEqual(a.read_bytes(), c.read_bytes())


class CountsTest(unittest.TestCase):
    def test_items_are_whole_partitions_of_the_chosen_accounts(self):
        # 500 000 items over 500 accounts in two regions: 500 an account and region.
        self.assertEqual(run.generate_counts(1_000_000, accounts=500), {"findings": 1_000_000, "items": 500_000})
        # 5 000 items over 30 accounts in two regions: 83 a partition, 4 980 in all.
        self.assertEqual(run.generate_counts(10_000, accounts=30)["items"], 4_980)


class TargetsTest(unittest.TestCase):
    def test_each_target_beside_the_largest_scale_and_by_how_much_it_is_missed(self):
        def figures(wall, rss):
            return {"wall": wall, "cpu": wall, "rss": rss}
        results = {
            200_000: ([("JSON lines", 200_000, figures(6.0, 200.0), figures(3.0, 900.0))],
                      ("run", figures(10.0, 1000.0), {}, {})),
            1_000_000: ([("JSON lines", 1_000_000, figures(30.0, 300.0), figures(15.0, 2000.0)),
                         ("Findings document", 1_000_000, figures(40.0, 300.0), None)],
                        ("run", figures(30.0, 5120.0), {}, {})),
        }
        text = "\n".join(run.targets_report(results))
        self.assertIn("## Targets (1,000,000 findings)", text)
        self.assertIn("| JSON lines: import wall time at most DuckDB's | 2.00x | missed by 100% |", text)
        self.assertIn("| JSON lines: import peak RSS under 512 MiB | 300 MiB | met |", text)
        self.assertIn("| JSON lines: import peak RSS at 1,000,000 within 1.3x of 200,000 | 1.50x | missed by 15% |", text)
        self.assertIn("| all jobs under 60 s | 30.0 s | met |", text)
        self.assertIn("| all jobs under 4 GiB | 5120 MiB | missed by 25% |", text)
        self.assertNotIn("Findings document", text, "no DuckDB counterpart, no target")


class ReportTest(unittest.TestCase):
    def extract(self, pages):
        row = {"findings": 20_000, "rows": 19_590, "pages": pages, "expected_pages": 200,
               "seeding": 17.2, "moto_cpu": 2.82, "extract_wall": 12.59,
               "run": {"wall": 14.33, "cpu": 9.0, "rss": 374.9},
               "jobs": {"wall": 1.65, "cpu": 1.6, "rss": 270.6}}
        row.update(run.extract_figures(pages, 9.0, 1.6))
        return row

    def test_table_row_and_rate(self):
        lines = run.extract_report(self.extract(200))
        self.assertEqual(lines[0], "## Extraction against the emulator")
        self.assertIn("| Security Hub `GetFindings` | 200 | 19,590 | 14.33 | 12.59 | 9.00 | 1.60 | 7.40 | "
                      "37.0 | 375 | 11.1% of 333 ms |", lines)
        text = "\n".join(lines)
        # 6 calls of the burst at once, the other 194 at 3 a second.
        self.assertIn("so these 200 pages take at least 65 s from AWS.", text)
        self.assertIn("is 45.0 ms per page (13.5% of that interval)", text)
        self.assertIn("the moto process used 2.82 s of CPU", text)
        self.assertIn("(the jobs alone: 271 MiB)", text)
        self.assertNotIn("pages hold the findings", text)

    def test_a_page_count_other_than_expected_is_said(self):
        text = "\n".join(run.extract_report(self.extract(201)))
        self.assertIn("The run made 201 calls where 200 pages hold the findings.", text)


if __name__ == "__main__":
    unittest.main()
