"""The agent's tools: every Tunesmith capability as a ToolSpec, one module per area.

knowledge (add_documents, search_knowledge), usecase (set_use_case), models (compare_models,
try_model), datasets (synthesize_dataset, import_dataset, show_dataset, edit_dataset), training
(start_training, training_status, cancel_training), evaluation (evaluate_model,
compare_evaluations, suggest_next_run), testing (run_tests), export (export_model) and guide
(what_next, help). common.py holds the shared argument types, position defaults and path checks.
Importing a module here is cheap: each tool imports its heavy parts when it runs.
"""
