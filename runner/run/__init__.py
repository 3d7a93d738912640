"""Running an experiment: the session (matrix -> workers -> writer -> manifest), attempts and
retries per request, resume, the preflight check, rows, and Message Batches mode.
"""
