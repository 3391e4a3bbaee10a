"""Runtime: Executable runs a compiled program on validated numpy inputs."""
from .executable import Executable
from .weights import generation, weights_changed

__all__ = ["Executable", "generation", "weights_changed"]
