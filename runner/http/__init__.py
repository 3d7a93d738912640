"""One attempt of one request: the transport, the client, SSE, stream folding, response facts,
rate-limit headers and the one retry builder. Imports results, config, catalog and base.
"""
