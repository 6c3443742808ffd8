"""One module per capability, each a set of plain functions (and, later, their agent tools)."""
