"""The doors: CLI, terminal chat, Gradio, Slack. Thin: they call agent/ and tools/."""
