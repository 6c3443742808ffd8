"""Tuning advice: diagnose a run from its metrics and evaluation, and propose the next recipe.

    from tools.tuning import diagnose, propose, apply, estimate_cost
    findings = diagnose(read_metrics(paths.metrics), eval_summary=summary)
    for proposal in propose(findings, recipe):
        print(proposal.reason, apply(proposal, recipe))

diagnose.py reads curves into findings (each with its numbers), proposals.py turns findings into
one- or two-setting changes to the recipe, and sweep.py launches a small grid around the first
proposal through the job queue and ranks the runs (`plan_sweep`, `launch_sweep`, `rank_sweep`).
Importing this package loads no model and no torch.
"""

from tools.tuning.diagnose import Finding, diagnose
from tools.tuning.proposals import Cost, Proposal, apply, estimate_cost, propose
from tools.tuning.sweep import Sweep, launch_sweep, plan_sweep, rank_sweep

__all__ = [
    "Cost",
    "Finding",
    "Proposal",
    "Sweep",
    "apply",
    "diagnose",
    "estimate_cost",
    "launch_sweep",
    "plan_sweep",
    "propose",
    "rank_sweep",
]
