"""Export a tuned run: the adapter, a merged safetensors model, or GGUF, with a model card.

    result = export_run("r-20261127-...", merge=True)
    result.path, result.files, result.card_path, result.notes

api.py builds the folder (atomically), card.py writes README.md from the workspace's records,
gguf.py runs llama.cpp's converter when it is installed.
"""

from tools.export.api import ExportResult, export_run

__all__ = ["ExportResult", "export_run"]
