"""The knowledge base: ingest documents, chunk them, embed them, index them with FAISS, search."""
