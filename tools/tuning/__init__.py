"""Tuning advice: diagnose a run from its metrics and evaluation, and propose the next recipe.

    from tools.tuning import diagnose, propose, apply, estimate_cost
    findings = diagnose(read_metrics(paths.metrics), eval_summary=summary)
    for proposal in propose(findings, recipe):
        print(proposal.reason, apply(proposal, recipe))

diagnose.py reads curves into findings (each with its numbers), proposals.py turns findings into
one- or two-setting changes to the recipe. Importing this package loads no model and no torch.
"""

from tools.tuning.diagnose import Finding, diagnose
from tools.tuning.proposals import Cost, Proposal, apply, estimate_cost, propose

__all__ = ["Cost", "Finding", "Proposal", "apply", "diagnose", "estimate_cost", "propose"]
