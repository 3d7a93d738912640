"""Running an experiment: the launch path shared by the CLI and `run_experiment` (`launch`,
`experiment`), the session (matrix -> workers -> writer -> manifest), attempts and retries per
request, conversations, scoring and judges, resume, the preflight check, rows, and Message
Batches mode.
"""
