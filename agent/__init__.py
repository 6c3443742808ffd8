"""The LangGraph agent that drives the workflow."""
