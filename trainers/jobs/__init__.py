"""Training jobs: run folders, the local job runner (queue, watch, cancel, resume) and the
multi-GPU (accelerate) and cluster (Ray) backends. `trainers.jobs.runner` is the entry point."""
