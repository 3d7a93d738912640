"""What the API offers, as shipped package data: beta names, model ids, model prices.

The lowest layer above the base modules (`errors`, `clock`): it imports nothing else of runner.
"""
