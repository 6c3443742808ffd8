"""Eval loss and perplexity on the tiny model, checked against transformers' own loss."""

from __future__ import annotations

import math

import pytest
import torch

from core.models import load_engine
from core.settings import Settings
from tools.evaluation.likelihood import (
    aggregate_loss,
    reference_ids,
    reference_nll,
    supports_likelihood,
)

CONVERSATIONS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}],
    [{"role": "user", "content": "Give three bullet points about the new pricing plan, please."}],
]
REFERENCES = ["Paris.", "Hello, how can I help you today?", ""]


@pytest.fixture(scope="module")
def engine(tiny_model_dir, tmp_path_factory):
    return load_engine(f"hf:{tiny_model_dir}", Settings(home=tmp_path_factory.mktemp("home")))


def by_hand(engine, messages, reference) -> tuple[float, int]:
    """Summed NLL of the reference tokens via transformers' labels loss (a different code path)."""
    prompt = engine.tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=True, return_dict=False
    )
    target = engine.tokenizer(reference, add_special_tokens=False)["input_ids"]
    target = target + [engine.tokenizer.eos_token_id]
    ids = torch.tensor([list(prompt) + target])
    labels = torch.tensor([[-100] * len(prompt) + target])
    with torch.no_grad():
        mean = engine.model(input_ids=ids, labels=labels).loss.item()
    return mean * len(target), len(target)


def test_nll_and_perplexity_match_the_hand_computation(engine):
    assert supports_likelihood(engine)
    scored = reference_nll(engine, CONVERSATIONS, REFERENCES, batch_size=3)
    expected = [by_hand(engine, m, r) for m, r in zip(CONVERSATIONS, REFERENCES, strict=True)]
    for got, (nll, tokens) in zip(scored, expected, strict=True):
        assert got["tokens"] == tokens
        assert got["nll"] == pytest.approx(nll, rel=1e-4)
        assert got["mean_nll"] == pytest.approx(nll / tokens, rel=1e-4)
    assert scored[2]["tokens"] == 1  # an empty reference still has its end-of-turn token
    total = aggregate_loss(scored)
    all_tokens = sum(t for _, t in expected)
    assert total["tokens"] == all_tokens
    loss = sum(n for n, _ in expected) / all_tokens
    assert total["eval_loss"] == pytest.approx(loss, rel=1e-4)
    assert total["perplexity"] == pytest.approx(math.exp(loss), rel=1e-4)


def test_padding_in_a_batch_does_not_change_the_scores(engine):
    alone = reference_nll(engine, CONVERSATIONS, REFERENCES, batch_size=1)
    together = reference_nll(engine, CONVERSATIONS, REFERENCES, batch_size=8)
    assert [a["nll"] for a in alone] == pytest.approx([t["nll"] for t in together], rel=1e-4)


def test_reference_tokens_end_with_the_stop_token(engine):
    ids = reference_ids(engine, "Paris.")
    assert ids[-1] == engine.tokenizer.eos_token_id
    assert engine.tokenizer.decode(ids[:-1]) == "Paris."


def test_remote_engines_have_no_likelihood(tmp_path):
    remote = load_engine(
        "openai:tiny-a", Settings(home=tmp_path, openai_base_url="http://127.0.0.1:9/v1")
    )
    assert not supports_likelihood(remote)
    assert aggregate_loss([]) is None
