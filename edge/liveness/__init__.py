"""Dead-device detection that survives restarts: who was heard when, who went quiet, who left a last will.

``silence.py`` the pure decisions, ``last_seen.py`` the last-seen table in the edge database (batched
writes), ``detector.py`` the gateway's detector that joins them.
"""
