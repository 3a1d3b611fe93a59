"""firmware_sim: a deterministic fleet of simulated Anxin devices (SOS cards, wearables, child monitors).

Pure device models and signal generators live in ``models/`` and ``signals/``; ``simulation.py`` advances a
whole fleet in simulated time without I/O; ``transport.py`` carries it over real MQTT connections and
``runner.py`` wires the two (``run_fleet``). See ``docs/simulator.md``.
"""
