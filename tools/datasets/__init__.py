"""Datasets: immutable versions with lineage, validation, and the operations that reshape them."""
