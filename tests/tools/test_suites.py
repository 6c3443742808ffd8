"""Model test suites: YAML validation that names the case, line and key; checks computed by hand;
a suite run on the tiny model with passing and failing cases; rubric checks through a judge
model served by a real local OpenAI-compatible HTTP server (the one allowed fake: a remote API).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from core import sample_data
from core.errors import InvalidInput, NotFound
from tests.fake_openai import FakeOpenAIServer
from tools.testing import load_suite, parse_suite, run_suite
from tools.testing.checks import judge_failure, similarity_failure, text_failures, word_count
from tools.testing.suite import Case, JudgeCheck, SimilarTo

SUITES = Path(__file__).parents[1] / "assets" / "suites"


def _case(**checks) -> Case:
    return Case("c", ({"role": "user", "content": "q"},), **checks)


# -- validation --------------------------------------------------------------------------------


def test_the_shipped_sample_suite_loads():
    suite = load_suite(sample_data.suite_path())
    assert suite.name == "gullhaven-support"
    assert [c.name for c in suite.cases][:2] == ["returns-window", "roast-days"]
    assert suite.judge == "builtin:smollm2-135m-instruct" and suite.needs_judge
    first = suite.cases[0]
    assert first.messages[0]["role"] == "system" and first.contains == ("30 days",)
    assert suite.cases[3].similar_to == SimilarTo(
        "No, our gift cards never expire, though they cannot be refunded.", 0.5
    )


def test_an_unknown_key_names_the_case_its_line_and_the_likely_fix():
    with pytest.raises(InvalidInput) as info:
        load_suite(SUITES / "unknown_key.yaml")
    message = info.value.message
    assert "case 2 'refunds' (line 7)" in message
    assert "unknown key 'contians' (line 9)" in message
    assert "Did you mean 'contains'?" in info.value.hint


def test_a_bad_regex_names_the_case_and_the_key_line():
    with pytest.raises(InvalidInput) as info:
        load_suite(SUITES / "bad_regex.yaml")
    assert "case 2 'broken-pattern' (line 4): regex (line 6)" in info.value.message
    assert "not a valid regular expression" in info.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cases:\n  - prompt: hi\n", "case 1 (line 2) has no checks"),
        ("cases:\n  - contains: x\n", "needs exactly one of `prompt`"),
        ("cases:\n  - prompt: a\n    prompt2: b\n    contains: x\n", "unknown key 'prompt2'"),
        ("cases:\n  - prompt: hi\n    max_words: 0\n", "max_words (line 3) must be a whole"),
        ("cases:\n  - prompt: hi\n    max_words: true\n", "must be a whole number"),
        ("cases:\n  - prompt: hi\n    similar_to: {text: x, threshold: 2}\n", "threshold must"),
        ("cases:\n  - prompt: hi\n    judge: {rubric: ok, min_score: 9}\n", "min_score must"),
        ("cases:\n  - prompt: hi\n    contains: []\n", "contains (line 3) must be text"),
        (
            "cases:\n  - messages: [{role: user, content: a}, {role: assistant, content: b}]\n"
            "    contains: x\n",
            "the last turn is 'assistant'",
        ),
        ("cases:\n  - messages: [{role: robot, content: a}]\n    contains: x\n", "turn 1 must"),
        ("cases: []\n", "has no cases"),
        ("casez:\n  - prompt: hi\n", "unknown key 'casez'"),
        ("cases:\n  - prompt: hi\n    contains: x\nmax_new_tokens: 0\n", "max_new_tokens must"),
        ("cases:\n  - prompt: [unclosed\n", "not valid YAML at line"),
        (
            "- name: a\n  prompt: x\n  contains: y\n- name: a\n  prompt: z\n  contains: y\n",
            "reuses",
        ),
        ("just text\n", "must be a mapping"),
    ],
)
def test_invalid_suites_are_refused_with_the_reason(text, expected):
    with pytest.raises(InvalidInput) as info:
        parse_suite(text, where="s.yaml")
    assert expected in info.value.message
    assert info.value.message.startswith("s.yaml")


def test_short_forms_and_defaults():
    suite = parse_suite(
        "- prompt: Hi\n  contains: hello\n  similar_to: Hello there\n  judge: Is friendly\n",
        where="s.yaml",
    )
    (case,) = suite.cases
    assert case.name == "case-1" and case.line == 1
    assert case.contains == ("hello",)
    assert case.similar_to == SimilarTo("Hello there", 0.6)
    assert case.judge == JudgeCheck("Is friendly", 4.0)
    assert suite.max_new_tokens == 256 and suite.judge is None


def test_a_missing_suite_file_is_not_found(tmp_path):
    with pytest.raises(NotFound):
        load_suite(tmp_path / "nope.yaml")


# -- checks ------------------------------------------------------------------------------------


def test_text_checks_report_each_failure_with_its_reason():
    case = _case(
        contains=("Thirty Days", "refund"),
        not_contains=("sorry",),
        regex=(r"\d+ days",),
        max_words=3,
        max_chars=20,
    )
    output = "You have thirty days to ask. Sorry!"  # 7 words, 35 characters
    assert word_count(output) == 7
    assert text_failures(case, output) == [
        "missing 'refund'",
        "contains forbidden 'sorry'",
        "no match for regex '\\\\d+ days'",
        "7 words > max_words 3",
        "35 characters > max_chars 20",
    ]
    roomier = dataclasses.replace(case, max_words=5, max_chars=28)
    assert text_failures(roomier, "30 days, thirty days, refund") == []  # 5 words, 28 characters


def test_similarity_and_judge_thresholds_are_inclusive():
    check = SimilarTo("expected", 0.5)
    assert similarity_failure(check, 0.5) is None
    assert similarity_failure(check, 0.49) == "similarity 0.49 < 0.50 to 'expected'"
    rubric = JudgeCheck("Be kind", 4)
    assert judge_failure(rubric, 4.0) is None
    assert judge_failure(rubric, 3.0) == "judge score 3 < min_score 4 (Be kind)"
    assert "gave no score" in judge_failure(rubric, None, "I think it is fine")


# -- running -----------------------------------------------------------------------------------


def test_a_suite_on_the_tiny_model_passes_and_fails_the_right_cases(tunesmith_home, tiny_model_dir):
    result = run_suite(f"hf:{tiny_model_dir}", SUITES / "tiny_pass_fail.yaml")

    assert (result.total, result.passed, result.failed) == (3, 1, 2)
    assert not result.ok
    by_name = {case.name: case for case in result.cases}
    assert by_name["loose-limits"].passed and by_name["loose-limits"].failures == []
    assert by_name["wants-a-word-it-cannot-say"].failures == ["missing 'Paris is the capital'"]
    two = by_name["two-failures"]
    assert len(two.failures) == 2
    assert two.failures[0] == "no match for regex '^\\\\{\"answer\": \\\\d+\\\\}$'"
    assert two.failures[1] == f"{len(two.output)} characters > max_chars 1"
    assert two.line == 17
    for case in result.cases:
        assert case.output and case.output_tokens == 8 and case.prompt_tokens > 0


def test_a_judge_check_without_a_judge_model_is_refused_before_loading(tunesmith_home):
    suite = parse_suite("- prompt: Hi\n  judge: Is friendly\n")
    with pytest.raises(InvalidInput) as info:
        run_suite("hf:/nowhere/at/all", suite)
    assert "no judge model is set" in info.value.message
    assert "--judge" in info.value.hint


def _scripted(body: dict) -> str:
    """The model answers from a script; the judge grades by what the rubric and answer say."""
    system = body["messages"][0]["content"]
    user = body["messages"][-1]["content"]
    if system.startswith("You check answers"):
        conversation = " ".join(m["content"] for m in body["messages"])
        if "nonsense" in conversation:
            return "I cannot decide."  # no score, twice: the check fails as unscored
        return "5" if "so sorry" in conversation else '{"score": 2}'
    return {
        "late": "We are so sorry it was late; a refund is on its way.",
        "rude": "Not my problem.",
        "odd": "nonsense",
    }[user.split()[0]]


def test_judge_and_similarity_checks_through_a_local_server(tunesmith_home):
    suite = parse_suite(
        """
name: judged
cases:
  - name: apologises
    prompt: late delivery
    judge: {rubric: Apologises for the delay, min_score: 4}
    similar_to: {text: "Sorry for the late delivery, we are refunding you.", threshold: 0.5}
  - name: rude
    prompt: rude customer
    judge: {rubric: Apologises for the delay, min_score: 4}
  - name: unscored
    prompt: odd request
    judge: Answers the question
""",
        where="judged.yaml",
    )
    with FakeOpenAIServer(delay_s=0, responder=_scripted) as server:
        model = f"openai:support@{server.url}"
        judge = f"openai:judge@{server.url}"
        result = run_suite(model, suite, judge=judge)

    by_name = {case.name: case for case in result.cases}
    assert by_name["apologises"].passed, by_name["apologises"].failures
    assert by_name["apologises"].scores["judge"] == 5.0
    assert by_name["apologises"].scores["similarity"] >= 0.5
    assert by_name["rude"].failures == ["judge score 2 < min_score 4 (Apologises for the delay)"]
    assert by_name["unscored"].failures == [
        "the judge gave no score (it answered 'I cannot decide.')"
    ]
    assert result.judge == judge and result.warnings == []
    judged = [b for b in server.bodies if b["model"] == "judge"]
    assert len(judged) == 4  # three grades, and one retry for the unscored answer
    assert any(
        "<example_response>\nNot my problem.\n</example_response>" in b["messages"][1]["content"]
        for b in judged
    )


def test_a_builtin_judge_is_flagged_as_weak():
    from tools.testing.judge import judge_warning

    assert "too small to judge" in judge_warning("builtin:smollm2-135m-instruct")
    assert judge_warning("openai:gpt-4o-mini") is None
