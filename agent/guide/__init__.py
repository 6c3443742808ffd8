"""The offline guide: understands a message without an LLM (router + slots) and answers from the
workflow position (replies). agent/brains/guide.py turns that into graph steps."""
