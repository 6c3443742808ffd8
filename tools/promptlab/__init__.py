"""Prompt lab: one prompt template x several models x a set of inputs, side by side.

    from tools.promptlab import run_experiment
    saved = run_experiment("prompt.yaml", ["builtin:smollm2-135m-instruct", "hf:./other"],
                           "usecase", judge="openai:gpt-4o-mini")
    saved.html_path          # experiments/<id>/matrix.html: inputs x models, scores per cell
    saved.summary["per_model"]

template.py loads and renders templates, inputs.py reads inputs from files, datasets, the use
case or typed text, runner.py generates and scores, matrix.py renders, store.py saves (the
experiment store is shared with tuning sweeps). Importing this package loads no model.
"""

from tools.promptlab.inputs import LabInput, load_inputs
from tools.promptlab.runner import run_experiment
from tools.promptlab.store import ExperimentStore, SavedExperiment
from tools.promptlab.template import PromptTemplate, load_template

__all__ = [
    "ExperimentStore",
    "LabInput",
    "PromptTemplate",
    "SavedExperiment",
    "load_inputs",
    "load_template",
    "run_experiment",
]
