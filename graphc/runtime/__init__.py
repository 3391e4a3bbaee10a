"""Runtime: Executable runs a compiled program on validated numpy inputs."""
from .executable import Executable

__all__ = ["Executable"]
