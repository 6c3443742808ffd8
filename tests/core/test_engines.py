"""The transformers engine on the tiny local model: batching must never change what comes out."""

from __future__ import annotations

import json
import shutil

import pytest

from core.errors import InvalidInput, ModelUnavailable
from core.models import ChatRequest, Engine, Generation, load_engine
from core.models.hf_engine import HFEngine
from core.settings import Settings

QUESTIONS = [
    "Hi",
    "What is the capital of France?",
    "Summarize this document in one sentence, then give three bullet points about pricing.",
    "Yes?",
    "Write a JSON object with the keys name and email for a customer who asked about invoices.",
]


def chat(text: str, max_new_tokens: int = 6, temperature: float = 0.0) -> ChatRequest:
    return ChatRequest([{"role": "user", "content": text}], max_new_tokens, temperature)


@pytest.fixture(scope="module")
def cpu_settings(tmp_path_factory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("home"), device="cpu")


@pytest.fixture(scope="module")
def engine(tiny_model_dir, cpu_settings) -> HFEngine:
    return HFEngine("hf:tiny", tiny_model_dir, cpu_settings)


def test_engine_satisfies_the_protocol(engine):
    assert isinstance(engine, Engine)
    assert engine.device == "cpu"
    assert engine.generate([]) == []


def test_batched_results_match_one_by_one_and_keep_request_order(engine):
    requests = [chat(q) for q in QUESTIONS]
    alone = [engine.generate([r])[0] for r in requests]
    batched = engine.generate(requests, batch_size=2)
    assert [g.text for g in batched] == [g.text for g in alone]
    assert [g.prompt_tokens for g in batched] == [g.prompt_tokens for g in alone]
    # The answers are distinct, so "same order" is a real check, not a coincidence.
    assert len({g.text for g in alone}) == len(QUESTIONS)


def test_short_prompt_left_padded_among_long_ones_gives_the_same_greedy_answer(engine):
    short = chat("Hi", max_new_tokens=12)
    longs = [chat(q * 3, max_new_tokens=12) for q in QUESTIONS[2:]]
    [alone] = engine.generate([short])
    together = engine.generate([*longs, short], batch_size=8)
    assert together[-1].text == alone.text
    assert together[-1].output_tokens == alone.output_tokens
    # "Hi" happens to end with the real eos after 6 tokens while the long prompts run on to 12:
    # the row is padded after its eos, and that padding is not counted as output.
    assert alone.output_tokens == 6
    assert max(g.output_tokens for g in together[:-1]) == 12


def test_prompt_tokens_count_the_chat_template(engine):
    request = chat("What is the capital of France?")
    expected = engine.tokenizer.apply_chat_template(
        request.messages, add_generation_prompt=True, tokenize=True, return_dict=False
    )
    [result] = engine.generate([request])
    assert result.prompt_tokens == len(expected)
    assert result.output_tokens == 6  # this prompt does not reach eos within 6 tokens
    assert result.ok and result.error is None


def test_progress_is_reported_per_batch_and_latency_per_batch(engine):
    calls: list[tuple[int, int]] = []
    results = engine.generate(
        [chat(q) for q in QUESTIONS], batch_size=2, progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(2, 5), (4, 5), (5, 5)]
    assert all(isinstance(g, Generation) and g.latency_s > 0 for g in results)
    assert len({round(g.latency_s, 9) for g in results}) == 3  # one wall time per batch


def test_mixed_temperatures_run_in_separate_batches_and_keep_order(engine):
    requests = [chat("Hi", 4, 0.0), chat("Hi", 4, 1.0), chat("What is the capital?", 4, 0.0)]
    results = engine.generate(requests, batch_size=8)
    greedy = engine.generate([requests[0], requests[2]])
    assert [results[0].text, results[2].text] == [g.text for g in greedy]
    assert results[1].output_tokens == 4


def test_eos_ends_the_answer_and_is_counted_but_padding_is_not(
    tiny_model_dir, cpu_settings, tmp_path
):
    """Make a token the model really emits at step 3 an end-of-sequence token, as Llama 3 does."""
    import torch

    base = HFEngine("hf:tiny", tiny_model_dir, cpu_settings)
    request = chat("What is the capital of France?", max_new_tokens=10)
    prompt = base.prompt_ids(request.messages)
    with torch.inference_mode():
        out = base.model.generate(
            torch.tensor([prompt]), max_new_tokens=10, do_sample=False, pad_token_id=base.pad_id
        )
    new = out[0, len(prompt) :].tolist()
    stop_at = next(k for k in range(2, 10) if new[k] not in new[:k])
    folder = shutil.copytree(tiny_model_dir, tmp_path / "tiny-multi-eos")
    config_path = folder / "generation_config.json"
    config = json.loads(config_path.read_text())
    config["eos_token_id"] = [config["eos_token_id"], new[stop_at]]
    config_path.write_text(json.dumps(config))

    engine = HFEngine("hf:tiny-multi-eos", folder, cpu_settings)
    long_runner = chat(QUESTIONS[4] * 2, max_new_tokens=10)
    stopped, other = engine.generate([request, long_runner], batch_size=2)
    assert stopped.output_tokens == stop_at + 1
    assert stopped.text == base.tokenizer.decode(new[:stop_at], skip_special_tokens=True)
    assert other.output_tokens > stop_at + 1  # the batch went on; padding was not counted


def test_a_tokenizer_without_pad_token_pads_with_eos(
    tiny_model_dir, cpu_settings, engine, tmp_path
):
    folder = shutil.copytree(tiny_model_dir, tmp_path / "no-pad")
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    del config["pad_token"]
    config_path.write_text(json.dumps(config))
    no_pad = HFEngine("hf:no-pad", folder, cpu_settings)
    assert no_pad.tokenizer.pad_token_id is None
    assert no_pad.pad_id == no_pad.tokenizer.eos_token_id
    requests = [chat("Hi", 12), chat(QUESTIONS[2], 12)]
    assert [g.text for g in no_pad.generate(requests)] == [
        g.text for g in engine.generate(requests)
    ]


def test_max_new_tokens_is_per_request_inside_one_batch(engine):
    question = "What is the capital of France?"
    short, long = engine.generate([chat(question, 3), chat(question, 9)], batch_size=2)
    assert (short.output_tokens, long.output_tokens) == (3, 9)
    assert long.text.startswith(short.text)


@pytest.mark.parametrize(
    "messages",
    [[], [{"content": "no role"}], ["just a string"]],
)
def test_malformed_messages_are_rejected(engine, messages):
    with pytest.raises(InvalidInput):
        engine.generate([ChatRequest(messages)])


def test_bad_batch_size_is_rejected(engine):
    with pytest.raises(InvalidInput, match="batch_size"):
        engine.generate([chat("Hi")], batch_size=-1)


def test_zero_new_tokens_is_rejected(engine):
    with pytest.raises(InvalidInput, match="max_new_tokens"):
        engine.generate([chat("Hi", max_new_tokens=0)])


def test_load_engine_routes_hf_refs_to_a_local_folder(tiny_model_dir, cpu_settings):
    engine = load_engine(f"hf:{tiny_model_dir}", cpu_settings)
    assert isinstance(engine, HFEngine)
    assert engine.ref == f"hf:{tiny_model_dir}"
    assert engine.generate([chat("Hi", 2)])[0].output_tokens == 2


def test_missing_folder_says_so(cpu_settings, tmp_path):
    with pytest.raises(ModelUnavailable, match="does not exist"):
        load_engine(f"hf:{tmp_path / 'nope'}", cpu_settings)


def test_folder_without_config_is_not_a_model(cpu_settings, tmp_path):
    with pytest.raises(ModelUnavailable, match="no config.json") as info:
        load_engine(f"hf:{tmp_path}", cpu_settings)
    assert "save_pretrained" in info.value.hint


def test_hub_id_offline_fails_with_a_hint(cpu_settings):
    with pytest.raises(ModelUnavailable) as info:
        load_engine("hf:nobody-here/no-such-model-xyz", cpu_settings)
    assert "local folder" in info.value.hint


def test_model_without_chat_template_is_refused(tiny_model_dir, cpu_settings, tmp_path):
    folder = shutil.copytree(tiny_model_dir, tmp_path / "no-template")
    (folder / "chat_template.jinja").unlink()
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config.pop("chat_template", None)
    config_path.write_text(json.dumps(config))
    with pytest.raises(ModelUnavailable, match="no chat template"):
        HFEngine("hf:no-template", folder, cpu_settings)


def test_unknown_device_setting_is_rejected(tiny_model_dir, tmp_path):
    with pytest.raises(InvalidInput, match="Unknown device"):
        HFEngine("hf:tiny", tiny_model_dir, Settings(home=tmp_path, device="tpu"))


def test_cuda_setting_without_a_gpu_says_how_to_fix(tiny_model_dir, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ModelUnavailable, match="no CUDA GPU") as info:
        HFEngine("hf:tiny", tiny_model_dir, Settings(home=tmp_path, device="cuda"))
    assert "TUNESMITH_DEVICE" in info.value.hint
