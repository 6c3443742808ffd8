"""The speed plan: the right kernel and packing per hardware, a reason for every choice.

The probes are patched to stand for machines this suite never runs on (CUDA with flash-attn,
flex attention or Liger); the claim the CPU reason makes about sdpa is checked for real.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields

import pytest

from trainers import acceleration
from trainers.acceleration import SpeedPlan, speed_plan

PARAMS, LENGTH, MEMORY = 494_000_000, 2048, 79.1


@pytest.fixture
def machine(monkeypatch):
    """Pretend which packages are installed and which torch it is."""

    def set_up(flash: bool = False, liger: bool = False, torch: tuple[int, int] = (2, 13)):
        monkeypatch.setattr(acceleration, "flash_attn_available", lambda: flash)
        monkeypatch.setattr(acceleration, "liger_available", lambda: liger)
        monkeypatch.setattr(acceleration, "_torch_version", lambda: torch)

    return set_up


def test_importing_it_does_not_import_torch():
    code = "import sys, trainers.acceleration; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cpu_gets_sdpa_and_no_packing_with_the_reason(machine):
    machine(flash=True, liger=True)  # installed or not, neither runs on a CPU
    plan = speed_plan("cpu", PARAMS, LENGTH, 7.6)
    assert plan.attn_implementation == "sdpa"
    assert (plan.packing, plan.padding_free, plan.use_liger) == (False, False, False)
    assert plan.reasons["packing"].startswith("off on cpu")
    assert "dense mask" in plan.reasons["packing"]


def test_cuda_with_flash_attn_packs_padding_free(machine):
    machine(flash=True)
    plan = speed_plan("cuda", PARAMS, LENGTH, MEMORY)
    assert plan.attn_implementation == "flash_attention_2"
    assert plan.packing and plan.padding_free
    assert plan.reasons["packing"].startswith("on")


def test_cuda_without_flash_attn_falls_back_to_flex_attention(machine):
    machine(flash=False)
    plan = speed_plan("cuda:1", PARAMS, LENGTH, MEMORY)
    assert plan.attn_implementation == "flex_attention"
    assert plan.packing and plan.padding_free


def test_cuda_with_old_torch_and_no_flash_attn_does_not_pack(machine):
    machine(flash=False, torch=(2, 4))
    plan = speed_plan("cuda", PARAMS, LENGTH, MEMORY)
    assert plan.attn_implementation == "sdpa"
    assert not plan.packing and not plan.padding_free
    assert plan.reasons["packing"].startswith("off on cuda")


@pytest.mark.parametrize(
    ("device", "installed", "expected"),
    [("cuda", True, True), ("cuda", False, False), ("cpu", True, False)],
)
def test_liger_only_when_installed_on_cuda(machine, device, installed, expected):
    machine(liger=installed)
    plan = speed_plan(device, PARAMS, LENGTH, MEMORY)
    assert plan.use_liger is expected
    if device == "cuda" and not installed:
        assert "not installed" in plan.reasons["use_liger"]


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("flash", [True, False])
def test_every_field_has_a_one_line_reason(machine, device, flash):
    machine(flash=flash, liger=flash)
    plan = speed_plan(device, PARAMS, LENGTH, None)
    decided = {f.name for f in fields(SpeedPlan)} - {"reasons"}
    assert set(plan.reasons) == decided
    assert all(why.strip() and "\n" not in why for why in plan.reasons.values())


def test_checkpointing_and_compile_stay_off_for_the_memory_estimate_to_decide(machine):
    machine(flash=True, liger=True)
    plan = speed_plan("cuda", PARAMS, LENGTH, MEMORY)
    assert plan.activation_checkpointing is False and plan.compile is False
    assert "memory estimate" in plan.reasons["activation_checkpointing"]
    assert "fixed shapes" in plan.reasons["compile"]


def test_flex_attention_probe_needs_cuda_and_torch_2_5(machine):
    machine(torch=(2, 5))
    assert acceleration.flex_attention_available("cuda")
    assert not acceleration.flex_attention_available("cpu")
    machine(torch=(2, 4))
    assert not acceleration.flex_attention_available("cuda")


def test_packed_rows_under_sdpa_stay_apart_as_the_reason_says():
    """TRL's padding-free packed batch, under sdpa, gives each example its own logits.

    This is what the CPU reason claims (examples stay apart, through a dense mask over the whole
    flattened batch); should a transformers release stop deriving that mask from position_ids,
    packing would start mixing examples and this test says so.
    """
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
    )
    model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa").train()
    rows = [torch.randint(3, 64, (n,)).tolist() for n in (7, 5, 9)]
    batch = DataCollatorForLanguageModeling(pad_token_id=0, padding_free=True)(
        [{"input_ids": ids} for ids in rows]
    )
    assert "attention_mask" not in batch and batch["input_ids"].shape == (1, 21)
    with torch.no_grad():
        packed = model(
            input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False
        ).logits
        alone = torch.cat(
            [model(input_ids=torch.tensor([ids]), use_cache=False).logits for ids in rows], dim=1
        )
    torch.testing.assert_close(packed, alone, atol=1e-5, rtol=1e-4)
