"""Pacing: one rate-limit-aware scheduler per model over local mirrors of the server's token
buckets. Imports http (for rate-limit headers) and below.
"""
