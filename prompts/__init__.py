"""Every prompt text the product sends to a model, as versioned YAML/Jinja files."""
