"""The TRL side of Tunesmith, runnable without the agent."""
