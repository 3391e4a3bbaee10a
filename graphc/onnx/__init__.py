"""ONNX interop: export graphc models/graphs as standard ONNX (import joins later)."""
from .export import export, to_model_proto

__all__ = ["export", "to_model_proto"]
