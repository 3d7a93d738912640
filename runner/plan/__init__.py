"""What a run will send before it sends anything: the request matrix and its cost/duration
estimate. Imports schedule and below.
"""
