"""The public contract of Mot Cua: what crosses a service boundary, written once.

Producers, consumers, the gateway, department adapters and the AsyncAPI / OpenAPI
documents all use these marshmallow schemas. This package depends on marshmallow only,
so a department can install it without nameko.
"""
