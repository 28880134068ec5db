"""A simulated Interactive Brokers Gateway speaking the TWS API wire protocol.

``python -m ibsim --port 7497 --admin-port 7498`` runs it; ``IBSim`` runs it in-process.
"""

from ibsim.engine import Engine, EngineConfig
from ibsim.server import IBSim, SimOptions, SimThread

__all__ = ["Engine", "EngineConfig", "IBSim", "SimOptions", "SimThread"]
