"""``outage-comms local``: the whole app on the embedded AWS, served on 127.0.0.1 for the team to rehearse.

See :mod:`.runtime` (the deployment and its state), :mod:`.server` (the HTTP server), :mod:`.apigw`
(the synthesized REST APIs, invoking their real functions), :mod:`.inbox` (every delivered message)
and :mod:`.state` (what survives a restart).
"""
