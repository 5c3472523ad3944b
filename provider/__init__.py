"""Shared code of the Endpoint Gallery endpoints.

Endpoints import these modules (never classes deriving from `Endpoint`: the SDK
takes the one Endpoint subclass in an endpoint module's namespace).
"""
