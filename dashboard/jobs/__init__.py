"""The worker's jobs: what keeps the operations center current without anyone clicking.

`registry.JOBS` names every job with its default schedule; `runner.run_job` runs one and records it in `job_runs`;
`worker` schedules them with APScheduler (`python -m dashboard worker`).
"""
