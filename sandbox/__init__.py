"""Offline simulators of Eduframe and Exact Online, served over real HTTP.

Each simulator is a WSGI application (`sandbox.exact.app.create_app`, `sandbox.eduframe.app.create_app`)
with an in-process state object, plus a control API under `/_sandbox/` for seeding, fault injection and
inspection. `sandbox.server.SandboxServer` serves one on a loopback port for the demo and the tests.
"""
