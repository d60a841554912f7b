"""Sum the `test result:` lines of a cargo test log into one closing line.

cargo prints one result line per test binary, and the last binary (doc tests) often
runs none; this line states what the whole run did. Exits non-zero when a test failed
or none ran.
"""
import re
import sys

passed = failed = 0
with open(sys.argv[1], encoding="utf-8", errors="replace") as log:
    for line in log:
        match = re.search(r"test result: \w+\. (\d+) passed; (\d+) failed", line)
        if match:
            passed += int(match.group(1))
            failed += int(match.group(2))
print(f"tests: {passed} passed, {failed} failed")
sys.exit(1 if failed or not passed else 0)
