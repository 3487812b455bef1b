"""A postal carrier that speaks Mot Cua's carrier API, for the local run and the tests.

It accepts pickup and delivery orders, issues VNPost-style waybills, and drives each order
through its scenario (on a schedule or on command), calling postal back with HMAC-signed
callbacks the way a real carrier would: retries with backoff, and on command a bad or stale
signature, a replay, a duplicate or an event out of order. `carrier_simulator.testing` starts
it as a subprocess for tests.
"""
