"""The Gradio workspace, one module per tab; ui/gradio_app.py puts them together."""
