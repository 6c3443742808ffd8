"""Model test suites: a YAML checklist of prompts and checks, run against any model ref.

    result = run_suite("run:r-2026...", "tests.yaml", judge="openai:gpt-4o-mini")
    result.failed, [c.failures for c in result.cases if not c.passed]

suite.py reads and validates the YAML, checks.py turns an answer into failure reasons, judge.py
grades rubric checks with a judge model, runner.py runs it all in batches.
"""

from tools.testing.runner import CaseResult, SuiteResult, run_suite
from tools.testing.suite import Case, Suite, load_suite, parse_suite

__all__ = ["Case", "CaseResult", "Suite", "SuiteResult", "load_suite", "parse_suite", "run_suite"]
