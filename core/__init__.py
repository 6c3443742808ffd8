"""Shared plumbing with no UI and no agent: settings, workspace, model refs, engines, embeddings.

Everything else may import core; core imports none of the other packages.
"""
