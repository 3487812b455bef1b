"""The reference department adapter: a department's own system on Mot Cua's bus, without Mot Cua's code.

It consumes `department.<agency>.work`, hands each work item to a handler (a folder of JSON
files, an HTTP endpoint, or your own), publishes the decisions on `departments.commands`
with publisher confirms, and acknowledges an item only once its decision is confirmed.
See README.md.
"""
